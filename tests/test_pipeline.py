"""The per-paper scheduler on its own: order, limits per step, a failure's path, every run seen."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tasks import pipeline
from tasks.pipeline import Step


def outcome(future: Future) -> tuple[bool, object]:
    error = future.exception()
    return (False, error) if error else (True, future.result())


class Recorder:
    """Runs each step's work in a pool and records how many of each step ran at once."""

    def __init__(self, workers: int = 8):
        self.pool = ThreadPoolExecutor(workers)
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.calls: list[tuple[str, object, object]] = []

    def step(self, name: str, work, limit: int, **links) -> Step:
        def run(item, value):
            with self.lock:
                self.now[name] = self.now.get(name, 0) + 1
                self.most[name] = max(self.most.get(name, 0), self.now[name])
                self.calls.append((name, item, value))
            try:
                time.sleep(0.01)
                return work(item, value)
            finally:
                with self.lock:
                    self.now[name] -= 1

        return Step(name, lambda item, value: self.pool.submit(run, item, value), limit, **links)


def three_steps(rec: Recorder, fail_download=(), fail_extract=()) -> list[Step]:
    def download(item, _):
        if item in fail_download:
            raise OSError(f"{item}: 404")
        return f"{item}.pdf"

    def extract(item, pdf):
        if item in fail_extract:
            raise ValueError(f"{item}: unreadable")
        return f"text of {pdf}"

    return [
        rec.step("download", download, 2, then="extract", otherwise="summarize"),
        rec.step("extract", extract, 3, then="summarize", otherwise="summarize"),
        rec.step("summarize", lambda item, text: f"summary of {item} from {text}", 1),
    ]


def test_each_item_goes_through_every_step_in_order_with_the_previous_result():
    rec = Recorder()
    done = list(pipeline.run(three_steps(rec), ["a", "b", "c"], outcome))
    assert len(done) == 9 and all(d.ok for d in done)
    for item in "abc":
        steps = [d.step for d in done if d.item == item]
        assert steps == ["download", "extract", "summarize"]
    summaries = {d.item: d.value for d in done if d.step == "summarize"}
    assert summaries["b"] == "summary of b from text of b.pdf"


def test_no_step_has_more_runs_in_flight_than_its_limit():
    rec = Recorder(workers=16)
    items = [f"p{n}" for n in range(12)]
    done = list(pipeline.run(three_steps(rec), items, outcome))
    assert len(done) == 36
    assert rec.most["download"] <= 2 and rec.most["extract"] <= 3 and rec.most["summarize"] == 1


def test_a_failed_step_hands_the_item_on_with_none_and_is_reported_with_its_error():
    rec = Recorder()
    steps = three_steps(rec, fail_download={"a"}, fail_extract={"b"})
    done = list(pipeline.run(steps, ["a", "b", "c"], outcome))
    failed = {(d.item, d.step): d.value for d in done if not d.ok}
    assert set(failed) == {("a", "download"), ("b", "extract")}
    assert isinstance(failed[("a", "download")], OSError)
    assert ("summarize", "a", None) in rec.calls and ("summarize", "b", None) in rec.calls
    assert not any(name == "extract" and item == "a" for name, item, _ in rec.calls)
    assert sum(d.step == "summarize" and d.ok for d in done) == 3  # from the abstract alone


def test_a_failure_with_nowhere_to_go_ends_the_item():
    rec = Recorder()

    def refuse(item, _):
        raise RuntimeError("no")

    steps = [rec.step("download", refuse, 1, then="summarize"), three_steps(rec)[2]]
    done = list(pipeline.run(steps, ["a"], outcome))
    assert [(d.step, d.ok) for d in done] == [("download", False)]


def test_started_is_called_once_after_the_first_runs_are_submitted():
    rec, seen = Recorder(), []
    steps = three_steps(rec)
    run = pipeline.run(steps, ["a", "b", "c"], outcome, started=lambda: seen.append(len(rec.calls)))
    first = next(run)
    assert seen and len(seen) == 1 and first.step == "download"
    assert len(list(run)) == 8 and len(seen) == 1


def test_nothing_to_do_yields_nothing_and_an_unknown_step_is_refused():
    rec = Recorder()
    assert list(pipeline.run(three_steps(rec), [], outcome)) == []
    wrong = [rec.step("download", lambda i, v: v, 1, then="extract")]
    with pytest.raises(ValueError, match="unknown step 'extract'"):
        list(pipeline.run(wrong, ["a"], outcome))
