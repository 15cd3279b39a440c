"""The `arxiv-digest` command line."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flows import records

if TYPE_CHECKING:  # imported lazily at run time: commands without a flow never load Prefect
    from config.settings import Settings
    from flows.daily_digest import TopicResult
    from tasks.domain import Extraction

app = typer.Typer(help="Daily arXiv digests per topic, as Prefect flows.", no_args_is_help=True)

DateOpt = Annotated[
    datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="Batch label YYYY-MM-DD")
]  # noqa: E501
TopicOpt = Annotated[
    list[str] | None, typer.Option("--topic", help="Topic name (repeatable; default: all)")
]  # noqa: E501
LlmOpt = Annotated[str | None, typer.Option("--llm", help="auto | gemini | openai | extractive")]
NotifyOpt = Annotated[
    bool, typer.Option("--notify/--no-notify", help="Send the day to the notify URLs")
]


_state = {"debug": False}


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors")] = False,
) -> None:
    """Daily arXiv digests per topic, as Prefect flows."""
    from config.settings import get_settings
    from tasks.errors import ConfigError

    _state["debug"] = debug
    try:  # the first load: every later get_settings() returns these
        get_settings()
    except ConfigError as exc:
        _fail(str(exc))


class _Brief(logging.Formatter):
    """Format a log record without its traceback; --debug keeps them."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def _brief_console() -> None:
    """Keep tracebacks out of the terminal (the Prefect UI still gets them) unless --debug."""
    if _state["debug"]:
        return
    loggers = [
        logging.getLogger(),
        *(
            logger
            for name, logger in logging.root.manager.loggerDict.items()
            if name.startswith("prefect") and isinstance(logger, logging.Logger)
        ),
    ]
    for logger in loggers:
        for handler in logger.handlers:
            is_console = isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            )
            if is_console and not isinstance(handler.formatter, _Brief):
                handler.setFormatter(_Brief(handler.formatter))


STARTUP_TIMEOUT = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def _quiet_prefect() -> None:
    """Prepare Prefect before its first import: offline-friendly, patient on a busy machine.

    No analytics calls from this process; without PREFECT_API_URL each command starts a
    temporary server, whose 20 s start-up limit a loaded 2-core machine overruns.
    """
    from config.settings import get_settings

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault(STARTUP_TIMEOUT, str(get_settings().prefect_startup_timeout))


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def _check(llm: str | None, topics: list[str] | None) -> None:
    """Reject bad input before any work starts."""
    from config.loading import check_db_path
    from config.settings import BACKENDS, get_settings
    from tasks import services
    from tasks.errors import ConfigError
    from tasks.stage_config import llm_config

    if llm not in (None, *BACKENDS):
        _fail(f"--llm {llm!r} is not one of {', '.join(BACKENDS)}")
    try:
        settings = get_settings()
        for name in topics or []:
            settings.topic(name)
        services.summarizer(llm_config(settings, llm))
        _check_channels(settings, topics)
        check_db_path(settings.db_path)
    except ConfigError as exc:
        _fail(str(exc))


def _check_channels(settings, topics: list[str] | None) -> None:
    """Raise ConfigError naming the first notify URL Apprise cannot read, by its position."""
    if not settings.notify_urls and not any(t.notify_urls for t in settings.topics):
        return
    from config import secrets
    from tasks.record import deliveries

    keys = secrets.of(settings)
    for topic in [settings.topic(name) for name in topics] if topics else settings.topics:
        deliveries.channels(keys, topic)


def run_day(
    day: date | None, topics: list[str] | None, llm: str | None, notify: bool = True
) -> list:
    """Run `daily-digest`, print what it produced; exit non-zero if the day is not done.

    A day with failed papers is still published (exit 0); a batch arXiv listed nothing for
    yet, or a run that could not go on, exits 1.
    """
    _quiet_prefect()
    from flows.daily_digest import daily_digest
    from tasks.errors import DayIncomplete, DigestError

    _brief_console()
    try:  # the flow takes its task runner (threads or Dask) from the settings
        state = daily_digest(day=day, topics=topics, llm=llm, notify=notify, return_state=True)
    except RuntimeError as exc:
        _fail_startup(exc)
    value = state.result(raise_on_failure=False)
    if isinstance(value, DayIncomplete):
        results = value.results
    elif isinstance(value, (DigestError, OSError)) and not _state["debug"]:
        _fail(f"the run for {day or 'the latest batch'} failed: {value} (--debug shows more)", 1)
    elif isinstance(value, BaseException):
        raise value
    else:
        results = value
    for r in results:
        _print_result(r)
    typer.echo(f"{state.name}: {state.message}")  # as the run list in the Prefect UI shows it
    if isinstance(value, DayIncomplete):
        raise typer.Exit(1)
    return results


def _print_result(r: TopicResult) -> None:
    """Print one topic's result of a run."""
    typer.echo(
        f"{r.topic} {r.day}: {r.fetched} fetched, {r.kept} kept, {r.summarized} summarized, "
        + (f"{r.reused} reused from DuckDB, " if r.reused else "")
        + f"{len(r.failures)} failed"
        + (f" ({r.note})" if r.note else "")
    )
    if r.prompt_tokens or r.output_tokens:
        typer.echo(f"  tokens: {r.prompt_tokens} in, {r.output_tokens} out, ${r.cost_usd:.4f}")
    for failure in r.failures:
        typer.echo(f"  failed: {failure}")
    if r.waiting:
        typer.echo(f"  waiting for the next run (LLM quota or budget): {', '.join(r.waiting)}")
    if r.licences_unknown:
        typer.echo(
            f"  licences unknown for {r.licences_unknown} papers (arXiv's OAI-PMH failed): "
            "figures withheld; the next run looks them up and re-renders"
        )
    if r.post:
        typer.echo(f"  post: {r.post}")


