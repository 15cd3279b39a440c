"""The per-paper pipeline of a topic's day, as declared: stages, links and limits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from config.settings import Settings
from flows.papers import DOWNLOADS_IN_FLIGHT, paper_steps
from tasks import pipeline
from tasks.stage_config import stage_config
from tests.test_pipeline import outcome


def test_the_paper_pipeline_is_declared_as_data_with_a_limit_per_stage():
    pool, config = ThreadPoolExecutor(4), stage_config(Settings(llm_concurrency=3))
    calls: list[tuple] = []

    def task(name):
        return SimpleNamespace(submit=lambda *args: pool.submit(calls.append, (name, *args)))

    stages = SimpleNamespace(
        config=config,
        download_pdf=task("download"),
        extract_pdf=task("extract"),
        summarize_paper=task("summarize"),
    )
    steps = paper_steps(stages, "zh")
    assert [(s.name, s.then, s.otherwise) for s in steps] == [
        ("download", "extract", "summarize"),
        ("extract", "summarize", "summarize"),
        ("summarize", None, None),
    ]
    assert steps[0].limit == DOWNLOADS_IN_FLIGHT and steps[2].limit == 3
    done = list(pipeline.run(steps, ["p"], outcome))
    assert [d.step for d in done] == ["download", "extract", "summarize"]
    assert calls[0] == ("download", "p", config)
    assert calls[2] == ("summarize", "p", None, "zh", config.llm)  # the task's result: None here
