"""The read-only commands `papers`, `stats` and `export` on a database the store filled."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from config.settings import Topic
from fakes.gemini_server import FakeGemini
from flows.cli import app
from tasks.domain import Extraction, Failure, Selection
from tasks.llm.quota import reset_quotas
from tasks.record import store, writes
from tasks.relevance import judge, keywords
from tests.env import settings_env
from tests.factories import paper, record

DAY, NEXT = date(2024, 10, 7), date(2024, 10, 8)
WAITS = "gemini-2.5-flash's daily quota is used up; the paper waits for the next run"
runner = CliRunner()


def _keep(con, day, topic, p, kept=True):
    writes.save_papers(con, [p])
    writes.save_selections(con, day, [Selection(p.arxiv_id, p.version, topic, kept, 2.5)])


@pytest.fixture
def db(tmp_path):
    """A database with two days: done, failed, waiting and dropped papers; its path."""
    path = tmp_path / "d.duckdb"
    done, broken, waiting = paper("2410.00001"), paper("2410.00002"), paper("2410.00003")
    with store.connect(path) as con:
        for p in (done, broken, waiting):
            _keep(con, DAY, "Diffusion Models", p)
        _keep(con, DAY, "Diffusion Models", paper("2410.00004"), kept=False)
        _keep(con, DAY, "NeRF", done)
        writes.save_extraction(con, Extraction(done.arxiv_id, 1, 9))
        writes.save_summary(con, replace(record(done), cost_usd=0.0125))
        writes.save_failure(con, Failure(broken.arxiv_id, 1, "extract", "not a PDF"))
        writes.save_summary(con, replace(record(broken), cost_usd=0.0075))
        writes.save_failure(con, Failure(waiting.arxiv_id, 1, "download", "HTTP 404"))
        writes.save_failure(con, Failure(waiting.arxiv_id, 1, "summarize", WAITS, "waiting"))
        _keep(con, NEXT, "Diffusion Models", paper("2410.00005", title="Next day's paper"))
        writes.save_failure(con, Failure("2410.00005", 1, "summarize", WAITS, "waiting"))
    with settings_env({"DIGEST_DB_PATH": str(path)}):
        yield path


def _run(*args):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_papers_lists_each_kept_paper_with_its_stages(db):
    head, *rows = _run("papers")
    assert head.split() == [
        "day",
        "topic",
        "paper",
        "score",
        "download",
        "extract",
        "summarize",
        "title",
    ]
    assert [r.split()[:7] for r in rows] == [
        ["2024-10-07", "Diffusion", "Models", "2410.00001v1", "2.50", "ok", "ok"],
        ["2024-10-07", "Diffusion", "Models", "2410.00002v1", "2.50", "ok", "failed"],
        ["2024-10-07", "Diffusion", "Models", "2410.00003v1", "2.50", "failed", "-"],
        ["2024-10-07", "NeRF", "2410.00001v1", "2.50", "ok", "ok", "ok"],
        ["2024-10-08", "Diffusion", "Models", "2410.00005v1", "2.50", "-", "-"],
    ]
    assert rows[2].split()[7] == "waiting" and rows[0].endswith("A Diffusion Model for Things")


@pytest.mark.parametrize(
    "args, papers",
    [
        (["--status", "ok"], ["2410.00001v1", "2410.00001v1"]),
        (["--status", "failed"], ["2410.00002v1", "2410.00003v1"]),
        (["--status", "waiting"], ["2410.00005v1"]),
        (["--topic", "NeRF"], ["2410.00001v1"]),
        (["--since", "2024-10-08"], ["2410.00005v1"]),
        (["--topic", "NeRF", "--since", "2024-10-08"], []),
        (["--date", "2024-10-08"], ["2410.00005v1"]),
        (["--date", "2024-10-07", "--topic", "NeRF"], ["2410.00001v1"]),
    ],
)
def test_papers_filters_by_topic_day_and_status(db, args, papers):
    out = _run("papers", *args)
    assert [w for line in out for w in line.split() if w.startswith("2410.")] == papers
    assert papers or out == ["no papers match"]


def test_stats_counts_papers_failures_and_cost(db):
    out = "\n".join(_run("stats"))
    per_day, by_stage, cost = out.split("\n\n")
    assert per_day.splitlines()[2:] == [
        "2024-10-07  Diffusion Models  4           3     2           2       1",
        "2024-10-07  NeRF              1           1     1           0       0",
        "2024-10-08  Diffusion Models  1           1     0           0       1",
    ]
    assert by_stage.splitlines()[2:] == [
        "download   1       0",
        "extract    1       0",
        "summarize  0       2",
    ]
    # Two summaries on the first day; the one NeRF shares is counted once.
    assert cost.splitlines()[2:] == ["2024-10-07  2          2400       800         0.0200"]


def test_export_writes_one_parquet_file_per_table(db, tmp_path):
    out = tmp_path / "export"
    written = _run("export", "--parquet", str(out))
    tables = {
        "papers",
        "selections",
        "extractions",
        "figures",
        "summaries",
        "failures",
        "digests",
        "judgements",
        "listings",
        "deliveries",
        "schema_version",
    }
    assert sorted(written) == sorted(str(out / f"{t}.parquet") for t in tables)
    with duckdb.connect() as con, duckdb.connect(str(db), read_only=True) as source:
        for t in tables:
            exported = con.execute(f"SELECT * FROM '{out / t}.parquet' ORDER BY ALL").fetchall()
            assert exported == source.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall(), t


def test_the_commands_only_read(db, tmp_path):
    before = db.read_bytes()
    for args in (["papers"], ["stats"], ["export", "--parquet", str(tmp_path / "x")]):
        _run(*args)
    assert db.read_bytes() == before
    assert not list(db.parent.glob("*.wal"))


def test_a_missing_database_or_a_bad_status_is_one_line(tmp_path, db):
    result = runner.invoke(app, ["papers", "--status", "done"])
    assert result.exit_code == 2 and "not one of ok, failed, waiting" in result.output
    with settings_env({"DIGEST_DB_PATH": str(tmp_path / "none.duckdb")}):
        result = runner.invoke(app, ["stats"])
    assert result.exit_code == 2 and "no database at" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "none.duckdb").exists()


TOPIC = Topic(
    name="Diffusion Models",
    slug="diffusion-models",
    categories=["cs.CV"],
    include=["diffusion model"],
    candidates=["image generation"],
    exclude=["heat diffusion"],
)
JUDGED = paper("2410.00011")
REJECTED = paper("2410.00012", title="Image generation with GANs", abstract="A GAN.")
PHYSICAL = paper("2410.00013", title="Heat diffusion in rods", abstract="Heat diffusion.")
UNANSWERED = paper("2410.00014", title="Diffusion model distillation", abstract="Fewer steps.")


@pytest.fixture
def judged_db(tmp_path):
    """A day the real judge decided through the fake Gemini, one paper left unanswered."""
    papers = [JUDGED, REJECTED, PHYSICAL, UNANSWERED]
    verdicts = {JUDGED.key: True, REJECTED.key: False}  # no verdict for UNANSWERED
    reset_quotas()
    with FakeGemini(judge=verdicts) as fake:
        gemini = judge.GeminiJudge("records-key", "gemini-2.5-flash", fake.url, timeout=5)
        keyword = keywords.select_papers(papers, TOPIC.name, TOPIC.include, TOPIC.exclude)
        decided = judge.judge_selection(papers, keyword, gemini, TOPIC, batch_size=1)
    path = tmp_path / "judged.duckdb"
    with store.connect(path) as con:
        writes.save_papers(con, papers)
        writes.save_selections(con, DAY, decided)
    with settings_env({"DIGEST_DB_PATH": str(path)}):
        yield path


def test_why_lists_every_decision_kept_first_with_its_step_and_reason(judged_db):
    before = judged_db.read_bytes()
    counts, head, *rows, legend = _run(
        "papers", "--topic", "Diffusion Models", "--date", "2024-10-07", "--why"
    )
    assert counts == (
        "Diffusion Models, 2024-10-07: 4 decisions, 2 kept, 2 dropped: 2 by the LLM judge, "
        "1 by keywords, 1 by keywords because the judge failed"
    )
    assert head.split() == ["kept", "paper", "step", "score", "conf", "title", "reason"]
    assert [r.split()[:3] for r in rows] == [
        ["yes", "2410.00011v1", "judge"],
        ["yes", "2410.00014v1", "fallback"],
        ["no", "2410.00012v1", "judge"],
        ["no", "2410.00013v1", "keyword"],
    ]
    by_id = {r.split()[1]: r for r in rows}
    assert by_id["2410.00011v1"].split()[3:5] == ["3.00", "0.90"]
    assert by_id["2410.00011v1"].endswith(
        "the fake judge keeps 2410.00011v1; matched: diffusion model"
    )
    assert "the fake judge drops 2410.00012v1; matched: image generation" in by_id["2410.00012v1"]
    assert "judge failed (" in by_id["2410.00014v1"]
    assert "missing id 2410.00014v1" in by_id["2410.00014v1"]
    assert by_id["2410.00014v1"].split()[4] == "-"
    assert by_id["2410.00013v1"].endswith(
        "not a judge candidate: net score 0 < 1; excluded: heat diffusion"
    )
    assert legend.startswith("fallback: the judge gave no valid answer")
    assert judged_db.read_bytes() == before


def test_why_explains_keyword_decisions_recorded_before_the_judge(db):
    counts, _, *rows = _run(
        "papers", "--topic", "Diffusion Models", "--date", "2024-10-07", "--why"
    )
    assert counts.endswith("4 decisions, 3 kept, 1 dropped: 4 by keywords")
    assert [r.split()[:3] for r in rows] == [
        ["yes", "2410.00001v1", "keyword"],
        ["yes", "2410.00002v1", "keyword"],
        ["yes", "2410.00003v1", "keyword"],
        ["no", "2410.00004v1", "keyword"],
    ]
    assert all(r.endswith(" -") for r in rows)  # no reason was stored before schema 4


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--topic", "NeRF", "--date", "2024-10-07"],
            "no decisions recorded for topic 'NeRF'; recorded topics: Diffusion Models",
        ),
        (
            ["--topic", "Diffusion Models", "--date", "2024-10-10"],
            "no decisions recorded for Diffusion Models on 2024-10-10; run `arxiv-digest run "
            '--date 2024-10-10 --topic "Diffusion Models"` first (the latest recorded day is '
            "2024-10-07)",
        ),
        (
            ["--topic", "Diffusion Models", "--date", "2024-10-05"],
            "arXiv announces no batch labelled 2024-10-05 (weekend), so Diffusion Models has no "
            "decisions that day; the latest recorded day is 2024-10-07",
        ),
    ],
)
def test_why_without_a_record_is_one_line(judged_db, args, message):
    result = runner.invoke(app, ["papers", *args, "--why"])
    assert result.exit_code == 1
    assert result.output.replace("\n", " ").strip() == f"error: {message}"


def test_why_needs_one_topic_and_one_day(judged_db):
    for args in (
        ["--topic", "Diffusion Models"],
        ["--topic", "Diffusion Models", "--date", "2024-10-07", "--status", "ok"],
    ):
        result = runner.invoke(app, ["papers", "--why", *args])
        assert result.exit_code == 2, args
        assert "give --topic T --date D only" in result.output


def test_why_without_topic_explains_the_only_configured_topic(judged_db):
    counts, *_ = _run("papers", "--why", "--date", "2024-10-07")
    assert counts.startswith("Diffusion Models, 2024-10-07: 4 decisions")


def test_why_without_topic_needs_one_among_several(judged_db, tmp_path):
    shipped = Path(__file__).resolve().parents[2] / "config" / "digest.toml"
    text = shipped.read_text(encoding="utf-8")
    second = text[text.index("[[topics]]") :].replace('name = "Diffusion Models"', 'name = "NeRF"')
    (tmp_path / "two.toml").write_text(text + "\n" + second.split("[topics.front_matter]")[0])
    with settings_env({"DIGEST_CONFIG": str(tmp_path / "two.toml")}):
        result = runner.invoke(app, ["papers", "--why", "--date", "2024-10-07"])
    assert result.exit_code == 2 and "give --topic T --date D only" in result.output
