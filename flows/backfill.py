"""The `backfill` flow: one `daily-digest` run per arXiv batch label in a range of dates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.states import Completed, State

from config.loading import get_settings
from config.settings import Settings, Topic
from flows import report
from flows.daily_digest import daily_digest
from flows.results import TopicResult
from flows.task_runner import one_cluster
from tasks import stages
from tasks.domain import DayNote, Listing
from tasks.errors import DayIncomplete, ListingUnavailable
from tasks.record import history, store, views
from tasks.source import schedule
from tasks.stage_config import stage_config


@dataclass(frozen=True)
class DayReport:
    """What the backfill did for one topic on one date.

    `status` is `ran` (a daily-digest run happened now), `complete` (already in DuckDB with no
    failure, so not repeated), `skipped` (arXiv has no batch that day), `unavailable` (arXiv
    listed nothing for a batch that should exist: the next backfill asks again) or `failed`.
    """

    day: date
    topic: str
    status: str
    note: str = ""
    papers: int = 0
    failures: int = 0
    tokens: int = 0
    post: str | None = None


DayListener = Callable[[date, list[DayReport]], None]
_listeners: list[DayListener] = []


@contextmanager
def listening(listener: DayListener) -> Iterator[None]:
    """Call `listener` with each date's reports while a backfill runs in this process."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def dates(start: date, end: date) -> list[date]:
    """Return every date from `start` to `end`, both included."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


@flow(name="backfill", flow_run_name="backfill-{start}-to-{end}", log_prints=True)
def backfill(
    start: date,
    end: date,
    topics: list[str] | None = None,
    force: bool = False,
    llm: str | None = None,
    notify: bool = False,
) -> State:
    """Run `daily-digest` for every batch label from `start` to `end` not yet complete.

    Readers get no message for past days unless `notify` says so.
    """
    if end < start:
        raise ValueError(f"backfill: end {end} is before start {start}")
    settings, logger = get_settings(), get_run_logger()
    store.upgrade(settings.db_path)
    chosen = [settings.topic(n) for n in topics] if topics else settings.topics
    names = [t.name for t in chosen]
    days = dates(start, end)
    progress = report.Progress(len(days), f"backfill {start} → {end}", "backfill")
    prefetch(settings, chosen, days, force)
    reports: list[DayReport] = []
    with one_cluster(settings):  # with a local Dask cluster, the days share one
        for day in days:
            done = backfill_day(settings, day, names, force, llm, notify)
            reports += done
            progress.advance()
            for r in done:
                logger.info("%s %s: %s %s", r.day, r.topic, r.status, r.note or r.post or "")
            for listener in list(_listeners):
                listener(day, done)
    return finished(reports)


def finished(reports: list[DayReport]) -> State:
    """Return the backfill's final state: days left open make it "Completed with failures"."""
    open_days = [
        f"{r.day} {r.topic} {r.status}" for r in reports if r.status in ("failed", "unavailable")
    ]
    done = sum(r.status in ("ran", "complete", "skipped") for r in reports)
    message = f"{done} of {len(reports)} topic-days done" + "".join(f"; {d}" for d in open_days)
    name = "Completed with failures" if open_days else "Completed"
    return Completed(name=name, message=message, data=reports)


def prefetch(settings: Settings, topics: list[Topic], days: list[date], force: bool) -> None:
    """Fetch the metadata of every past label still to run, one range query per topic.

    The daily runs then read their day's papers from DuckDB's listings instead of sending two
    queries each (a day's replacements alone take a pass down `lastUpdatedDate` from today).
    The latest label is left to its own run: it comes from the RSS feed.
    """
    latest = schedule.latest_label(datetime.now(UTC), settings.holidays)
    labels = [d for d in days if d < latest and not schedule.no_batch_reason(d, settings.holidays)]
    steps = stages.Stages(stage_config(settings))
    for topic in topics:
        todo = _unlisted(settings, topic, labels, force)
        if len(todo) < 2:  # one label costs the same either way: its run fetches it
            continue
        try:
            found = steps.fetch_range(topic.categories, todo, steps.config.arxiv)
        except ListingUnavailable as exc:  # each day's own run asks again
            get_run_logger().warning("%s: %s; each day's run asks again", topic.name, exc)
            continue
        # A label the range found nothing for is not stored: its own run asks arXiv again.
        listings = [
            Listing(
                tuple(topic.categories),
                label,
                _window(label, settings.holidays),
                tuple(found[label]),
            )
            for label in todo
            if found[label]
        ]
        stages.store_results(settings.db_path, "listings", listings)
        get_run_logger().info(
            "%s: %d papers of %d labels fetched with one range (%s → %s)%s",
            topic.name,
            sum(len(x.papers) for x in listings),
            len(todo),
            todo[0],
            todo[-1],
            "".join(f"; {d}: none listed yet" for d in todo if not found[d]),
        )


