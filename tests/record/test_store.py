import multiprocessing
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from tasks.domain import Extraction, Failure, Figure, Selection
from tasks.record import history, migrations, store, views, writes
from tasks.relevance.judge import JudgeBatch
from tasks.relevance.keywords import select_papers
from tests.factories import paper, record

DAY, NEXT = date(2024, 10, 7), date(2024, 10, 8)
TOPIC = "Diffusion Models"


def _fill(con, p):
    writes.save_papers(con, [p])
    writes.save_selections(con, DAY, select_papers([p], "Diffusion Models", ["diffusion"], []))
    fig = Figure(1, 2, (1.0, 2.0, 3.0, 4.0), "Figure 1: x", 300, 200, "ab", "f.png")
    writes.save_extraction(
        con,
        Extraction(
            p.arxiv_id, p.version, 9, {"method": "m"}, "MIT", ("https://github.com/a/b",), (fig,)
        ),
    )
    writes.save_summary(con, record(p))


def _schema(con) -> int:
    return con.execute("SELECT max(version) FROM schema_version").fetchone()[0]


def _dump(con):
    tables = [
        r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
    ]
    return {t: sorted(map(str, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}


def test_running_twice_leaves_the_same_rows(tmp_path):
    db = tmp_path / "d.duckdb"
    p = paper()
    with store.connect(db) as con:
        _fill(con, p)
        first = _dump(con)
    with store.connect(db) as con:
        _fill(con, p)
        assert _dump(con) == first
    assert first["papers"] and first["figures"] and first["summaries"]


def test_load_day_round_trips_everything(tmp_path):
    p = paper("hep-th/9901001", 2, comment="10 pages")
    with store.connect(tmp_path / "d.duckdb") as con:
        _fill(con, p)
        writes.save_failure(con, Failure(p.arxiv_id, 2, "download", "HTTP 404"))
        [view] = views.load_day(con, "Diffusion Models", DAY, "zh")
    assert view.paper == p
    assert view.extraction.figures[0].bbox == (1.0, 2.0, 3.0, 4.0)
    assert view.extraction.sections == {"method": "m"}
    assert view.summary == record(p)
    assert view.failures == (Failure("hep-th/9901001", 2, "download", "HTTP 404"),)


def test_success_clears_an_earlier_failure(tmp_path):
    p = paper()
    with store.connect(tmp_path / "d.duckdb") as con:
        writes.save_failure(con, Failure(p.arxiv_id, 1, "summarize", "429"))
        writes.save_summary(con, record(p))
        assert con.execute("SELECT count(*) FROM failures").fetchone()[0] == 0


def test_migrations_apply_once(tmp_path):
    db = tmp_path / "d.duckdb"
    with store.connect(db):
        pass
    con = duckdb.connect(str(db))
    assert migrations.migrate(con) == migrations.SCHEMA_VERSION
    applied = con.execute("SELECT count(*) FROM schema_version").fetchone()[0]
    assert applied == len(migrations.MIGRATIONS)


def _database_at(db, version: int) -> duckdb.DuckDBPyConnection:
    """Return a connection to a new database built by the migrations up to `version`."""
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_version (version INTEGER)")
    for v in range(1, version + 1):
        con.execute(migrations.MIGRATIONS[v])
        con.execute("INSERT INTO schema_version VALUES (?)", [v])
    return con


def test_an_empty_database_gets_the_current_schema(tmp_path):
    with store.connect(tmp_path / "d.duckdb") as con:
        assert _schema(con) == migrations.SCHEMA_VERSION
        _fill(con, paper())
        writes.save_digest(con, TOPIC, DAY, "p.md", 1, 0, ["m"], ["summary-v1"])
        assert con.execute("SELECT prompt_versions FROM digests").fetchone()[0] == ["summary-v1"]


def test_a_version_1_database_is_migrated_forward(tmp_path):
    db = tmp_path / "d.duckdb"
    p = paper()
    con = _database_at(db, 1)
    rec = record(p)
    con.execute(
        "INSERT INTO summaries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            p.arxiv_id,
            1,
            "zh",
            "gemini",
            rec.model,
            "summary-v1",
            rec.summary.model_dump_json(),
            10,
            20,
        ],
    )
    con.close()
    with store.connect(db) as con:
        assert views._summary(con, [p.arxiv_id, 1], "zh").cost_usd == 0
        assert _schema(con) == migrations.SCHEMA_VERSION


def test_a_version_2_database_keeps_its_digests(tmp_path):
    db = tmp_path / "d.duckdb"
    con = _database_at(db, 2)
    con.execute(
        "INSERT INTO digests VALUES (?, ?, 'p.md', 3, 1, ['gemini-2.5-flash'])", [TOPIC, DAY]
    )
    con.close()
    with store.connect(db) as con:
        expected = views.DigestRecord("p.md", 3, 1, "", "published")
        assert views.load_digest(con, TOPIC, DAY) == expected
        assert con.execute("SELECT prompt_versions FROM digests").fetchone()[0] == []


def test_reading_an_older_database_says_how_to_migrate_it(tmp_path):
    db = tmp_path / "d.duckdb"
    _database_at(db, 2).close()
    with pytest.raises(store.StoreError, match=r"schema version 2.*migrate"):
        with store.connect(db, read_only=True):
            pass


def _publish(con, day, p, kept=True):
    writes.save_papers(con, [p])
    writes.save_selections(con, day, [Selection(p.arxiv_id, p.version, TOPIC, kept, 2.0)])


def _two_days(tmp_path, kept_on_day_1=True):
    """Store v1 of a paper on DAY and its v2 beside another new paper on NEXT."""
    db = tmp_path / "d.duckdb"
    with store.connect(db) as con:
        _publish(con, DAY, paper(), kept_on_day_1)
        _publish(con, NEXT, paper(version=2, announce_type="replace"))
        _publish(con, NEXT, paper("2410.09999"))
    return db


def _day(db, day, updated_papers="updated"):
    with store.connect(db, read_only=True) as con:
        shown = views.load_day(con, TOPIC, day, "zh", updated_papers)
    return {(v.paper.arxiv_id, v.paper.version): v.previously for v in shown}


def test_a_new_version_of_a_published_paper_is_marked_updated(tmp_path):
    db = _two_days(tmp_path)
    assert _day(db, NEXT) == {
        ("2410.09999", 1): None,
        ("2410.03665", 2): views.Previous(DAY, 1),
    }
    assert _day(db, DAY) == {("2410.03665", 1): None}  # re-rendering day 1 is unchanged


def test_the_setting_skips_updated_papers_or_treats_them_as_new(tmp_path):
    db = _two_days(tmp_path)
    assert _day(db, NEXT, "skip") == {("2410.09999", 1): None}
    assert _day(db, NEXT, "new") == {("2410.09999", 1): None, ("2410.03665", 2): None}


def test_a_version_never_published_for_the_topic_is_new(tmp_path):
    db = _two_days(tmp_path, kept_on_day_1=False)
    assert _day(db, NEXT)[("2410.03665", 2)] is None


def test_waiting_is_a_stored_status_not_a_phrase_of_the_reason(tmp_path):
    waits = Failure("x", 1, "summarize", "429 quota, reworded by the service", "waiting")
    fails = Failure("y", 1, "summarize", "the paper waits for the next run, says the text")
    assert store.is_waiting(waits) and not store.is_waiting(fails)
    with store.connect(tmp_path / "d.duckdb") as con:
        for f in (waits, fails):
            writes.save_failure(con, f)
        found = con.execute("SELECT arxiv_id, status FROM failures ORDER BY 1").fetchall()
    assert found == [("x", "waiting"), ("y", "failed")]


def test_version_9_turns_states_kept_in_reasons_into_values(tmp_path):
    con = _database_at(tmp_path / "d.duckdb", 8)
    con.execute(
        "INSERT INTO failures VALUES ('a', 1, 'summarize', "
        "'429; the paper waits for the next run'),"
        " ('b', 1, 'extract', 'not a PDF')"
    )
    con.execute(
        "INSERT INTO selections (topic, day, arxiv_id, version, kept, score, matched, excluded,"
        " step, reason) VALUES ('T', DATE '2024-10-07', 'a', 1, true, 2, [], [], 'keyword',"
        " 'judge failed (timeout); keyword decision: score 2 >= 1'),"
        " ('T', DATE '2024-10-07', 'b', 1, true, 2, [], [], 'keyword', 'score 2 >= 1')"
    )
    assert migrations.migrate(con) == 9
    assert con.execute("SELECT arxiv_id, status FROM failures ORDER BY 1").fetchall() == [
        ("a", "waiting"),
        ("b", "failed"),
    ]
    assert con.execute("SELECT arxiv_id, step FROM selections ORDER BY 1").fetchall() == [
        ("a", "fallback"),
        ("b", "keyword"),
    ]


def _hold(db, ready, seconds):
    with store.connect(db) as con:
        con.execute("SELECT 1")
        ready.set()
        time.sleep(seconds)


def test_a_locked_database_is_waited_for_then_named_in_a_clear_error(tmp_path):
    db = tmp_path / "d.duckdb"
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(db, ready, 3.0))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(store.StoreError, match=r"d\.duckdb stayed locked .*PID"):
            with store.connect(db, lock_timeout=0.3):
                pass
        with store.connect(db, lock_timeout=60) as con:  # waits for the holder to finish
            assert _schema(con) == migrations.SCHEMA_VERSION
    finally:
        holder.join(60)
    assert holder.exitcode == 0


