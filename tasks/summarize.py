"""Summarize one paper: the prompt, the Gemini backend, output checks and backend choice.

Plain Python; the flow wraps `Summarizer.summarize` in a Prefect task that owns retries, so
nothing here retries or sleeps: transient failures raise `TransientError` (with the server's
RetryInfo delay when there is one) and everything else raises `SummaryError`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import ValidationError

from config.settings import DEFAULT_CONFIG, Settings
from tasks.errors import ConfigError, QuotaExhausted, SummaryError, TransientError
from tasks.extractive import ExtractiveSummarizer, paper_sections
from tasks.quota import Quota, cost_usd, get_quota
from tasks.summary import PaperSummary, SummaryRecord
from tasks.summary_checks import check_summary
from tasks.types import Extraction, Paper

__all__ = [
    "PROMPT_VERSION",
    "ExtractiveSummarizer",
    "GeminiSummarizer",
    "Summarizer",
    "build_prompt",
    "check_summary",
    "make_summarizer",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuotaSettings:
    """Client-side limits and prices for the Gemini backend."""

    rpm: float = 0.0
    concurrency: int = 2
    budget_usd: float = 0.0
    prices: dict[str, list[float]] = field(default_factory=dict)


PROMPT_PATH = DEFAULT_CONFIG.parent / "prompts" / "summary.md"
# About 4 characters per token for English prose: 24k characters is ~6k input tokens per paper.
PROMPT_CHAR_BUDGET = 24_000
# Pinned rather than the SDK default ("v1" in 3.x, overridable by GOOGLE_GENAI_API_VERSION):
# v1beta is where Google documents systemInstruction with responseSchema for the Gemini API.
GEMINI_API_VERSION = "v1beta"
LANGUAGES = {"zh": "Simplified Chinese (简体中文)", "en": "English"}


def _network_errors() -> tuple[type[Exception], ...]:
    """Return the transport errors (timeouts, refused connections) the SDK can raise."""
    # google-genai 3.x sends through httpx2 by default, through httpx only when asked to;
    # their exceptions share no base class, so both must be caught.
    try:
        import httpx2
    except ImportError:  # pragma: no cover - depends on the installed SDK
        return (httpx.TransportError,)
    return (httpx.TransportError, httpx2.TransportError)


_NETWORK_ERRORS = _network_errors()


class Summarizer(Protocol):
    """A backend that turns one paper into a validated summary record."""

    name: str
    model: str

    def summarize(
        self, paper: Paper, extraction: Extraction | None, language: str
    ) -> SummaryRecord: ...


@dataclass(frozen=True)
class PromptTemplate:
    """The prompt file split into its version, system part and user part."""

    version: str
    system: str
    user: str


@lru_cache
def load_template() -> PromptTemplate:
    """Read and split config/prompts/summary.md."""
    text = PROMPT_PATH.read_text(encoding="utf-8")
    match = re.match(r"version:\s*(\S+)\s*\n", text)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    parts = re.split(r"^## (system|user)\s*$", text, flags=re.MULTILINE)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    if not match or set(sections) != {"system", "user"}:
        raise ConfigError(f"{PROMPT_PATH} needs a 'version:' line and '## system', '## user' parts")
    return PromptTemplate(match[1], sections["system"].strip(), sections["user"].strip())


PROMPT_VERSION = load_template().version


def build_prompt(paper: Paper, extraction: Extraction | None, language: str) -> tuple[str, str]:
    """Return the (system, user) prompt for `paper`, its material cut to the budget."""
    if language not in LANGUAGES:
        raise ConfigError(
            f"unsupported summary language {language!r}; use one of {list(LANGUAGES)}"
        )
    template = load_template()
    values = {"language_name": LANGUAGES[language], "paper": paper_material(paper, extraction)}
    return _fill(template.system, values), _fill(template.user, values)


def paper_material(
    paper: Paper, extraction: Extraction | None, budget: int = PROMPT_CHAR_BUDGET
) -> str:
    """Return the paper's text for the prompt: metadata and abstract whole, sections cut."""
    lines = [f"Title: {_one_line(paper.title)}", f"arXiv: {paper.key}"]
    if paper.categories:
        lines.append(f"Categories: {', '.join(paper.categories)}")
    if extraction and extraction.affiliation:
        lines.append(f"First-author affiliation: {_one_line(extraction.affiliation)}")
    head = "\n".join(lines) + f"\n\nAbstract:\n{paper.abstract.strip()}"
    found = paper_sections(extraction)
    bodies = _allot([_one_line(text) for text in found.values()], budget - len(head))
    blocks = [f"{role}:\n{body}" for role, body in zip(found, bodies, strict=True) if body]
    return _defuse("\n\n".join([head, *blocks]))


