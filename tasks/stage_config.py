"""What the stages need to know, as frozen values built once per run from the settings.

A stage never reads the settings: the flow builds one `StageConfig` when the run starts and
passes it (or the part a stage needs) to each task. It is picklable, so it travels to Dask
workers as it is, and holds no secret: keys and notify URLs are read where a task runs
(`config.secrets`). Cache keys name only the fields that determine a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from config.settings import LLM_BACKENDS, Settings, resolve_backend
from tasks.llm.chat import QuotaSettings
from tasks.llm.sampling import SamplingSettings
from tasks.summary.extractive import ExtractiveSummarizer


@dataclass(frozen=True)
class ArxivConfig:
    """Where arXiv answers and how politely to ask it."""

    api_url: str
    rss_url: str
    pdf_url: str
    oai_url: str
    min_interval: float
    timeout: float
    user_agent: str
    lock: Path  # the file through which processes sharing a data directory pace arXiv
    holidays: tuple[date, ...] = ()


@dataclass(frozen=True)
class LLMConfig:
    """The run's LLM: a resolved backend (never `auto`), its model, limits and sampling."""

    backend: str
    model: str
    fallback_model: str = ""
    gemini_base_url: str = ""
    openai_base_url: str = ""
    timeout: float = 120.0
    input_tokens: int = 6000
    quota: QuotaSettings = field(default_factory=QuotaSettings)
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    judge: bool = True  # whether an LLM judges the keyword net's candidates
    judge_batch_size: int = 25


@dataclass(frozen=True)
class ExtractConfig:
    """The limits of downloading and reading one PDF."""

    pdf_max_bytes: int
    timeout: float
    memory_mb: int
    max_pages: int
    max_figures: int


@dataclass(frozen=True)
class PostConfig:
    """How posts and messages are written, and where."""

    output_dir: Path
    post_format: str = "hexo"
    figure_base_url: str = "/images"
    figure_output_dir: Path = Path("data/images")
    figure_policy: str = "licensed"
    updated_papers: str = "updated"
    notify_empty: bool = False
    site_url: str = ""
    post_url_format: str = "{year}/{month}/{day}/{name}/"


@dataclass(frozen=True)
class StageConfig:
    """Everything a run's stages read, in one value."""

    db_path: Path
    pdf_dir: Path
    figure_dir: Path
    cache_dir: Path
    arxiv: ArxivConfig
    llm: LLMConfig
    extract: ExtractConfig
    post: PostConfig
    retry_delays: tuple[float, ...] = (2.0, 10.0, 30.0)

    @property
    def result_dir(self) -> Path:
        """Where Prefect persists stage results: beside the data they point at."""
        return self.cache_dir / "results"


def arxiv_config(settings: Settings) -> ArxivConfig:
    s = settings
    return ArxivConfig(
        s.arxiv_api_url,
        s.arxiv_rss_url,
        s.arxiv_pdf_url,
        s.arxiv_oai_url,
        s.arxiv_min_interval,
        s.arxiv_timeout,
        s.user_agent,
        s.arxiv_lock,
        tuple(s.holidays),
    )


def llm_config(settings: Settings, backend: str | None = None) -> LLMConfig:
    """Return the LLM `backend` (default: the settings') stands for; see `resolve_backend`."""
    s = settings
    backend = resolve_backend(s, backend)
    # Without an LLM the summarizer's own version is the model: it keys and records summaries.
    model = s.llm_model if backend in LLM_BACKENDS else ExtractiveSummarizer.model
    return LLMConfig(
        backend,
        model,
        s.llm_fallback_model,
        s.gemini_base_url,
        s.openai_base_url,
        s.llm_timeout,
        s.llm_input_tokens,
        QuotaSettings(s.llm_rpm, s.llm_concurrency, s.llm_budget_usd, s.llm_prices, s.llm_rpd),
        SamplingSettings(
            s.llm_temperature, s.llm_max_output_tokens, s.llm_thinking_budget, s.llm_context_tokens
        ),
        s.llm_judge,
        s.judge_batch_size,
    )


def stage_config(settings: Settings, backend: str | None = None) -> StageConfig:
    """Return the configuration of a run with `settings` and LLM `backend`."""
    s = settings
    post = PostConfig(
        s.output_dir,
        s.post_format,
        s.figure_base_url,
        s.figure_output_dir,
        s.figure_policy,
        s.updated_papers,
        s.notify_empty,
        s.site_url,
        s.post_url_format,
    )
    extract = ExtractConfig(
        int(s.pdf_max_mb * 1024 * 1024),
        s.extract_timeout,
        s.extract_memory_mb,
        s.extract_max_pages,
        s.max_figures,
    )
    return StageConfig(
        s.db_path,
        s.pdf_dir,
        s.figure_dir,
        s.cache_dir,
        arxiv_config(s),
        llm_config(s, backend),
        extract,
        post,
        tuple(s.retry_delays),
    )
