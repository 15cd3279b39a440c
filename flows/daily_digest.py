"""The `daily-digest` flow: fetch → select → download → extract → summarize → store → render."""

from __future__ import annotations

import os
import queue
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.states import Completed, Failed, State

from config.settings import Settings, Topic, get_settings
from flows import report
from flows.task_runner import SettingsTaskRunner
from tasks import stages
from tasks.domain import LICENCE_STAGE, Cleared, DayNote, Failure, JudgeCalls, Paper, Selection
from tasks.errors import (
    DayIncomplete,
    DigestError,
    ListingUnavailable,
    LLMConfigError,
    QuotaExhausted,
)
from tasks.llm import plan, quota
from tasks.record import store, views
from tasks.relevance import judge as relevance
from tasks.source import schedule
from tasks.summary.summarizer import Summarizer, make_summarizer

DOWNLOADS_IN_FLIGHT = 2


@dataclass
class TopicResult:
    """What one topic's day produced, for the run report."""

    topic: str
    day: date
    post: str | None = None
    fetched: int = 0
    kept: int = 0
    summarized: int = 0
    failures: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    reused: int = 0  # kept papers already summarized in DuckDB, not processed again
    licences_unknown: int = 0  # kept papers whose licence lookup failed: figures withheld
    unavailable: bool = False  # arXiv listed nothing for the batch: the day is not finished
    prompt_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    note: str = ""


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
    results = build_day(day, topics, llm)
    if notify:
        send_notifications(results)
    return outcome(results)


def send_notifications(results: list[TopicResult]) -> None:
    """Send each topic's stored day to its channels; a failed channel is only a warning."""
    settings, logger = get_settings(), get_run_logger()
    steps = stages.Stages(settings.cache_dir / "results", settings.retry_delays)
    for r in results:
        if r.unavailable:  # the day is not finished: its message waits for the run that is
            continue
        for failure in stages.notify_day(steps, settings.topic(r.topic), r.day):
            logger.warning("%s %s: notification failed: %s", r.topic, r.day, failure)


def build_day(day: date | None, topics: list[str] | None, llm: str | None) -> list[TopicResult]:
    """Return every topic's result for the batch labelled `day` (default: the latest)."""
    settings = get_settings()
    logger = get_run_logger()
    store.upgrade(settings.db_path)
    summarizer = make_summarizer(settings, llm)
    logger.info("Summaries by %s (%s)", summarizer.name, summarizer.model)
    if settings.llm_budget_usd:
        spent = spent_today(settings)
        quota.begin_run(spent)
        logger.info(
            "LLM spend today (UTC) before this run: $%.4f of the daily $%.2f",
            spent,
            settings.llm_budget_usd,
        )
    day = day or scheduled_day()
    chosen = [settings.topic(name) for name in topics] if topics else settings.topics
    note = schedule.no_batch_note(day, settings.holidays)
    if note:
        logger.warning(note)
        notes = [DayNote(t.name, day, note) for t in chosen]
        stages.store_results(settings.db_path, "no-batch", notes)
        return [TopicResult(t.name, day, note=note) for t in chosen]
    plan.begin_day(settings, summarizer.name)  # a model the service no longer serves stops here
    steps = stages.Stages(settings.cache_dir / "results", settings.retry_delays)
    return [digest_topic(settings, steps, topic, day, summarizer) for topic in chosen]


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