def _allot(texts: list[str], budget: int) -> list[str]:
    """Cut `texts` to share `budget`: short ones stay whole, long ones get equal shares."""
    cut = list(texts)
    left = max(budget, 0)
    for rank, index in enumerate(sorted(range(len(texts)), key=lambda i: len(texts[i]))):
        cut[index] = _clip(texts[index], left // (len(texts) - rank))
        left -= len(cut[index])
    return cut


def _clip(text: str, limit: int) -> str:
    """Return `text` cut at a word boundary to at most `limit` characters."""
    if len(text) <= limit:
        return text
    if limit < 200:  # a scrap of a section tells the model nothing
        return ""
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _defuse(text: str) -> str:
    """Neutralise <paper> tags inside the material so it cannot close its own delimiter."""
    return re.sub(r"<\s*(/?)\s*paper\s*>", r"[\1paper]", text, flags=re.IGNORECASE)


def _fill(template: str, values: dict[str, str]) -> str:
    # str.replace, not str.format: paper text and the template may hold literal braces.
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _one_line(text: str) -> str:
    return " ".join(text.split())


class GeminiSummarizer:
    """Summarize with Gemini through google-genai: one call per paper, one repair at most."""

    name = "gemini"

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str = "",
        timeout: float = 120.0,
        fallback_model: str = "",
        quota: QuotaSettings | None = None,
    ):
        if not api_key:
            raise ConfigError("GEMINI_API_KEY is not set; set it or use --llm extractive")
        self.model = model
        self.used_model = model
        self._key = api_key
        self._limits = quota or QuotaSettings()
        self._models = [m for m in dict.fromkeys([model, fallback_model]) if m]
        self._prices = self._limits.prices
        options = types.HttpOptions(
            base_url=base_url or None,
            api_version=GEMINI_API_VERSION,
            timeout=int(timeout * 1000),  # milliseconds, unlike everything else here
            retry_options=None,  # the SDK then makes exactly one attempt: Prefect retries
        )
        # vertexai=False so GOOGLE_GENAI_USE_VERTEXAI in the environment cannot reroute us.
        self._client = genai.Client(api_key=api_key, vertexai=False, http_options=options)

    def _quota(self, model: str) -> Quota:
        limits = self._limits
        return get_quota(model, limits.rpm, limits.concurrency, limits.budget_usd)

    def _active_model(self, paper: Paper) -> str:
        """Return the first model whose daily quota is not used up."""
        for model in self._models:
            if not self._quota(model).exhausted:
                return model
        self._quota(self._models[-1]).check(paper.key)
        return self._models[-1]

    def __repr__(self) -> str:
        return f"GeminiSummarizer(model={self.model!r})"

    def summarize(
        self, paper: Paper, extraction: Extraction | None, language: str
    ) -> SummaryRecord:
        """Return the validated summary of `paper` in `language`."""
        system, user = build_prompt(paper, extraction, language)
        turns = [_turn("user", user)]
        calls = [self._generate(paper, system, turns)]
        summary, problems = _parse(calls[0], paper, language)
        if problems:
            reasons = "; ".join(problems)
            log.warning("%s: Gemini answer rejected (%s); asking once more", paper.key, reasons)
            turns += _repair_turns(calls[0].text, problems)
            calls.append(self._generate(paper, system, turns))
            summary, problems = _parse(calls[1], paper, language)
        if summary is None or problems:
            reasons = "; ".join(problems)
            raise SummaryError(
                f"Gemini gave no valid summary after one repair: {reasons}", paper.key
            )
        prompt_tokens, output_tokens = _tokens(calls)
        model = self.used_model
        return SummaryRecord(
            arxiv_id=paper.arxiv_id,
            version=paper.version,
            backend=self.name,
            model=model,
            prompt_version=PROMPT_VERSION,
            language=language,
            summary=summary,
            prompt_tokens=prompt_tokens,
            output_tokens=output_tokens,
            cost_usd=cost_usd(self._prices, model, prompt_tokens, output_tokens),
        )

    def _generate(
        self, paper: Paper, system: str, turns: list[types.Content]
    ) -> types.GenerateContentResponse:
        """Make one generateContent call, mapping failures to our error types."""
        config = types.GenerateContentConfig(
            system_instruction=system,
            response_mime_type="application/json",
            response_schema=PaperSummary,
            temperature=0.2,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        model = self._active_model(paper)
        quota = self._quota(model)
        try:
            with quota.call(paper.key):
                response = self._client.models.generate_content(
                    model=model, contents=turns, config=config
                )
        # `from None`: the SDK error holds the HTTP request, whose headers carry the API key.
        except genai_errors.APIError as exc:
            raise self._api_error(exc, paper, model) from None
        except genai_errors.UnknownApiResponseError:
            raise TransientError("Gemini answered with a non-JSON body", paper.key) from None
        except _NETWORK_ERRORS as exc:
            message = f"Gemini request failed: {type(exc).__name__} {self._scrub(str(exc))}"
            raise TransientError(message.strip(), paper.key) from None
        self.used_model = model
        usage = _tokens([response])
        quota.charge(cost_usd(self._prices, model, *usage))
        return response

    def _api_error(self, exc: genai_errors.APIError, paper: Paper, model: str) -> Exception:
        """Return the error to raise for a Gemini error status."""
        status = f"{exc.code} {exc.status or ''}".strip()
        message = self._scrub(f"Gemini returned {status}: {exc.message or exc.details}")
        if exc.code == 429 and is_daily_quota(exc):
            self._quota(model).exhaust(f"{model}'s daily quota is used up")
            if any(not self._quota(m).exhausted for m in self._models):
                return TransientError(f"{message}; switching to the fallback model", paper.key)
            return QuotaExhausted(f"{message}; the paper waits for the next run", paper.key)
        if exc.code == 429:
            delay = retry_delay(exc)
            self._quota(model).back_off(delay)
            return TransientError(message, paper.key, retry_after=delay)
        if exc.code == 408 or exc.code >= 500:
            return TransientError(message, paper.key)
        return SummaryError(message, paper.key)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***")


def is_daily_quota(exc: genai_errors.APIError) -> bool:
    """Return whether a 429 names a per-day quota (a google.rpc.QuotaFailure detail)."""
    body = exc.details if isinstance(exc.details, dict) else {}
    for detail in body.get("error", body).get("details", None) or []:
        if isinstance(detail, dict) and detail.get("@type", "").endswith("QuotaFailure"):
            for violation in detail.get("violations", []):
                if "PerDay" in str(violation.get("quotaId", "")):
                    return True
    return False


def retry_delay(exc: genai_errors.APIError) -> float:
    """Return the seconds a google.rpc.RetryInfo detail (or Retry-After) asks to wait, or 0."""
    body = exc.details if isinstance(exc.details, dict) else {}
    for detail in body.get("error", body).get("details", None) or []:
        if isinstance(detail, dict) and detail.get("@type", "").endswith("google.rpc.RetryInfo"):
            match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(detail.get("retryDelay", "")))
            if match:
                return float(match[1])
    header = getattr(getattr(exc, "response", None), "headers", {}).get("retry-after", "")
    return float(header) if re.fullmatch(r"\d+(?:\.\d+)?", header or "") else 0.0


