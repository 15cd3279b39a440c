"""Typed settings: config/digest.toml overlaid by DIGEST_* environment variables."""

from __future__ import annotations

import os
from datetime import date
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from config.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).with_name("digest.toml")
# Settings whose empty value (DIGEST_LLM_TEMPERATURE="") means "not sent".
OPTIONAL_NUMBERS = ("llm_temperature", "llm_max_output_tokens", "llm_thinking_budget")
# Where summaries (and the judge's verdicts) come from; `auto` picks by the keys that are set.
Backend = Literal["auto", "gemini", "openai", "extractive"]
BACKENDS: tuple[str, ...] = get_args(Backend)
LLM_BACKENDS = ("gemini", "openai")  # the backends that call a model


class Topic(BaseModel):
    """A topic: where its papers appear and which phrases decide."""

    name: str
    slug: str
    language: Literal["zh", "en"] = "zh"
    categories: list[str]
    include: list[str]
    exclude: list[str] = []
    min_score: float = 1.0
    # What belongs and what does not, in prose: the relevance judge decides by it.
    description: str = ""
    # Broader phrases that only nominate papers for the judge; they never keep one alone.
    candidates: list[str] = []
    front_matter: dict[str, Any] = {}
    # Apprise URLs this topic's digest also goes to, beside the global `notify_urls`.
    notify_urls: list[SecretStr] = []

    def definition(self) -> dict[str, Any]:
        """Return what decides selection (the select and judge stages' cache key)."""
        return self.model_dump(
            include={
                "name",
                "categories",
                "include",
                "exclude",
                "min_score",
                "description",
                "candidates",
            }
        )


