"""The daily-digest flow delivers the day through Apprise: once, and never at a day's expense.

Issue 16's "done when", end to end against the fake arXiv and a local json:// receiver whose
URL carries a secret: one message naming the day and every paper title; a rerun sends none;
a receiver answering 500 leaves the post published and the failure recorded; `arxiv-digest
notify` sends again on purpose; a backfill sends nothing by default; the secret is nowhere.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from fakes.receivers import JsonReceiver
from flows.demo import SAMPLE, pdf_factory
from replay import arxiv_server as ax
from tests.env import settings_env

TOPIC = "Diffusion Models"
DAY = date(2024, 10, 7)
IDS = ("2410.03665", "2410.03463", "2410.03456", "2410.03901", "2410.03909")
SECRET = "notify-canary-5b8e21"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _env(arxiv, data: Path, hook: JsonReceiver) -> dict[str, str]:
    return {
        **arxiv.env(),
        "DIGEST_ARXIV_MIN_INTERVAL": "0.01",
        "DIGEST_LLM_BACKEND": "extractive",
        "DIGEST_LLM_JUDGE": "false",
        "DIGEST_RETRY_DELAYS": "[0.05, 0.05, 0.05]",
        "DIGEST_DATA_DIR": str(data),
        "DIGEST_DB_PATH": str(data / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(data / "posts"),
        "DIGEST_SITE_URL": "https://blog.example.org",
        "DIGEST_NOTIFY_URLS": hook.apprise_url.replace("json://", f"json://digest:{SECRET}@"),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory, prefect_harness):
    """Run the day, rerun it, run it into a 500, resend it by hand and backfill it."""
    from flows.backfill import backfill
    from flows.cli import app
    from flows.daily_digest import daily_digest

    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
    papers = [p for p in sample if p["arxiv_id"] in IDS]
    lines, root = Lines(), logging.getLogger()
    root.addHandler(lines)
    level, root.level = root.level, logging.DEBUG
    got: dict = {"data": [tmp_path_factory.mktemp(f"data{n}") for n in range(4)]}
    with ax.ArxivServer(papers, pdf_factory(papers)) as arxiv, JsonReceiver() as hook:
        with settings_env(_env(arxiv, got["data"][0], hook)):
            got["first"] = daily_digest(day=DAY, topics=[TOPIC], return_state=True)
            got["after_first"] = list(hook.messages)
            got["second"] = daily_digest(day=DAY, topics=[TOPIC], return_state=True)
            got["after_second"] = list(hook.messages)
            resend = ["notify", "--date", str(DAY), "--topic", TOPIC]
            got["resent"] = CliRunner().invoke(app, resend)
            got["after_resend"] = list(hook.messages)
        with settings_env(_env(arxiv, got["data"][1], hook)):
            hook.status = 500
            got["refused"] = daily_digest(day=DAY, topics=[TOPIC], return_state=True)
            got["refused_posts"] = hook.requests[len(got["after_resend"]) :]
            hook.status = 200
        with settings_env(_env(arxiv, got["data"][2], hook)):
            backfill(start=DAY, end=DAY, topics=[TOPIC])
            got["after_backfill"] = list(hook.messages)
        with settings_env(_env(arxiv, got["data"][3], hook)):
            run = ["run", "--date", str(DAY), "--topic", TOPIC]
            got["quiet"] = CliRunner().invoke(app, [*run, "--no-notify"])
            got["after_quiet"] = list(hook.messages)
            got["loud"] = CliRunner().invoke(app, run)
            got["after_loud"] = list(hook.messages)
        got["flow_runs"] = [
            got[k].state_details.flow_run_id for k in ("first", "second", "refused")
        ]
    root.removeHandler(lines)
    root.setLevel(level)
    got["log"] = lines.lines
    return got


def _rows(data: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_run_delivers_one_message_naming_the_day_and_every_paper_title(world):
    (message,) = world["after_first"]
    titles = _rows(
        world["data"][0],
        "SELECT p.title FROM selections s JOIN papers p USING (arxiv_id, version) WHERE s.kept",
    )
    assert titles and "2024-10-07" in message["title"] and TOPIC in message["title"]
    assert all(" ".join(t.split()) in " ".join(message["message"].split()) for (t,) in titles)
    assert (
        "https://blog.example.org/2024/10/07/2024-10-07-diffusion-models/" in (message["message"])
    )
    assert world["first"].is_completed()


def test_a_rerun_delivers_none_and_notify_resends_on_purpose(world):
    assert world["after_second"] == world["after_first"]
    assert world["resent"].exit_code == 0, world["resent"].output
    assert "sent (" in world["resent"].output and SECRET not in world["resent"].output
    assert len(world["after_resend"]) == 2
    assert world["after_resend"][1]["message"] == world["after_first"][0]["message"]


def test_a_refusing_receiver_leaves_the_post_published_and_the_failure_recorded(world):
    data = world["data"][1]
    assert world["refused"].is_completed(), world["refused"].message
    assert len(world["refused_posts"]) == 3  # the first attempt and Prefect's two retries
    ((status, path),) = _rows(data, "SELECT status, path FROM digests")
    assert status == "published" and Path(path).exists()
    ((outcome, reason, attempts),) = _rows(data, "SELECT status, reason, attempts FROM deliveries")
    assert (outcome, attempts) == ("failed", 3) and "500" in reason
    assert any("notification failed" in line and "500" in line for line in world["log"])


def test_a_backfill_sends_nothing_by_default(world):
    assert world["after_backfill"] == world["after_resend"]
    assert _rows(world["data"][2], "SELECT status FROM digests") == [("published",)]


def test_the_url_secret_leaks_nowhere(world):
    """Not in a log line (ours or Prefect's), a flow parameter, DuckDB, a post or a result."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    assert world["log"] and not [line for line in world["log"] if SECRET in line]
    APILogHandler().flush()
    ids = world["flow_runs"]
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)))
        params = [client.read_flow_run(i).parameters for i in ids]
    assert logs and not [log.message for log in logs if SECRET in log.message]
    assert not [p for p in params if SECRET in json.dumps(p, default=str)]
    for data in world["data"]:
        for path in data.rglob("*"):
            if path.is_file():
                assert SECRET.encode() not in path.read_bytes(), path


def test_run_notifies_by_default_and_not_with_no_notify(world):
    assert world["quiet"].exit_code == 0, world["quiet"].output
    assert world["after_quiet"] == world["after_backfill"]
    assert world["loud"].exit_code == 0, world["loud"].output
    assert len(world["after_loud"]) == len(world["after_quiet"]) + 1
