"""The composition root: every service a stage uses is built here, where the stage runs.

Stages get configuration values (`tasks.stage_config`), never clients: a task builds its
arXiv source, HTTP session, LLM transport, summarizer or judge from them on its own side (a
Dask worker builds its own), with the secrets read there (`config.secrets`).
"""

from __future__ import annotations

from config.secrets import Secrets, load
from config.settings import LLM_BACKENDS
from tasks.errors import LLMConfigError
from tasks.llm.gemini import GeminiTransport
from tasks.llm.openai_chat import OpenAITransport
from tasks.relevance.judge import GeminiJudge, Judge, OpenAIJudge
from tasks.source.api import ArxivSource
from tasks.source.client import PoliteSession
from tasks.source.limiter import Limiter, get_limiter
from tasks.stage_config import ArxivConfig, LLMConfig
from tasks.summary.summarizer import (
    GEMINI_KEY_MISSING,
    ExtractiveSummarizer,
    GeminiSummarizer,
    OpenAISummarizer,
    Summarizer,
)

LIST_TIMEOUT = 30.0  # a model list is small: a slower answer is a fault


def limiter(arxiv: ArxivConfig) -> Limiter:
    """Return the process's arXiv pace, shared through the lock file with other processes."""
    return get_limiter(arxiv.min_interval, arxiv.lock)


def arxiv_source(arxiv: ArxivConfig) -> ArxivSource:
    """Return the arXiv API source `arxiv` describes."""
    return ArxivSource(
        arxiv.api_url, arxiv.min_interval, arxiv.timeout, arxiv.user_agent, limiter(arxiv)
    )


def arxiv_session(arxiv: ArxivConfig) -> PoliteSession:
    """Return a paced session for arXiv's other hosts (RSS, OAI-PMH, PDFs)."""
    return PoliteSession(limiter(arxiv), arxiv.timeout, arxiv.user_agent)


def summarizer(llm: LLMConfig, keys: Secrets | None = None) -> Summarizer:
    """Return the summarizer of `llm`'s backend."""
    if llm.backend not in LLM_BACKENDS:
        return ExtractiveSummarizer()
    keys = keys or load()
    options = (llm.timeout, llm.fallback_model, llm.quota, llm.input_tokens, llm.sampling)
    if llm.backend == "openai":
        return OpenAISummarizer(llm.openai_base_url, llm.model, keys.openai_api_key, *options)
    return GeminiSummarizer(keys.gemini_api_key, llm.model, llm.gemini_base_url, *options)


def has_judge(llm: LLMConfig, keys: Secrets | None = None) -> bool:
    """Return whether `llm` has a relevance judge: switched on, an LLM backend, an endpoint."""
    if not llm.judge or llm.backend not in LLM_BACKENDS:
        return False
    if llm.backend == "openai":
        return bool(llm.openai_base_url)
    return bool((keys or load()).gemini_api_key)


def judge(llm: LLMConfig, keys: Secrets | None = None) -> Judge | None:
    """Return the relevance judge of `llm`, or None: extractive, switched off, or no endpoint."""
    keys = keys or load()
    if not has_judge(llm, keys):
        return None
    options = (llm.timeout, llm.quota, llm.sampling)
    if llm.backend == "openai":
        return OpenAIJudge(llm.openai_base_url, llm.model, keys.openai_api_key, *options)
    return GeminiJudge(keys.gemini_api_key, llm.model, llm.gemini_base_url, *options)


def transport(llm: LLMConfig, keys: Secrets | None = None) -> GeminiTransport | OpenAITransport:
    """Return a bare transport of `llm`'s backend, for asking which models it serves."""
    keys = keys or load()
    timeout = min(llm.timeout, LIST_TIMEOUT)
    if llm.backend == "gemini":
        if not keys.gemini_api_key:
            raise LLMConfigError(GEMINI_KEY_MISSING)
        return GeminiTransport(keys.gemini_api_key, llm.gemini_base_url, timeout)
    return OpenAITransport(llm.openai_base_url, keys.openai_api_key, timeout)