def _unlisted(settings: Settings, topic: Topic, labels: list[date], force: bool) -> list[date]:
    """Return the labels whose run is still to come and whose listing is not in DuckDB."""
    if not labels or not settings.db_path.exists():
        return labels
    holidays = settings.holidays
    with store.connect(settings.db_path, read_only=True) as con:
        return [
            d
            for d in labels
            if (force or not _complete(views.load_digest(con, topic.name, d)))
            and views.load_listing(con, topic.categories, d, _window(d, holidays)) is None
        ]


def _window(label: date, holidays: schedule.Holidays) -> tuple[datetime, datetime]:
    """Return the submission window of `label`, a date `prefetch` kept for having a batch."""
    window = schedule.batch_window(label, holidays)
    assert window is not None  # no_batch_reason is None exactly when a batch exists
    return window


def _complete(record: views.DigestRecord | None) -> bool:
    """Return whether a day's record is a finished day: no failure, and not left unavailable."""
    return record is not None and record.complete


def backfill_day(
    settings: Settings,
    day: date,
    names: list[str],
    force: bool,
    llm: str | None,
    notify: bool = False,
) -> list[DayReport]:
    """Run, skip or report as complete every topic for one date."""
    reason = schedule.no_batch_reason(day, settings.holidays)
    if reason:
        note = f"{reason}: arXiv has no batch"
        stages.store_results(settings.db_path, "no-batch", [DayNote(n, day, note) for n in names])
        return [DayReport(day, n, "skipped", note) for n in names]
    languages: dict[str, str] = {n: settings.topic(n).language for n in names}
    complete = {} if force else completed(settings.db_path, day, languages)
    todo = [n for n in names if n not in complete]
    ran: dict[str, DayReport] = {}
    if todo:
        state = daily_digest(day=day, topics=todo, llm=llm, notify=notify, return_state=True)
        value = state.result(raise_on_failure=False)
        results = value.results if isinstance(value, DayIncomplete) else value
        if isinstance(results, list):
            ran = {r.topic: counted(settings.db_path, r, languages[r.topic]) for r in results}
        else:
            get_run_logger().error("daily-digest failed for %s: %s", day, value)
            ran = {n: DayReport(day, n, "failed", str(value)) for n in todo}
    return [complete.get(n) or ran[n] for n in names]


@task(name="check-complete", task_run_name="check-complete-{day}", **report.DB_READ)
def completed(db_path: Path, day: date, languages: dict[str, str]) -> dict[str, DayReport]:
    """Return the topics whose post for `day` is stored with zero failures."""
    found: dict[str, DayReport] = {}
    if not db_path.exists():
        return found
    with store.connect(db_path, read_only=True) as con:
        for name, language in languages.items():
            record = views.load_digest(con, name, day)
            if record is not None and record.complete:
                tokens = history.day_tokens(con, name, day, language)
                note = f"already complete ({record.note})" if record.note else "already complete"
                found[name] = DayReport(
                    day, name, "complete", note, record.papers, 0, tokens, record.path
                )
    return found


@task(name="count-tokens", task_run_name="count-tokens-{result.day}", **report.DB_READ)
def counted(db_path: Path, result: TopicResult, language: str) -> DayReport:
    """Return the report of a topic's daily-digest run, with the tokens it spent."""
    with store.connect(db_path, read_only=True) as con:
        tokens = history.day_tokens(con, result.topic, result.day, language)
    status = "unavailable" if result.unavailable else "ran"
    return DayReport(
        result.day,
        result.topic,
        status,
        result.note,
        result.kept,
        len(result.failures),
        tokens,
        result.post,
    )
