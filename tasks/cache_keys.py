"""The cache key of each stage: exactly the values that determine its result.

A key never holds a client object or the whole stage configuration, only the fields that
change what the stage returns; `policy` adds the task's source, so editing a stage's code
never reuses its old results.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect.cache_policies import TASK_SOURCE, CacheKeyFnPolicy, CachePolicy

from config.settings import Topic
from tasks.domain import Extraction, Paper
from tasks.relevance.judge import JUDGE_PROMPT_VERSION
from tasks.source import schedule
from tasks.stage_config import ArxivConfig, LLMConfig, StageConfig
from tasks.summary import summarizer

EXTRACTOR_VERSION = "extract-v6"  # bump whenever extraction changes its output


def key(*parts: Any) -> str:
    """Return the hash of `parts`: what determines a result, never a client object."""
    raw = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def policy(fn: Any) -> CachePolicy:
    """Return the cache policy of a task keyed by `fn` of its parameters, and its source."""
    return TASK_SOURCE + CacheKeyFnPolicy(cache_key_fn=lambda _ctx, params: fn(**params))


def fetch(categories: list[str], day: date, arxiv: ArxivConfig) -> str:
    # A past batch never changes; a recent one may still be filling, so its key lapses hourly.
    recent = day >= datetime.now(UTC).date() - timedelta(days=1)
    bucket = datetime.now(UTC).strftime("%Y%m%d%H") if recent else ""
    window = schedule.batch_window(day, arxiv.holidays)
    return key("fetch", arxiv.api_url, arxiv.rss_url, sorted(categories), day, window, bucket)


def fetch_range(categories: list[str], labels: list[date], arxiv: ArxivConfig) -> str:
    windows = [(label, schedule.batch_window(label, arxiv.holidays)) for label in labels]
    return key("fetch-range", arxiv.api_url, sorted(categories), windows)


def extract(pdf: Path, paper: Paper, config: StageConfig) -> str:
    figures = (str(config.figure_dir), config.extract.max_figures)
    return key("extract", paper.key, EXTRACTOR_VERSION, *figures)


def summarize(paper: Paper, extraction: Extraction | None, language: str, llm: LLMConfig) -> str:
    read = extraction is not None
    return key(
        "summarize", paper.key, language, llm.backend, llm.model, summarizer.PROMPT_VERSION, read
    )


def judge(papers: list[Paper], topic: Topic, llm: LLMConfig) -> str:
    # Per paper version, topic definition, model and prompt: any change asks the judge again.
    keys = [p.key for p in papers]
    return key("judge", keys, topic.definition(), llm.backend, llm.model, JUDGE_PROMPT_VERSION)


def licences(papers: list[Paper], day: date, arxiv: ArxivConfig) -> str:
    return key("licences", arxiv.oai_url, [p.key for p in papers])


def select(
    papers: list[Paper], topic: str, include: list[str], exclude: list[str], min_score: float
) -> str:
    return key("select", [p.key for p in papers], topic, include, exclude, min_score)


def download(paper: Paper, config: StageConfig) -> str:
    return key("download", paper.key, str(config.pdf_dir))
