"""`arxiv-digest run`: input checked before any work, the run, and what it printed."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import typer

from flows import console
from flows.console import brief_console, fail, fail_startup, quiet_prefect

if TYPE_CHECKING:
    from config.settings import Settings
    from flows.results import TopicResult


def check(llm: str | None, topics: list[str] | None) -> None:
    """Reject bad input before any work starts."""
    from config.loading import check_db_path, get_settings
    from config.settings import BACKENDS
    from tasks import services
    from tasks.errors import ConfigError
    from tasks.stage_config import llm_config

    if llm not in (None, *BACKENDS):
        fail(f"--llm {llm!r} is not one of {', '.join(BACKENDS)}")
    try:
        settings = get_settings()
        for name in topics or []:
            settings.topic(name)
        services.summarizer(llm_config(settings, llm))
        check_channels(settings, topics)
        check_db_path(settings.db_path)
    except ConfigError as exc:
        fail(str(exc))


def check_channels(settings, topics: list[str] | None) -> None:
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
    quiet_prefect()
    from flows.daily_digest import daily_digest
    from tasks.errors import DayIncomplete, DigestError

    brief_console()
    try:  # the flow takes its task runner (threads or Dask) from the settings
        state = daily_digest(day=day, topics=topics, llm=llm, notify=notify, return_state=True)
    except RuntimeError as exc:
        fail_startup(exc)
    # The flow returns a State, so the run's result is that State's data, not a State.
    value: Any = state.result(raise_on_failure=False)
    if isinstance(value, DayIncomplete):
        results = value.results
    elif isinstance(value, (DigestError, OSError)) and not console.options["debug"]:
        fail(f"the run for {day or 'the latest batch'} failed: {value} (--debug shows more)", 1)
    elif isinstance(value, BaseException):
        raise value
    else:
        results = value
    for r in results:
        print_result(r)
    typer.echo(f"{state.name}: {state.message}")  # as the run list in the Prefect UI shows it
    if isinstance(value, DayIncomplete):
        raise typer.Exit(1)
    return results


def print_result(r: TopicResult) -> None:
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


def no_batch(settings: Settings, day: date, topics: list[str] | None) -> str:
    """Return why `day` has no batch (recorded for each topic, as a run would), or ""."""
    from tasks.record import store, writes
    from tasks.source import schedule as cal

    note = cal.no_batch_note(day, settings.holidays)
    if not note:
        return ""
    names = topics or [t.name for t in settings.topics]
    with store.connect(settings.db_path) as con:
        for name in names:
            writes.save_empty_day(con, settings.topic(name).name, day, note)
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
