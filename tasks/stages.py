"""The Prefect shell of each stage: names, retries on transient errors only, cache keys.

The work is done by the plain functions of the stage modules; these wrappers add what the UI,
retries and caching need and nothing else. Cache keys name exactly what determines a result
(never a client object), and the task's source is part of every key.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE, TASK_SOURCE, CacheKeyFnPolicy

from config.settings import Topic, get_settings
from tasks.domain import (
    Cleared,
    DayNote,
    Extraction,
    Failure,
    JudgeCalls,
    Listing,
    Paper,
    Selection,
)
from tasks.errors import ConfigError, ListingUnavailable, is_transient
from tasks.pdf import guard
from tasks.post import render
from tasks.post.notify import channel as notify_channel
from tasks.record import deliveries, store, views
from tasks.record.views import PaperView
from tasks.relevance import keywords
from tasks.relevance.judge import JUDGE_PROMPT_VERSION, JudgeBatch, make_judge
from tasks.source import api, download, listing, oai, rss, schedule
from tasks.source.client import PoliteSession
from tasks.source.limiter import get_limiter
from tasks.summary import summarizer
from tasks.summary.schema import SummaryRecord

EXTRACTOR_VERSION = "extract-v5"  # bump whenever extraction changes its output
RETRY_DELAYS = [2, 10, 30]  # the default of the `retry_delays` setting, which Stages applies


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only what a retry can cure: 429, 5xx, timeouts, throttled bodies."""
    return is_transient(state.result(raise_on_failure=False))


# The options of every stage that talks to arXiv or the LLM; `Stages` applies `retry_delays`.
RETRIED: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": RETRY_DELAYS,
    "retry_condition_fn": _transient,
}


def _key(*parts: Any) -> str:
    raw = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _keyed(fn: Any) -> CacheKeyFnPolicy:
    return TASK_SOURCE + CacheKeyFnPolicy(cache_key_fn=lambda _ctx, params: fn(**params))


def _fetch_key(api_url: str, categories: list[str], day: date, **_: Any) -> str:
    # A past batch never changes; a recent one may still be filling, so its key lapses hourly.
    settings = get_settings()
    recent = day >= datetime.now(UTC).date() - timedelta(days=1)
    bucket = datetime.now(UTC).strftime("%Y%m%d%H") if recent else ""
    window = schedule.batch_window(day, settings.holidays)
    return _key("fetch", api_url, settings.arxiv_rss_url, sorted(categories), day, window, bucket)


def _source(api_url: str, settings: Any) -> api.ArxivSource:
    limiter = get_limiter(settings.arxiv_min_interval, settings.arxiv_lock)
    return api.ArxivSource(
        api_url, settings.arxiv_min_interval, settings.arxiv_timeout, settings.user_agent, limiter
    )


def _session(settings: Any) -> PoliteSession:
    limiter = get_limiter(settings.arxiv_min_interval, settings.arxiv_lock)
    return PoliteSession(limiter, settings.arxiv_timeout, settings.user_agent)


@task(
    name="fetch",
    task_run_name="fetch-{day}",
    **RETRIED,
    cache_policy=_keyed(_fetch_key),
    persist_result=True,
)
def fetch_papers(api_url: str, categories: list[str], day: date) -> list[Paper]:
    """Return the papers of the batch labelled `day` in `categories`.

    The newest batch comes from the RSS feed (announce types and licences included) once the
    feed carries it; any other batch is rebuilt from the API by its submission window. A batch
    that lists no paper raises `ListingUnavailable`, so no empty answer is ever cached.
    """
    settings = get_settings()
    window = schedule.batch_window(day, settings.holidays)
    if window is None:
        return []
    source = _source(api_url, settings)

    def feed() -> tuple[date | None, list[Paper]]:
        with _session(settings) as session:
            return rss.rss_papers(session, source, settings.arxiv_rss_url, categories)

    newest = day == schedule.latest_label(datetime.now(UTC), settings.holidays)
    return listing.batch_papers(source, categories, day, window, feed if newest else None)


def _range_key(api_url: str, categories: list[str], labels: list[date]) -> str:
    holidays = get_settings().holidays
    windows = [(label, schedule.batch_window(label, holidays)) for label in labels]
    return _key("fetch-range", api_url, sorted(categories), windows)


def _range_name() -> str:
    from prefect.runtime import task_run

    labels = task_run.parameters.get("labels") or ["none"]
    return f"fetch-range-{labels[0]}-to-{labels[-1]}"