def _write(db, prefix, rounds, via_stage):
    from tasks.stages import store_results

    for i in range(rounds):
        ours = paper(f"{prefix}.{i:05d}", comment=prefix)
        shared = paper("2410.00000", comment=f"{prefix} {i}")
        picks = [Selection(p.arxiv_id, 1, TOPIC, True, 1.0) for p in (ours, shared)]
        if via_stage:
            store_results.fn(db, "metadata", [ours, shared, *picks], DAY)
        else:
            with store.connect(db) as con:
                writes.save_papers(con, [ours, shared])
                writes.save_selections(con, DAY, picks)


def test_two_processes_write_the_same_database_at_once(tmp_path):
    db = tmp_path / "d.duckdb"
    ctx = multiprocessing.get_context("spawn")
    rounds = 8
    writers = [
        ctx.Process(target=_write, args=(db, prefix, rounds, via_stage))
        for prefix, via_stage in (("1111", False), ("2222", True))
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join(300)
    assert [w.exitcode for w in writers] == [0, 0]
    with store.connect(db, read_only=True) as con:
        counts = dict(
            con.execute(
                "SELECT comment, count(*) FROM papers WHERE arxiv_id != '2410.00000' GROUP BY 1"
            ).fetchall()
        )
        shared = con.execute("SELECT count(*) FROM papers WHERE arxiv_id = '2410.00000'")
        assert shared.fetchone()[0] == 1
        assert counts == {"1111": rounds, "2222": rounds}
        picked = con.execute("SELECT count(*), count(DISTINCT arxiv_id) FROM selections")
        assert picked.fetchone() == (2 * rounds + 1, 2 * rounds + 1)


def test_selection_decisions_keep_their_step_reason_and_confidence(tmp_path):
    p = paper()
    judged = Selection(
        p.arxiv_id,
        p.version,
        TOPIC,
        True,
        3.0,
        ("diffusion",),
        (),
        "judge",
        "a latent diffusion model for video",
        0.9,
    )
    with store.connect(tmp_path / "d.duckdb") as con:
        writes.save_papers(con, [p])
        writes.save_selections(con, DAY, [judged])
        [view] = views.load_day(con, TOPIC, DAY, "zh")
    assert view.selection == judged


def test_a_listing_round_trips_its_papers_in_order_and_only_for_its_window(tmp_path):
    start = datetime(2024, 10, 3, 18, tzinfo=UTC)
    window = (start, start + timedelta(days=1))
    papers = [paper("2410.03665"), paper("hep-th/9901001", 2, source="api")]
    with store.connect(tmp_path / "d.duckdb") as con:
        assert views.load_listing(con, ["cs.CV"], DAY, window) is None
        writes.save_listing(con, ["cs.LG", "cs.CV"], DAY, window, papers)
        assert views.load_listing(con, ["cs.CV", "cs.LG"], DAY, window) == papers
        moved = (window[0], window[1] + timedelta(hours=1))  # e.g. a holiday added since
        assert views.load_listing(con, ["cs.CV", "cs.LG"], DAY, moved) is None
        assert views.load_listing(con, ["cs.CV"], DAY, window) is None


def test_an_empty_day_is_recorded_with_its_reason(tmp_path):
    with store.connect(tmp_path / "d.duckdb") as con:
        writes.save_empty_day(con, TOPIC, DAY, "no paper matched the topic")
        note = "no paper matched the topic"
        assert views.load_digest(con, TOPIC, DAY) == views.DigestRecord(None, 0, 0, note, "empty")


def test_the_days_spend_counts_summaries_and_judge_calls_made_since(tmp_path):
    earlier, now = datetime(2024, 10, 6, tzinfo=UTC), datetime(2024, 10, 7, 12, tzinfo=UTC)
    batch = JudgeBatch((), "gemini-2.5-flash", "judge-v1", 100, 10, 0.25, created_at=now)
    with store.connect(tmp_path / "d.duckdb") as con:
        writes.save_summary(
            con, replace(record(paper("2410.00001")), cost_usd=1.0, created_at=earlier)
        )
        writes.save_summary(con, replace(record(paper("2410.00002")), cost_usd=0.5, created_at=now))
        writes.save_judgements(con, TOPIC, DAY, [batch])
        writes.save_judgements(con, TOPIC, DAY, [batch])  # a rerun replaces, never adds
        assert history.spent_since(con, datetime(2024, 10, 7, tzinfo=UTC)) == pytest.approx(0.75)


def test_finished_needs_the_same_versions_and_no_failure(tmp_path):
    done, failed, old = paper("2410.00001"), paper("2410.00002"), paper("2410.00003")
    with store.connect(tmp_path / "d.duckdb") as con:
        for p in (done, failed, old):
            writes.save_papers(con, [p])
            version = "extract-v0" if p is old else "extract-v3"
            writes.save_extraction(con, Extraction(p.arxiv_id, p.version, 9, extractor=version))
            writes.save_summary(con, record(p))
        writes.save_failure(con, Failure(failed.arxiv_id, failed.version, "download", "HTTP 503"))
        found = views.finished(
            con, [done, failed, old], "zh", "gemini", "gemini-2.5-flash", "summary-v1", "extract-v3"
        )
        assert found == {done.key}
        assert (
            views.finished(
                con, [done], "en", "gemini", "gemini-2.5-flash", "summary-v1", "extract-v3"
            )
            == set()
        )
        assert (
            views.finished(
                con, [done], "zh", "gemini", "gemini-2.5-flash", "summary-v2", "extract-v3"
            )
            == set()
        )


def test_a_listing_never_overwrites_what_a_run_stored_about_a_paper(tmp_path):
    start = datetime(2024, 10, 3, 18, tzinfo=UTC)
    window = (start, start + timedelta(days=1))
    licensed = paper("2410.03665", licence="http://creativecommons.org/licenses/by/4.0/")
    with store.connect(tmp_path / "d.duckdb") as con:
        writes.save_papers(con, [licensed])
        writes.save_listing(con, ["cs.CV"], DAY, window, [replace(licensed, licence="")])
        assert views.load_listing(con, ["cs.CV"], DAY, window) == [licensed]
