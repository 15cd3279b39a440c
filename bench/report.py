"""The benchmarks' tables and bench/RESULTS.md: machine, parameters, numbers, targets, timeline.

RESULTS.md holds the day (bench/day.py) first and the backfill (bench/backfill.py) in its own
marked section after it; each benchmark rewrites its part and keeps the other's, and each
keeps the analysis written by hand between its markers.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.backfill import BackfillReport
    from bench.day import DayReport

ANALYSIS = re.compile(r"<!-- analysis -->.*?<!-- /analysis -->", re.DOTALL)
NO_ANALYSIS = "<!-- analysis -->\n(No analysis written for this run yet.)\n<!-- /analysis -->"
BACKFILL = re.compile(r"<!-- backfill -->.*?<!-- /backfill -->", re.DOTALL)
REAL_PDFS = re.compile(r"<!-- pdf -->.*?<!-- /pdf -->", re.DOTALL)  # bench/pdf.py's section
BACKFILL_ANALYSIS = re.compile(
    r"<!-- backfill-analysis -->.*?<!-- /backfill-analysis -->", re.DOTALL
)
NO_BACKFILL_ANALYSIS = (
    "<!-- backfill-analysis -->\n(No analysis written for this run yet.)\n"
    "<!-- /backfill-analysis -->"
)


def rows(day: DayReport) -> list[tuple[str, str]]:
    """Return the table's (measure, value) rows."""
    return [
        ("papers × pages", f"{day.papers} × {day.pages}"),
        ("wall time of the day", f"{day.wall:.1f} s"),
        (
            "lower bound",
            f"{day.bound:.1f} s = {day.arxiv_requests} arXiv requests × "
            f"{day.interval:g} s + {day.llm_latency:g} s LLM + "
            f"{day.extraction:.2f} s extraction",
        ),
        ("efficiency (bound / wall)", f"{day.efficiency:.2f}"),
        ("summarized / failed", f"{day.summarized} / {len(day.failures)}"),
        ("rerun wall time", f"{day.rerun_wall:.1f} s ({day.rerun_ratio:.0%} of the first)"),
        (
            "rerun LLM calls / downloads",
            f"{day.rerun_llm_calls} / {day.rerun_downloads}"
            f" ({day.rerun_arxiv_requests} arXiv requests in all)",
        ),
        ("task runs (day / rerun)", f"{day.task_runs} / {day.rerun_task_runs}"),
        ("Prefect overhead per task run", f"{day.overhead_per_task * 1000:.0f} ms"),
        ("Prefect overhead × task runs / day", f"{day.overhead_share:.1%}"),
        (
            "rerun time per task run",
            f"{day.rerun_wall / max(day.rerun_task_runs, 1) * 1000:.0f} ms",
        ),
        (
            "peak memory, process tree",
            f"RSS {day.peak_rss_mb:.0f} MB, PSS {day.peak_pss_mb:.0f} MB"
            f" (RSS before the run: {day.baseline_rss_mb:.0f} MB)",
        ),
        (
            "flow engine outside the run",
            f"{day.before_flow:.1f} s before its start, {day.after_flow:.1f} s after its end",
        ),
        ("mean gap between PDF requests", f"{day.pdf_spacing:.2f} s (interval {day.interval:g} s)"),
    ]


def table(day: DayReport) -> str:
    """Return the table as aligned text for the terminal."""
    width = max(len(name) for name, _ in rows(day))
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows(day))


def _markdown_table(header: tuple[str, ...], body: list[tuple]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, row)) + " |" for row in body])


