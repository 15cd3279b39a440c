"""The record read back: a day's papers as the post shows them, listings, what is done.

Read-only queries over the tables `tasks.record.store` writes; the post is rendered from these
alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import duckdb

from tasks.domain import LICENCE_STAGE, Extraction, Failure, Figure, Paper, Selection
from tasks.summary.schema import PaperSummary, SummaryRecord


def spent_since(con: duckdb.DuckDBPyConnection, since: datetime) -> float:
    """Return the LLM cost in USD of the summaries and judge calls made since `since`."""
    row = con.execute(
        """SELECT (SELECT coalesce(sum(cost_usd), 0) FROM summaries WHERE created_at >= $since)
                + (SELECT coalesce(sum(cost_usd), 0) FROM judgements WHERE created_at >= $since)""",
        {"since": since},
    ).fetchone()
    return float(row[0]) if row else 0.0


def calls_since(con: duckdb.DuckDBPyConnection, since: datetime) -> dict[str, int]:
    """Return the LLM requests made since `since` per model asked, summaries and judge."""
    rows = con.execute(
        """SELECT model, sum(calls) FROM (
               SELECT model, calls FROM summaries WHERE created_at >= $since
               UNION ALL SELECT model, calls FROM judgements WHERE created_at >= $since)
           GROUP BY model""",
        {"since": since},
    ).fetchall()
    return {str(model): int(n or 0) for model, n in rows}


def listing_scope(categories: Iterable[str]) -> str:
    """Return the key of a set of categories in the listings table."""
    return " ".join(sorted(set(categories)))


def load_listing(
    con: duckdb.DuckDBPyConnection,
    categories: Iterable[str],
    day: date,
    window: tuple[datetime, datetime],
) -> list[Paper] | None:
    """Return the papers recorded for the batch `day` in `categories` and `window`, or None."""
    row = con.execute(
        "SELECT papers FROM listings WHERE scope = ? AND day = ? AND window_start = ? "
        "AND window_end = ?",
        [listing_scope(categories), day, window[0], window[1]],
    ).fetchone()
    if row is None or not row[0]:  # an empty listing is no answer: the day's run asks again
        return None
    keys = row[0]
    rows = con.execute(
        f"SELECT {PAPER_COLUMNS} FROM papers p WHERE concat(arxiv_id, 'v', version) IN "
        "(SELECT unnest(?))",
        [keys],
    ).fetchall()
    found = {p.key: p for p in map(_paper, rows)}
    return [found[key] for key in keys if key in found]


def finished(
    con: duckdb.DuckDBPyConnection,
    papers: Iterable[Paper],
    language: str,
    backend: str,
    model: str,
    prompt_version: str,
    extractor: str,
) -> set[str]:
    """Return the keys of `papers` already extracted by `extractor` and summarized by
    `backend`/`model` with `prompt_version` in `language`, with no failure on record."""
    keys = [p.key for p in papers]
    if not keys:
        return set()
    rows = con.execute(
        """SELECT concat(s.arxiv_id, 'v', s.version) FROM summaries s
           JOIN extractions e USING (arxiv_id, version)
           WHERE concat(s.arxiv_id, 'v', s.version) IN (SELECT unnest($keys))
             AND s.language = $language AND s.backend = $backend AND s.model = $model
             AND s.prompt_version = $prompt AND e.extractor = $extractor
             AND NOT EXISTS (SELECT 1 FROM failures f
                             WHERE f.arxiv_id = s.arxiv_id AND f.version = s.version
                               AND f.stage <> $licence)""",
        {
            "keys": keys,
            "licence": LICENCE_STAGE,
            "language": language,
            "backend": backend,
            "model": model,
            "prompt": prompt_version,
            "extractor": extractor,
        },
    ).fetchall()
    return {row[0] for row in rows}


def load_digest(con: duckdb.DuckDBPyConnection, topic: str, day: date) -> tuple | None:
    """Return (path, papers, failures, note, status) of `topic`'s record for `day`, if any.

    The path is None for a day with no post; the note says why.
    """
    return con.execute(
        "SELECT path, papers, failures, note, status FROM digests WHERE topic = ? AND day = ?",
        [topic, day],
    ).fetchone()


def day_tokens(con: duckdb.DuckDBPyConnection, topic: str, day: date, language: str) -> int:
    """Return the LLM tokens spent summarizing the papers `topic` kept on `day`."""
    row = con.execute(
        """SELECT sum(coalesce(m.prompt_tokens, 0) + coalesce(m.output_tokens, 0))
           FROM selections s JOIN summaries m USING (arxiv_id, version)
           WHERE s.topic = ? AND s.day = ? AND s.kept AND m.language = ?""",
        [topic, day, language],
    ).fetchone()
    return int(row[0] or 0) if row else 0


@dataclass(frozen=True)
class Previous:
    """The earlier version of a paper that the topic already published, and on which day."""

    day: date
    version: int


@dataclass(frozen=True)
class PaperView:
    """Everything the post shows for one paper, read back from the database."""

    paper: Paper
    selection: Selection
    extraction: Extraction | None
    summary: SummaryRecord | None
    failures: tuple[Failure, ...]
    previously: Previous | None = None


def load_day(
    con: duckdb.DuckDBPyConnection,
    topic: str,
    day: date,
    language: str,
    updated_papers: str = "updated",
) -> list[PaperView]:
    """Return the kept papers of `topic` on `day`, new announcements first, newest id next.

    A new version of a paper the topic kept on an earlier day carries `previously` when
    `updated_papers` is "updated", is left out when it is "skip", and counts as new for "new".
    """
    rows = con.execute(
        f"""SELECT {PAPER_COLUMNS}, s.score, s.matched, s.excluded, s.step, s.reason,
                  s.confidence
           FROM selections s
           JOIN papers p USING (arxiv_id, version)
           WHERE s.topic = ? AND s.day = ? AND s.kept
           ORDER BY p.announce_type = 'new' DESC, p.arxiv_id DESC""",
        [topic, day],
    ).fetchall()
    views = [_view(con, row, topic, language) for row in rows]
    if updated_papers == "new":
        return views
    views = [replace(v, previously=_previously(con, topic, day, v.paper)) for v in views]
    return [v for v in views if not (updated_papers == "skip" and v.previously)]


def published_before(
    con: duckdb.DuckDBPyConnection, topic: str, day: date, papers: Iterable[Paper]
) -> set[str]:
    """Return the keys of `papers` of which `topic` kept an earlier version before `day`."""
    return {p.key for p in papers if _previously(con, topic, day, p)}


def _previously(
    con: duckdb.DuckDBPyConnection, topic: str, day: date, paper: Paper
) -> Previous | None:
    """Return the latest earlier version of `paper` that `topic` kept on an earlier day."""
    row = con.execute(
        """SELECT day, version FROM selections
           WHERE topic = ? AND arxiv_id = ? AND kept AND day < ? AND version < ?
           ORDER BY day DESC, version DESC LIMIT 1""",
        [topic, paper.arxiv_id, day, paper.version],
    ).fetchone()
    return Previous(row[0], row[1]) if row else None


PAPER_COLUMNS = ", ".join(
    f"p.{c}" if c != "arxiv_id" and c != "version" else c
    for c in (
        "arxiv_id",
        "version",
        "title",
        "authors",
        "abstract",
        "published",
        "updated",
        "categories",
        "primary_category",
        "comment",
        "licence",
        "announce_type",
        "source",
    )
)


def _paper(row: tuple) -> Paper:
    return Paper(
        arxiv_id=row[0],
        version=row[1],
        title=row[2],
        authors=tuple(row[3]),
        abstract=row[4],
        published=row[5],
        updated=row[6],
        categories=tuple(row[7]),
        primary_category=row[8],
        comment=row[9],
        licence=row[10],
        announce_type=row[11],
        source=row[12],
    )


def _view(con: duckdb.DuckDBPyConnection, row: tuple, topic: str, language: str) -> PaperView:
    paper = _paper(row)
    selection = Selection(
        paper.arxiv_id,
        paper.version,
        topic,
        True,
        row[13],
        tuple(row[14]),
        tuple(row[15]),
        row[16],
        row[17],
        row[18],
    )
    key = [paper.arxiv_id, paper.version]
    return PaperView(
        paper=paper,
        selection=selection,
        extraction=_extraction(con, key),
        summary=_summary(con, key, language),
        failures=tuple(
            Failure(paper.arxiv_id, paper.version, stage, reason, status)
            for stage, reason, status in con.execute(
                "SELECT stage, reason, status FROM failures WHERE arxiv_id = ? AND version = ? "
                "ORDER BY stage",
                key,
            ).fetchall()
        ),
    )


def _extraction(con: duckdb.DuckDBPyConnection, key: list) -> Extraction | None:
    row = con.execute(
        "SELECT pages, affiliation, links, sections, extractor FROM extractions "
        "WHERE arxiv_id = ? AND version = ?",
        key,
    ).fetchone()
    if row is None:
        return None
    figures = tuple(
        Figure(idx, page, tuple(bbox), caption, width, height, sha, path)
        for idx, page, bbox, caption, width, height, sha, path in con.execute(
            "SELECT idx, page, bbox, caption, width, height, sha256, path FROM figures "
            "WHERE arxiv_id = ? AND version = ? ORDER BY idx",
            key,
        ).fetchall()
    )
    return Extraction(
        key[0], key[1], row[0], json.loads(row[3]), row[1], tuple(row[2]), figures, row[4]
    )


def _summary(con: duckdb.DuckDBPyConnection, key: list, language: str) -> SummaryRecord | None:
    row = con.execute(
        "SELECT backend, model, prompt_version, language, summary, prompt_tokens, output_tokens, "
        "cost_usd, created_at, served_model, calls "
        "FROM summaries WHERE arxiv_id = ? AND version = ? ORDER BY language = ? DESC LIMIT 1",
        key + [language],
    ).fetchone()
    if row is None:
        return None
    return SummaryRecord(
        key[0],
        key[1],
        row[0],
        row[1],
        row[2],
        row[3],
        PaperSummary.model_validate_json(row[4]),
        row[5],
        row[6],
        row[7],
        row[8] or datetime.now(UTC),
        row[9] or "",
        row[10] or 1,
    )
