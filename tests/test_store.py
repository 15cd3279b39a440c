from datetime import date

import duckdb

from tasks import store
from tasks.select import select_papers
from tasks.types import Extraction, Failure, Figure
from tests.factories import paper, record

DAY = date(2024, 10, 7)


def _fill(con, p):
    store.save_papers(con, [p])
    store.save_selections(con, DAY, select_papers([p], "Diffusion Models", ["diffusion"], []))
    fig = Figure(1, 2, (1.0, 2.0, 3.0, 4.0), "Figure 1: x", 300, 200, "ab", "f.png")
    store.save_extraction(con, Extraction(p.arxiv_id, p.version, 9, {"method": "m"}, "MIT",
                                          ("https://github.com/a/b",), (fig,)))  # fmt: skip
    store.save_summary(con, record(p))


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
        store.save_failure(con, Failure(p.arxiv_id, 2, "download", "HTTP 404"))
        [view] = store.load_day(con, "Diffusion Models", DAY, "zh")
    assert view.paper == p
    assert view.extraction.figures[0].bbox == (1.0, 2.0, 3.0, 4.0)
    assert view.extraction.sections == {"method": "m"}
    assert view.summary == record(p)
    assert view.failures == (Failure("hep-th/9901001", 2, "download", "HTTP 404"),)


def test_success_clears_an_earlier_failure(tmp_path):
    p = paper()
    with store.connect(tmp_path / "d.duckdb") as con:
        store.save_failure(con, Failure(p.arxiv_id, 1, "summarize", "429"))
        store.save_summary(con, record(p))
        assert con.execute("SELECT count(*) FROM failures").fetchone()[0] == 0


def test_migrations_apply_once(tmp_path):
    db = tmp_path / "d.duckdb"
    with store.connect(db):
        pass
    con = duckdb.connect(str(db))
    assert store.migrate(con) == store.SCHEMA_VERSION
    applied = con.execute("SELECT count(*) FROM schema_version").fetchone()[0]
    assert applied == len(store.MIGRATIONS)


def test_a_version_1_database_is_migrated_forward(tmp_path):
    db = tmp_path / "d.duckdb"
    p = paper()
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_version (version INTEGER)")
    con.execute(store.MIGRATIONS[1])
    con.execute("INSERT INTO schema_version VALUES (1)")
    rec = record(p)
    con.execute(
        "INSERT INTO summaries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [p.arxiv_id, 1, "zh", "gemini", rec.model, "summary-v1",
         rec.summary.model_dump_json(), 10, 20],
    )  # fmt: skip
    con.close()
    with store.connect(db) as con:
        assert store._summary(con, [p.arxiv_id, 1], "zh").cost_usd == 0
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == 2
