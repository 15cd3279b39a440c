"""The benchmarks end to end, tiny: every measure is reported and sane; never a timing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

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
    assert day.efficiency > 0 and day.rerun_ratio > 0 and day.overhead_share > 0

    results = tmp_path / "RESULTS.md"
    report.write(day, results)
    text = results.read_text(encoding="utf-8")
    for heading in ("## Machine", "## Parameters", "## Results", "## Targets", "## Analysis"):
        assert heading in text
    assert text.count("| efficiency ≥ 0.9") == 1
    backfill = "<!-- backfill -->\nthe backfill's part\n<!-- /backfill -->"
    results.write_text(f"{text}\n{backfill}\n", encoding="utf-8")
    report.write(day, results)  # the day's part is rewritten; the backfill's stays
    assert backfill in results.read_text(encoding="utf-8")


def test_extract_benchmark_reports_each_method(capsys):
    from bench import extract

    extract.main(papers=1, pages=2)
    out = capsys.readouterr().out
    for method in ("plain PyMuPDF get_text", "extract_pdf, in-process", "guarded child"):
        assert method in out


def test_a_tiny_backfill_reports_time_memory_and_requests_per_label(prefect_harness, tmp_path):
    from bench.backfill import START, run_backfill_bench

    run = run_backfill_bench(
        labels=2, papers=3, pages=2, llm_latency=0.01, interval=0.01, workdir=tmp_path
    )

    assert [s.label for s in run.labels] == [START, START + timedelta(days=1)]
    for label in run.labels:
        assert (label.status, label.papers, label.failures, label.llm_calls) == ("ran", 3, 0, 3)
        assert label.requests["pdf"] == 3 and label.metadata_requests >= 1
        assert label.seconds > 0 and label.cpu_seconds > 0
        assert 0 < label.peak_pss_mb <= label.peak_rss_mb
    assert sum(run.requests.values()) == sum(sum(s.requests.values()) for s in run.labels)
    assert run.wall >= sum(run.seconds) > 0 and run.slope > 0 and run.edge == 1
    assert run.tail_ratio > 0 and run.cpu_tail_ratio > 0
    assert run.memory_ratio >= 1 and run.rss_ratio >= 1

    assert "backfill peak / one day's peak" in report.backfill_table(run)
    results = tmp_path / "RESULTS.md"
    results.write_text("# day\n<!-- analysis -->\nkept by hand\n<!-- /analysis -->\n")
    report.write_backfill(run, results)
    written = results.read_text(encoding="utf-8")
    results.write_text(written.replace("(No analysis written for this run yet.)", "by hand too"))
    report.write_backfill(run, results)  # a second run replaces its section, keeps the rest
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# day\n<!-- analysis -->\nkept by hand")
    assert "<!-- backfill-analysis -->\nby hand too\n<!-- /backfill-analysis -->" in text
    assert text.count("<!-- backfill -->") == 1 and text.count("<!-- /backfill-analysis -->") == 1
    for heading in ("## Machine", "## Parameters", "## Results", "## Targets", "## Per label"):
        assert heading in text
    assert f"| {START} | ran | 3 | 0 |" in text
    assert "| backfill peak memory within 20% of a single day's |" in text


def test_real_pdf_benchmark_says_in_one_line_when_the_folder_is_missing(tmp_path):
    from typer.testing import CliRunner

    from bench import pdf

    result = CliRunner().invoke(typer_app(pdf.main), ["--folder", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "truth.json is missing" in result.output


def typer_app(fn):
    import typer

    app = typer.Typer()
    app.command()(fn)
    return app
