"""Read-only questions about the record: which papers, how they fared, what they cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from tasks.store import WAITING

STAGES = ("download", "extract", "summarize")
STATUSES = ("ok", "failed", "waiting")


@dataclass(frozen=True)
class PaperRow:
    """One paper a topic kept on a day, with how far each stage got."""

    day: date
    topic: str
    arxiv_id: str
    version: int
    title: str
    score: float
    stages: dict[str, str]  # stage -> ok | failed | waiting | - (not reached)

    @property
    def status(self) -> str:
        """Return `failed` if a stage failed, `waiting` if one only waits, else `ok`."""
        shown = set(self.stages.values())
        return "failed" if "failed" in shown else "waiting" if "waiting" in shown else "ok"


_PAPERS = """
SELECT s.day, s.topic, s.arxiv_id, s.version, p.title, s.score,
       EXISTS (SELECT 1 FROM extractions e
               WHERE e.arxiv_id = s.arxiv_id AND e.version = s.version) AS extracted,
       EXISTS (SELECT 1 FROM summaries m
               WHERE m.arxiv_id = s.arxiv_id AND m.version = s.version) AS summarized,
       coalesce((SELECT list([f.stage, f.reason]) FROM failures f
                 WHERE f.arxiv_id = s.arxiv_id AND f.version = s.version), []) AS failures
FROM selections s JOIN papers p USING (arxiv_id, version)
WHERE s.kept AND (s.topic = $topic OR $topic IS NULL) AND (s.day >= $since OR $since IS NULL)
ORDER BY s.day, s.topic, s.arxiv_id, s.version
"""


def papers(
    con: duckdb.DuckDBPyConnection,
    topic: str | None = None,
    since: date | None = None,
    status: str | None = None,
) -> list[PaperRow]:
    """Return the kept papers, oldest day first, optionally of one topic, day or status."""
    found = [
        PaperRow(day, name, arxiv_id, version, title, score,
                 stage_statuses(extracted, summarized, dict(failures)))
        for day, name, arxiv_id, version, title, score, extracted, summarized, failures
        in con.execute(_PAPERS, {"topic": topic, "since": since}).fetchall()
    ]  # fmt: skip
    return [row for row in found if status in (None, row.status)]


def stage_statuses(extracted: bool, summarized: bool, failures: dict[str, str]) -> dict[str, str]:
    """Return ok, failed, waiting or - (not reached) for each stage of one paper."""

    def failed(stage: str) -> str | None:
        if stage not in failures:
            return None
        return "waiting" if WAITING in failures[stage] else "failed"

    reached = {
        "download": extracted or "extract" in failures,
        "extract": extracted,
        "summarize": summarized,
    }
    return {s: failed(s) or ("ok" if reached[s] else "-") for s in STAGES}


def papers_per_day(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Return (day, topic, considered, kept, summarized, failed, waiting) per day and topic."""
    return con.execute(
        """SELECT s.day, s.topic, count(*), count(*) FILTER (s.kept),
                  count(*) FILTER (s.kept AND EXISTS (SELECT 1 FROM summaries m
                      WHERE m.arxiv_id = s.arxiv_id AND m.version = s.version)),
                  count(*) FILTER (s.kept AND EXISTS (SELECT 1 FROM failures f
                      WHERE f.arxiv_id = s.arxiv_id AND f.version = s.version
                      AND NOT contains(f.reason, $waiting))),
                  count(*) FILTER (s.kept AND EXISTS (SELECT 1 FROM failures f
                      WHERE f.arxiv_id = s.arxiv_id AND f.version = s.version
                      AND contains(f.reason, $waiting)))
           FROM selections s GROUP BY ALL ORDER BY s.day, s.topic""",
        {"waiting": WAITING},
    ).fetchall()


def failures_by_stage(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Return (stage, failed, waiting) over every recorded failure."""
    return con.execute(
        """SELECT stage, count(*) FILTER (NOT contains(reason, $waiting)),
                  count(*) FILTER (contains(reason, $waiting))
           FROM failures GROUP BY stage ORDER BY stage""",
        {"waiting": WAITING},
    ).fetchall()


def cost_per_day(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Return (day, summaries, prompt tokens, output tokens, cost in USD) per day.

    A summary counts once on a day, however many topics kept its paper.
    """
    return con.execute(
        """SELECT day, count(*), sum(prompt_tokens), sum(output_tokens), sum(cost_usd)
           FROM (SELECT DISTINCT s.day, m.arxiv_id, m.version, m.language, m.prompt_tokens,
                        m.output_tokens, m.cost_usd
                 FROM selections s JOIN summaries m USING (arxiv_id, version) WHERE s.kept)
           GROUP BY day ORDER BY day"""
    ).fetchall()


def export_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """Write every table to `out_dir/<table>.parquet`; return the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1"
    ).fetchall()
    written = []
    for (table,) in tables:
        path = out_dir / f"{table}.parquet"
        quoted = str(path).replace("'", "''")
        con.execute(f"COPY \"{table}\" TO '{quoted}' (FORMAT parquet)")
        written.append(path)
    return written
