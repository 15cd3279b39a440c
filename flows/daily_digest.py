"""The `daily-digest` flow: fetch → select → download → extract → summarize → store → render."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.states import Completed, Failed, State

from config.loading import get_settings
from config.settings import Settings
from flows.notifications import send_notifications
from flows.results import TopicResult
from flows.task_runner import SettingsTaskRunner
from flows.topic_day import digest_topic
from tasks import services, stages
from tasks.domain import DayNote
from tasks.errors import DayIncomplete
from tasks.llm import plan, quota
from tasks.record import history, store
from tasks.source import schedule
from tasks.stage_config import stage_config

__all__ = ["TopicResult", "daily_digest", "outcome", "scheduled_day"]  # TopicResult: old pickles


def _run_name() -> str:
    from prefect.runtime import flow_run

    params = flow_run.parameters
    topics = params.get("topics") or ["all-topics"]
    return f"{'+'.join(topics)}-{params.get('day') or scheduled_day()}"


def scheduled_day() -> date:
    """Return the latest batch label at the run's scheduled time (now, for a run by hand)."""
    from prefect.runtime import flow_run

    return schedule.latest_label(flow_run.scheduled_start_time, get_settings().holidays)


@flow(
    name="daily-digest",
    flow_run_name=_run_name,
    # Threads or Dask workers, as the settings say when the run starts (`task_runner`,
    # `max_workers`): room for downloads in flight, extractions and LLM calls at once.
    task_runner=SettingsTaskRunner(),
    log_prints=True,
)
def daily_digest(
    day: date | None = None,
    topics: list[str] | None = None,
    llm: str | None = None,
    notify: bool = True,
) -> State:
    """Build the digest of the batch labelled `day` (default: the latest) for each topic.

    The run ends Completed, "Completed with failures" (papers failed, wait for the LLM or
    lack their licence; the post is out) or Failed when a batch arXiv should have listed
    nothing for: its result is then `DayIncomplete`, carrying every topic's result.
    """
    settings = get_settings()
    steps = stages.Stages(stage_config(settings, llm))
    results = build_day(settings, steps, day, topics)
    if notify:
        send_notifications(steps, results)
    return outcome(results)


def build_day(
    settings: Settings, steps: stages.Stages, day: date | None, topics: list[str] | None
) -> list[TopicResult]:
    """Return every topic's result for the batch labelled `day` (default: the latest)."""
    logger, config = get_run_logger(), steps.config
    store.upgrade(config.db_path)
    summarizer = services.summarizer(config.llm)
    logger.info("Summaries by %s (%s)", summarizer.name, summarizer.model)
    if config.llm.quota.budget_usd:
        spent = spent_today(config.db_path)
        quota.begin_run(spent)
        logger.info(
            "LLM spend today (UTC) before this run: $%.4f of the daily $%.2f",
            spent,
            config.llm.quota.budget_usd,
        )
    day = day or scheduled_day()
    chosen = [settings.topic(name) for name in topics] if topics else settings.topics
    note = schedule.no_batch_note(day, config.arxiv.holidays)
    if note:
        logger.warning(note)
        notes = [DayNote(t.name, day, note) for t in chosen]
        stages.store_results(config.db_path, "no-batch", notes)
        return [TopicResult(t.name, day, note=note) for t in chosen]
    plan.begin_day(config)  # a model the service no longer serves stops here
    return [digest_topic(steps, topic, day, summarizer) for topic in chosen]


def outcome(results: list[TopicResult]) -> State:
    """Return the run's final state: the UI's run list tells a day with failures apart."""
    counts = "; ".join(map(_counts, results))
    if any(r.unavailable for r in results):
        error = DayIncomplete(f"listing not available yet: {counts}", results)
        return Failed(message=error.message, data=error)
    if any(r.failures or r.waiting or r.licences_unknown for r in results):
        return Completed(name="Completed with failures", message=counts, data=results)
    return Completed(message=counts, data=results)


def _counts(r: TopicResult) -> str:
    """Return one topic's line of the run's state message."""
    if r.unavailable:
        return f"{r.topic} {r.day}: {r.note}"
    parts = [
        f"{r.kept} kept",
        f"{len(r.failures)} failed" if r.failures else "",
        f"{len(r.waiting)} waiting" if r.waiting else "",
        f"{r.licences_unknown} licences unknown" if r.licences_unknown else "",
    ]
    return f"{r.topic} {r.day}: " + ", ".join(filter(None, parts))


def spent_today(db_path: Path) -> float:
    """Return what the LLM cost since midnight UTC, as DuckDB records it."""
    if not db_path.exists():
        return 0.0
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with store.connect(db_path, read_only=True) as con:
        return history.spent_since(con, midnight)