def _fail_startup(exc: RuntimeError) -> None:
    """Say what to do when Prefect's temporary server did not start in time."""
    if "ephemeral Prefect API server" not in str(exc) or _state["debug"]:
        raise exc
    limit = os.environ.get(STARTUP_TIMEOUT, "?")
    if "process exited" in str(exc):
        what = "exited while starting (its log is above)"
    else:
        what = f"did not start within {limit} s (a busy machine?)"
    _fail(
        f"Prefect's temporary server {what}. Start a "
        "lasting one with `make ui` and export PREFECT_API_URL=http://127.0.0.1:4200/api, or "
        f"raise prefect_startup_timeout (DIGEST_PREFECT_STARTUP_TIMEOUT)",
        1,
    )


@app.command()
def run(
    date_: DateOpt = None, topic: TopicOpt = None, llm: LlmOpt = None, notify: NotifyOpt = True
) -> None:
    """Build the digest for one batch label (default: the latest batch)."""
    from config.settings import get_settings

    _check(llm, topic)
    settings = get_settings()
    if date_ is None:
        day, message = run_plan(datetime.now(UTC), settings.holidays)
    else:
        day, message = date_.date(), no_batch(settings, date_.date(), topic)
    if day is None or message:
        typer.echo(message)
        return
    run_day(day, topic, llm, notify)


def no_batch(settings: Settings, day: date, topics: list[str] | None) -> str:
    """Return why `day` has no batch (recorded for each topic, as a run would), or ""."""
    from tasks.record import store
    from tasks.source import schedule as cal

    note = cal.no_batch_note(day, settings.holidays)
    if not note:
        return ""
    names = topics or [t.name for t in settings.topics]
    with store.connect(settings.db_path) as con:
        for name in names:
            store.save_empty_day(con, settings.topic(name).name, day, note)
    return note


def run_plan(now: datetime, holidays: Collection[date]) -> tuple[date | None, str]:
    """Return the batch a run at `now` builds, or None and why today has none and what is next."""
    from tasks.source import schedule as cal

    latest = cal.latest_label(now, holidays)
    today = now.astimezone(cal.EASTERN).date()
    if latest >= today:
        return latest, ""
    upcoming = cal.next_label(today, holidays)
    announced = cal.announced_at(upcoming, holidays) or now
    return None, (
        f"No arXiv batch is labelled today, {today:%A} {today} "
        f"({cal.no_batch_reason(today, holidays)}). The next is {upcoming:%A} {upcoming}, "
        f"announced {announced.astimezone(cal.EASTERN):%A %H:%M} New York time. "
        f"The latest is {latest:%A} {latest}: arxiv-digest run --date {latest}"
    )


@app.command()
def calendar(date_: DateOpt = None) -> None:
    """Show the batch labelled a date (default: today in New York) and the next one."""
    from config.settings import get_settings
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
        _fail(f"--start {start:%Y-%m-%d} is after --end {end:%Y-%m-%d}; swap them")
    _fail("give --date D, or --start D and --end D" if with_date else "give --start D and --end D")
    return []


@app.command()
def render(
    date_: DateOpt = None, start: StartOpt = None, end: EndOpt = None, topic: TopicOpt = None
) -> None:
    """Re-render posts from DuckDB alone: no network, no LLM call."""
    from config.settings import get_settings
    from tasks.stage_config import stage_config
    from tasks.stages import render_day

    settings = get_settings()
    _check(None, topic)
    config = stage_config(settings)
    days = _days(date_, start, end)
    if not settings.db_path.exists():  # a render never creates the record it reads
        _fail(
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
    _check(llm, topic)
    days = _days(None, start, end, with_date=False)
    _quiet_prefect()
    from flows.backfill import backfill as backfill_flow
    from flows.backfill import listening

    with typer.progressbar(length=len(days), label="backfill", file=sys.stderr) as bar:
        with listening(lambda day, _reports: bar.update(1)):
            reports = backfill_flow(
                start=days[0], end=days[-1], topics=topic, force=force, llm=llm, notify=notify
            )
    typer.echo(backfill_table(reports))
    open_days = [r for r in reports if r.status in ("failed", "unavailable")]
    for r in open_days:
        typer.echo(f"{r.day} {r.topic} {r.status}: {r.note}")
    if open_days:  # for cron: the range is not done, a later backfill finishes it
        raise typer.Exit(1)


def _short(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def backfill_table(reports: list) -> str:
    """Return the backfill's days as a text table: papers, failures, tokens, post."""
    head = ("day", "topic", "status", "papers", "failures", "tokens", "post")
    rows = [
        (
            f"{r.day} {r.day:%a}",
            r.topic,
            f"{r.status} ({_short(r.note)})" if r.note else r.status,
            str(r.papers),
            str(r.failures),
            str(r.tokens),
            r.post or "-",
        )
        for r in reports
    ]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in [head, *rows]
    )


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
    from config.settings import get_settings
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
        _fail(f"{pdf}: {exc.message}", 1)
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

    _check(None, topic)
    if not resend(date_.date(), topic):
        raise typer.Exit(1)


@app.command()
def demo() -> None:
    """Run the full flow for 2024-10-07 against a local replay of arXiv."""
    _quiet_prefect()
    from flows.demo import run_demo

    run_demo()


for _command in (records.papers, records.stats, records.export):
    app.command()(_command)


if __name__ == "__main__":
    app()