def digest_topic(
    settings: Settings, steps: stages.Stages, topic: Topic, day: date, summarizer: Summarizer
) -> TopicResult:
    """Run every stage for one topic and day; one bad paper never stops the others."""
    logger = get_run_logger()
    backend, model = summarizer.name, summarizer.model
    result = TopicResult(topic.name, day)
    papers = listed(settings, topic, day)
    if papers is None:
        try:
            papers = steps.fetch_papers(settings.arxiv_api_url, topic.categories, day)
        except ListingUnavailable as exc:
            return _unavailable(settings, topic, result, exc)
    else:
        logger.info(
            "%s %s: %d papers from the listing a backfill fetched with its range",
            topic.name,
            day,
            len(papers),
        )
    decisions = steps.select_papers(
        papers, topic.name, topic.include, topic.exclude, topic.min_score
    )
    decisions, calls = _judge(settings, steps, topic, papers, decisions, backend, result)
    kept_ids = {(s.arxiv_id, s.version) for s in decisions if s.kept}
    kept = [p for p in papers if (p.arxiv_id, p.version) in kept_ids]
    kept, licensing = _licences(steps, kept, day, result)
    result.fetched, result.kept = len(papers), len(kept)
    logger.info("%s %s: %d papers fetched, %d kept", topic.name, day, len(papers), len(kept))
    metadata = [*papers, *kept, *decisions, calls, *licensing]
    if not kept:  # the decisions table still tells why nothing was kept
        result.note = "no paper matched the topic"
        steps.store_results(
            settings.db_path, "metadata", [*metadata, DayNote(topic.name, day, result.note)], day
        )
        report.publish(settings.db_path, topic.name, topic.slug, topic.language, day, None)
        return result
    todo = _to_process(settings, topic, day, kept, summarizer, result)
    day_plan = plan.plan_day(settings, backend, todo, decisions, f"{topic.name} {day}")
    todo, waiting = day_plan.now, day_plan.waiting
    if day_plan.line:
        logger.info(day_plan.line)
    result.waiting += [f"{f.arxiv_id}v{f.version}" for f in waiting]
    # The metadata is stored while the first downloads run: they, not the store, are the
    # day's critical path.
    store_metadata = lambda: steps.store_results(settings.db_path, "metadata", metadata, day)  # noqa: E731
    records = _process(
        settings, steps, todo, topic.language, backend, model, result, started=store_metadata
    )
    steps.store_results(settings.db_path, "results", [*waiting, *records])
    post = steps.render_day(
        settings.db_path,
        topic.name,
        topic.slug,
        topic.language,
        day,
        topic.front_matter,
        settings.output_dir,
        settings.figure_dir,
        settings.figure_policy,
    )
    result.post = str(post.path) if post else None
    report.publish(
        settings.db_path,
        topic.name,
        topic.slug,
        topic.language,
        day,
        post.path if post else None,
        result.reused,
    )
    if not post:  # every kept paper was a new version left out by `updated_papers = skip`
        result.note = "only new versions of papers already published (updated_papers = skip)"
        steps.store_results(settings.db_path, "no-post", [DayNote(topic.name, day, result.note)])
    return result


def _judge(
    settings: Settings,
    steps: stages.Stages,
    topic: Topic,
    papers: list[Paper],
    decisions: list[Selection],
    backend: str,
    result: TopicResult,
) -> tuple[list[Selection], JudgeCalls]:
    """Let the LLM judge the keyword net's candidates; without one the keywords decide."""
    logger = get_run_logger()
    found = relevance.make_judge(settings, backend)
    judge = stages.TaskJudge(steps.judge_papers, found.name, found.model) if found else None
    judged = relevance.judge_day(papers, decisions, judge, topic, settings.judge_batch_size)
    if found is None:
        logger.info(
            "%s: no LLM judge (no key, extractive, or llm_judge off); keywords decide", topic.name
        )
    if judged.failed_batches:
        logger.warning(
            "%s: %d judge batches failed; their keyword decisions stand",
            topic.name,
            judged.failed_batches,
        )
    result.prompt_tokens += sum(b.prompt_tokens for b in judged.batches)
    result.output_tokens += sum(b.output_tokens for b in judged.batches)
    result.cost_usd += sum(b.cost_usd for b in judged.batches)
    return judged.selections, JudgeCalls(topic.name, result.day, tuple(judged.batches))