def _parse(
    response: types.GenerateContentResponse, paper: Paper, language: str
) -> tuple[PaperSummary | None, list[str]]:
    """Return the summary in `response` and its problems (schema errors or content checks).

    `response.parsed` is not used: the SDK sets it to None, silently, on invalid JSON.
    """
    text = response.text
    if not text or not text.strip():
        return None, [f"the answer was empty (finish reason: {_finish_reason(response)})"]
    raw = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text)  # tolerate a stray code fence
    try:
        summary = PaperSummary.model_validate_json(raw)
    except ValidationError as exc:
        return None, [_describe(error) for error in exc.errors()[:10]]
    return summary, check_summary(summary, paper, language)


def _finish_reason(response: types.GenerateContentResponse) -> str:
    if response.candidates and response.candidates[0].finish_reason:
        return str(response.candidates[0].finish_reason.value)
    feedback = response.prompt_feedback
    return (
        f"blocked, {feedback.block_reason.value}" if feedback and feedback.block_reason else "none"
    )


def _describe(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "answer"
    return f"{where}: {error['msg']}"


def _repair_turns(previous: str | None, problems: list[str]) -> list[types.Content]:
    """Return the model's rejected answer and a request to fix the listed problems."""
    request = "\n- ".join(["Your answer was rejected for these reasons:", *problems])
    request += "\nReturn the corrected JSON object only, following every rule."
    rejected = [_turn("model", previous[:8000])] if previous else []
    return [*rejected, _turn("user", request)]


def _turn(role: str, text: str) -> types.Content:
    return types.Content(role=role, parts=[types.Part.from_text(text=text)])


def _tokens(responses: list[types.GenerateContentResponse]) -> tuple[int, int]:
    """Return (prompt, output) tokens over `responses`; thinking tokens bill as output."""
    prompt = output = 0
    for response in responses:
        usage = response.usage_metadata
        if usage:
            prompt += usage.prompt_token_count or 0
            output += (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    return prompt, output


def make_summarizer(settings: Settings, backend: str | None = None) -> Summarizer:
    """Return the summarizer for `backend` (default: the settings'); auto picks by key."""
    choice = backend or settings.llm_backend
    if choice not in ("auto", "gemini", "extractive"):
        raise ConfigError(f"unknown LLM backend {choice!r}; use auto, gemini or extractive")
    key = settings.gemini_api_key.get_secret_value().strip() if settings.gemini_api_key else ""
    if choice == "auto":
        choice = "gemini" if key else "extractive"
    if choice == "extractive":
        return ExtractiveSummarizer()
    if not key:
        raise ConfigError("GEMINI_API_KEY is not set; set it or use --llm extractive")
    return GeminiSummarizer(
        api_key=key,
        model=settings.llm_model,
        base_url=settings.gemini_base_url,
        timeout=settings.llm_timeout,
        fallback_model=settings.llm_fallback_model,
        quota=QuotaSettings(
            settings.llm_rpm,
            settings.llm_concurrency,
            settings.llm_budget_usd,
            settings.llm_prices,
        ),  # fmt: skip
    )
