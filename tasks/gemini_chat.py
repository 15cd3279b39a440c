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

from tasks.chat import Refusal, Reply, Turn

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
        temperature: float,
    ) -> Reply:
        """Make one generateContent call; raise `Refusal` for anything but an answer."""
        config = types.GenerateContentConfig(
            system_instruction=system,
            response_mime_type="application/json",
            response_schema=schema,
            temperature=temperature,
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
        return Reply(response.text, model, prompt_tokens, output_tokens, _finish_reason(response))

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
        return Refusal("fatal", message)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***")


def is_daily_quota(exc: genai_errors.APIError) -> bool:
    """Return whether a 429 names a per-day quota (a google.rpc.QuotaFailure detail)."""
    for detail in _details(exc):
        if isinstance(detail, dict) and detail.get("@type", "").endswith("QuotaFailure"):
            for violation in detail.get("violations", []):
                if "PerDay" in str(violation.get("quotaId", "")):
                    return True
    return False


def retry_delay(exc: genai_errors.APIError) -> float:
    """Return the seconds a google.rpc.RetryInfo detail (or Retry-After) asks to wait, or 0."""
    for detail in _details(exc):
        if isinstance(detail, dict) and detail.get("@type", "").endswith("google.rpc.RetryInfo"):
            match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(detail.get("retryDelay", "")))
            if match:
                return float(match[1])
    header = getattr(getattr(exc, "response", None), "headers", {}).get("retry-after", "")
    return float(header) if re.fullmatch(r"\d+(?:\.\d+)?", header or "") else 0.0


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
