"""The `daily-digest` flow: fetch → select → download → extract → summarize → store → render."""

from __future__ import annotations

import queue
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prefect import flow, get_run_logger
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner

from config.settings import Settings, Topic, get_settings
from flows import report
from tasks import calendar, stages, store
from tasks import judge as relevance
from tasks.errors import QuotaExhausted
from tasks.summarize import make_summarizer
from tasks.types import Extraction, Failure, Paper, Selection

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

    return calendar.latest_label(flow_run.scheduled_start_time, get_settings().holidays)


@flow(
    name="daily-digest",
    flow_run_name=_run_name,
    # Room for downloads in flight, extractions and LLM calls at once; `max_workers` overrides.
    task_runner=ThreadPoolTaskRunner(max_workers=8),
    log_prints=True,
)
def daily_digest(
    day: date | None = None, topics: list[str] | None = None, llm: str | None = None
) -> list[TopicResult]:
    """Build the digest of the batch labelled `day` (default: the latest) for each topic."""
    settings = get_settings()
    logger = get_run_logger()
    summarizer = make_summarizer(settings, llm)
    logger.info("Summaries by %s (%s)", summarizer.name, summarizer.model)
    day = day or scheduled_day()
    chosen = [settings.topic(name) for name in topics] if topics else settings.topics
    reason = calendar.no_batch_reason(day, settings.holidays)
    if reason:
        following = calendar.next_label(day, settings.holidays)
        note = f"arXiv announces no batch labelled {day} ({reason}); the next is {following}"
        logger.warning(note)
        return [TopicResult(t.name, day, note=note) for t in chosen]
    steps = stages.Stages(settings.cache_dir / "results", settings.retry_delays)
    return [
        digest_topic(settings, steps, topic, day, summarizer.name, summarizer.model)
        for topic in chosen
    ]


def digest_topic(
    settings: Settings, steps: stages.Stages, topic: Topic, day: date, backend: str, model: str
) -> TopicResult:
    """Run every stage for one topic and day; one bad paper never stops the others."""
    logger = get_run_logger()
    result = TopicResult(topic.name, day)
    papers = steps.fetch_papers(settings.arxiv_api_url, topic.categories, day)
    decisions = steps.select_papers(
        papers, topic.name, topic.include, topic.exclude, topic.min_score
    )
    decisions = _judge(settings, steps, topic, papers, decisions, backend, result)
    kept_ids = {(s.arxiv_id, s.version) for s in decisions if s.kept}
    kept = [p for p in papers if (p.arxiv_id, p.version) in kept_ids]
    if kept:  # licences decide which figures may be republished: only kept papers need one
        kept = steps.fetch_licences(kept, day)
    steps.store_results(settings.db_path, "metadata", [*papers, *kept, *decisions], day)
    result.fetched, result.kept = len(papers), len(kept)
    logger.info("%s %s: %d papers fetched, %d kept", topic.name, day, len(papers), len(kept))
    if not kept:
        result.note = "no paper matched the topic"
        return result
    records = _process(settings, steps, kept, topic.language, backend, model, result)
    steps.store_results(settings.db_path, "results", records)
    post = steps.render_day(
        settings.db_path, topic.name, topic.slug, topic.language, day, topic.front_matter,
        settings.output_dir, settings.figure_dir, settings.figure_policy,
    )  # fmt: skip
    result.post = str(post.path) if post else None
    if post:
        report.publish(settings.db_path, topic.name, topic.slug, topic.language, day, post.path)
    return result


def _judge(
    settings: Settings,
    steps: stages.Stages,
    topic: Topic,
    papers: list[Paper],
    decisions: list[Selection],
    backend: str,
    result: TopicResult,
) -> list[Selection]:
    """Let the LLM judge the keyword net's candidates; without one the keywords decide."""
    logger = get_run_logger()
    found = relevance.make_judge(settings, backend)
    judge = stages.TaskJudge(steps.judge_papers, found.name, found.model) if found else None
    judged = relevance.judge_day(papers, decisions, judge, topic, settings.judge_batch_size)
    if found is None:
        logger.info("%s: no LLM judge (no key, extractive, or llm_judge off); keywords decide",
                    topic.name)  # fmt: skip
    if judged.failed_batches:
        logger.warning("%s: %d judge batches failed; their keyword decisions stand",
                       topic.name, judged.failed_batches)  # fmt: skip
    result.prompt_tokens += sum(b.prompt_tokens for b in judged.batches)
    result.output_tokens += sum(b.output_tokens for b in judged.batches)
    result.cost_usd += sum(b.cost_usd for b in judged.batches)
    return judged.selections


def _process(
    settings: Settings,
    steps: stages.Stages,
    kept: list[Paper],
    language: str,
    backend: str,
    model: str,
    result: TopicResult,
) -> list[Any]:
    """Stream each paper through download → extract → summarize as soon as it can go on.

    Return what is to be stored: extractions, summaries and failures. Each finished stage is
    already persisted by Prefect, so a crash before storing loses no work, only its record.
    """
    records: list[Any] = []
    done: queue.Queue[PrefectFuture[Any]] = queue.Queue()
    pending: dict[PrefectFuture[Any], tuple[str, Paper]] = {}
    progress = report.Progress(len(kept), f"{result.topic} {result.day}: papers done", result.topic)

    def submit(stage: str, paper: Paper, future: PrefectFuture[Any]) -> None:
        pending[future] = (stage, paper)
        future.add_done_callback(done.put)

    def summarize(paper: Paper, extraction: Extraction | None) -> None:
        submit("summarize", paper, steps.summarize_paper.submit(
            paper, extraction, language, backend, model))  # fmt: skip

    # The task runner's queue is first in, first out: submitting every download up front
    # would make each extract and summary wait behind all of them. A couple in flight keep
    # the arXiv limiter busy, and the later stages run in between.
    to_download = list(kept)

    def download_next() -> None:
        if to_download:
            paper = to_download.pop(0)
            submit("download", paper, steps.download_pdf.submit(
                paper, settings.arxiv_pdf_url, settings.pdf_dir))  # fmt: skip

    for _ in range(DOWNLOADS_IN_FLIGHT):
        download_next()
    while pending:
        future = done.get()
        stage, paper = pending.pop(future)
        if stage == "download":
            download_next()
        if stage == "summarize":
            progress.advance()
        future.wait()
        state = future.state
        if not state.is_completed():
            records.append(_fail(result, paper, stage, state.result(raise_on_failure=False)))
            if stage != "summarize":
                summarize(paper, None)
            continue
        value = future.result()
        if stage == "download":
            submit("extract", paper, steps.extract_pdf.submit(
                value, paper, settings.figure_dir, settings.max_figures))  # fmt: skip
        elif stage == "extract":
            records.append(value)
            summarize(paper, value)
        else:
            records.append(value)
            result.summarized += 1
            result.prompt_tokens += value.prompt_tokens
            result.output_tokens += value.output_tokens
            result.cost_usd += value.cost_usd
    return records


def _fail(result: TopicResult, paper: Paper, stage: str, error: BaseException) -> Failure:
    """Return the failure record of a stage for one paper, and note it in the run report."""
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
