"""A run killed mid-day resumes without repeating work; two runs at once on one database.

Both run `arxiv-digest` in child processes, as cron or a person would, against the fakes of
tests/system/test_faults.py and the session's Prefect server; their final rows are compared with a
clean in-process run of the same day.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fakes import gemini_server as gm
from replay import arxiv_server as ax
from tests.system import test_faults as faults

ROOT = Path(__file__).resolve().parents[2]


def cli_run(llm: str) -> list[str]:
    """Return the command a person runs for the small day's topic with backend `llm`."""
    day = ["--date", "2024-10-07", "--topic", faults.TOPIC, "--llm", llm]
    return [sys.executable, "-m", "flows.cli", "run", *day]


RUN = cli_run("gemini")
FRIDAY = "2410.03909"  # announced in the batch labelled 2024-10-04, the backfill's first day


@pytest.fixture(scope="module")
def clean(prefect_harness, tmp_path_factory):
    """Return the rows and post of a clean in-process run of the small day."""
    with faults.capturing() as capture:
        outcome, rows, post = faults.run_case(
            faults.Case("clean", faults.nothing, "", ""), tmp_path_factory.mktemp("clean"), capture
        )
    assert outcome.runs[0].completed and post
    return rows, post


def child_env(arxiv: ax.ArxivServer, gemini: gm.FakeGemini, data: Path) -> dict[str, str]:
    """Return the environment of a child run: the fakes, `data`, the session's Prefect API."""
    from prefect.settings import PREFECT_API_URL

    return {
        **os.environ,
        **faults.world_env(arxiv, gemini, data),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "DIGEST_LLM_CONCURRENCY": "1",
    }


def titles(gemini: gm.FakeGemini) -> list[str]:
    return [r.prompt_text.split("Title: ")[1].split("\n")[0] for r in gemini.requests]


def test_a_killed_run_resumes_without_summarizing_finished_papers_again(clean, tmp_path):
    """SIGKILL the run while its second summary is in flight; the rerun asks only for the rest."""
    release, data = threading.Event(), tmp_path / "data"
    answered = 1

    def responder(request: dict) -> str:
        if len(gemini.requests) > answered:  # hold every later call until the kill
            release.wait(60)
        return gm.default_summary(request)

    with (
        ax.ArxivServer(faults.entries(), faults.good_pdf) as arxiv,
        gm.FakeGemini(responder) as gemini,
    ):
        env = child_env(arxiv, gemini, data)
        child = subprocess.Popen(
            RUN,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while len(gemini.requests) <= answered and time.monotonic() < deadline:
                assert child.poll() is None, child.stdout.read().decode()  # type: ignore[union-attr]
                time.sleep(0.05)
            time.sleep(3)  # the finished summary's result is persisted well within this
        finally:
            os.killpg(child.pid, signal.SIGKILL)
            first_output = child.communicate(timeout=30)[0].decode()
            release.set()
        assert child.returncode == -signal.SIGKILL
        finished = set(titles(gemini)[:answered])
        gemini.reset()
        rerun = subprocess.run(RUN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        asked_again = titles(gemini)
    assert len(asked_again) == len(faults.KEPT) - answered
    assert not finished & set(asked_again)
    _assert_same_day(data, *clean)
    assert faults.CANARY not in first_output + rerun.stdout + rerun.stderr


def test_a_backfill_and_a_daily_run_at_once_both_complete_with_consistent_rows(clean, tmp_path):
    """Backfill 2024-10-04..07 beside the 2024-10-07 daily run: one database, one data dir."""
    data = tmp_path / "data"
    backfill = [
        sys.executable,
        "-m",
        "flows.cli",
        "backfill",
        "--start",
        "2024-10-04",
        "--end",
        "2024-10-07",
        "--llm",
        "gemini",
        "--topic",
        faults.TOPIC,
    ]
    papers = [*faults.entries(), *[p for p in faults.all_entries() if p["arxiv_id"] == FRIDAY]]
    with ax.ArxivServer(papers, faults.good_pdf) as arxiv, gm.FakeGemini() as gemini:
        env = child_env(arxiv, gemini, data)
        children = [
            subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for cmd in (backfill, RUN)
        ]
        outputs = [child.communicate(timeout=300)[0] for child in children]
    for child, output in zip(children, outputs, strict=True):
        assert child.returncode == 0, output
    assert "failed" not in outputs[0].split("\n", 1)[1], outputs[0]
    _assert_same_day(data, *clean, extra={FRIDAY})
    assert (data / "posts" / "2024-10-04-diffusion-models.md").is_file()


def _post(data: Path) -> str:
    return (data / "posts" / "2024-10-07-diffusion-models.md").read_text(encoding="utf-8")


def _assert_same_day(
    data: Path, clean_rows: dict, clean_post: str, extra: frozenset | set = frozenset()
) -> None:
    """Assert the clean day's rows and post papers, each once, and only `extra` papers beside."""
    rows, post = faults.dump(data / "digest.duckdb"), _post(data)
    assert rows["_repeated"] == 0 and not rows["_failed"]
    for table, pk in faults.TABLES_PK.items():
        id_at = pk.index("arxiv_id")
        mine = {k: v for k, v in rows[table].items() if k[id_at] not in extra}
        assert mine == clean_rows[table], table
    assert faults.headings(post) == faults.headings(clean_post)
    images = [part.split('"', 1)[0] for part in post.split('<img src="')[1:]]
    assert images and all(
        (data / "posts" / "2024-10-07-diffusion-models" / i).stat().st_size for i in images
    )
