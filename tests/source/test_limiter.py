import multiprocessing
import threading
import time
from itertools import pairwise
from pathlib import Path

import pytest

from tasks.source.limiter import Limiter, get_limiter


def run_in_threads(limiter: Limiter, count: int, hold: float = 0.0) -> list[tuple[float, float]]:
    """Take `count` slots from as many threads; return each slot's (start, end)."""
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def work() -> None:
        with limiter.slot() as started:
            time.sleep(hold)
            with lock:
                spans.append((started, time.monotonic()))

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(spans)


def test_starts_are_at_least_min_interval_apart():
    spans = run_in_threads(Limiter(0.05), 4)
    assert all(b[0] - a[0] >= 0.05 for a, b in pairwise(spans))


def test_one_request_at_a_time():
    spans = run_in_threads(Limiter(0), 4, hold=0.02)
    assert all(b[0] >= a[1] for a, b in pairwise(spans))


def test_wait_pushes_the_next_slot():
    limiter = Limiter(0)
    with limiter.slot():
        pushed_at = time.monotonic()
        limiter.wait(0.1)  # as on a 429 answered inside a slot
    with limiter.slot() as started:
        assert started - pushed_at >= 0.1


def test_one_shared_limiter_per_interval():
    assert get_limiter(3.0) is get_limiter(3.0)
    assert get_limiter(3.0) is not get_limiter(1.0)


def test_negative_interval_is_refused():
    with pytest.raises(ValueError, match="min_interval"):
        Limiter(-1)


def _take_turns(lock_path: str, interval: float, count: int, starts) -> None:
    limiter = Limiter(interval, Path(lock_path))
    for _ in range(count):
        with limiter.slot():
            starts.put(time.time())


def test_processes_sharing_a_lock_file_keep_the_pace_together(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    starts = ctx.Queue()
    interval, lock = 0.2, str(tmp_path / "arxiv.lock")
    children = [ctx.Process(target=_take_turns, args=(lock, interval, 4, starts)) for _ in "ab"]
    for child in children:
        child.start()
    stamps = sorted(starts.get(timeout=60) for _ in range(8))
    for child in children:
        child.join(30)
    gaps = [later - earlier for earlier, later in pairwise(stamps)]
    assert min(gaps) >= interval - 0.01, gaps
