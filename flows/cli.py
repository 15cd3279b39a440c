"""The `arxiv-digest` command line."""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from flows import console, records
from flows.console import fail, quiet_prefect, short, table
from flows.runs import check, no_batch, run_day, run_plan

if TYPE_CHECKING:  # imported lazily at run time: commands without a flow never load Prefect
    from flows.backfill import DayReport
    from tasks.domain import Extraction

app = typer.Typer(help="Daily arXiv digests per topic, as Prefect flows.", no_args_is_help=True)

DateOpt = Annotated[
    datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="Batch label YYYY-MM-DD")
]
TopicOpt = Annotated[
    list[str] | None, typer.Option("--topic", help="Topic name (repeatable; default: all)")
]
LlmOpt = Annotated[str | None, typer.Option("--llm", help="auto | gemini | openai | extractive")]
NotifyOpt = Annotated[
    bool, typer.Option("--notify/--no-notify", help="Send the day to the notify URLs")
]


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors")] = False,
) -> None:
    """Daily arXiv digests per topic, as Prefect flows."""
    from config.loading import get_settings
    from tasks.errors import ConfigError

    console.options["debug"] = debug
    try:  # the first load: every later get_settings() returns these
        get_settings()
    except ConfigError as exc:
        fail(str(exc))


@app.command()
def run(
    date_: DateOpt = None, topic: TopicOpt = None, llm: LlmOpt = None, notify: NotifyOpt = True
) -> None:
    """Build the digest for one batch label (default: the latest batch)."""
    from config.loading import get_settings

    check(llm, topic)
    settings = get_settings()
    if date_ is None:
        day, message = run_plan(datetime.now(UTC), settings.holidays)
    else:
        day, message = date_.date(), no_batch(settings, date_.date(), topic)
    if day is None or message:
        typer.echo(message)
        return
    run_day(day, topic, llm, notify)


@app.command()
def calendar(date_: DateOpt = None) -> None:
    """Show the batch labelled a date (default: today in New York) and the next one."""
    from config.loading import get_settings
    from tasks.source import schedule as arxiv_calendar

    day = date_.date() if date_ else datetime.now(arxiv_calendar.EASTERN).date()
    typer.echo(arxiv_calendar.describe(day, get_settings().holidays))


StartOpt = Annotated[datetime | None, typer.Option("--start", formats=["%Y-%m-%d"])]
EndOpt = Annotated[datetime | None, typer.Option("--end", formats=["%Y-%m-%d"])]


def _days(
    day: datetime | None, start: datetime | None, end: datetime | None, with_date: bool = True
) -> list[date]:
    """Return the dates named by --date, or by --start and --end (both included)."""
    if day and not (start or end):
        return [day.date()]
    if start and end and not day and start <= end:
        return [(start + timedelta(days=n)).date() for n in range((end - start).days + 1)]
    if start and end and start > end:
        fail(f"--start {start:%Y-%m-%d} is after --end {end:%Y-%m-%d}; swap them")
    fail("give --date D, or --start D and --end D" if with_date else "give --start D and --end D")
    return []


@app.command()
def render(
    date_: DateOpt = None, start: StartOpt = None, end: EndOpt = None, topic: TopicOpt = None
) -> None:
    """Re-render posts from DuckDB alone: no network, no LLM call."""
    from config.loading import get_settings
    from tasks.stage_config import stage_config
    from tasks.stages import render_day

    settings = get_settings()
    check(None, topic)
    config = stage_config(settings)
    days = _days(date_, start, end)
    if not settings.db_path.exists():  # a render never creates the record it reads
        fail(
            f"no database at {settings.db_path}; run `arxiv-digest run` first, or set "
            "DIGEST_DB_PATH"
        )
    chosen = [settings.topic(name) for name in topic] if topic else settings.topics
    for day in days:
        for t in chosen:
            post = render_day.fn(config, t.name, t.slug, t.language, day, t.front_matter)
            typer.echo(f"{t.name} {day}: {post.path if post else 'nothing stored for this day'}")
            for figure in post.missing if post else ():
                typer.secho(
                    f"warning: {figure} is missing, so the post's image of it is broken "
                    f"(is DIGEST_DATA_DIR right? a run of {day} extracts it again)",
                    fg="yellow",
                    err=True,
                )


