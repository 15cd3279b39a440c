"""Per-stage timeline of one flow run, read back from the Prefect API.

Task run ids are UUIDv7, minted when the flow thread submits the task; their first 48 bits are
that instant in Unix milliseconds. So for every task run we know when it was submitted, when it
started running in a worker thread and when it ended: queueing is `start - submitted`.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

SETTLE = 30.0  # seconds to wait for the server to record every task run's final state
PAGE = 200


@dataclass(frozen=True)
class Run:
    """One task run on the flow run's clock (seconds since the flow run started)."""

    stage: str
    paper: str
    submitted: float
    start: float
    end: float

    @property
    def queued(self) -> float:
        return max(0.0, self.start - self.submitted)

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class StageStats:
    """What one stage's task runs did during the day."""

    stage: str
    count: int
    first_start: float
    last_end: float
    mean_duration: float
    busy: float  # sum of durations
    mean_queued: float
    max_queued: float


def _submitted(task_run_id: UUID) -> float:
    return (task_run_id.int >> 80) / 1000.0


def _epoch(stamp: datetime | None) -> float | None:
    return stamp.timestamp() if stamp else None


def _read_all(client, flow_run_id: UUID) -> list:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs: list = []
    only = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    while True:
        page = client.read_task_runs(flow_run_filter=only, limit=PAGE, offset=len(runs))
        runs += page
        if len(page) < PAGE:
            return runs


def task_runs(flow_run_id: UUID) -> tuple[float, float, list[Run]]:
    """Return the flow run's start (epoch s), its duration and its task runs, once recorded.

    The server records task runs from events, a little after they happen: wait until the
    flow run has ended and two reads a second apart agree.
    """
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + SETTLE
    previous = -1
    with get_client(sync_client=True) as client:
        while True:
            flow_run = client.read_flow_run(flow_run_id)
            raw = _read_all(client, flow_run_id)
            done = [r for r in raw if r.start_time and r.end_time]
            settled = flow_run.end_time and len(done) == len(raw) == previous
            if settled or time.monotonic() > deadline:
                break
            previous = len(done)
            time.sleep(1.0)
    t0 = _epoch(flow_run.start_time) or min(_epoch(r.start_time) for r in done)
    runs = [
        Run(
            stage=r.name.split("-", 1)[0],
            paper=r.name.split("-", 1)[1] if "-" in r.name else "",
            submitted=_submitted(r.id) - t0,
            start=_epoch(r.start_time) - t0,
            end=_epoch(r.end_time) - t0,
        )
        for r in done
    ]
    return t0, (_epoch(flow_run.end_time) or t0) - t0, sorted(runs, key=lambda r: r.start)


def by_stage(runs: list[Run]) -> list[StageStats]:
    """Summarise the runs of each stage, in the order stages first started."""
    stages: dict[str, list[Run]] = {}
    for run in runs:
        stages.setdefault(run.stage, []).append(run)
    return [
        StageStats(
            stage=name,
            count=len(group),
            first_start=min(r.start for r in group),
            last_end=max(r.end for r in group),
            mean_duration=statistics.fmean(r.duration for r in group),
            busy=sum(r.duration for r in group),
            mean_queued=statistics.fmean(r.queued for r in group),
            max_queued=max(r.queued for r in group),
        )
        for name, group in stages.items()
    ]


def handoff_waits(runs: list[Run], before: str, after: str) -> list[float]:
    """Return, per paper, how long its `after` stage started after its `before` stage ended."""
    ended = {r.paper: r.end for r in runs if r.stage == before}
    return [r.start - ended[r.paper] for r in runs if r.stage == after and r.paper in ended]


def peak_concurrency(runs: list[Run], stage: str | None = None) -> int:
    """Return the most task runs (of `stage`, or of any) running at one instant."""
    edges = sorted(
        (t, d) for r in runs if stage in (None, r.stage) for t, d in ((r.start, 1), (r.end, -1))
    )
    level = peak = 0
    for _, delta in edges:
        level += delta
        peak = max(peak, level)
    return peak