@task(
    name="fetch-range",
    task_run_name=_range_name,
    **RETRIED,
    cache_policy=_keyed(_range_key),
    persist_result=True,
)
def fetch_range(api_url: str, categories: list[str], labels: list[date]) -> dict[date, list[Paper]]:
    """Return the papers of several past batch labels, with one paged query for all of them."""
    settings = get_settings()
    windows = {label: schedule.batch_window(label, settings.holidays) for label in labels}
    source = _source(api_url, settings)
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
    cache_policy=_keyed(
        lambda papers, day: _key("licences", get_settings().arxiv_oai_url, [p.key for p in papers])
    ),
    persist_result=True,
)
def fetch_licences(papers: list[Paper], day: date) -> list[Paper]:
    """Fill in the licences the API does not give, from arXiv's OAI-PMH interface."""
    settings = get_settings()
    with _session(settings) as session:
        return oai.with_licences(session, settings.arxiv_oai_url, papers)


@task(
    name="select",
    task_run_name="select-{topic}",
    cache_policy=_keyed(
        lambda papers, topic, include, exclude, min_score: _key(
            "select", [p.key for p in papers], topic, include, exclude, min_score
        )
    ),
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
    cache_policy=_keyed(
        lambda paper, pdf_url, dest_dir: _key("download", paper.key, str(dest_dir))
    ),
    persist_result=True,
)
def download_pdf(paper: Paper, pdf_url: str, dest_dir: Path) -> Path:
    """Download and validate one paper's PDF."""
    settings = get_settings()
    with _session(settings) as session:
        return download.download_pdf(
            paper, pdf_url, dest_dir, session, int(settings.pdf_max_mb * 1024 * 1024)
        )


@task(
    name="extract",
    task_run_name="extract-{paper.key}",
    cache_policy=_keyed(
        lambda pdf, paper, figure_dir, max_figures: _key(
            "extract", paper.key, EXTRACTOR_VERSION, str(figure_dir), max_figures
        )
    ),
    persist_result=True,
)
def extract_pdf(pdf: Path, paper: Paper, figure_dir: Path, max_figures: int) -> Extraction:
    """Read sections, affiliation, links and figures from a PDF, in a guarded child process."""
    settings = get_settings()
    extraction = guard.extract_guarded(
        pdf,
        paper.arxiv_id,
        paper.version,
        figure_dir,
        max_figures,
        settings.extract_timeout,
        settings.extract_memory_mb,
        settings.extract_max_pages,
    )
    return replace(extraction, extractor=EXTRACTOR_VERSION)


@task(
    name="summarize",
    task_run_name="summarize-{paper.key}",
    **RETRIED,
    cache_policy=_keyed(
        lambda paper, extraction, language, backend, model: _key(
            "summarize",
            paper.key,
            language,
            backend,
            model,
            summarizer.PROMPT_VERSION,
            extraction is not None,
        )
    ),
    persist_result=True,
)
def summarize_paper(
    paper: Paper, extraction: Extraction | None, language: str, backend: str, model: str
) -> SummaryRecord:
    """Summarize one paper with the chosen backend."""
    chosen = summarizer.make_summarizer(get_settings(), backend)
    return chosen.summarize(paper, extraction, language)


def _judge_key(papers: list[Paper], topic: Topic, model: str, backend: str = "") -> str:
    # Per paper version, topic definition, model and prompt: any change asks the judge again.
    return _key(
        "judge", [p.key for p in papers], topic.definition(), backend, model, JUDGE_PROMPT_VERSION
    )


@task(
    name="judge",
    task_run_name="judge-{topic.slug}",
    **RETRIED,
    cache_policy=_keyed(
        lambda papers, topic, model, backend="": _judge_key(papers, topic, model, backend)
    ),
    persist_result=True,
)
def judge_papers(papers: list[Paper], topic: Topic, model: str, backend: str = "") -> JudgeBatch:
    """Judge one batch of a topic's keyword candidates on title and abstract."""
    found = make_judge(get_settings(), backend or None, model)  # the run's backend, as summaries
    if found is None:
        raise ConfigError(
            "the relevance judge needs llm_judge = true and GEMINI_API_KEY or "
            "DIGEST_OPENAI_BASE_URL"
        )
    return found.judge(papers, topic)


class TaskJudge:
    """A Judge whose every batch runs as a `judge_papers` task run: retried, cached, in the UI."""

    def __init__(self, judge_task: Any, name: str, model: str):
        self.task, self.name, self.model = judge_task, name, model

    def judge(self, papers: Any, topic: Topic) -> JudgeBatch:
        return self.task(list(papers), topic, self.model, self.name)


