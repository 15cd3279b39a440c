"""The Prefect shell of each stage: every task in one place, retried on transient errors only.

The work is done by the plain functions of the stage modules; these wrappers add what the UI,
retries and caching need and nothing else. Each task gets its configuration as a parameter
(`tasks.stage_config`) and builds its services itself (`tasks.services`). Cache keys name
exactly what determines a result (never a client object, never the whole configuration), and
the task's source is part of every key.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from config.secrets import load as load_secrets
from config.settings import Topic
from tasks import cache_keys as keys
from tasks import services
from tasks.domain import Extraction, Paper, Selection
from tasks.errors import ConfigError, ListingUnavailable, is_transient
from tasks.pdf import guard
from tasks.post import render
from tasks.record import deliveries, store, views, writes
from tasks.relevance import keywords
from tasks.relevance.judge import JudgeBatch
from tasks.source import download, listing, oai, rss, schedule
from tasks.stage_config import ArxivConfig, LLMConfig, StageConfig
from tasks.summary.schema import SummaryRecord

EXTRACTOR_VERSION = keys.EXTRACTOR_VERSION
# The default of the `retry_delays` setting, which Stages applies.
RETRY_DELAYS: list[float] = [2, 10, 30]


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only what a retry can cure: 429, 5xx, timeouts, throttled bodies."""
    return is_transient(state.result(raise_on_failure=False))


# The options of every stage that talks to arXiv or the LLM; `Stages` applies `retry_delays`.
RETRIED: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": _transient,
}


@task(
    name="fetch",
    task_run_name="fetch-{day}",
    **RETRIED,
    cache_policy=keys.policy(keys.fetch),
    persist_result=True,
)
def fetch_papers(categories: list[str], day: date, arxiv: ArxivConfig) -> list[Paper]:
    """Return the papers of the batch labelled `day` in `categories`.

    The newest batch comes from the RSS feed (announce types and licences included) once the
    feed carries it; any other batch is rebuilt from the API by its submission window. A batch
    that lists no paper raises `ListingUnavailable`, so no empty answer is ever cached.
    """
    window = schedule.batch_window(day, arxiv.holidays)
    if window is None:
        return []
    source = services.arxiv_source(arxiv)

    def feed() -> tuple[date | None, list[Paper]]:
        with services.arxiv_session(arxiv) as session:
            return rss.rss_papers(session, source, arxiv.rss_url, categories)

    newest = day == schedule.latest_label(datetime.now(UTC), arxiv.holidays)
    return listing.batch_papers(source, categories, day, window, feed if newest else None)


def _range_name() -> str:
    from prefect.runtime import task_run

    labels = task_run.parameters.get("labels") or ["none"]
    return f"fetch-range-{labels[0]}-to-{labels[-1]}"


@task(
    name="fetch-range",
    task_run_name=_range_name,
    **RETRIED,
    cache_policy=keys.policy(keys.fetch_range),
    persist_result=True,
)
def fetch_range(
    categories: list[str], labels: list[date], arxiv: ArxivConfig
) -> dict[date, list[Paper]]:
    """Return the papers of several past batch labels, with one paged query for all of them."""
    windows = {label: schedule.batch_window(label, arxiv.holidays) for label in labels}
    source = services.arxiv_source(arxiv)
    found = source.range_papers(categories, {k: w for k, w in windows.items() if w})
    if not any(found.values()):  # never cached: nothing listed at all is no answer
        raise ListingUnavailable(
            f"arXiv listed no paper in {' '.join(categories)} for {labels[0]} to {labels[-1]}"
        )
    return {label: found.get(label, []) for label in labels}


@task(
    name="licences",
    task_run_name="licences-{day}",
    **RETRIED,
    cache_policy=keys.policy(keys.licences),
    persist_result=True,
)
def fetch_licences(papers: list[Paper], day: date, arxiv: ArxivConfig) -> list[Paper]:
    """Fill in the licences the API does not give, from arXiv's OAI-PMH interface."""
    with services.arxiv_session(arxiv) as session:
        return oai.with_licences(session, arxiv.oai_url, papers)


@task(
    name="select",
    task_run_name="select-{topic}",
    cache_policy=keys.policy(keys.select),
    persist_result=True,
)
def select_papers(
    papers: list[Paper], topic: str, include: list[str], exclude: list[str], min_score: float
) -> list[Selection]:
    """Score the day's papers for a topic."""
    return keywords.select_papers(papers, topic, include, exclude, min_score)


@task(
    name="download",
    task_run_name="download-{paper.key}",
    **RETRIED,
    cache_policy=keys.policy(keys.download),
    persist_result=True,
)
def download_pdf(paper: Paper, config: StageConfig) -> Path:
    """Download and validate one paper's PDF."""
    arxiv, cap = config.arxiv, config.extract.pdf_max_bytes
    with services.arxiv_session(arxiv) as session:
        return download.download_pdf(paper, arxiv.pdf_url, config.pdf_dir, session, cap)