class Settings(BaseSettings):
    """Everything the pipeline reads; build one per run, pass it down."""

    model_config = SettingsConfigDict(env_prefix="DIGEST_", extra="ignore")

    config: Path = DEFAULT_CONFIG
    data_dir: Path = Path("data")
    db_path: Path = Path("data/digest.duckdb")
    output_dir: Path = Path("data/posts")

    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_rss_url: str = "https://rss.arxiv.org/rss/"
    arxiv_pdf_url: str = "https://arxiv.org/pdf/"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    arxiv_min_interval: float = Field(3.0, ge=0)
    arxiv_timeout: float = Field(30.0, gt=0)
    contact: str = "arxiv-digest operator"
    holidays: list[date] = []

    llm_backend: Backend = "auto"
    # The model of either backend; for openai set it to the endpoint's name (deepseek-chat).
    # Checked 2026-12-04 against Google's deprecations page and models list: 2.0 and 2.5 models
    # are shut down; gemini-3.5-flash-lite is stable with no shutdown date announced.
    llm_model: str = "gemini-3.5-flash-lite"
    gemini_base_url: str = ""
    gemini_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("GEMINI_API_KEY", "GOOGLE_API_KEY")
    )
    # Any OpenAI-compatible endpoint: http://localhost:11434/v1 (Ollama), https://api.deepseek.com
    openai_base_url: str = ""
    # Optional: Ollama and vLLM need none.
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    llm_timeout: float = Field(120.0, gt=0)
    # The paper text's share of each summary prompt, in tokens (estimated at 4 characters each).
    llm_input_tokens: int = Field(6000, ge=500)
    llm_fallback_model: str = ""
    # Free tier of Flash models since December 2025 (read 2026-12-04): 5 a minute, 20 a day.
    llm_rpm: float = Field(5.0, ge=0)
    llm_rpd: int = Field(20, ge=0)  # requests per day (midnight Pacific), across runs; 0: none
    # "auto": 0.2 for summaries and 0 for the judge, to models that take a temperature (not
    # OpenAI's reasoning models, not Gemini 3.x); empty: never sent; a number: always sent.
    llm_temperature: float | Literal["auto"] | None = "auto"
    llm_max_output_tokens: int | None = Field(8192, ge=256)
    llm_thinking_budget: int | None = Field(None, ge=-1)  # Gemini only; empty: the model's own
    llm_context_tokens: int = Field(0, ge=0)  # the endpoint's context window; 0: unknown
    llm_concurrency: int = Field(6, ge=1)
    llm_budget_usd: float = Field(0.0, ge=0)
    llm_judge: bool = True
    judge_batch_size: int = Field(25, ge=1, le=100)
    llm_prices: dict[str, list[float]] = {}

    pdf_max_mb: float = Field(50, gt=0)
    extract_timeout: float = Field(120.0, gt=0)
    extract_memory_mb: int = Field(2048, ge=256)
    extract_max_pages: int = Field(300, ge=1)
    max_figures: int = Field(4, ge=0)
    max_workers: int = Field(10, ge=1)
    # Where download, extract and summarize run: threads of the flow's process, or Dask workers
    # (a local cluster of `dask_workers` processes, or the scheduler at `dask_address`).
    task_runner: Literal["threads", "dask"] = "threads"
    dask_address: str = ""
    dask_workers: int = Field(2, ge=1)
    retry_delays: list[float] = [2.0, 10.0, 30.0]
    # Seconds the CLI lets Prefect's temporary server take to start (Prefect's own 20 s fails
    # on a busy 2-core machine); unused with PREFECT_API_URL set.
    prefect_startup_timeout: int = Field(120, ge=1)
    figure_policy: Literal["licensed", "always", "never"] = "licensed"
    updated_papers: Literal["updated", "new", "skip"] = "updated"
    post_format: Literal["hexo", "markdown"] = "hexo"
    figure_base_url: str = "/images"
    figure_output_dir: Path = Path("data/images")

    # Apprise URLs (comma-separated in DIGEST_NOTIFY_URLS) each day's digest is sent to; secret.
    notify_urls: Annotated[list[SecretStr], NoDecode] = []
    notify_empty: bool = False
    # The blog's base URL, so messages link the post; the path follows Hexo's default permalink.
    site_url: str = ""
    post_url_format: str = "{year}/{month}/{day}/{name}/"

    topics: list[Topic] = []

    @field_validator(*OPTIONAL_NUMBERS, mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("notify_urls", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("arxiv_pdf_url")
    @classmethod
    def _slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get("DIGEST_CONFIG") or DEFAULT_CONFIG)
        toml = TomlConfigSettingsSource(settings_cls, toml_file=path)
        return init_settings, env_settings, toml

    @property
    def user_agent(self) -> str:
        """Return the User-Agent for arXiv requests."""
        return user_agent(self.contact)

    @property
    def arxiv_lock(self) -> Path:
        """The file through which processes sharing this data directory pace arXiv together."""
        return self.data_dir / "arxiv.lock"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def pdf_dir(self) -> Path:
        return self.data_dir / "pdfs"

    @property
    def figure_dir(self) -> Path:
        return self.data_dir / "figures"

    def topic(self, name: str) -> Topic:
        """Return the topic called `name` (or with that slug)."""
        for topic in self.topics:
            if name in (topic.name, topic.slug):
                return topic
        known = ", ".join(t.name for t in self.topics) or "none"
        raise ConfigError(f"unknown topic {name!r}; configured topics: {known}")

    def resolved_backend(self, choice: str | None = None) -> str:
        """Return the LLM backend `choice` (default: `llm_backend`) stands for.

        `auto` is gemini when a Gemini key is set, else openai when `openai_base_url` is set,
        else the offline extractive summarizer.
        """
        choice = choice or self.llm_backend
        if choice != "auto":
            return choice
        if self.gemini_api_key and self.gemini_api_key.get_secret_value().strip():
            return "gemini"
        return "openai" if self.openai_base_url else "extractive"


def resolve_backend(settings: Settings, choice: str | None = None) -> str:
    """Return the backend `choice` (default: the settings') stands for; ConfigError if unknown."""
    choice = choice or settings.llm_backend
    if choice not in BACKENDS:
        raise ConfigError(f"unknown LLM backend {choice!r}; use {', '.join(BACKENDS)}")
    return settings.resolved_backend(choice)


def user_agent(contact: str) -> str:
    """Return the User-Agent that names this tool and how to reach its operator."""
    try:
        own = version("arxiv-digest")
    except PackageNotFoundError:
        own = "dev"
    return f"arxiv-digest/{own} ({contact})"