@app.command()
def backfill(
    start: StartOpt = None,
    end: EndOpt = None,
    topic: TopicOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run days already complete")] = False,
    llm: LlmOpt = None,
    notify: NotifyOpt = False,
) -> None:
    """Run `daily-digest` for every batch label from --start to --end (both included)."""
    check(llm, topic)
    days = _days(None, start, end, with_date=False)
    quiet_prefect()
    from flows.backfill import backfill as backfill_flow
    from flows.backfill import listening

    with typer.progressbar(length=len(days), label="backfill", file=sys.stderr) as bar:
        with listening(lambda day, _reports: bar.update(1)):
            # The flow returns a State, so calling it returns that State's data: the reports.
            reports = cast(
                "list[DayReport]",
                backfill_flow(
                    start=days[0], end=days[-1], topics=topic, force=force, llm=llm, notify=notify
                ),
            )
    typer.echo(backfill_table(reports))
    open_days = [r for r in reports if r.status in ("failed", "unavailable")]
    for r in open_days:
        typer.echo(f"{r.day} {r.topic} {r.status}: {r.note}")
    if open_days:  # for cron: the range is not done, a later backfill finishes it
        raise typer.Exit(1)


def backfill_table(reports: list) -> str:
    """Return the backfill's days as a text table: papers, failures, tokens, post."""
    head = ("day", "topic", "status", "papers", "failures", "tokens", "post")
    rows = [
        (
            f"{r.day} {r.day:%a}",
            r.topic,
            f"{r.status} ({short(r.note, 40)})" if r.note else r.status,
            r.papers,
            r.failures,
            r.tokens,
            r.post or "-",
        )
        for r in reports
    ]
    return table(head, rows)


@app.command()
def extract(
    pdf: Annotated[Path, typer.Argument(help="A PDF file")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the figures (default: a temp folder)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Show what extraction finds in a PDF and write its figures, to see why a paper came out so."""
    from config.loading import get_settings
    from tasks.errors import ExtractError
    from tasks.pdf.guard import extract_guarded

    settings = get_settings()
    arxiv_id, version = paper_of_file(pdf)
    # Figures go outside the working tree unless asked: a look at a PDF leaves no files behind.
    out = out or Path(tempfile.gettempdir()) / "arxiv-digest-extract" / pdf.stem
    started = time.perf_counter()
    try:
        ex = extract_guarded(
            pdf,
            arxiv_id,
            version,
            out,
            settings.max_figures,
            settings.extract_timeout,
            settings.extract_memory_mb,
            settings.extract_max_pages,
        )
    except ExtractError as exc:
        fail(f"{pdf}: {exc.message}", 1)
    seconds = time.perf_counter() - started
    if as_json:
        typer.echo(json.dumps(extraction_json(ex, out, seconds), ensure_ascii=False))
        return
    typer.echo(f"{pdf}: {ex.pages} pages")
    typer.echo("sections:" + ("" if ex.sections else " none found"))
    for name, text in ex.sections.items():
        typer.echo(f"  {name:<14} {len(text):>7} characters")
    typer.echo(f"first author's affiliation: {ex.affiliation or '(not found)'}")
    typer.echo("links: " + (", ".join(ex.links) or "(none)"))
    typer.echo(f"figures: {len(ex.figures)} written to {out}/")
    for f in ex.figures:
        typer.echo(f"  {f.path}  page {f.page}, {f.width}x{f.height}px  {f.caption[:100]}")


def paper_of_file(pdf: Path) -> tuple[str, int]:
    """Return the (id, version) a PDF's file name gives: "2409.18881v2.pdf" is version 2."""
    stem = pdf.stem.replace(" ", "_") or "paper"
    match = re.fullmatch(r"(.+?)v(\d+)", stem)
    return (match.group(1), int(match.group(2))) if match else (stem, 1)


def extraction_json(ex: Extraction, out: Path, seconds: float) -> dict:
    """Return what `extract --json` prints: the extraction, figure files as paths."""
    return {
        "pages": ex.pages,
        "sections": ex.sections,
        "affiliation": ex.affiliation,
        "links": list(ex.links),
        "figures": [
            {"page": f.page, "caption": f.caption, "bbox": list(f.bbox), "file": str(out / f.path)}
            for f in ex.figures
        ],
        "seconds": round(seconds, 3),
    }


@app.command()
def notify(
    date_: Annotated[
        datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="Batch label YYYY-MM-DD")
    ],
    topic: TopicOpt = None,
) -> None:
    """Send a stored day to the notify URLs again, on purpose: DuckDB only, no fetch, no LLM."""
    from flows.resend import resend

    check(None, topic)
    if not resend(date_.date(), topic):
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """Run the full flow for 2024-10-07 against a local replay of arXiv."""
    quiet_prefect()
    from flows.demo import run_demo

    run_demo()


for _command in (records.papers, records.stats, records.export):
    app.command()(_command)


if __name__ == "__main__":
    app()