def _unavailable(
    settings: Settings, topic: Topic, result: TopicResult, error: ListingUnavailable
) -> TopicResult:
    """Record a batch arXiv listed nothing for as open, so a later run fetches it again."""
    result.unavailable, result.note = True, error.message
    get_run_logger().warning("%s %s: %s", topic.name, result.day, error.message)
    note = DayNote(topic.name, result.day, error.message, "unavailable")
    stages.store_results(settings.db_path, "unavailable", [note])
    return result


def _licences(
    steps: stages.Stages, kept: list[Paper], day: date, result: TopicResult
) -> tuple[list[Paper], list[Failure | Cleared]]:
    """Return the kept papers with their licences, and what to record of the lookup.

    Licences only decide which figures may be republished: when arXiv's OAI-PMH cannot be
    reached, the day goes on with them unknown (figures withheld under `figure_policy =
    licensed`), each such paper records a `licence` failure, and the next run asks again.
    """
    if not kept:
        return kept, []
    try:
        found = steps.fetch_licences(kept, day)
    except (DigestError, OSError) as exc:
        unknown = [p for p in kept if not p.licence]
        result.licences_unknown = len(unknown)
        reason = (
            f"licence unknown (arXiv's OAI-PMH: {exc}); figures are withheld until "
            "a run can look it up"
        )
        get_run_logger().warning(
            "%s %s: %d licences unknown: %s", result.topic, day, len(unknown), reason
        )
        return kept, [Failure(p.arxiv_id, p.version, LICENCE_STAGE, reason) for p in unknown]
    return found, [Cleared(p.arxiv_id, p.version, LICENCE_STAGE) for p in found]


def spent_today(settings: Settings) -> float:
    """Return what the LLM cost since midnight UTC, as DuckDB records it."""
    if not settings.db_path.exists():
        return 0.0
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with store.connect(settings.db_path, read_only=True) as con:
        return views.spent_since(con, midnight)


def listed(settings: Settings, topic: Topic, day: date) -> list[Paper] | None:
    """Return the day's papers if a backfill already fetched them with its range, else None."""
    window = schedule.batch_window(day, settings.holidays)
    if window is None or not settings.db_path.exists():
        return None
    with store.connect(settings.db_path, read_only=True) as con:
        return views.load_listing(con, topic.categories, day, window)


def _to_process(
    settings: Settings,
    topic: Topic,
    day: date,
    kept: list[Paper],
    summarizer: Summarizer,
    result: TopicResult,
) -> list[Paper]:
    """Return the kept papers that still need work.

    Left out: new versions the topic already published when `updated_papers` is "skip", and
    papers whose extraction and summary DuckDB already holds from the same extractor, model,
    prompt and language with no failure (a rerun then costs no task run for them).
    """
    logger = get_run_logger()
    prompt, language = summarizer.recorded_as(topic.language)
    if not settings.db_path.exists():  # a fresh record: nothing published or finished yet
        return kept
    with store.connect(settings.db_path, read_only=True) as con:
        if settings.updated_papers == "skip":
            skipped = views.published_before(con, topic.name, day, kept)
            if skipped:
                logger.info(
                    "%s %s: %d new versions of published papers skipped (updated_papers = skip)",
                    topic.name,
                    day,
                    len(skipped),
                )
            kept = [p for p in kept if p.key not in skipped]
        done = views.finished(
            con,
            kept,
            language,
            summarizer.name,
            summarizer.model,
            prompt,
            stages.EXTRACTOR_VERSION,
        )
    if done:
        result.reused = len(done)
        logger.info(
            "%s %s: %d papers already summarized by %s with %s; reused from DuckDB",
            topic.name,
            day,
            len(done),
            summarizer.model,
            prompt,
        )
    return [p for p in kept if p.key not in done]


