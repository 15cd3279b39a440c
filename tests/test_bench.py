"""bench/day.py end to end on a tiny day: every measure is reported; the rerun is all cache."""

from __future__ import annotations

import dataclasses

from bench import report
from bench.day import DayReport, run_day_bench


def test_a_tiny_day_reports_every_measure_and_a_free_rerun(prefect_harness, tmp_path):
    day = run_day_bench(papers=3, pages=2, llm_latency=0.01, interval=0.01, workdir=tmp_path)

    assert day.summarized == 3 and day.failures == []
    assert day.rerun_llm_calls == 0 and day.rerun_downloads == 0
    for f in dataclasses.fields(DayReport):
        assert getattr(day, f.name) is not None, f.name
    assert day.wall > 0 and day.rerun_wall > 0 and day.extraction > 0
    assert day.arxiv_requests >= 1 + 3  # the day's API query and three PDFs
    assert day.task_runs > 3 * 3 and day.overhead_per_task > 0 and day.peak_rss_mb > 0
    assert {"download", "extract", "summarize"} <= {s.stage for s in day.stages}
    assert 0 < day.efficiency and 0 < day.rerun_ratio and 0 < day.overhead_share

    results = tmp_path / "RESULTS.md"
    report.write(day, results)
    text = results.read_text(encoding="utf-8")
    for heading in ("## Machine", "## Parameters", "## Results", "## Targets", "## Analysis"):
        assert heading in text
    assert text.count("| efficiency ≥ 0.9") == 1


def test_extract_benchmark_reports_each_method(capsys):
    from bench import extract

    extract.main(papers=1, pages=2)
    out = capsys.readouterr().out
    for method in ("plain PyMuPDF get_text", "extract_pdf, in-process", "guarded child"):
        assert method in out
