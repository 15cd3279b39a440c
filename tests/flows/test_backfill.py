"""The backfill flow and command under Prefect, over a week with a weekend and a holiday."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from urllib.parse import unquote_plus

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app, backfill_table, run_plan
from flows.demo import SAMPLE, pdf_factory
from replay.arxiv_server import ArxivServer
from tests.env import settings_env

TOPIC = "Diffusion Models"
# One diffusion paper in each of three batches, plus one off-topic paper on 2024-10-07.
PAPERS = {
    "2410.03909": date(2024, 10, 4),
    "2410.03456": date(2024, 10, 7),
    "2410.03902": date(2024, 10, 7),
    "2410.03910": date(2024, 10, 8),
}
HOLIDAY_EVENING = "2024-10-08"  # no announcement: no batch labelled 2024-10-09


@pytest.fixture(scope="module")
def fakes(tmp_path_factory, prefect_harness):
    """Serve four sample papers; point the settings at them and a fresh data directory."""
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
    papers = [p for p in sample if p["arxiv_id"] in PAPERS]
    data = tmp_path_factory.mktemp("backfill")
    with ArxivServer(papers, pdf_factory(papers)) as arxiv:
        env = {
            **arxiv.env(),
            "DIGEST_ARXIV_MIN_INTERVAL": "0.02",
            "DIGEST_LLM_BACKEND": "extractive",
            "DIGEST_DATA_DIR": str(data),
            "DIGEST_DB_PATH": str(data / "digest.duckdb"),
            "DIGEST_OUTPUT_DIR": str(data / "posts"),
            "DIGEST_HOLIDAYS": f'["{HOLIDAY_EVENING}"]',
        }
        with settings_env(env):
            yield arxiv, data


API_QUERIES: list[str] = []  # the first backfill's API requests


@pytest.fixture(scope="module")
def first(fakes):
    from flows.backfill import backfill

    arxiv, _ = fakes
    arxiv.requests.clear()
    reports = backfill(start=date(2024, 10, 4), end=date(2024, 10, 9), topics=[TOPIC])
    API_QUERIES.extend(p for p in arxiv.paths if p.startswith("/api"))
    return reports


def by_day(reports) -> dict[date, object]:
    return {r.day: r for r in reports}


def test_every_batch_runs_and_weekend_and_holiday_are_skipped_with_reason(first):
    days = by_day(first)
    assert [r.day.day for r in first] == [4, 5, 6, 7, 8, 9]
    assert {d.day: days[d].status for d in days} == {
        4: "ran",
        5: "skipped",
        6: "skipped",
        7: "ran",
        8: "ran",
        9: "skipped",
    }
    assert days[date(2024, 10, 5)].note.startswith("weekend")
    assert days[date(2024, 10, 9)].note.startswith("holiday")
    for day in (date(2024, 10, 4), date(2024, 10, 7), date(2024, 10, 8)):
        report = days[day]
        assert (report.papers, report.failures) == (1, 0), report
        assert report.post and report.post.endswith(f"{day}-diffusion-models.md")


def test_the_ranges_metadata_comes_in_two_queries_and_every_day_is_recorded(fakes, first):
    # One submittedDate range over the three labels and one lastUpdatedDate pass, instead of
    # two queries per label.
    assert len(API_QUERIES) == 2, API_QUERIES
    assert "submittedDate:[202410021800 TO 202410071800]" in unquote_plus(API_QUERIES[0])
    _, data = fakes
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        listed = con.execute("SELECT day, len(papers) FROM listings ORDER BY day").fetchall()
        notes = dict(con.execute("SELECT day, note FROM digests WHERE path IS NULL").fetchall())
    assert listed == [(date(2024, 10, 4), 1), (date(2024, 10, 7), 2), (date(2024, 10, 8), 1)]
    assert notes[date(2024, 10, 5)] == "weekend: arXiv has no batch"
    assert notes[date(2024, 10, 9)].startswith("holiday")


def test_a_second_backfill_repeats_no_complete_day(fakes, first):
    from flows.backfill import backfill

    arxiv, _ = fakes
    arxiv.requests.clear()
    again = backfill(start=date(2024, 10, 4), end=date(2024, 10, 9), topics=[TOPIC])
    assert {r.day.day: r.status for r in again if r.status != "skipped"} == {
        4: "complete",
        7: "complete",
        8: "complete",
    }
    assert [(r.papers, r.post) for r in again] == [(r.papers, r.post) for r in first]
    assert arxiv.requests == []


def test_the_command_forces_a_day_and_prints_the_table(fakes, first):
    result = CliRunner().invoke(
        app,
        [
            "backfill",
            "--start",
            "2024-10-07",
            "--end",
            "2024-10-07",
            "--topic",
            TOPIC,
            "--force",
            "--llm",
            "extractive",
        ],
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("2024-10-07"))
    assert row.split()[:6] == ["2024-10-07", "Mon", "Diffusion", "Models", "ran", "1"]
    assert row.endswith("2024-10-07-diffusion-models.md")


def test_table_lines_up_columns():
    from flows.backfill import DayReport

    text = backfill_table(
        [
            DayReport(date(2024, 10, 5), TOPIC, "skipped", "weekend: arXiv has no batch"),
            DayReport(date(2024, 10, 7), TOPIC, "ran", "", 12, 1, 30512, "data/posts/x.md"),
        ]
    )
    head, weekend, monday = text.splitlines()
    assert head.split() == ["day", "topic", "status", "papers", "failures", "tokens", "post"]
    assert monday.index("12") == head.index("papers")
    assert monday.split()[-3:] == ["1", "30512", "data/posts/x.md"]
    assert weekend.endswith("  -")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2024-10-07T04:30:00+00:00", date(2024, 10, 7)),  # Monday 00:30 in New York
        ("2024-10-07T00:30:00+00:00", date(2024, 10, 7)),  # Sunday 20:30 ET: Monday's is out
        ("2024-10-04T16:00:00+00:00", date(2024, 10, 4)),
    ],
)
def test_run_without_a_date_builds_the_latest_batch(now, expected):
    assert run_plan(datetime.fromisoformat(now), ())[0] == expected


def test_run_without_a_date_explains_a_day_without_batch():
    day, message = run_plan(datetime(2024, 10, 5, 16, tzinfo=UTC), ())
    assert day is None
    assert "Saturday 2024-10-05 (weekend)" in message
    assert "The next is Monday 2024-10-07, announced Sunday 20:00" in message
    assert "arxiv-digest run --date 2024-10-04" in message