# No retries here: store.connect waits for another process's lock itself, with backoff.
@task(name="store", task_run_name="store-{kind}", cache_policy=NO_CACHE)
def store_results(db_path: Path, kind: str, items: list[Any], day: date | None = None) -> int:
    """Upsert results into DuckDB, in one transaction; safe to repeat."""
    by_type: dict[type, list[Any]] = defaultdict(list)
    for item in items:
        by_type[type(item)].append(item)
    unknown = set(by_type) - set(_SAVERS)
    if unknown:
        raise TypeError(f"cannot store {', '.join(sorted(t.__name__ for t in unknown))}")
    with store.connect(db_path) as con:
        con.execute("BEGIN")
        for kind_of, save in _SAVERS.items():
            if by_type.get(kind_of):
                save(con, by_type[kind_of], day)
        con.execute("COMMIT")
    return len(items)


def _each(save: Any) -> Any:
    return lambda con, items, _day: [save(con, item) for item in items]


_SAVERS: dict[type, Any] = {
    Paper: lambda con, items, _day: store.save_papers(con, items),
    Listing: _each(
        lambda con, x: store.save_listing(con, x.categories, x.day, x.window, list(x.papers))
    ),
    Selection: lambda con, items, day: store.save_selections(con, day, items),
    JudgeCalls: _each(lambda con, x: store.save_judgements(con, x.topic, x.day, x.batches)),
    Extraction: _each(store.save_extraction),
    SummaryRecord: _each(store.save_summary),
    Failure: _each(store.save_failure),
    DayNote: _each(lambda con, x: store.save_empty_day(con, x.topic, x.day, x.reason, x.status)),
    Cleared: _each(lambda con, x: store.clear_failure(con, x.arxiv_id, x.version, x.stage)),
}


@task(name="render", task_run_name="render-{slug}-{day}", cache_policy=NO_CACHE)
def render_day(
    db_path: Path,
    topic: str,
    slug: str,
    language: str,
    day: date,
    front: dict,
    output_dir: Path,
    figure_dir: Path,
    figure_policy: str,
) -> render.Post | None:
    """Render the topic's post for `day` from DuckDB alone; None when nothing was kept."""
    settings = get_settings()
    layout = render.Layout(
        settings.post_format, settings.figure_base_url, settings.figure_output_dir
    )
    with store.connect(db_path) as con:
        shown: list[PaperView] = views.load_day(con, topic, day, language, settings.updated_papers)
        if not shown:
            return None
        post = render.render_post(
            topic,
            slug,
            language,
            day,
            shown,
            front,
            output_dir,
            figure_dir,
            figure_policy,
            layout,
        )
        failed = sum(1 for v in shown if v.failures)
        models = sorted({v.summary.served_model or v.summary.model for v in shown if v.summary})
        prompts = sorted({v.summary.prompt_version for v in shown if v.summary})
        store.save_digest(con, topic, day, str(post.path), len(shown), failed, models, prompts)
    return post


# Apprise itself sends once per call: these retries are the only layer. The task takes the
# channel's position, never its URL, which holds secrets and would become a parameter.
@task(
    name="notify",
    task_run_name="notify-{topic}-{day}-{index}",
    retries=2,
    retry_delay_seconds=RETRY_DELAYS,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,
)
def notify(topic: str, day: date, index: int) -> deliveries.Delivery:
    """Send a topic's day to its `index`th notify URL and record the outcome in DuckDB."""
    from prefect.runtime import task_run

    settings = get_settings()
    return deliveries.send(settings, settings.topic(topic), day, index, task_run.run_count or 1)


def notify_day(steps: Stages, topic: Topic, day: date) -> list[str]:
    """Send `topic`'s day to every channel that has not got it; return the failures.

    A failed channel fails neither the day nor the other channels: it is recorded, and the
    next run tries it again.
    """
    settings = get_settings()
    done = deliveries.sent_before(settings.db_path, topic.name, day)
    failed = []
    for index, url in enumerate(deliveries.urls(settings, topic), 1):
        try:
            found = notify_channel(url, index)
        except ConfigError as exc:  # one unreadable URL leaves the others their message
            failed.append(exc.message)
            continue
        if found.fingerprint in done:
            continue
        state = steps.notify(topic.name, day, found.index, return_state=True)
        if not state.is_completed():
            failed.append(f"{found.shown}: {state.result(raise_on_failure=False)}")
    return failed


class Stages:
    """The stage tasks with their results persisted under one directory.

    Cached results must live beside the data they point at (PDF paths, figure files), so a
    fresh data directory never meets a stale cache.
    """

    def __init__(self, result_dir: Path, retry_delays: list[float] | None = None):
        def bind(fn: Any, **options: Any) -> Any:
            return fn.with_options(result_storage=result_dir, **options)

        delays = {"retry_delay_seconds": retry_delays} if retry_delays else {}
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
        self.notify = notify.with_options(**delays)
