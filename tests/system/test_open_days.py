"""No day lost: an empty listing and an unreachable licence service, through the CLI.

The scenarios of issue 17, end to end against the fake arXiv: the API answers no paper for a
weekday batch (the day stays open, the command exits 1, the next backfill fetches it), and
OAI-PMH is down (the post comes out with licences unknown and figures withheld; the next run
fills them in and the figures appear).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from datetime import date

import duckdb
import pytest

from flows.demo import SAMPLE, pdf_factory
from replay import arxiv_server as ax
from tests.env import settings_env

TOPIC = "Diffusion Models"
# Two CC BY papers and one arXiv-licence paper kept on 2024-10-07; one off-topic; one on 10-04.
IDS = ("2410.03665", "2410.03463", "2410.03456", "2410.03901", "2410.03909")


@pytest.fixture
def world(tmp_path, prefect_harness):
    """Serve the papers; point the settings at them and a fresh data directory."""
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
    papers = [p for p in sample if p["arxiv_id"] in IDS]
    with ax.ArxivServer(papers, pdf_factory(papers)) as arxiv:
        env = {
            **arxiv.env(),
            "DIGEST_ARXIV_MIN_INTERVAL": "0.01",
            "DIGEST_LLM_BACKEND": "extractive",
            "DIGEST_RETRY_DELAYS": "[0.05, 0.05, 0.05]",
            "DIGEST_DATA_DIR": str(tmp_path),
            "DIGEST_DB_PATH": str(tmp_path / "digest.duckdb"),
            "DIGEST_OUTPUT_DIR": str(tmp_path / "posts"),
            "DIGEST_FIGURE_POLICY": "licensed",
        }
        with settings_env(env):
            yield arxiv, tmp_path


@dataclass
class Said:
    exit_code: int
    output: str


def cli(*args: str) -> Said:
    """Run `arxiv-digest` as a user would: its own process, recorded by the tests' server."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args, "--topic", TOPIC],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Said(done.returncode, done.stdout + done.stderr)


def digests(data) -> dict[date, tuple]:
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT day, status, path, note FROM digests").fetchall()
    return {day: (status, path, note) for day, status, path, note in rows}


def test_an_empty_api_leaves_the_days_open_until_a_backfill_finds_them(world):
    arxiv, data = world
    entries, arxiv.entries = arxiv.entries, []  # the API answers totalResults 0 for everything
    first = cli("backfill", "--start", "2024-10-04", "--end", "2024-10-07")
    assert first.exit_code == 1, first.output
    assert "2024-10-07 Diffusion Models unavailable: arXiv listed no paper" in first.output
    assert "the listing is not available yet" in first.output
    recorded = digests(data)
    assert recorded[date(2024, 10, 7)][:2] == ("unavailable", None)
    assert recorded[date(2024, 10, 4)][:2] == ("unavailable", None)
    assert recorded[date(2024, 10, 5)][0] == "empty"  # a weekend is a finished day

    arxiv.entries = entries
    second = cli("backfill", "--start", "2024-10-04", "--end", "2024-10-07")
    assert second.exit_code == 0, second.output
    recorded = digests(data)
    assert recorded[date(2024, 10, 7)][0] == "published"
    assert recorded[date(2024, 10, 4)][0] == "published"
    post = (data / "posts" / "2024-10-07-diffusion-models.md").read_text(encoding="utf-8")
    assert all(f"arxiv.org/abs/{i}" in post for i in IDS[:3]) and IDS[3] not in post


def test_run_of_an_empty_listing_exits_1_and_a_later_run_publishes(world):
    arxiv, data = world
    entries, arxiv.entries = arxiv.entries, []
    first = cli("run", "--date", "2024-10-07")
    assert first.exit_code == 1, first.output
    assert "listing is not available yet" in first.output
    assert "Failed: listing not available yet: Diffusion Models 2024-10-07" in first.output
    assert "Traceback" not in first.output
    arxiv.entries = entries
    second = cli("run", "--date", "2024-10-07")
    assert second.exit_code == 0, second.output
    assert digests(data)[date(2024, 10, 7)][0] == "published"


def test_oai_down_publishes_with_licences_unknown_and_the_next_run_shows_figures(world):
    arxiv, data = world
    arxiv.inject("/oai", *[ax.unavailable()] * 40)
    first = cli("run", "--date", "2024-10-07")
    assert first.exit_code == 0, first.output
    assert "licences unknown for 3 papers" in first.output
    state_line = f"Completed with failures: {TOPIC} 2024-10-07: 3 kept, 3 licences unknown"
    assert state_line in first.output
    post_file = data / "posts" / "2024-10-07-diffusion-models.md"
    post = post_file.read_text(encoding="utf-8")
    assert "<img" not in post
    assert post.count("许可，暂不转载其图片") == 3
    assert _run_state_name() == "Completed with failures"
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        stages = con.execute("SELECT stage, count(*) FROM failures GROUP BY stage").fetchall()
    assert stages == [("licence", 3)]

    arxiv._faults.clear()  # OAI-PMH is back
    pdfs = arxiv.count("pdf")
    second = cli("run", "--date", "2024-10-07")
    assert second.exit_code == 0, second.output
    assert "licences unknown" not in second.output
    assert arxiv.count("pdf") == pdfs  # nothing downloaded again
    post = post_file.read_text(encoding="utf-8")
    # The two CC BY papers show their figures; the other keeps its licence's note.
    assert post.count("<summary>点此查看论文截图</summary>") == 2 and "<img" in post
    assert "许可，暂不转载其图片" not in post and "该论文的许可不允许转载其图片" in post
    assert _run_state_name() == "Completed"
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM failures").fetchone() == (0,)
        assert digests(data)[date(2024, 10, 7)][0] == "published"


def _run_state_name() -> str:
    """Return the state name of the latest daily-digest run, as the UI's run list shows it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        (latest,) = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["daily-digest"])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )
    return latest.state.name


def test_the_final_state_tells_a_day_with_failures_and_an_open_day_apart():
    from flows.daily_digest import TopicResult, outcome
    from tasks.errors import DayIncomplete

    clean = TopicResult(TOPIC, date(2024, 10, 7), kept=12)
    failed = TopicResult(
        TOPIC,
        date(2024, 10, 7),
        kept=12,
        failures=["x extract: bad"],
        waiting=["y"],
        licences_unknown=3,
    )
    empty = TopicResult("Other", date(2024, 10, 7), unavailable=True, note="arXiv listed none")
    assert (outcome([clean]).name, outcome([clean]).message) == (
        "Completed",
        f"{TOPIC} 2024-10-07: 12 kept",
    )
    state = outcome([failed])
    assert (state.type.value, state.name) == ("COMPLETED", "Completed with failures")
    assert state.message == f"{TOPIC} 2024-10-07: 12 kept, 1 failed, 1 waiting, 3 licences unknown"
    state = outcome([clean, empty])
    assert state.is_failed() and "listing not available yet" in state.message
    error = state.result(raise_on_failure=False)
    assert isinstance(error, DayIncomplete) and [r.topic for r in error.results] == [TOPIC, "Other"]
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and again.results == error.results
