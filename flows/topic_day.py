"""One topic's day: fetch → select (keywords, then the judge) → licences → papers → render."""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger

from config.settings import Topic
from flows import papers as paper_flow
from flows import report
from flows.results import TopicResult
from tasks import services, stages
from tasks.domain import LICENCE_STAGE, Cleared, DayNote, Failure, JudgeCalls, Paper, Selection
from tasks.errors import DigestError, ListingUnavailable
from tasks.llm import plan
from tasks.record import store, views
from tasks.relevance import judge as relevance
from tasks.source import schedule
from tasks.stage_config import StageConfig
from tasks.summary.summarizer import Summarizer


def digest_topic(
    steps: stages.Stages, topic: Topic, day: date, summarizer: Summarizer
) -> TopicResult:
    """Run every stage for one topic and day; one bad paper never stops the others."""
    config, result = steps.config, TopicResult(topic.name, day)
    papers = listed(config, topic, day)
    if papers is None:
        try:
            papers = steps.fetch_papers(topic.categories, day, config.arxiv)
        except ListingUnavailable as exc:
            return _unavailable(config, topic, result, exc)
    else:
        get_run_logger().info(
            "%s %s: %d papers from the listing a backfill fetched with its range",
            topic.name,
            day,
            len(papers),
        )
    decisions = steps.select_papers(
        papers, topic.name, topic.include, topic.exclude, topic.min_score
    )
    decisions, calls = _judge(steps, topic, papers, decisions, result)
    kept_ids = {(s.arxiv_id, s.version) for s in decisions if s.kept}
    kept = [p for p in papers if (p.arxiv_id, p.version) in kept_ids]
    kept, licensing = _licences(steps, kept, day, result)
    result.fetched, result.kept = len(papers), len(kept)
    get_run_logger().info(
        "%s %s: %d papers fetched, %d kept", topic.name, day, len(papers), len(kept)
    )
    metadata = [*papers, *kept, *decisions, calls, *licensing]
    if not kept:  # the decisions table still tells why nothing was kept
        result.note = "no paper matched the topic"
        steps.store_results(
            config.db_path, "metadata", [*metadata, DayNote(topic.name, day, result.note)], day
        )
        report.publish(config.db_path, topic.name, topic.slug, topic.language, day, None)
        return result
    return _papers_and_post(steps, topic, kept, decisions, metadata, summarizer, result)


def _papers_and_post(
    steps: stages.Stages,
    topic: Topic,
    kept: list[Paper],
    decisions: list[Selection],
    metadata: list[object],
    summarizer: Summarizer,
    result: TopicResult,
) -> TopicResult:
    """Summarize what is still to do (within the day's LLM requests), store it, render."""
    config, day = steps.config, result.day
    todo = _to_process(config, topic, day, kept, summarizer, result)
    day_plan = plan.plan_day(config.llm, todo, decisions, f"{topic.name} {day}")
    if day_plan.line:
        get_run_logger().info(day_plan.line)
    result.waiting += [f"{f.arxiv_id}v{f.version}" for f in day_plan.waiting]

    # The metadata is stored while the first downloads run: they, not the store, are the
    # day's critical path.
    def store_metadata() -> None:
        steps.store_results(config.db_path, "metadata", metadata, day)

    records = paper_flow.process(steps, day_plan.now, topic.language, result, store_metadata)
    steps.store_results(config.db_path, "results", [*day_plan.waiting, *records])
    post = steps.render_day(config, topic.name, topic.slug, topic.language, day, topic.front_matter)
    result.post = str(post.path) if post else None
    path = post.path if post else None
    report.publish(config.db_path, topic.name, topic.slug, topic.language, day, path, result.reused)
    if not post:  # every kept paper was a new version left out by `updated_papers = skip`
        result.note = "only new versions of papers already published (updated_papers = skip)"
        steps.store_results(config.db_path, "no-post", [DayNote(topic.name, day, result.note)])
    return result


def _judge(
    steps: stages.Stages,
    topic: Topic,
    papers: list[Paper],
    decisions: list[Selection],
    result: TopicResult,
) -> tuple[list[Selection], JudgeCalls]:
    """Let the LLM judge the keyword net's candidates; without one the keywords decide."""
    logger, llm = get_run_logger(), steps.config.llm
    # Only asked here; each batch's task builds the judge where it runs.
    judge = stages.TaskJudge(steps.judge_papers, llm) if services.has_judge(llm) else None
    judged = relevance.judge_day(papers, decisions, judge, topic, llm.judge_batch_size)
    if judge is None:
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
    config: StageConfig, topic: Topic, result: TopicResult, error: ListingUnavailable
) -> TopicResult:
    """Record a batch arXiv listed nothing for as open, so a later run fetches it again."""
    result.unavailable, result.note = True, error.message
    get_run_logger().warning("%s %s: %s", topic.name, result.day, error.message)
    note = DayNote(topic.name, result.day, error.message, "unavailable")
    stages.store_results(config.db_path, "unavailable", [note])
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
        found = steps.fetch_licences(kept, day, steps.config.arxiv)
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


def listed(config: StageConfig, topic: Topic, day: date) -> list[Paper] | None:
    """Return the day's papers if a backfill already fetched them with its range, else None."""
    window = schedule.batch_window(day, config.arxiv.holidays)
    if window is None or not config.db_path.exists():
        return None
    with store.connect(config.db_path, read_only=True) as con:
        return views.load_listing(con, topic.categories, day, window)


def _to_process(
    config: StageConfig,
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
    if not config.db_path.exists():  # a fresh record: nothing published or finished yet
        return kept
    with store.connect(config.db_path, read_only=True) as con:
        if config.post.updated_papers == "skip":
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
            con, kept, language, summarizer.name, summarizer.model, prompt, stages.EXTRACTOR_VERSION
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
