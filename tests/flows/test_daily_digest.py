"""The whole daily-digest flow under Prefect against fake arXiv and Gemini servers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from fakes.gemini_server import FakeGemini, default_summary
from flows.demo import SAMPLE, pdf_factory
from replay.arxiv_server import ArxivServer
from tests.env import settings_env

DAY = date(2024, 10, 7)
BROKEN_PDF = ("2410.03368", 1)  # served as garbage: the paper must still appear
BAD_LLM_TITLE = "LANTERN"  # the fake answers placeholders for it: a recorded summary failure
CANARY = "canary-key-4e1f9d"


def _responder(request: dict) -> str:
    text = json.dumps(request, ensure_ascii=False)
    if f"Title: {BAD_LLM_TITLE}" in text:
        return json.dumps({"one_line": "论文链接地址", "takeaways": ["xxx"], "analysis": {}})
    return default_summary(request)


@pytest.fixture(scope="module")
def day_run(tmp_path_factory, prefect_harness):
    """Run 2024-10-07 twice against the fakes; yield what a test needs to look at."""
    papers = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
    make_pdf = pdf_factory(papers)

    def serve_pdf(arxiv_id: str, version: int) -> bytes | None:
        return (
            b"%PDF-1.7 garbage %%EOF"
            if (arxiv_id, version) == BROKEN_PDF
            else make_pdf(arxiv_id, version)
        )

    data = tmp_path_factory.mktemp("data")
    with ArxivServer(papers, serve_pdf) as arxiv, FakeGemini(_responder) as gemini:
        env = {
            **arxiv.env(),
            "DIGEST_ARXIV_MIN_INTERVAL": "0.05",
            "DIGEST_GEMINI_BASE_URL": gemini.url,
            "GEMINI_API_KEY": CANARY,
            "DIGEST_DATA_DIR": str(data),
            "DIGEST_LLM_RPM": "0",
            "DIGEST_LLM_RPD": "0",
            "DIGEST_LLM_JUDGE": "false",
            "DIGEST_DB_PATH": str(data / "digest.duckdb"),
            "DIGEST_OUTPUT_DIR": str(data / "posts"),
            "DIGEST_FIGURE_POLICY": "always",
        }
        with settings_env(env):
            from flows.daily_digest import daily_digest

            first = daily_digest(day=DAY, topics=["Diffusion Models"], llm="gemini")
            counts = {"pdf": arxiv.count("pdf"), "llm": gemini.count("generateContent")}
            with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
                rows = _dump(con)
                failures = con.execute("SELECT arxiv_id, stage, reason FROM failures").fetchall()
            arxiv.requests.clear()
            gemini.reset()
            second = daily_digest(day=DAY, topics=["Diffusion Models"], llm="gemini")
            again = {"pdf": arxiv.count("pdf"), "llm": gemini.count("generateContent")}
            retried = {r.prompt_text.split("Title: ")[1].split()[0] for r in gemini.requests}
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        rows_again = _dump(con)
    yield {
        "first": first[0],
        "second": second[0],
        "counts": counts,
        "again": again,
        "rows": rows,
        "rows_again": rows_again,
        "data": data,
        "papers": papers,
        "failures": failures,
        "retried": retried,
    }


def _dump(con) -> dict[str, list]:
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    return {t: sorted(map(str, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}


def test_the_reference_papers_and_only_they_are_in_the_post(day_run):
    post = (day_run["data"] / "posts" / "2024-10-07-diffusion-models.md").read_text()
    reference = [p for p in day_run["papers"] if not p["arxiv_id"].startswith("2410.039")]
    assert len(reference) == 12
    for p in reference:
        assert f"## {' '.join(p['title'].split())}" in post.replace("\\", ""), p["arxiv_id"]
    for p in day_run["papers"]:
        if p["arxiv_id"].startswith("2410.039"):
            assert p["title"] not in post
    assert day_run["first"].kept == 12 and day_run["first"].fetched == 20


def test_failures_are_recorded_and_shown_and_do_not_stop_the_day(day_run):
    stages = {(arxiv_id, stage) for arxiv_id, stage, _ in day_run["failures"]}
    assert stages == {("2410.03368", "extract"), ("2410.03355", "summarize")}
    assert all(reason for _, _, reason in day_run["failures"])
    assert len(day_run["rows"]["summaries"]) == 11
    assert len(day_run["rows"]["extractions"]) == 11
    post = day_run["first"].post
    text = Path(post).read_text(encoding="utf-8")
    assert text.count("⚠️ 未能完成") == 2


def test_figures_are_real_files_next_to_the_post(day_run):
    post_dir = day_run["data"] / "posts" / "2024-10-07-diffusion-models"
    images = sorted(post_dir.iterdir())
    assert len(images) >= 11
    text = Path(day_run["first"].post).read_text(encoding="utf-8")
    for image in images:
        assert f'<img src="{image.name}"' in text
        assert image.stat().st_size > 1000


def test_second_run_repeats_only_what_failed(day_run):
    assert day_run["counts"]["pdf"] == 12
    # Eleven good answers, plus LANTERN's placeholder answer and its one repair.
    assert day_run["counts"]["llm"] == 13
    # The rerun downloads nothing and asks the LLM only about the paper that failed.
    assert day_run["again"] == {"pdf": 0, "llm": 2}
    # The ten finished papers come from DuckDB, not even a cached task run each; of the two
    # retried, the one with the broken PDF is summarized from its abstract again.
    assert (day_run["second"].reused, day_run["second"].summarized) == (10, 1)
    assert day_run["retried"] == {BAD_LLM_TITLE + ":"} or day_run["retried"] == {BAD_LLM_TITLE}
    assert day_run["rows_again"] == day_run["rows"]


def test_the_key_never_reaches_the_record(day_run):
    db = (day_run["data"] / "digest.duckdb").read_bytes()
    assert CANARY.encode() not in db
    # The list of served models, asked with the key at the run's start, is a file checked too.
    assert list((day_run["data"] / "cache" / "models").glob("gemini-*.json"))
    for path in day_run["data"].rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_render_reproduces_the_post_from_the_database_alone(day_run):
    from typer.testing import CliRunner

    from flows.cli import app

    post = day_run["data"] / "posts" / "2024-10-07-diffusion-models.md"
    before = post.read_bytes()
    post.unlink()
    data = day_run["data"]
    env = {
        "DIGEST_DB_PATH": str(data / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(data / "posts"),
        "DIGEST_DATA_DIR": str(data),
        "DIGEST_FIGURE_POLICY": "always",
        "DIGEST_ARXIV_API_URL": "http://127.0.0.1:9/unreachable",
    }
    with settings_env(env):
        result = CliRunner().invoke(app, ["render", "--date", "2024-10-07"])
    assert result.exit_code == 0, result.output
    assert post.read_bytes() == before
