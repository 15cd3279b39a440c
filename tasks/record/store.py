"""DuckDB, the durable record: schema, migrations, the lock, idempotent upserts.

Reading the record back (the day's view for rendering, listings, what is done) is in
`tasks.record.views`.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from tasks.domain import Extraction, Failure, Paper, Selection
from tasks.errors import DigestError
from tasks.record.views import listing_scope
from tasks.summary.schema import SummaryRecord

log = logging.getLogger(__name__)

SCHEMA_VERSION = 8
# Another process (a backfill beside a daily run) holds the file for one short write at a time;
# waiting this long means it is stuck, not busy.
LOCK_TIMEOUT = 300.0
# The mark of a failure that is no failure of the paper: the LLM quota or budget ran out.
WAITING = "waits for the next run"

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE papers (
        arxiv_id VARCHAR, version INTEGER, title VARCHAR, authors VARCHAR[], abstract VARCHAR,
        published TIMESTAMPTZ, updated TIMESTAMPTZ, categories VARCHAR[],
        primary_category VARCHAR, comment VARCHAR, licence VARCHAR, announce_type VARCHAR,
        PRIMARY KEY (arxiv_id, version));
    CREATE TABLE selections (
        topic VARCHAR, day DATE, arxiv_id VARCHAR, version INTEGER, kept BOOLEAN,
        score DOUBLE, matched VARCHAR[], excluded VARCHAR[],
        PRIMARY KEY (topic, day, arxiv_id));
    CREATE TABLE extractions (
        arxiv_id VARCHAR, version INTEGER, pages INTEGER, affiliation VARCHAR,
        links VARCHAR[], sections JSON, PRIMARY KEY (arxiv_id, version));
    CREATE TABLE figures (
        arxiv_id VARCHAR, version INTEGER, idx INTEGER, page INTEGER, bbox DOUBLE[],
        caption VARCHAR, width INTEGER, height INTEGER, sha256 VARCHAR, path VARCHAR,
        PRIMARY KEY (arxiv_id, version, idx));
    CREATE TABLE summaries (
        arxiv_id VARCHAR, version INTEGER, language VARCHAR, backend VARCHAR, model VARCHAR,
        prompt_version VARCHAR, summary JSON, prompt_tokens INTEGER, output_tokens INTEGER,
        PRIMARY KEY (arxiv_id, version, language));
    CREATE TABLE failures (
        arxiv_id VARCHAR, version INTEGER, stage VARCHAR, reason VARCHAR,
        PRIMARY KEY (arxiv_id, version, stage));
    CREATE TABLE digests (
        topic VARCHAR, day DATE, path VARCHAR, papers INTEGER, failures INTEGER,
        models VARCHAR[], PRIMARY KEY (topic, day));
    """,
    2: "ALTER TABLE summaries ADD COLUMN cost_usd DOUBLE DEFAULT 0;",
    3: "ALTER TABLE digests ADD COLUMN prompt_versions VARCHAR[] DEFAULT [];",
    4: """
    ALTER TABLE selections ADD COLUMN step VARCHAR DEFAULT 'keyword';
    ALTER TABLE selections ADD COLUMN reason VARCHAR DEFAULT '';
    ALTER TABLE selections ADD COLUMN confidence DOUBLE;
    """,
    5: """
    ALTER TABLE papers ADD COLUMN source VARCHAR DEFAULT 'api';
    ALTER TABLE extractions ADD COLUMN extractor VARCHAR DEFAULT '';
    ALTER TABLE summaries ADD COLUMN created_at TIMESTAMPTZ;
    ALTER TABLE digests ADD COLUMN note VARCHAR DEFAULT '';
    CREATE TABLE judgements (
        topic VARCHAR, day DATE, batch INTEGER, model VARCHAR, prompt_version VARCHAR,
        papers INTEGER, prompt_tokens INTEGER, output_tokens INTEGER, cost_usd DOUBLE,
        created_at TIMESTAMPTZ, PRIMARY KEY (topic, day, batch));
    CREATE TABLE listings (
        scope VARCHAR, day DATE, window_start TIMESTAMPTZ, window_end TIMESTAMPTZ,
        papers VARCHAR[], fetched_at TIMESTAMPTZ, PRIMARY KEY (scope, day));
    """,
    # published | empty (finished, no post) | unavailable (arXiv listed nothing: not finished)
    6: """
    ALTER TABLE digests ADD COLUMN status VARCHAR DEFAULT '';
    UPDATE digests SET status = CASE WHEN path IS NULL THEN 'empty' ELSE 'published' END;
    """,
    # The model that answered when the service routed the request to another, and the
    # requests each record took (llm_rpd counts them across runs).
    7: """
    ALTER TABLE summaries ADD COLUMN served_model VARCHAR DEFAULT '';
    ALTER TABLE summaries ADD COLUMN calls INTEGER DEFAULT 1;
    ALTER TABLE judgements ADD COLUMN served_model VARCHAR DEFAULT '';
    ALTER TABLE judgements ADD COLUMN calls INTEGER DEFAULT 1;
    """,
    # One row per topic, day and notification channel; the channel is a hash of its Apprise
    # URL (never the URL, which holds tokens), shown by its redacted form.
    8: """
    CREATE TABLE IF NOT EXISTS deliveries (
        topic VARCHAR, day DATE, channel VARCHAR, service VARCHAR, status VARCHAR,
        reason VARCHAR, attempts INTEGER, papers INTEGER, attempted_at TIMESTAMPTZ,
        PRIMARY KEY (topic, day, channel));
    """,
}


