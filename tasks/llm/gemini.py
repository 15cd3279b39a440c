"""Gemini's generateContent through google-genai (the official SDK), as a chat `Transport`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import BaseModel

from tasks.llm.chat import Refusal, Reply, Turn
from tasks.llm.sampling import Sampling
from tasks.retry_after import MAX_RETRY_AFTER, retry_after_seconds

# Pinned rather than the SDK default ("v1" in 3.x, overridable by GOOGLE_GENAI_API_VERSION):
# v1beta is where Google documents systemInstruction with responseSchema for the Gemini API.
GEMINI_API_VERSION = "v1beta"


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
# What a models.list call can fail with besides an error status: both mean "try again".
_LIST_ERRORS: tuple[type[Exception], ...] = (
    genai_errors.UnknownApiResponseError,
    *_NETWORK_ERRORS,
)


class GeminiTransport:
    """Send one generateContent request; the schema goes as responseSchema."""

    name = "gemini"
    label = "Gemini"

    def __init__(self, api_key: str, base_url: str = "", timeout: float = 120.0):
        self._key = api_key
        options = types.HttpOptions(
            base_url=base_url or None,
            api_version=GEMINI_API_VERSION,
            timeout=int(timeout * 1000),  # milliseconds, unlike everything else here
            retry_options=None,  # the SDK then makes exactly one attempt: Prefect retries
        )
        # vertexai=False so GOOGLE_GENAI_USE_VERTEXAI in the environment cannot reroute us.
        self._client = genai.Client(api_key=api_key, vertexai=False, http_options=options)

    def __repr__(self) -> str:
        return "GeminiTransport()"

    def send(
        self,
        model: str,
        system: str,
        turns: Sequence[Turn],
        schema: type[BaseModel],
        sampling: Sampling,
    ) -> Reply:
        """Make one generateContent call; raise `Refusal` for anything but an answer."""
        thinking = sampling.thinking_budget
        config = types.GenerateContentConfig(
            system_instruction=system,
            response_mime_type="application/json",
            response_schema=schema,
            temperature=sampling.temperature,  # None is left out of the request
            max_output_tokens=sampling.max_output_tokens,
            thinking_config=types.ThinkingConfig(thinking_budget=thinking) if thinking else None,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        contents = [_content(turn) for turn in turns]
        try:
            response = self._client.models.generate_content(
                model=model, contents=contents, config=config
            )
        # `from None`: the SDK error holds the HTTP request, whose headers carry the API key.
        except genai_errors.APIError as exc:
            raise self._refusal(exc, model) from None
        except genai_errors.UnknownApiResponseError:
            raise Refusal("transient", "Gemini answered with a non-JSON body") from None
        except _NETWORK_ERRORS as exc:
            message = f"Gemini request failed: {type(exc).__name__} {self._scrub(str(exc))}"
            raise Refusal("transient", message.strip()) from None
        prompt_tokens, output_tokens = _usage(response)
        served = (response.model_version or "").removeprefix("models/")
        finish = _finish_reason(response)
        return Reply(response.text, model, prompt_tokens, output_tokens, finish, served)

    def list_models(self) -> list[str]:
        """Return the models that serve generateContent now (models.list, every page)."""
        try:
            found = list(self._client.models.list(config={"page_size": 1000}))
        except genai_errors.APIError as exc:
            raise self._refusal(exc, "") from None
        except _LIST_ERRORS as exc:
            message = f"Gemini's model list failed: {type(exc).__name__} {self._scrub(str(exc))}"
            raise Refusal("transient", message.strip()) from None
        return [
            (m.name or "").removeprefix("models/")
            for m in found
            if "generateContent" in (m.supported_actions or ["generateContent"])
        ]

    def _refusal(self, exc: genai_errors.APIError, model: str) -> Refusal:
        """Return the refusal a Gemini error status stands for."""
        status = f"{exc.code} {exc.status or ''}".strip()
        message = self._scrub(f"Gemini returned {status}: {exc.message or exc.details}")
        if exc.code == 429 and is_daily_quota(exc):
            return Refusal("spent", message, reason=f"{model}'s daily quota is used up")
        if exc.code == 429:
            return Refusal("rate", message, delay=retry_delay(exc))
        if exc.code == 408 or exc.code >= 500:
            return Refusal("transient", message)
        if exc.code == 404:
            fix = "set llm_model (DIGEST_LLM_MODEL) to a model Gemini serves now"
            return Refusal("config", f"{message}; {fix}")
        if exc.code in (401, 403) or _reason(exc) == "API_KEY_INVALID":
            return Refusal("config", f"{message}; check GEMINI_API_KEY and the key's project")
        return Refusal("fatal", message)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***")


def is_daily_quota(exc: genai_errors.APIError) -> bool:
    """Return whether a 429 names only per-day quotas (google.rpc.QuotaFailure violations).

    A free-tier 429 often lists the per-minute and the per-day quota together; while a
    per-minute one is among them, waiting a minute is what helps, not giving up the day.
    """
    quota_ids = [
        str(violation.get("quotaId", ""))
        for detail in _details(exc)
        if isinstance(detail, dict) and detail.get("@type", "").endswith("QuotaFailure")
        for violation in detail.get("violations", [])
    ]
    daily = any("PerDay" in q for q in quota_ids)
    return daily and not any("PerMinute" in q for q in quota_ids)


def _reason(exc: genai_errors.APIError) -> str:
    """Return the reason of a google.rpc.ErrorInfo detail (API_KEY_INVALID), or ""."""
    for detail in _details(exc):
        if isinstance(detail, dict) and detail.get("@type", "").endswith("ErrorInfo"):
            return str(detail.get("reason", ""))
    return ""


def retry_delay(exc: genai_errors.APIError) -> float:
    """Return the seconds a google.rpc.RetryInfo detail (or Retry-After) asks to wait, or 0."""
    for detail in _details(exc):
        if isinstance(detail, dict) and detail.get("@type", "").endswith("google.rpc.RetryInfo"):
            match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(detail.get("retryDelay", "")))
            if match:
                return float(match[1])
    header = getattr(getattr(exc, "response", None), "headers", {}).get("retry-after")
    return min(retry_after_seconds(header), MAX_RETRY_AFTER)


def _details(exc: genai_errors.APIError) -> list[Any]:
    body = exc.details if isinstance(exc.details, dict) else {}
    return body.get("error", body).get("details", None) or []


def _content(turn: Turn) -> types.Content:
    role = "model" if turn.role == "assistant" else "user"
    return types.Content(role=role, parts=[types.Part.from_text(text=turn.text)])


def _finish_reason(response: types.GenerateContentResponse) -> str:
    if response.candidates and response.candidates[0].finish_reason:
        return str(response.candidates[0].finish_reason.value)
    feedback = response.prompt_feedback
    return (
        f"blocked, {feedback.block_reason.value}" if feedback and feedback.block_reason else "none"
    )


def _usage(response: types.GenerateContentResponse) -> tuple[int, int]:
    """Return (prompt, output) tokens of `response`; thinking tokens bill as output."""
    usage = response.usage_metadata
    if not usage:
        return 0, 0
    output = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    return usage.prompt_token_count or 0, output