def targets(day: DayReport) -> list[tuple[str, str, str]]:
    """Return each target of issue 8 with the measured value and met / missed by how much."""

    def verdict(ok: bool, miss: str) -> str:
        return "met" if ok else f"missed: {miss}"

    rerun_ok = day.rerun_ratio <= 0.10 and day.rerun_llm_calls == 0 and day.rerun_downloads == 0
    return [
        (
            "efficiency ≥ 0.9 at N = 40",
            f"{day.efficiency:.2f} (N = {day.papers})",
            verdict(
                day.efficiency >= 0.9,
                f"{0.9 - day.efficiency:.2f} short; the day took "
                f"{day.wall - day.bound / 0.9:.1f} s longer than 0.9 allows",
            ),
        ),
        (
            "rerun ≤ 10% of the first, 0 LLM calls, 0 downloads",
            f"{day.rerun_ratio:.1%}, {day.rerun_llm_calls} calls, {day.rerun_downloads} downloads",
            verdict(rerun_ok, f"{day.rerun_ratio / 0.10:.1f}× the allowed time"),
        ),
        (
            "Prefect overhead ≤ 5% of the day",
            f"{day.overhead_share:.1%}",
            verdict(day.overhead_share <= 0.05, f"{day.overhead_share / 0.05:.1f}× the allowance"),
        ),
    ]


def machine() -> list[tuple[str, str]]:
    """Return the machine description."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return [
        ("CPU cores (nproc)", str(os.cpu_count())),
        ("memory", f"{pages / 2**30:.1f} GiB"),
        ("OS", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("Python", sys.version.split()[0]),
        ("Prefect", version("prefect")),
        ("PyMuPDF", version("pymupdf")),
        # Other work on the machine slows every number above: say how busy it was.
        ("load average at the end (1, 5, 15 min)", " ".join(f"{x:.1f}" for x in os.getloadavg())),
    ]


def timeline_table(day: DayReport) -> str:
    """Return the per-stage timeline on the flow run's clock."""
    body = [
        (
            s.stage,
            s.count,
            f"{s.first_start:.1f}",
            f"{s.last_end:.1f}",
            f"{s.mean_duration:.2f}",
            f"{s.busy:.1f}",
            f"{s.mean_queued:.2f}",
            f"{s.max_queued:.1f}",
        )
        for s in day.stages
    ]
    header = (
        "stage",
        "runs",
        "first start s",
        "last end s",
        "mean run s",
        "sum run s",
        "mean queued s",
        "max queued s",
    )
    return _markdown_table(header, body)


def write(day: DayReport, path: Path) -> None:
    """Write RESULTS.md, keeping the hand-written analysis block of the previous file."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = ANALYSIS.search(old)
    params = [
        ("papers", day.papers),
        ("pages per PDF", day.pages),
        ("LLM latency per call", f"{day.llm_latency:g} s"),
        ("arXiv interval", f"{day.interval:g} s"),
        ("DIGEST_LLM_RPM", 0),
        ("llm_concurrency", day.llm_concurrency),
        ("max_workers", day.max_workers),
    ]
    waits = [(name, f"{value:.2f} s") for name, value in day.waits.items()]
    waits += [(f"peak concurrent {s} runs", n) for s, n in day.peak_running.items()]
    text = f"""# Benchmark: one synthetic day (`make bench`)