@task(
    name="extract",
    task_run_name="extract-{paper.key}",
    cache_policy=keys.policy(keys.extract),
    persist_result=True,
)
def extract_pdf(pdf: Path, paper: Paper, config: StageConfig) -> Extraction:
    """Read sections, affiliation, links and figures from a PDF, in a guarded child process."""
    limits = config.extract
    extraction = guard.extract_guarded(
        pdf,
        paper.arxiv_id,
        paper.version,
        config.figure_dir,
        limits.max_figures,
        limits.timeout,
        limits.memory_mb,
        limits.max_pages,
    )
    return replace(extraction, extractor=EXTRACTOR_VERSION)


@task(
    name="summarize",
    task_run_name="summarize-{paper.key}",
    **RETRIED,
    cache_policy=keys.policy(keys.summarize),
    persist_result=True,
)
def summarize_paper(
    paper: Paper, extraction: Extraction | None, language: str, llm: LLMConfig
) -> SummaryRecord:
    """Summarize one paper with the run's LLM backend."""
    return services.summarizer(llm).summarize(paper, extraction, language)


@task(
    name="judge",
    task_run_name="judge-{topic.slug}",
    **RETRIED,
    cache_policy=keys.policy(keys.judge),
    persist_result=True,
)
def judge_papers(papers: list[Paper], topic: Topic, llm: LLMConfig) -> JudgeBatch:
    """Judge one batch of a topic's keyword candidates on title and abstract."""
    found = services.judge(llm)
    if found is None:
        raise ConfigError(
            "the relevance judge needs llm_judge = true and GEMINI_API_KEY or "
            "DIGEST_OPENAI_BASE_URL"
        )
    return found.judge(papers, topic)


class TaskJudge:
    """A Judge whose every batch runs as a `judge_papers` task run: retried, cached, in the UI."""

    def __init__(self, judge_task: Any, llm: LLMConfig):
        self.task, self.llm = judge_task, llm
        self.name, self.model = llm.backend, llm.model

    def judge(self, papers: Any, topic: Topic) -> JudgeBatch:
        return self.task(list(papers), topic, self.llm)


# No retries here: store.connect waits for another process's lock itself, with backoff.
@task(name="store", task_run_name="store-{kind}", cache_policy=NO_CACHE)
def store_results(db_path: Path, kind: str, items: list[Any], day: date | None = None) -> int:
    """Upsert results into DuckDB, in one transaction; safe to repeat."""
    return writes.save_all(db_path, items, day)


@task(name="render", task_run_name="render-{slug}-{day}", cache_policy=NO_CACHE)
def render_day(
    config: StageConfig, topic: str, slug: str, language: str, day: date, front: dict
) -> render.Post | None:
    """Render the topic's post for `day` from DuckDB alone; None when nothing was kept."""
    post = config.post
    layout = render.Layout(post.post_format, post.figure_base_url, post.figure_output_dir)
    with store.connect(config.db_path) as con:
        shown = views.load_day(con, topic, day, language, post.updated_papers)
        if not shown:
            return None
        written = render.render_post(
            topic,
            slug,
            language,
            day,
            shown,
            front,
            post.output_dir,
            config.figure_dir,
            post.figure_policy,
            layout,
        )
        failed = sum(1 for v in shown if v.failures)
        models = sorted({v.summary.served_model or v.summary.model for v in shown if v.summary})
        prompts = sorted({v.summary.prompt_version for v in shown if v.summary})
        writes.save_digest(con, topic, day, str(written.path), len(shown), failed, models, prompts)
    return written


# Apprise itself sends once per call: these retries are the only layer. The task takes the
# channel's position, never its URL, which holds secrets and would become a parameter.
@task(
    name="notify",
    task_run_name="notify-{topic.name}-{day}-{index}",
    retries=2,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,
)
def notify(config: StageConfig, topic: Topic, day: date, index: int) -> deliveries.Delivery:
    """Send a topic's day to its `index`th notify URL and record the outcome in DuckDB."""
    from prefect.runtime import task_run

    attempt = task_run.run_count or 1
    return deliveries.send(config, load_secrets(), topic, day, index, attempt)


class Stages:
    """The stage tasks with their results persisted under one directory.

    Cached results must live beside the data they point at (PDF paths, figure files), so a
    fresh data directory never meets a stale cache.
    """

    def __init__(self, config: StageConfig):
        def bind(fn: Any, **options: Any) -> Any:
            return fn.with_options(result_storage=config.result_dir, **options)

        retry_delays = list(config.retry_delays)
        delays = {"retry_delay_seconds": retry_delays}
        self.config = config
        self.fetch_papers = bind(fetch_papers, **delays)
        self.fetch_range = bind(fetch_range, **delays)
        self.fetch_licences = bind(fetch_licences, **delays)
        self.select_papers = bind(select_papers)
        self.download_pdf = bind(download_pdf, **delays)
        self.extract_pdf = bind(extract_pdf)
        self.summarize_paper = bind(summarize_paper, **delays)
        self.judge_papers = bind(judge_papers, **delays)
        self.store_results = store_results
        self.render_day = render_day
        self.notify = notify.with_options(retry_delay_seconds=retry_delays)
