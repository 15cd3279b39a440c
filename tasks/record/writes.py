"""Writing the record: idempotent upserts of every kind the stages produce, in one transaction."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import duckdb

from tasks.domain import (
    Cleared,
    DayNote,
    Extraction,
    Failure,
    JudgeCalls,
    Listing,
    Paper,
    Selection,
)
from tasks.record import store
from tasks.record.views import listing_scope
from tasks.summary.schema import SummaryRecord


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
    """Record that a stage failed for a paper (or that it waits), with the reason."""
    f = failure
    _upsert(con, "failures", [(f.arxiv_id, f.version, f.stage, f.reason, f.status)])


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
    keys, scope = [p.key for p in papers], listing_scope(categories)
    _upsert(con, "listings", [(scope, day, window[0], window[1], keys, datetime.now(UTC))])


Saver = Callable[[duckdb.DuckDBPyConnection, list[Any], "date | None"], object]


def _each(save: Callable[[duckdb.DuckDBPyConnection, Any], object]) -> Saver:
    return lambda con, items, _day: [save(con, item) for item in items]


# In this order: papers before what refers to them. Selections are always saved with a day.
SAVERS: dict[type, Saver] = {
    Paper: lambda con, items, _day: save_papers(con, items),
    Listing: _each(lambda con, x: save_listing(con, x.categories, x.day, x.window, list(x.papers))),
    Selection: lambda con, items, day: save_selections(con, cast(date, day), items),
    JudgeCalls: _each(lambda con, x: save_judgements(con, x.topic, x.day, x.batches)),
    Extraction: _each(save_extraction),
    SummaryRecord: _each(save_summary),
    Failure: _each(save_failure),
    DayNote: _each(lambda con, x: save_empty_day(con, x.topic, x.day, x.reason, x.status)),
    Cleared: _each(lambda con, x: clear_failure(con, x.arxiv_id, x.version, x.stage)),
}


def save_all(db_path: Path, items: Iterable[Any], day: date | None = None) -> int:
    """Upsert `items` (any mix of the kinds above) in one transaction; safe to repeat."""
    by_type: dict[type, list[Any]] = defaultdict(list)
    for item in items:
        by_type[type(item)].append(item)
    unknown = set(by_type) - set(SAVERS)
    if unknown:
        raise TypeError(f"cannot store {', '.join(sorted(t.__name__ for t in unknown))}")
    with store.connect(db_path) as con:
        con.execute("BEGIN")
        for kind, save in SAVERS.items():
            if by_type.get(kind):
                save(con, by_type[kind], day)
        con.execute("COMMIT")
    return sum(map(len, by_type.values()))
