"""`make bench-backfill`: consecutive synthetic batch labels through the real `backfill` flow.

    uv run python -m bench.backfill [--labels 20] [--papers 40] [--pages 4]
                                    [--llm-latency 0.5] [--interval 0.1] [--start 2024-09-16]

Each label gets its own papers, submitted inside the window tasks/source/schedule.py gives it (so a
range over a weekend or a holiday has the longer windows arXiv has); arXiv and Gemini are the
local fakes, with arXiv's interval and the LLM's latency scaled down, and 4-page PDFs, so 20
labels take minutes on two cores (the day benchmark's 10-page PDFs would double that).
The run is cut into labels where the backfill reports each date: a label's part runs from the
end of the previous label (or the call) to its own end, so a weekend's dates fall into the
next label. Per label: wall time, peak memory of the process tree, arXiv requests by kind
and LLM calls. The first label is the single day that the others are compared with.
It reports; it never asserts a timing.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from bench import synthetic
from bench.day import RESULTS, TOPIC, environment, settings_env
from bench.memory import MB, PeakSampler, tree_cpu

START = date(2024, 9, 16)  # 20 labels from here cross the 2024-10-08 holiday evening
METADATA = ("api", "oai", "rss")  # request kinds that are not PDFs


@dataclass(frozen=True)
class LabelStats:
    """One batch label's part of the backfill."""

    label: date
    status: str
    papers: int
    failures: int
    seconds: float
    cpu_seconds: float  # of the process tree (the Prefect server excluded): load-independent
    peak_rss_mb: float
    peak_pss_mb: float
    end_pss_mb: float  # when the label ended: what stays behind
    requests: dict[str, int]  # arXiv requests by kind: api, oai, pdf, rss
    llm_calls: int

    @property
    def metadata_requests(self) -> int:
        return sum(self.requests.get(kind, 0) for kind in METADATA)