class StoreError(DigestError):
    """The database cannot be used: locked too long by another process, or an older schema."""


def is_waiting(failure: Failure) -> bool:
    """Return True if the paper only waits for LLM quota or budget, rather than failed."""
    return WAITING in failure.reason


@contextmanager
def connect(
    db_path: Path | str, read_only: bool = False, lock_timeout: float = LOCK_TIMEOUT
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database briefly, migrated to the current schema; commit on success.

    While another process holds the file, wait with backoff for up to `lock_timeout` seconds.
    """
    if str(db_path) != ":memory:" and not read_only:
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    con = _open(db_path, read_only, lock_timeout)
    try:
        if read_only:
            _check_schema(con, db_path)
        else:
            migrate(con)
        yield con
    finally:
        con.close()


def upgrade(db_path: Path) -> None:
    """Migrate an existing database older than this code, so reads can open it read-only.

    A missing database stays missing: the run's first write creates it.
    """
    if not db_path.exists():
        return
    con = _open(db_path, True, LOCK_TIMEOUT)
    try:
        current = _version(con)
    finally:
        con.close()
    if current < SCHEMA_VERSION:
        with connect(db_path):
            pass


def _open(db_path: Path | str, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    deadline, delay, told = time.monotonic() + timeout, 0.02, False
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.IOException as exc:
            left = deadline - time.monotonic()
            if not is_lock_conflict(exc):
                raise
            if left <= 0:
                raise StoreError(
                    f"{db_path} stayed locked by another process for {timeout:g} s; wait for "
                    f"it to finish or stop it, then run again ({_holder(exc)})"
                ) from None
            if not told and timeout - left > 1:
                # A wait of more than a second is worth saying, or the run looks hung.
                log.warning("%s is locked by another process; waiting up to %g s", db_path, left)
                told = True
            # Jitter keeps two waiting processes from retrying in step.
            time.sleep(min(left, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, 0.5)


def _holder(exc: duckdb.IOException) -> str:
    """Return the part of DuckDB's lock message that names the process holding the file."""
    text = str(exc)
    start = text.find("Conflicting lock")
    return text[start:].split(". See")[0] if start != -1 else text


def _version(con: duckdb.DuckDBPyConnection) -> int:
    try:
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    except duckdb.CatalogException:
        row = None
    return (row[0] if row else None) or 0


def _check_schema(con: duckdb.DuckDBPyConnection, db_path: Path | str) -> None:
    version = _version(con)
    if version < SCHEMA_VERSION:
        raise StoreError(
            f"{db_path} has schema version {version}, this arxiv-digest reads version "
            f"{SCHEMA_VERSION}; run any writing command once (arxiv-digest render --date D) "
            "to migrate it"
        )


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the forward migrations the database lacks; return its schema version."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    current = (row[0] if row else None) or 0
    for version in sorted(v for v in MIGRATIONS if v > current):
        con.execute("BEGIN")
        con.execute(MIGRATIONS[version])
        con.execute("INSERT INTO schema_version VALUES (?)", [version])
        con.execute("COMMIT")
        current = version
    return current


def _upsert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", rows)


def save_papers(con: duckdb.DuckDBPyConnection, papers: Iterable[Paper]) -> None:
    """Upsert paper metadata."""
    _upsert(con, "papers", [_paper_row(p) for p in papers])


def _paper_row(p: Paper) -> tuple:
    return (
        p.arxiv_id,
        p.version,
        p.title,
        list(p.authors),
        p.abstract,
        p.published,
        p.updated,
        list(p.categories),
        p.primary_category,
        p.comment,
        p.licence,
        p.announce_type,
        p.source,
    )


def save_selections(
    con: duckdb.DuckDBPyConnection, day: date, selections: Iterable[Selection]
) -> None:
    """Upsert a topic's decisions for `day`."""
    _upsert(
        con,
        "selections",
        [
            (
                s.topic,
                day,
                s.arxiv_id,
                s.version,
                s.kept,
                s.score,
                list(s.matched),
                list(s.excluded),
                s.step,
                s.reason,
                s.confidence,
            )
            for s in selections
        ],
    )


def save_extraction(con: duckdb.DuckDBPyConnection, ex: Extraction) -> None:
    """Upsert what was read from a PDF, replacing its figures."""
    _upsert(
        con,
        "extractions",
        [
            (
                ex.arxiv_id,
                ex.version,
                ex.pages,
                ex.affiliation,
                list(ex.links),
                json.dumps(ex.sections, ensure_ascii=False),
                ex.extractor,
            )
        ],
    )
    con.execute("DELETE FROM figures WHERE arxiv_id = ? AND version = ?", [ex.arxiv_id, ex.version])
    _upsert(
        con,
        "figures",
        [
            (
                ex.arxiv_id,
                ex.version,
                f.index,
                f.page,
                list(f.bbox),
                f.caption,
                f.width,
                f.height,
                f.sha256,
                f.path,
            )
            for f in ex.figures
        ],
    )
    for stage in ("download", "extract"):
        clear_failure(con, ex.arxiv_id, ex.version, stage)


def save_summary(con: duckdb.DuckDBPyConnection, rec: SummaryRecord) -> None:
    """Upsert a validated summary with its model, prompt version and tokens."""
    _upsert(
        con,
        "summaries",
        [
            (
                rec.arxiv_id,
                rec.version,
                rec.language,
                rec.backend,
                rec.model,
                rec.prompt_version,
                rec.summary.model_dump_json(),
                rec.prompt_tokens,
                rec.output_tokens,
                rec.cost_usd,
                rec.created_at,
                rec.served_model,
                rec.calls,
            )
        ],
    )
    clear_failure(con, rec.arxiv_id, rec.version, "summarize")


def save_failure(con: duckdb.DuckDBPyConnection, failure: Failure) -> None:
    """Record that a stage failed for a paper, with the reason."""
    _upsert(con, "failures", [(failure.arxiv_id, failure.version, failure.stage, failure.reason)])


def clear_failure(con: duckdb.DuckDBPyConnection, arxiv_id: str, version: int, stage: str) -> None:
    """Forget a stage's earlier failure once it has succeeded."""
    con.execute(
        "DELETE FROM failures WHERE arxiv_id = ? AND version = ? AND stage = ?",
        [arxiv_id, version, stage],
    )


def save_digest(
    con: duckdb.DuckDBPyConnection,
    topic: str,
    day: date,
    path: str | None,
    papers: int,
    failures: int,
    models: list[str],
    prompt_versions: Iterable[str] = (),
    note: str = "",
) -> None:
    """Record the post written for a topic and day, or (no path) why there is none."""
    status = "published" if path else "empty"
    _upsert(
        con,
        "digests",
        [(topic, day, path, papers, failures, models, list(prompt_versions), note, status)],
    )


def save_empty_day(
    con: duckdb.DuckDBPyConnection, topic: str, day: date, reason: str, status: str = "empty"
) -> None:
    """Record that `topic` has no post for `day`, and why.

    An `unavailable` day (arXiv listed nothing) never replaces a post or a finished day on
    record: an empty answer is no evidence against what an earlier run found.
    """
    if status == "unavailable":
        con.execute(
            "DELETE FROM digests WHERE topic = ? AND day = ? AND status = 'unavailable'",
            [topic, day],
        )
        con.execute(
            "INSERT OR IGNORE INTO digests VALUES (?, ?, NULL, 0, 0, [], [], ?, 'unavailable')",
            [topic, day, reason],
        )
        return
    save_digest(con, topic, day, None, 0, 0, [], note=reason)


def save_judgements(
    con: duckdb.DuckDBPyConnection, topic: str, day: date, batches: Iterable[Any]
) -> None:
    """Record the relevance judge's calls for a topic and day: model, tokens, cost."""
    con.execute("DELETE FROM judgements WHERE topic = ? AND day = ?", [topic, day])
    _upsert(
        con,
        "judgements",
        [
            (
                topic,
                day,
                n,
                b.model,
                b.prompt_version,
                len(b.verdicts),
                b.prompt_tokens,
                b.output_tokens,
                b.cost_usd,
                b.created_at,
                b.served_model,
                b.calls,
            )
            for n, b in enumerate(batches)
        ],
    )


def save_listing(
    con: duckdb.DuckDBPyConnection,
    categories: Iterable[str],
    day: date,
    window: tuple[datetime, datetime],
    papers: list[Paper],
) -> None:
    """Record the papers a batch lists in `categories`, fetched ahead with a whole range.

    A paper row already stored is kept: it may carry what the API lacks (the licence from
    OAI-PMH, the announcement from the feed), and a daily run may be writing it right now.
    """
    rows = [_paper_row(p) for p in papers]
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT OR IGNORE INTO papers VALUES ({marks})", rows)
    _upsert(
        con,
        "listings",
        [
            (
                listing_scope(categories),
                day,
                window[0],
                window[1],
                [p.key for p in papers],
                datetime.now(UTC),
            )
        ],
    )


def is_lock_conflict(error: BaseException | None) -> bool:
    """Return True if `error` is DuckDB refusing its file lock, held by another process."""
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()