Written by `bench/day.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Timings are measurements,
never test assertions. Method: see the docstrings of `bench/day.py` and `bench/timeline.py`.

## Machine
{_markdown_table(("", ""), machine())}

## Parameters
{_markdown_table(("", ""), params)}

## Results
{_markdown_table(("measure", "value"), rows(day))}

## Targets (issue 8)
{_markdown_table(("target", "measured", "verdict"), targets(day))}

## Where the time goes (first run, from the Prefect API)
Seconds on the flow run's clock. "queued" is from submission (the task run's UUIDv7 stamp) to
the start of the run in a worker thread.

{timeline_table(day)}

{_markdown_table(("hand-off", "value"), waits)}

## Analysis
{kept.group(0) if kept else NO_ANALYSIS}
"""
    for section in (BACKFILL.search(old), REAL_PDFS.search(old)):
        if section:
            text += f"\n{section.group(0)}\n"
    path.write_text(text, encoding="utf-8")


def _mb(rss: float, pss: float) -> str:
    return f"RSS {rss:.0f} MB, PSS {pss:.0f} MB"


def _kinds(requests: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(requests.items()) if n) or "none"


def backfill_rows(run: BackfillReport) -> list[tuple[str, str]]:
    """Return the backfill table's (measure, value) rows."""
    n, seconds, first, last = len(run.labels), run.seconds, run.first, run.labels[-1]
    cores, peaks = os.cpu_count() or 1, [s.peak_pss_mb for s in run.labels]
    per_label = (run.requests["pdf"] + run.metadata_requests) / n
    return [
        (
            "labels × papers × pages",
            f"{n} × {run.papers} × {run.pages} ({run.start} → {run.end}"
            f", {len(run.no_batch)} dates without a batch)",
        ),
        (
            "scale",
            f"arXiv interval {run.interval:g} s (arXiv: 3 s), LLM latency "
            f"{run.llm_latency:g} s per call",
        ),
        ("wall time of the backfill", f"{run.wall:.1f} s"),
        (
            "time per label",
            f"mean {statistics.fmean(seconds):.1f} s, median "
            f"{statistics.median(seconds):.1f} s, {min(seconds):.1f}–"
            f"{max(seconds):.1f} s",
        ),
        (
            "CPU per label (process tree)",
            f"mean {run.cpu_seconds / n:.1f} s; on {cores} "
            f"cores at least {run.cpu_seconds / n / cores:.1f} s",
        ),
        (
            "arXiv bound per label",
            f"{per_label * run.interval:.1f} s = {per_label:.1f} requests × {run.interval:g} s",
        ),
        ("cumulative time vs labels", f"slope {run.slope:.2f} s per label, R² {run.fit_r2:.4f}"),
        ("growth of a label's time", f"{run.trend:+.3f} s per label (least squares)"),
        (
            f"last {run.edge} / first {run.edge} labels' mean time",
            f"wall {run.tail_ratio:.2f}, CPU {run.cpu_tail_ratio:.2f}",
        ),
        (
            "summarized / failed / LLM calls",
            f"{sum(s.papers for s in run.labels)} / {sum(s.failures for s in run.labels)} / "
            f"{sum(s.llm_calls for s in run.labels)}",
        ),
        (
            "peak memory, the whole backfill",
            _mb(run.peak_rss_mb, run.peak_pss_mb) + f" (RSS before: {run.baseline_rss_mb:.0f} MB)",
        ),
        ("peak memory, first label (one day)", _mb(first.peak_rss_mb, first.peak_pss_mb)),
        (
            "peak PSS of a label: min / median / max",
            f"{min(peaks):.0f} / {statistics.median(peaks):.0f} / {max(peaks):.0f} MB",
        ),
        ("backfill peak / one day's peak", f"PSS {run.memory_ratio:.2f}, RSS {run.rss_ratio:.2f}"),
        (
            "PSS when the first / last label ended",
            f"{first.end_pss_mb:.0f} / "
            f"{last.end_pss_mb:.0f} MB, "
            f"{run.residual_trend:+.1f} MB per label",
        ),
        ("arXiv requests in all", f"{sum(run.requests.values())} ({_kinds(run.requests)})"),
        (
            "metadata requests (API, OAI-PMH, RSS)",
            f"{run.metadata_requests} in all, {run.metadata_requests / n:.2f} per label; first "
            f"label {first.metadata_requests}, the others "
            f"{sum(s.metadata_requests for s in run.labels[1:])}",
        ),
        ("PDF requests per label", f"{run.requests['pdf'] / n:.1f}"),
        ("requests after the last label", _kinds(run.after_last)),
        ("load average before (1, 5, 15 min)", " ".join(f"{x:.1f}" for x in run.load_before)),
    ]


def backfill_table(run: BackfillReport) -> str:
    """Return the backfill's table as aligned text for the terminal, then one line per label."""
    width = max(len(name) for name, _ in backfill_rows(run))
    lines = [f"{name:<{width}}  {value}" for name, value in backfill_rows(run)]
    lines.append("")
    lines += [
        f"{s.label}  {s.seconds:6.1f} s  CPU {s.cpu_seconds:5.1f} s  "
        f"peak PSS {s.peak_pss_mb:5.0f} MB  {_kinds(s.requests)}"
        for s in run.labels
    ]
    return "\n".join(lines)


def backfill_targets(run: BackfillReport) -> list[tuple[str, str, str]]:
    """Return issue 8's backfill targets with the measured value and met / missed by how much."""
    memory_ok, linear_ok = run.memory_ratio <= 1.2, run.tail_ratio <= 1.2
    return [
        (
            "backfill peak memory within 20% of a single day's",
            f"PSS ratio {run.memory_ratio:.2f}",
            "met" if memory_ok else f"missed: {run.memory_ratio - 1:.0%} above one day's peak",
        ),
        (
            f"time grows linearly (read here: the last {run.edge} labels take at most 20% longer "
            f"than the first {run.edge})",
            f"{run.tail_ratio:.2f} (CPU {run.cpu_tail_ratio:.2f})",
            "met" if linear_ok else f"missed: {run.tail_ratio - 1:+.0%}",
        ),
    ]


def label_table(run: BackfillReport) -> str:
    """Return one row per label: time, memory, requests, LLM calls."""
    body, total = [], 0.0
    for s in run.labels:
        total += s.seconds
        body.append(
            (
                s.label,
                s.status,
                s.papers,
                s.failures,
                f"{s.seconds:.1f}",
                f"{total:.1f}",
                f"{s.cpu_seconds:.1f}",
                f"{s.peak_rss_mb:.0f}",
                f"{s.peak_pss_mb:.0f}",
                f"{s.end_pss_mb:.0f}",
                s.requests.get("api", 0),
                s.requests.get("oai", 0),
                s.requests.get("pdf", 0),
                s.llm_calls,
            )
        )
    header = (
        "label",
        "status",
        "papers",
        "failed",
        "s",
        "cumulative s",
        "CPU s",
        "peak RSS MB",
        "peak PSS MB",
        "PSS at end MB",
        "API",
        "OAI-PMH",
        "PDF",
        "LLM calls",
    )
    return _markdown_table(header, body)


def backfill_section(run: BackfillReport, analysis: str) -> str:
    """Return the marked backfill section of RESULTS.md."""
    params = [
        ("labels", len(run.labels)),
        ("papers per label", run.papers),
        ("pages per PDF", run.pages),
        ("first / last label", f"{run.start} / {run.end}"),
        ("dates without a batch", ", ".join(map(str, run.no_batch)) or "none"),
        ("LLM latency per call", f"{run.llm_latency:g} s"),
        ("arXiv interval", f"{run.interval:g} s"),
        ("DIGEST_LLM_RPM", 0),
    ]
    return f"""<!-- backfill -->
# Benchmark: a backfill (`make bench-backfill`)

Written by `bench/backfill.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Timings are
measurements, never test assertions; other work on the machine makes them noisy (see the load
averages). Method: see the docstring of `bench/backfill.py`.

## Machine
{_markdown_table(("", ""), machine())}

## Parameters
{_markdown_table(("", ""), params)}

## Results
{_markdown_table(("measure", "value"), backfill_rows(run))}

## Targets (issue 8)
{_markdown_table(("target", "measured", "verdict"), backfill_targets(run))}

## Per label
A label's part runs from the end of the previous label (or the call) to its own end; dates
without a batch fall into the next label. Peaks are of the process tree (the Prefect server
excluded), sampled every 0.1 s.

{label_table(run)}

## Analysis
{analysis}
<!-- /backfill -->"""


def write_backfill(run: BackfillReport, path: Path) -> None:
    """Write the backfill section of RESULTS.md, keeping the day's part and the analysis."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = BACKFILL_ANALYSIS.search(old)
    section = backfill_section(run, kept.group(0) if kept else NO_BACKFILL_ANALYSIS)
    if BACKFILL.search(old):
        text = BACKFILL.sub(lambda _: section, old)
    else:
        text = f"{old.rstrip()}\n\n{section}\n" if old.strip() else f"{section}\n"
    path.write_text(text, encoding="utf-8")