@dataclass
class BackfillReport:
    """Everything one backfill benchmark measured."""

    papers: int
    pages: int
    llm_latency: float
    interval: float
    start: date
    end: date
    no_batch: list[date]
    wall: float
    baseline_rss_mb: float
    peak_rss_mb: float
    peak_pss_mb: float
    load_before: tuple[float, float, float]
    labels: list[LabelStats] = field(default_factory=list)
    after_last: dict[str, int] = field(default_factory=dict)  # requests after the last label

    @property
    def seconds(self) -> list[float]:
        return [s.seconds for s in self.labels]

    @property
    def cpu_seconds(self) -> float:
        return sum(s.cpu_seconds for s in self.labels)

    @property
    def slope(self) -> float:
        """Seconds per label: least-squares slope of cumulative time against labels done."""
        cumulative = [sum(self.seconds[: k + 1]) for k in range(len(self.labels))]
        return _fit(cumulative)[0]

    @property
    def fit_r2(self) -> float:
        cumulative = [sum(self.seconds[: k + 1]) for k in range(len(self.labels))]
        return _fit(cumulative)[1]

    @property
    def trend(self) -> float:
        """Seconds a label takes more than the one before (least squares): 0 is linear."""
        return _fit(self.seconds)[0]

    @property
    def residual_trend(self) -> float:
        """MB of PSS each label leaves behind more than the one before (least squares)."""
        return _fit([s.end_pss_mb for s in self.labels])[0]

    @property
    def edge(self) -> int:
        """How many labels the first and last groups hold: 5, fewer for a short range."""
        return max(1, min(5, len(self.labels) // 2))

    @property
    def tail_ratio(self) -> float:
        """Mean wall time of the last `edge` labels over the first `edge` labels'."""
        return self._tail(self.seconds)

    @property
    def cpu_tail_ratio(self) -> float:
        """The same for CPU time, which other work on the machine disturbs less."""
        return self._tail([s.cpu_seconds for s in self.labels])

    def _tail(self, values: list[float]) -> float:
        k = self.edge
        return statistics.fmean(values[-k:]) / statistics.fmean(values[:k])

    @property
    def first(self) -> LabelStats:
        return self.labels[0]

    @property
    def memory_ratio(self) -> float:
        """The backfill's peak PSS over the first label's (a single day's)."""
        return self.peak_pss_mb / self.first.peak_pss_mb

    @property
    def rss_ratio(self) -> float:
        return self.peak_rss_mb / self.first.peak_rss_mb

    @property
    def requests(self) -> Counter[str]:
        total: Counter[str] = Counter(self.after_last)
        for label in self.labels:
            total.update(label.requests)
        return total

    @property
    def metadata_requests(self) -> int:
        return sum(self.requests.get(kind, 0) for kind in METADATA)


def _fit(values: list[float]) -> tuple[float, float]:
    """Return the slope and R² of the least-squares line through (1, v1), (2, v2), ..."""
    if len(values) < 2:
        return (values[0] if values else 0.0), 1.0
    xs = range(1, len(values) + 1)
    slope, intercept = statistics.linear_regression(xs, values)
    total = sum((v - statistics.fmean(values)) ** 2 for v in values)
    residual = sum((v - (slope * x + intercept)) ** 2 for x, v in zip(xs, values, strict=True))
    return slope, (1 - residual / total) if total else 1.0


class LabelRecorder:
    """Listen to the backfill; at each label's end, take its time, memory and requests."""

    def __init__(self, arxiv: Any, gemini: Any, sampler: PeakSampler):
        self.arxiv, self.gemini, self.sampler = arxiv, gemini, sampler
        self.labels: list[LabelStats] = []
        self.start()

    def start(self) -> float:
        """Begin the next label's part now; return the moment (perf_counter)."""
        self.cpu = tree_cpu(os.getpid(), self.sampler.excluded)
        self.mark = time.perf_counter()
        return self.mark

    def __call__(self, day: date, reports: list[Any]) -> None:
        if all(r.status == "skipped" for r in reports):
            return  # no batch: its moment belongs to the next label
        now = time.perf_counter()
        cpu = tree_cpu(os.getpid(), self.sampler.excluded) - self.cpu
        peak, peak_pss, _, pss = self.sampler.segment()
        llm = self.gemini.count("generateContent")
        self.gemini.reset()  # the fakes keep every request: forget them, or they grow
        self.labels.append(
            LabelStats(
                label=day,
                status=",".join(sorted({r.status for r in reports})),
                papers=sum(r.papers for r in reports),
                failures=sum(r.failures for r in reports),
                seconds=now - self.mark,
                cpu_seconds=cpu,
                peak_rss_mb=peak / MB,
                peak_pss_mb=peak_pss / MB,
                end_pss_mb=pss / MB,
                requests=self.take_requests(),
                llm_calls=llm,
            )
        )
        self.start()

    def take_requests(self) -> dict[str, int]:
        """Return the arXiv requests received since the last call, by kind, and forget them."""
        taken = len(self.arxiv.requests)
        kinds = Counter(r.kind for r in self.arxiv.requests[:taken])
        del self.arxiv.requests[:taken]
        return dict(kinds)


def shared_pdfs(batches: dict[date, list[dict]], pages: int):
    """Return a PDF factory serving one generated PDF per slot, shared by every label.

    The k-th paper of every label gets the k-th PDF: generating 800 PDFs would take minutes
    and their bytes would sit in the measured memory. Papers keep their own ids, so nothing
    is cached across labels.
    """
    first = next(iter(batches.values()))
    pool = [synthetic.paper_pdf(entry, seed, pages) for seed, entry in enumerate(first)]
    slot = {
        (e["arxiv_id"], e["version"]): k
        for entries in batches.values()
        for k, e in enumerate(entries)
    }
    return lambda arxiv_id, version: (
        pool[slot[(arxiv_id, version)]] if (arxiv_id, version) in slot else None
    )


def run_backfill_bench(
    labels: int = 20,
    papers: int = 40,
    pages: int = 4,
    llm_latency: float = 0.5,
    interval: float = 0.1,
    start: date = START,
    workdir: Path | None = None,
    excluded_pids: frozenset[int] = frozenset(),
) -> BackfillReport:
    """Backfill `labels` synthetic labels of `papers` papers under the configured Prefect API."""
    from config.loading import get_settings
    from fakes.gemini_server import FakeGemini
    from flows.backfill import backfill, dates, listening
    from replay.arxiv_server import ArxivServer
    from tasks.llm.quota import reset_quotas
    from tasks.source import schedule

    workdir = workdir or Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    holidays = get_settings().holidays
    days = synthetic.labels(start, labels, holidays)
    batches = synthetic.range_entries(days, papers, holidays)
    entries = [e for batch in batches.values() for e in batch]
    sampler = PeakSampler(excluded_pids)
    baseline = sampler.sample()[0]
    with (
        ArxivServer(entries, shared_pdfs(batches, pages)) as arxiv,
        FakeGemini(latency=llm_latency) as gemini,
        environment(settings_env(arxiv, gemini, interval, workdir / "data", {})),
    ):
        reset_quotas()  # a fresh process's quotas, as a backfill from the command line has
        load = os.getloadavg()
        recorder = LabelRecorder(arxiv, gemini, sampler)
        with sampler, listening(recorder):
            called = recorder.start()
            backfill(start=days[0], end=days[-1], topics=[TOPIC], llm="gemini")
            wall = time.perf_counter() - called
        after = recorder.take_requests()
    if not recorder.labels:
        raise RuntimeError(
            "the backfill reported no label: does flows.backfill still call the "
            "listeners of `listening` after each date?"
        )
    return BackfillReport(
        papers=papers,
        pages=pages,
        llm_latency=llm_latency,
        interval=interval,
        start=days[0],
        end=days[-1],
        no_batch=[d for d in dates(days[0], days[-1]) if not schedule.has_batch(d, holidays)],
        wall=wall,
        baseline_rss_mb=baseline / MB,
        peak_rss_mb=sampler.peak / MB,
        peak_pss_mb=sampler.peak_pss / MB,
        load_before=load,
        labels=recorder.labels,
        after_last=after,
    )


app = typer.Typer(add_completion=False)


@app.command()
def main(
    labels: int = typer.Option(20, help="batch labels in the range"),
    papers: int = typer.Option(40, help="papers per label"),
    pages: int = typer.Option(4, help="pages per PDF"),
    llm_latency: float = typer.Option(0.5, help="seconds each fake Gemini call takes"),
    interval: float = typer.Option(0.1, help="seconds between arXiv requests (arXiv: 3)"),
    start: Annotated[str, typer.Option(help="first label (YYYY-MM-DD)")] = START.isoformat(),
    results: Annotated[Path, typer.Option(help="report file")] = RESULTS,
) -> None:
    """Run the backfill under a fresh local Prefect server, print and write the report."""
    from bench import report
    from bench.prefect_server import prefect_server

    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        typer.echo("starting a Prefect server of the benchmark's own ...")
        with prefect_server(Path(tmp) / "prefect") as (api, server_pid):
            os.environ["PREFECT_API_URL"] = api
            os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
            typer.echo(
                f"Prefect API at {api}; backfilling {labels} labels × {papers} papers "
                f"(arXiv interval {interval:g} s, LLM latency {llm_latency:g} s) ..."
            )
            run = run_backfill_bench(
                labels,
                papers,
                pages,
                llm_latency,
                interval,
                date.fromisoformat(start),
                Path(tmp),
                frozenset({server_pid}),
            )
    typer.echo(report.backfill_table(run))
    report.write_backfill(run, results)
    typer.echo(f"written: {results}")


if __name__ == "__main__":
    app()