def _process(
    settings: Settings,
    steps: stages.Stages,
    kept: list[Paper],
    language: str,
    backend: str,
    model: str,
    result: TopicResult,
    started: Any = None,
) -> list[Any]:
    """Stream each paper through download → extract → summarize as soon as it can go on.

    `started`, if given, is called once the first downloads are under way.

    Return what is to be stored: extractions, summaries and failures. Each finished stage is
    already persisted by Prefect, so a crash before storing loses no work, only its record.
    """
    records: list[Any] = []
    done: queue.Queue[PrefectFuture[Any]] = queue.Queue()
    pending: dict[PrefectFuture[Any], tuple[str, Paper]] = {}
    label = f"{result.topic} {result.day}: papers done"
    progress = report.Progress(len(kept), label, result.topic, reused=result.reused, model=model)
    # The task runner's queue is first in, first out and its workers are few: a stage with
    # more runs in flight than it can use (extractions beyond the cores, summaries waiting for
    # an LLM slot) would hold workers the next download needs, and downloads are the day's
    # critical path. So each stage keeps at most its share in flight; the rest wait here.
    limits = {
        "download": DOWNLOADS_IN_FLIGHT,
        "extract": os.cpu_count() or 1,
        "summarize": settings.llm_concurrency,
    }
    ready: dict[str, deque[tuple[Paper, tuple[Any, ...]]]] = {stage: deque() for stage in limits}
    ready["download"].extend((paper, ()) for paper in kept)
    running = dict.fromkeys(limits, 0)
    tasks = {
        "download": steps.download_pdf,
        "extract": steps.extract_pdf,
        "summarize": steps.summarize_paper,
    }

    def arguments(stage: str, paper: Paper, value: tuple[Any, ...]) -> tuple[Any, ...]:
        if stage == "download":
            return (paper, settings.arxiv_pdf_url, settings.pdf_dir)
        if stage == "extract":
            return (*value, paper, settings.figure_dir, settings.max_figures)
        return (paper, *value, language, backend, model)

    def pump() -> None:
        for stage in limits:
            while ready[stage] and running[stage] < limits[stage]:
                paper, value = ready[stage].popleft()
                future = tasks[stage].submit(*arguments(stage, paper, value))
                running[stage] += 1
                pending[future] = (stage, paper)
                future.add_done_callback(done.put)

    pump()
    if started:
        started()
    while pending:
        future = done.get()
        stage, paper = pending.pop(future)
        running[stage] -= 1
        if stage == "summarize":
            progress.advance()
        future.wait()
        state = future.state
        if not state.is_completed():
            records.append(_fail(result, paper, stage, state.result(raise_on_failure=False)))
            if stage != "summarize":  # summarized from the abstract alone
                ready["summarize"].append((paper, (None,)))
        else:
            value = future.result()
            if stage == "download":
                ready["extract"].append((paper, (value,)))
            elif stage == "extract":
                records.append(value)
                ready["summarize"].append((paper, (value,)))
            else:
                records.append(value)
                result.summarized += 1
                result.prompt_tokens += value.prompt_tokens
                result.output_tokens += value.output_tokens
                result.cost_usd += value.cost_usd
        pump()
    return records


def _fail(result: TopicResult, paper: Paper, stage: str, error: BaseException) -> Failure:
    """Return the failure record of a stage for one paper, and note it in the run report."""
    if isinstance(error, LLMConfigError):
        raise error  # no paper can succeed: the run stops with the service's one line
    reason = str(error) or type(error).__name__
    if isinstance(error, QuotaExhausted):
        # Not a failure of the paper: the next run summarizes it. The post tells by the mark.
        if store.WAITING not in reason:
            reason = f"{reason}; the paper {store.WAITING}"
        result.waiting.append(paper.key)
        get_run_logger().warning("%s waits for the next run: %s", paper.key, reason)
    else:
        result.failures.append(f"{paper.key} {stage}: {reason}")
        get_run_logger().warning("%s failed at %s: %s", paper.key, stage, reason)
    return Failure(paper.arxiv_id, paper.version, stage, reason)
