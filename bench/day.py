"""`make bench`: one synthetic arXiv day through the real `daily-digest` flow, measured.

    uv run python -m bench.day [--papers 40] [--pages 10] [--llm-latency 2.0] [--interval 0.5]

arXiv and Gemini are the local fakes the tests use, with arXiv's 3-second interval scaled down
and a fixed latency per LLM call; Prefect is a server of the benchmark's own. It measures the
day, the same day again (all cached), Prefect's cost per task run and peak memory, and writes
bench/RESULTS.md. It reports; it never asserts a timing.
"""

from __future__ import annotations

import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from bench import synthetic, timeline
from bench.memory import MB, PeakSampler

FAKE_KEY = "bench-fake-key"
RESULTS = Path(__file__).with_name("RESULTS.md")
TOPIC = "Diffusion Models"
OVERHEAD_SAMPLES = 30


@dataclass
class DayReport:
    """Everything one benchmark run measured."""

    papers: int
    pages: int
    llm_latency: float
    interval: float
    llm_concurrency: int
    max_workers: int
    wall: float
    arxiv_requests: int
    extraction: float
    summarized: int
    failures: list[str]
    rerun_wall: float
    rerun_llm_calls: int
    rerun_downloads: int
    rerun_arxiv_requests: int
    task_runs: int
    rerun_task_runs: int
    overhead_per_task: float
    peak_rss_mb: float
    peak_pss_mb: float
    baseline_rss_mb: float
    before_flow: float  # from the call to the flow run's start (API)
    after_flow: float  # from the flow run's end (API) to the call's return
    pdf_spacing: float
    stages: list[timeline.StageStats] = field(default_factory=list)
    waits: dict[str, float] = field(default_factory=dict)
    peak_running: dict[str, int] = field(default_factory=dict)

    @property
    def bound(self) -> float:
        return self.arxiv_requests * self.interval + self.llm_latency + self.extraction

    @property
    def efficiency(self) -> float:
        return self.bound / self.wall

    @property
    def rerun_ratio(self) -> float:
        return self.rerun_wall / self.wall

    @property
    def overhead_share(self) -> float:
        """Prefect's cost per task run times the day's task runs, as a share of the day."""
        return self.overhead_per_task * self.task_runs / self.wall


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    from config.loading import get_settings

    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()


def measure_extraction(pdf: bytes, workdir: Path, repeats: int = 3) -> float:
    """Return the median seconds one in-process extraction of `pdf` takes."""
    from tasks.pdf.extract import extract_pdf

    path = workdir / "probe.pdf"
    path.write_bytes(pdf)
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        extract_pdf(path, "2410.99999", 1, workdir / f"probe-figures-{i}", 4)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure_task_overhead(samples: int = OVERHEAD_SAMPLES) -> float:
    """Return the seconds one trivial task run costs, called from a flow under this API."""
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    @task(name="bench-noop", cache_policy=NO_CACHE, persist_result=False)
    def noop() -> None:
        return None

    @flow(name="bench-overhead")
    def overhead(n: int) -> float:
        noop()  # the first run pays one-off set-up
        started = time.perf_counter()
        for _ in range(n):
            noop()
        return (time.perf_counter() - started) / n

    return overhead(samples)


