"""The record's schema: forward migrations, applied in order, each once."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tasks.errors import DigestError

SCHEMA_VERSION = 9


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
    # States as values: a failure's status (failed, or waiting for the LLM's quota), and the
    # fallback step, which older records kept only in the text of their reasons.
    9: """
    ALTER TABLE failures ADD COLUMN status VARCHAR DEFAULT 'failed';
    UPDATE failures SET status = 'waiting' WHERE contains(reason, 'waits for the next run');
    UPDATE selections SET step = 'fallback'
        WHERE step = 'keyword' AND starts_with(reason, 'judge failed');
    """,
}


class StoreError(DigestError):
    """The database cannot be used: locked too long by another process, or an older schema."""


def version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the database's schema version; 0 for a new one."""
    try:
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    except duckdb.CatalogException:
        row = None
    return (row[0] if row else None) or 0


def check_schema(con: duckdb.DuckDBPyConnection, db_path: Path | str) -> None:
    """Raise StoreError unless the database has this code's schema (reads never migrate)."""
    found = version(con)
    if found < SCHEMA_VERSION:
        raise StoreError(
            f"{db_path} has schema version {found}, this arxiv-digest reads version "
            f"{SCHEMA_VERSION}; run any writing command once (arxiv-digest render --date D) "
            "to migrate it"
        )


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the forward migrations the database lacks; return its schema version."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
    current = version(con)
    for step in sorted(v for v in MIGRATIONS if v > current):
        con.execute("BEGIN")
        con.execute(MIGRATIONS[step])
        con.execute("INSERT INTO schema_version VALUES (?)", [step])
        con.execute("COMMIT")
        current = step
    return current
