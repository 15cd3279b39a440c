"""The record read back: a day's papers as the post shows them, listings, what is done.

Read-only queries over the tables `tasks.record.store` writes; the post is rendered from these
alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from tasks.domain import LICENCE_STAGE, Extraction, Failure, Figure, Paper, Selection
from tasks.record import rows
from tasks.summary.schema import PaperSummary, SummaryRecord


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
    keys = rows.value(
        con,
        "SELECT papers FROM listings WHERE scope = ? AND day = ? AND window_start = ? "
        "AND window_end = ?",
        [listing_scope(categories), day, window[0], window[1]],
    )
    if not keys:  # none or an empty listing is no answer: the day's run asks again
        return None
    listed = rows.rows(
        con,
        f"SELECT {PAPER_COLUMNS} FROM papers p WHERE concat(arxiv_id, 'v', version) IN "
        "(SELECT unnest(?))",
        [keys],
    )
    found = {p.key: p for p in map(_paper, listed)}
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
    done = con.execute(
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
    return {key for (key,) in done}


@dataclass(frozen=True)
class DigestRecord:
    """A topic's day as recorded: its post (None for a day with none; the note says why)."""

    path: str | None
    papers: int
    failures: int
    note: str
    status: str  # published | empty (finished, no post) | unavailable (not finished)

    @property
    def complete(self) -> bool:
        """Whether the day is finished with no failure (and not left unavailable)."""
        return self.failures == 0 and self.status != "unavailable"


def load_digest(con: duckdb.DuckDBPyConnection, topic: str, day: date) -> DigestRecord | None:
    """Return `topic`'s record for `day`, if any."""
    found = rows.row(
        con,
        "SELECT path, papers, failures, coalesce(note, '') AS note, status FROM digests "
        "WHERE topic = ? AND day = ?",
        [topic, day],
    )
    return DigestRecord(**found) if found else None


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
    kept = rows.rows(
        con,
        f"""SELECT {PAPER_COLUMNS}, s.score, s.matched, s.excluded, s.step, s.reason,
                  s.confidence
           FROM selections s
           JOIN papers p USING (arxiv_id, version)
           WHERE s.topic = ? AND s.day = ? AND s.kept
           ORDER BY p.announce_type = 'new' DESC, p.arxiv_id DESC""",
        [topic, day],
    )
    views = [_view(con, row, topic, language) for row in kept]
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
    found = rows.row(
        con,
        """SELECT day, version FROM selections
           WHERE topic = ? AND arxiv_id = ? AND kept AND day < ? AND version < ?
           ORDER BY day DESC, version DESC LIMIT 1""",
        [topic, paper.arxiv_id, day, paper.version],
    )
    return Previous(**found) if found else None


PAPER_FIELDS = (
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
PAPER_COLUMNS = ", ".join(f"p.{c}" if c not in ("arxiv_id", "version") else c for c in PAPER_FIELDS)
LISTS = ("authors", "categories", "matched", "excluded", "links")  # stored as lists, kept as tuples


def _tuples(found: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v or ()) if k in LISTS else v for k, v in found.items()}


def _paper(found: dict[str, Any]) -> Paper:
    return Paper(**{k: v for k, v in _tuples(found).items() if k in PAPER_FIELDS})


def _view(
    con: duckdb.DuckDBPyConnection, found: dict[str, Any], topic: str, language: str
) -> PaperView:
    paper, chosen = _paper(found), _tuples(found)
    picked = ("score", "matched", "excluded", "step", "reason", "confidence")
    selection = Selection(
        paper.arxiv_id, paper.version, topic, True, **{k: chosen[k] for k in picked}
    )
    key = [paper.arxiv_id, paper.version]
    failures = rows.rows(
        con,
        "SELECT stage, reason, status FROM failures WHERE arxiv_id = ? AND version = ? "
        "ORDER BY stage",
        key,
    )
    return PaperView(
        paper=paper,
        selection=selection,
        extraction=_extraction(con, key),
        summary=_summary(con, key, language),
        failures=tuple(Failure(paper.arxiv_id, paper.version, **f) for f in failures),
    )


def _extraction(con: duckdb.DuckDBPyConnection, key: list) -> Extraction | None:
    found = rows.row(
        con,
        "SELECT pages, affiliation, links, sections, extractor FROM extractions "
        "WHERE arxiv_id = ? AND version = ?",
        key,
    )
    if found is None:
        return None
    figures = rows.rows(
        con,
        "SELECT idx AS index, page, bbox, caption, width, height, sha256, path FROM figures "
        "WHERE arxiv_id = ? AND version = ? ORDER BY idx",
        key,
    )
    return Extraction(
        key[0],
        key[1],
        **{**_tuples(found), "sections": json.loads(found["sections"])},
        figures=tuple(Figure(**{**f, "bbox": tuple(f["bbox"])}) for f in figures),
    )


def _summary(con: duckdb.DuckDBPyConnection, key: list, language: str) -> SummaryRecord | None:
    found = rows.row(
        con,
        "SELECT backend, model, prompt_version, language, summary, prompt_tokens, output_tokens, "
        "cost_usd, created_at, served_model, calls "
        "FROM summaries WHERE arxiv_id = ? AND version = ? ORDER BY language = ? DESC LIMIT 1",
        [*key, language],
    )
    if found is None:
        return None
    return SummaryRecord(
        key[0],
        key[1],
        **{
            **found,
            "summary": PaperSummary.model_validate_json(found["summary"]),
            "created_at": found["created_at"] or datetime.now(UTC),
            "served_model": found["served_model"] or "",
            "calls": found["calls"] or 1,
        },
    )