def _run_flow() -> tuple[float, float, Any, Any]:
    """Run the day once; return when it was called (epoch), its wall time, result, run id."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from config.loading import get_settings
    from flows.daily_digest import daily_digest
    from tasks.llm.quota import reset_quotas

    reset_quotas()  # a fresh process's quotas, as a scheduled run would have
    runner = ThreadPoolTaskRunner(max_workers=get_settings().max_workers)
    called, started = time.time(), time.perf_counter()
    state = daily_digest.with_options(task_runner=runner)(
        day=synthetic.DAY, topics=[TOPIC], llm="gemini", return_state=True
    )
    wall = time.perf_counter() - started
    return called, wall, state.result()[0], state.state_details.flow_run_id


def settings_env(arxiv: Any, gemini: Any, interval: float, data: Path, extra: dict) -> dict:
    return {
        "DIGEST_ARXIV_API_URL": arxiv.api_url,
        "DIGEST_ARXIV_PDF_URL": arxiv.pdf_url,
        "DIGEST_ARXIV_OAI_URL": arxiv.oai_url,
        "DIGEST_ARXIV_RSS_URL": arxiv.rss_url,
        "DIGEST_ARXIV_MIN_INTERVAL": str(interval),
        "DIGEST_GEMINI_BASE_URL": gemini.url,
        "GEMINI_API_KEY": FAKE_KEY,
        "DIGEST_LLM_RPM": "0",
        "DIGEST_LLM_JUDGE": "false",
        "DIGEST_LLM_RPD": "0",
        "DIGEST_DATA_DIR": str(data),
        "DIGEST_DB_PATH": str(data / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(data / "posts"),
        **extra,
    }


def _spacing(arxiv: Any) -> float:
    stamps = sorted(r.at for r in arxiv.requests if r.kind == "pdf")
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return statistics.fmean(gaps) if gaps else 0.0


def run_day_bench(
    papers: int = 40,
    pages: int = 10,
    llm_latency: float = 2.0,
    interval: float = 0.5,
    workdir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    excluded_pids: frozenset[int] = frozenset(),
) -> DayReport:
    """Run the synthetic day twice under the configured Prefect API and measure both runs."""
    from config.loading import get_settings
    from fakes.gemini_server import FakeGemini
    from replay.arxiv_server import ArxivServer

    workdir = workdir or Path(tempfile.mkdtemp(prefix="bench-day-"))
    entries = synthetic.day_entries(papers)
    pdfs = synthetic.pdf_cache(entries, pages)
    extraction = measure_extraction(next(iter(pdfs.values())), workdir)

    def serve(arxiv_id, version):
        return pdfs.get((arxiv_id, version))

    sampler = PeakSampler(excluded_pids)
    baseline = sampler.sample()[0]
    with (
        ArxivServer(entries, serve) as arxiv,
        FakeGemini(latency=llm_latency) as gemini,
        environment(settings_env(arxiv, gemini, interval, workdir / "data", extra_env or {})),
    ):
        settings = get_settings()
        with sampler:
            called, wall, first, flow_run_id = _run_flow()
        requests, spacing = len(arxiv.requests), _spacing(arxiv)
        arxiv.requests.clear()
        gemini.reset()
        _, rerun_wall, _, rerun_id = _run_flow()
        rerun = {"llm": gemini.count("generateContent"), "pdf": arxiv.count("pdf")}
        rerun["arxiv"] = len(arxiv.requests)
        overhead = measure_task_overhead()
    t0, span, runs = timeline.task_runs(flow_run_id)
    _, _, rerun_runs = timeline.task_runs(rerun_id)
    return DayReport(
        papers=papers,
        pages=pages,
        llm_latency=llm_latency,
        interval=interval,
        llm_concurrency=settings.llm_concurrency,
        max_workers=settings.max_workers,
        wall=wall,
        arxiv_requests=requests,
        extraction=extraction,
        summarized=first.summarized,
        failures=list(first.failures),
        rerun_wall=rerun_wall,
        rerun_llm_calls=rerun["llm"],
        rerun_downloads=rerun["pdf"],
        rerun_arxiv_requests=rerun["arxiv"],
        task_runs=len(runs),
        rerun_task_runs=len(rerun_runs),
        overhead_per_task=overhead,
        peak_rss_mb=sampler.peak / MB,
        peak_pss_mb=sampler.peak_pss / MB,
        baseline_rss_mb=baseline / MB,
        pdf_spacing=spacing,
        before_flow=t0 - called,
        after_flow=called + wall - (t0 + span),
        stages=timeline.by_stage(runs),
        waits={
            "download→extract": _mean(timeline.handoff_waits(runs, "download", "extract")),
            "extract→summarize": _mean(timeline.handoff_waits(runs, "extract", "summarize")),
        },
        peak_running={s: timeline.peak_concurrency(runs, s) for s in ("extract", "summarize")},
    )


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


app = typer.Typer(add_completion=False)


@app.command()
def main(
    papers: int = typer.Option(40, help="papers in the day"),
    pages: int = typer.Option(10, help="pages per PDF"),
    llm_latency: float = typer.Option(2.0, help="seconds each fake Gemini call takes"),
    interval: float = typer.Option(0.5, help="seconds between arXiv requests (arXiv: 3)"),
    llm_concurrency: int = typer.Option(0, help="DIGEST_LLM_CONCURRENCY (0: the setting's)"),
    max_workers: int = typer.Option(0, help="DIGEST_MAX_WORKERS (0: the setting's)"),
    results: Annotated[Path, typer.Option(help="report file")] = RESULTS,
) -> None:
    """Run the benchmark day under a fresh local Prefect server, print and write the report."""
    from bench import report
    from bench.prefect_server import prefect_server

    extra = {"DIGEST_LLM_CONCURRENCY": str(llm_concurrency)} if llm_concurrency else {}
    if max_workers:
        extra["DIGEST_MAX_WORKERS"] = str(max_workers)
    with tempfile.TemporaryDirectory(prefix="bench-day-") as tmp:
        typer.echo("starting a Prefect server of the benchmark's own ...")
        with prefect_server(Path(tmp) / "prefect") as (api, server_pid):
            os.environ["PREFECT_API_URL"] = api
            os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
            typer.echo(f"Prefect API at {api}; running {papers} papers twice ...")
            day = run_day_bench(
                papers, pages, llm_latency, interval, Path(tmp), extra, frozenset({server_pid})
            )
    typer.echo(report.table(day))
    report.write(day, results)
    typer.echo(f"written: {results}")


if __name__ == "__main__":
    app()
