"""The read-only commands over the record: `papers`, `stats` and `export`.

flows/cli.py registers them on the `arxiv-digest` app. Each opens DuckDB read-only, so they
run beside a daily run or a backfill.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.console import fail, short, table

SinceOpt = Annotated[
    datetime | None, typer.Option("--since", formats=["%Y-%m-%d"], help="First day YYYY-MM-DD")
]
TopicOpt = Annotated[str | None, typer.Option("--topic", help="Topic name (default: all)")]
StatusOpt = Annotated[str | None, typer.Option("--status", help="ok | failed | waiting")]
DayOpt = Annotated[
    datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="One day YYYY-MM-DD")
]
WhyOpt = Annotated[
    bool,
    typer.Option("--why", help="Every selection decision of --topic on --date, and its reason"),
]
ParquetOpt = Annotated[Path, typer.Option("--parquet", help="Folder for one file per table")]


@contextmanager
def _reading() -> Iterator[Any]:
    """Open the configured database read-only, or stop with a message saying what to do."""
    from config.loading import get_settings
    from tasks.record import store

    db = get_settings().db_path
    if not Path(db).exists():
        fail(f"no database at {db}; run `arxiv-digest run` first, or set DIGEST_DB_PATH")
    try:
        with store.connect(db, read_only=True) as con:
            yield con
    except store.StoreError as exc:
        fail(str(exc), 1)


def papers(
    topic: TopicOpt = None,
    since: SinceOpt = None,
    status: StatusOpt = None,
    day: DayOpt = None,
    why: WhyOpt = False,
) -> None:
    """List the papers each topic kept, with their stages: ok, failed, waiting or not reached.

    With --why, list every decision of one topic on one day instead: kept and dropped, the
    step that decided, score, the judge's confidence and the reason.
    """
    from tasks.record import history

    if why:
        topic = topic or _only_topic()
        if not (topic and day) or since or status:
            fail("--why explains one topic on one day: give --topic T --date D only")
        _why(topic, day.date())
        return
    if status not in (None, *history.STATUSES):
        fail(f"--status {status!r} is not one of {', '.join(history.STATUSES)}")
    with _reading() as con:
        rows = history.papers(
            con, topic, since.date() if since else None, status, day.date() if day else None
        )
    if not rows:
        typer.echo("no papers match")
        return
    typer.echo(
        table(
            ("day", "topic", "paper", "score", *history.STAGES, "title"),
            [
                (
                    r.day,
                    r.topic,
                    f"{r.arxiv_id}v{r.version}",
                    f"{r.score:.2f}",
                    *r.stages.values(),
                    short(r.title),
                )
                for r in rows
            ],
        )
    )


def _only_topic() -> str | None:
    """Return the name of the one configured topic; with several, --topic must choose."""
    from config.loading import get_settings

    topics = get_settings().topics
    return topics[0].name if len(topics) == 1 else None


def _why(topic: str, day: date) -> None:
    """Print every decision `topic` made on `day`, kept first, or say why there is none."""
    from tasks.record import history

    with _reading() as con:
        found = history.decisions(con, topic, day)
        if not found:
            fail(_no_decisions(con, topic, day), 1)
    typer.echo(f"{topic}, {day}: {history.decision_counts(found)}")
    typer.echo(
        table(
            ("kept", "paper", "step", "score", "conf", "title", "reason"),
            [
                (
                    "yes" if d.kept else "no",
                    d.key,
                    d.step,
                    f"{d.score:.2f}",
                    "-" if d.confidence is None else f"{d.confidence:.2f}",
                    short(d.title, 48),
                    d.why,
                )
                for d in found
            ],
        )
    )
    if any(d.step == "fallback" for d in found):
        typer.echo(
            "fallback: the judge gave no valid answer for the paper's batch, so the "
            "keyword decision stands; the next run asks the judge again"
        )


def _no_decisions(con: Any, topic: str, day: date) -> str:
    """Return one line saying why nothing is recorded for `topic` on `day`, and what to do."""
    from config.loading import get_settings
    from tasks.record import history
    from tasks.source import schedule

    known = history.recorded_topics(con)
    if topic not in known:
        return f"no decisions recorded for topic {topic!r}; recorded topics: " + (
            ", ".join(known) or "none yet (run `arxiv-digest run` first)"
        )
    latest = history.latest_day(con, topic)
    closed = schedule.no_batch_reason(day, get_settings().holidays)
    if closed:
        return (
            f"arXiv announces no batch labelled {day} ({closed}), so {topic} has no "
            f"decisions that day; the latest recorded day is {latest}"
        )
    return (
        f"no decisions recorded for {topic} on {day}; run `arxiv-digest run --date {day} "
        f'--topic "{topic}"` first (the latest recorded day is {latest})'
    )


def stats() -> None:
    """Show papers per day and topic, failures by stage, and LLM tokens and cost per day."""
    from tasks.record import history

    with _reading() as con:
        per_day = history.papers_per_day(con)
        by_stage = history.failures_by_stage(con)
        cost = history.cost_per_day(con)
    typer.echo("papers per day and topic")
    typer.echo(
        table(("day", "topic", "considered", "kept", "summarized", "failed", "waiting"), per_day)
    )
    typer.echo("\nfailures by stage")
    typer.echo(table(("stage", "failed", "waiting"), by_stage) if by_stage else "none")
    typer.echo("\nLLM tokens and cost per day")
    typer.echo(table(("day", "summaries", "tokens in", "tokens out", "cost USD"), cost))


def export(parquet: ParquetOpt) -> None:
    """Write every table of the database to a Parquet file in a folder."""
    from tasks.record import history

    with _reading() as con:
        written = history.export_parquet(con, parquet)
    for path in written:
        typer.echo(str(path))
