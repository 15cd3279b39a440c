"""The `arxiv-digest` command line."""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Annotated

import typer

app = typer.Typer(help="Daily arXiv digests per topic, as Prefect flows.", no_args_is_help=True)

DateOpt = Annotated[
    datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="Batch label YYYY-MM-DD")
]  # noqa: E501
TopicOpt = Annotated[
    list[str] | None, typer.Option("--topic", help="Topic name (repeatable; default: all)")
]  # noqa: E501
LlmOpt = Annotated[str | None, typer.Option("--llm", help="auto | gemini | extractive")]


def _quiet_prefect() -> None:
    """Keep Prefect offline-friendly: no analytics calls from this process."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


def _check(llm: str | None, topics: list[str] | None) -> None:
    """Reject bad input before any work starts."""
    from config.settings import get_settings
    from tasks.errors import ConfigError
    from tasks.summarize import make_summarizer

    if llm not in (None, "auto", "gemini", "extractive"):
        _fail(f"--llm {llm!r} is not one of auto, gemini, extractive")
    try:
        settings = get_settings()
        for name in topics or []:
            settings.topic(name)
        make_summarizer(settings, llm)
    except ConfigError as exc:
        _fail(str(exc))


def run_day(day: date | None, topics: list[str] | None, llm: str | None) -> list:
    """Run `daily-digest` and print what it produced."""
    _quiet_prefect()
    from flows.daily_digest import daily_digest

    results = daily_digest(day=day, topics=topics, llm=llm)
    for r in results:
        typer.echo(
            f"{r.topic} {r.day}: {r.fetched} fetched, {r.kept} kept, {r.summarized} summarized, "
            f"{len(r.failures)} failed" + (f" ({r.note})" if r.note else "")
        )
        if r.prompt_tokens or r.output_tokens:
            typer.echo(
                f"  tokens: {r.prompt_tokens} in, {r.output_tokens} out, ${r.cost_usd:.4f}"
            )
        for failure in r.failures:
            typer.echo(f"  failed: {failure}")
        if r.waiting:
            typer.echo(f"  waiting for the next run (LLM quota or budget): {', '.join(r.waiting)}")
        if r.post:
            typer.echo(f"  post: {r.post}")
    return results


@app.command()
def run(date_: DateOpt = None, topic: TopicOpt = None, llm: LlmOpt = None) -> None:
    """Build the digest for one batch label (default: the latest batch)."""
    _check(llm, topic)
    run_day(date_.date() if date_ else None, topic, llm)


@app.command()
def calendar(date_: DateOpt = None) -> None:
    """Show the batch labelled a date (default: today in New York) and the next one."""
    from config.settings import get_settings
    from tasks import calendar as arxiv_calendar

    day = date_.date() if date_ else datetime.now(arxiv_calendar.EASTERN).date()
    typer.echo(arxiv_calendar.describe(day, get_settings().holidays))


@app.command()
def demo() -> None:
    """Run the full flow for 2024-10-07 against a local replay of arXiv."""
    _quiet_prefect()
    from flows.demo import run_demo

    run_demo()


if __name__ == "__main__":
    app()
