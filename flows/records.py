"""The read-only commands over the record: `papers`, `stats` and `export`.

flows/cli.py registers them on the `arxiv-digest` app. Each opens DuckDB read-only, so they
run beside a daily run or a backfill.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

SinceOpt = Annotated[
    datetime | None, typer.Option("--since", formats=["%Y-%m-%d"], help="First day YYYY-MM-DD")
]
TopicOpt = Annotated[str | None, typer.Option("--topic", help="Topic name (default: all)")]
StatusOpt = Annotated[str | None, typer.Option("--status", help="ok | failed | waiting")]
ParquetOpt = Annotated[Path, typer.Option("--parquet", help="Folder for one file per table")]


@contextmanager
def _reading() -> Iterator[Any]:
    """Open the configured database read-only, or stop with a message saying what to do."""
    from config.settings import get_settings
    from tasks import store

    db = get_settings().db_path
    if not Path(db).exists():
        _fail(f"no database at {db}; run `arxiv-digest run` first, or set DIGEST_DB_PATH")
    try:
        with store.connect(db, read_only=True) as con:
            yield con
    except store.StoreError as exc:
        _fail(str(exc), 1)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return rows as a plain text table under `head`, the last column left ragged."""
    cells = [[str(c) for c in head], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in cells
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if value < 1 else f"{value:.2f}"
    return "-" if value is None else str(value)


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def papers(topic: TopicOpt = None, since: SinceOpt = None, status: StatusOpt = None) -> None:
    """List the papers each topic kept, with their stages: ok, failed, waiting or not reached."""
    from tasks import history

    if status not in (None, *history.STATUSES):
        _fail(f"--status {status!r} is not one of {', '.join(history.STATUSES)}")
    with _reading() as con:
        rows = history.papers(con, topic, since.date() if since else None, status)
    if not rows:
        typer.echo("no papers match")
        return
    typer.echo(table(
        ("day", "topic", "paper", "score", *history.STAGES, "title"),
        [(r.day, r.topic, f"{r.arxiv_id}v{r.version}", f"{r.score:.2f}",
          *r.stages.values(), _short(r.title)) for r in rows],
    ))  # fmt: skip


def stats() -> None:
    """Show papers per day and topic, failures by stage, and LLM tokens and cost per day."""
    from tasks import history

    with _reading() as con:
        per_day = history.papers_per_day(con)
        by_stage = history.failures_by_stage(con)
        cost = history.cost_per_day(con)
    typer.echo("papers per day and topic")
    typer.echo(table(("day", "topic", "considered", "kept", "summarized", "failed", "waiting"),
                     per_day))  # fmt: skip
    typer.echo("\nfailures by stage")
    typer.echo(table(("stage", "failed", "waiting"), by_stage) if by_stage else "none")
    typer.echo("\nLLM tokens and cost per day")
    typer.echo(table(("day", "summaries", "tokens in", "tokens out", "cost USD"), cost))


def export(parquet: ParquetOpt) -> None:
    """Write every table of the database to a Parquet file in a folder."""
    from tasks import history

    with _reading() as con:
        written = history.export_parquet(con, parquet)
    for path in written:
        typer.echo(str(path))
