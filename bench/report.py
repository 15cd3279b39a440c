"""The benchmark's table and bench/RESULTS.md: machine, parameters, numbers, targets, timeline."""

from __future__ import annotations

import os
import platform
import re
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.day import DayReport

ANALYSIS = re.compile(r"<!-- analysis -->.*?<!-- /analysis -->", re.DOTALL)
NO_ANALYSIS = "<!-- analysis -->\n(No analysis written for this run yet.)\n<!-- /analysis -->"


def rows(day: DayReport) -> list[tuple[str, str]]:
    """Return the table's (measure, value) rows."""
    return [
        ("papers × pages", f"{day.papers} × {day.pages}"),
        ("wall time of the day", f"{day.wall:.1f} s"),
        ("lower bound", f"{day.bound:.1f} s = {day.arxiv_requests} arXiv requests × "
                        f"{day.interval:g} s + {day.llm_latency:g} s LLM + "
                        f"{day.extraction:.2f} s extraction"),
        ("efficiency (bound / wall)", f"{day.efficiency:.2f}"),
        ("summarized / failed", f"{day.summarized} / {len(day.failures)}"),
        ("rerun wall time", f"{day.rerun_wall:.1f} s ({day.rerun_ratio:.0%} of the first)"),
        ("rerun LLM calls / downloads", f"{day.rerun_llm_calls} / {day.rerun_downloads}"
                                        f" ({day.rerun_arxiv_requests} arXiv requests in all)"),
        ("task runs (day / rerun)", f"{day.task_runs} / {day.rerun_task_runs}"),
        ("Prefect overhead per task run", f"{day.overhead_per_task * 1000:.0f} ms"),
        ("Prefect overhead × task runs / day", f"{day.overhead_share:.1%}"),
        ("rerun time per task run",
         f"{day.rerun_wall / max(day.rerun_task_runs, 1) * 1000:.0f} ms"),
        ("peak memory, process tree", f"RSS {day.peak_rss_mb:.0f} MB, PSS {day.peak_pss_mb:.0f} MB"
                                      f" (RSS before the run: {day.baseline_rss_mb:.0f} MB)"),
        ("flow engine outside the run", f"{day.before_flow:.1f} s before its start, "
                                        f"{day.after_flow:.1f} s after its end"),
        ("mean gap between PDF requests", f"{day.pdf_spacing:.2f} s (interval {day.interval:g} s)"),
    ]  # fmt: skip


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
        ("efficiency ≥ 0.9 at N = 40", f"{day.efficiency:.2f} (N = {day.papers})",
         verdict(day.efficiency >= 0.9, f"{0.9 - day.efficiency:.2f} short; the day took "
                 f"{day.wall - day.bound / 0.9:.1f} s longer than 0.9 allows")),
        ("rerun ≤ 10% of the first, 0 LLM calls, 0 downloads",
         f"{day.rerun_ratio:.1%}, {day.rerun_llm_calls} calls, {day.rerun_downloads} downloads",
         verdict(rerun_ok, f"{day.rerun_ratio / 0.10:.1f}× the allowed time")),
        ("Prefect overhead ≤ 5% of the day", f"{day.overhead_share:.1%}",
         verdict(day.overhead_share <= 0.05, f"{day.overhead_share / 0.05:.1f}× the allowance")),
    ]  # fmt: skip


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
        (s.stage, s.count, f"{s.first_start:.1f}", f"{s.last_end:.1f}",
         f"{s.mean_duration:.2f}", f"{s.busy:.1f}", f"{s.mean_queued:.2f}", f"{s.max_queued:.1f}")
        for s in day.stages
    ]  # fmt: skip
    header = ("stage", "runs", "first start s", "last end s", "mean run s", "sum run s",
              "mean queued s", "max queued s")  # fmt: skip
    return _markdown_table(header, body)


def write(day: DayReport, path: Path) -> None:
    """Write RESULTS.md, keeping the hand-written analysis block of the previous file."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept = ANALYSIS.search(old)
    params = [
        ("papers", day.papers), ("pages per PDF", day.pages),
        ("LLM latency per call", f"{day.llm_latency:g} s"),
        ("arXiv interval", f"{day.interval:g} s"), ("DIGEST_LLM_RPM", 0),
        ("llm_concurrency", day.llm_concurrency), ("max_workers", day.max_workers),
    ]  # fmt: skip
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
    path.write_text(text, encoding="utf-8")
