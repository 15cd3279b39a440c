"""Read-only questions about the record: which papers, how they fared, what they cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from tasks.domain import PAPER_STAGES, Step
from tasks.record import rows

STAGES = PAPER_STAGES
STATUSES = ("ok", "failed", "waiting")
STEP_LABELS: dict[Step, str] = {
    "judge": "by the LLM judge",
    "keyword": "by keywords",
    "fallback": "by keywords because the judge failed",
}


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
       coalesce((SELECT list([f.stage, f.status]) FROM failures f
                 WHERE f.arxiv_id = s.arxiv_id AND f.version = s.version), []) AS failures
FROM selections s JOIN papers p USING (arxiv_id, version)
WHERE s.kept AND (s.topic = $topic OR $topic IS NULL) AND (s.day >= $since OR $since IS NULL)
  AND (s.day = $day OR $day IS NULL)
ORDER BY s.day, s.topic, s.arxiv_id, s.version
"""


def papers(
    con: duckdb.DuckDBPyConnection,
    topic: str | None = None,
    since: date | None = None,
    status: str | None = None,
    day: date | None = None,
) -> list[PaperRow]:
    """Return the kept papers, oldest day first, of the topic, days and status if given."""
    kept = con.execute(_PAPERS, {"topic": topic, "since": since, "day": day}).fetchall()
    found = [
        PaperRow(
            on,
            name,
            arxiv_id,
            version,
            title,
            score,
            stage_statuses(extracted, summarized, dict(failures)),
        )
        for on, name, arxiv_id, version, title, score, extracted, summarized, failures in kept
    ]
    return [row for row in found if status in (None, row.status)]


def stage_statuses(extracted: bool, summarized: bool, failures: dict[str, str]) -> dict[str, str]:
    """Return ok, failed, waiting or - (not reached) for each stage of one paper.

    `failures` maps a failed stage to its stored status (failed or waiting).
    """
    reached = {
        "download": extracted or "extract" in failures,
        "extract": extracted,
        "summarize": summarized,
    }
    return {s: failures.get(s) or ("ok" if reached[s] else "-") for s in STAGES}


@dataclass(frozen=True)
class Decision:
    """A topic's decision on one paper of a day: kept or dropped, by which step, and why."""

    arxiv_id: str
    version: int
    title: str
    kept: bool
    step: Step  # as stored: keyword, judge, or fallback (the judge failed; keywords decided)
    score: float
    confidence: float | None
    reason: str
    matched: tuple[str, ...]
    excluded: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    @property
    def why(self) -> str:
        return explain(self.reason, self.matched, self.excluded)


def explain(reason: str, matched: Sequence[str], excluded: Sequence[str]) -> str:
    """Return a decision's reason on one line, with the phrases that matched or were excluded."""
    parts = [" ".join(reason.split())]
    if matched:
        parts.append("matched: " + ", ".join(matched))
    if excluded:
        parts.append("excluded: " + ", ".join(excluded))
    return "; ".join(part for part in parts if part) or "-"


def decisions(con: duckdb.DuckDBPyConnection, topic: str, day: date) -> list[Decision]:
    """Return every decision `topic` made on `day`: kept first, highest score next."""
    found = rows.rows(
        con,
        """SELECT s.arxiv_id, s.version, coalesce(p.title, '') AS title, s.kept, s.step, s.score,
                  s.confidence, coalesce(s.reason, '') AS reason, s.matched, s.excluded
           FROM selections s LEFT JOIN papers p USING (arxiv_id, version)
           WHERE s.topic = ? AND s.day = ?
           ORDER BY s.kept DESC, s.score DESC, s.arxiv_id, s.version""",
        [topic, day],
    )
    return [
        Decision(
            **{**d, "matched": tuple(d["matched"] or ()), "excluded": tuple(d["excluded"] or ())}
        )
        for d in found
    ]


def decision_counts(found: Sequence[Decision]) -> str:
    """Return one line counting kept and dropped decisions, and which step made them."""
    kept = sum(d.kept for d in found)
    steps = Counter(d.step for d in found)
    by_step = ", ".join(f"{steps[s]} {label}" for s, label in STEP_LABELS.items() if steps[s])
    return f"{len(found)} decisions, {kept} kept, {len(found) - kept} dropped: {by_step}"


def recorded_topics(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Return the topics that have any selection decision, by name."""
    names = con.execute("SELECT DISTINCT topic FROM selections ORDER BY 1").fetchall()
    return [topic for (topic,) in names]


def latest_day(con: duckdb.DuckDBPyConnection, topic: str) -> date | None:
    """Return the latest day with a decision of `topic`, if any."""
    return rows.value(con, "SELECT max(day) FROM selections WHERE topic = ?", [topic])


def papers_per_day(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Return (day, topic, considered, kept, summarized, failed, waiting) per day and topic."""
    return con.execute(
        """SELECT s.day, s.topic, count(*), count(*) FILTER (s.kept),
                  count(*) FILTER (s.kept AND EXISTS (SELECT 1 FROM summaries m
                      WHERE m.arxiv_id = s.arxiv_id AND m.version = s.version)),
                  count(*) FILTER (s.kept AND EXISTS (SELECT 1 FROM failures f
                      WHERE f.arxiv_id = s.arxiv_id AND f.version = s.version
                      AND f.status = 'failed')),
                  count(*) FILTER (s.kept AND EXISTS (SELECT 1 FROM failures f
                      WHERE f.arxiv_id = s.arxiv_id AND f.version = s.version
                      AND f.status = 'waiting'))
           FROM selections s GROUP BY ALL ORDER BY s.day, s.topic"""
    ).fetchall()


def failures_by_stage(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Return (stage, failed, waiting) over every recorded failure."""
    return con.execute(
        """SELECT stage, count(*) FILTER (status = 'failed'),
                  count(*) FILTER (status = 'waiting')
           FROM failures GROUP BY stage ORDER BY stage"""
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


def spent_since(con: duckdb.DuckDBPyConnection, since: datetime) -> float:
    """Return the LLM cost in USD of the summaries and judge calls made since `since`."""
    spent = rows.value(
        con,
        """SELECT (SELECT coalesce(sum(cost_usd), 0) FROM summaries WHERE created_at >= $since)
                + (SELECT coalesce(sum(cost_usd), 0) FROM judgements WHERE created_at >= $since)""",
        {"since": since},
    )
    return float(spent or 0.0)


def calls_since(con: duckdb.DuckDBPyConnection, since: datetime) -> dict[str, int]:
    """Return the LLM requests made since `since` per model asked, summaries and judge."""
    counts = con.execute(
        """SELECT model, sum(calls) FROM (
               SELECT model, calls FROM summaries WHERE created_at >= $since
               UNION ALL SELECT model, calls FROM judgements WHERE created_at >= $since)
           GROUP BY model""",
        {"since": since},
    ).fetchall()
    return {str(model): int(n or 0) for model, n in counts}


def day_tokens(con: duckdb.DuckDBPyConnection, topic: str, day: date, language: str) -> int:
    """Return the LLM tokens spent summarizing the papers `topic` kept on `day`."""
    tokens = rows.value(
        con,
        """SELECT sum(coalesce(m.prompt_tokens, 0) + coalesce(m.output_tokens, 0))
           FROM selections s JOIN summaries m USING (arxiv_id, version)
           WHERE s.topic = ? AND s.day = ? AND s.kept AND m.language = ?""",
        [topic, day, language],
    )
    return int(tokens or 0)
