"""OpenAI's chat-completions protocol, for any compatible endpoint, as a chat `Transport`.

OpenAI, DeepSeek, Ollama (`http://localhost:11434/v1`) and vLLM all serve
`POST {base}/chat/completions`. Spoken with httpx rather than the openai package: one request
per call, no retries of its own (Prefect's tasks retry), a timeout on every request. Every one
of these endpoints accepts `response_format: json_object`, but not all take a schema, so the
schema travels in the system message (the prompt tells the model it is given one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import BaseModel

from tasks.errors import ConfigError
from tasks.llm.chat import Refusal, Reply, Turn
from tasks.llm.sampling import Sampling, is_reasoning_model
from tasks.retry_after import MAX_RETRY_AFTER, retry_after_seconds

MISSING_BASE_URL = (
    "DIGEST_OPENAI_BASE_URL is not set; set it (e.g. http://localhost:11434/v1 for Ollama) "
    "or use --llm gemini or --llm extractive"
)
# What OpenAI calls a spent plan or billing limit; DeepSeek says 402 Insufficient Balance.
SPENT_CODES = {"insufficient_quota"}
_THINKING = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL)


class OpenAITransport:
    """Send one chat-completions request to an OpenAI-compatible endpoint."""

    name = "openai"
    label = "OpenAI-compatible endpoint"

    def __init__(self, base_url: str, api_key: str = "", timeout: float = 120.0):
        if not base_url:
            raise ConfigError(MISSING_BASE_URL)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"DIGEST_OPENAI_BASE_URL must start with http:// or https://, not {base_url!r}"
            )
        self.url = base_url.rstrip("/") + "/chat/completions"
        self._key = api_key  # Ollama and vLLM need none
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"OpenAITransport(url={self.url!r})"

    def send(
        self,
        model: str,
        system: str,
        turns: Sequence[Turn],
        schema: type[BaseModel],
        sampling: Sampling,
    ) -> Reply:
        """Make one chat-completions call; raise `Refusal` for anything but an answer."""
        body = {
            "model": model,
            "messages": [
                {"role": "system", "content": f"{system}\n\n{schema_note(schema)}"},
                *({"role": turn.role, "content": turn.text} for turn in turns),
            ],
            "response_format": {"type": "json_object"},
            "stream": False,
            **sampling_fields(model, sampling),
        }
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        try:
            response = httpx.post(self.url, json=body, headers=headers, timeout=self._timeout)
        # `from None` throughout: httpx errors hold the request, whose headers carry the key.
        except httpx.RequestError as exc:  # timeouts, refused connections, broken bodies
            message = f"{self.label} request failed: {type(exc).__name__} {exc}"
            raise Refusal("transient", self._scrub(message).strip()) from None
        if response.status_code != 200:
            raise self._refusal(response, model) from None
        try:
            return _reply(response.json(), model)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            snippet = " ".join(response.text[:200].split())
            message = f"{self.label} answered 200 with an unreadable body: {snippet!r}"
            raise Refusal("transient", self._scrub(message)) from None

    def list_models(self) -> list[str]:
        """Return the model ids `GET {base}/models` lists."""
        url = self.url.removesuffix("/chat/completions") + "/models"
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        try:
            response = httpx.get(url, headers=headers, timeout=self._timeout)
        except httpx.RequestError as exc:
            message = f"{self.label} model list failed: {type(exc).__name__} {exc}"
            raise Refusal("transient", self._scrub(message).strip()) from None
        if response.status_code in (401, 403):
            raise self._refusal(response, "") from None
        try:
            response.raise_for_status()
            return [str(item["id"]) for item in response.json()["data"]]
        except (httpx.HTTPStatusError, ValueError, TypeError, KeyError) as exc:
            message = f"{self.label} gave no model list at {url}: {type(exc).__name__}"
            raise Refusal("transient", message) from None

    def _refusal(self, response: httpx.Response, model: str) -> Refusal:
        """Return the refusal an error status stands for."""
        status = response.status_code
        codes, detail = _error_of(response)
        code = next(iter(codes), "")
        message = self._scrub(f"{self.label} returned {status} {code}".strip() + f": {detail}")
        if SPENT_CODES & set(codes) or status == 402:
            return Refusal("spent", message, reason=f"{model}'s quota or balance is used up")
        if status == 429:
            delay = retry_after_seconds(response.headers.get("retry-after"))
            return Refusal("rate", message, delay=min(delay, MAX_RETRY_AFTER))
        if status in (408, 409) or status >= 500:
            return Refusal("transient", message)
        if status == 404:
            fix = "check llm_model (DIGEST_LLM_MODEL) and DIGEST_OPENAI_BASE_URL"
            return Refusal("config", f"{message}; {fix}")
        if status in (401, 403):
            return Refusal("config", f"{message}; check OPENAI_API_KEY and its access")
        return Refusal("fatal", message)

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


def sampling_fields(model: str, sampling: Sampling) -> dict[str, Any]:
    """Return the request's sampling fields; what is None is left out.

    OpenAI's reasoning models take `max_completion_tokens` and refuse `max_tokens`; DeepSeek,
    Ollama and vLLM read `max_tokens` (Ollama's context window is its own setting, num_ctx).
    """
    fields: dict[str, Any] = {}
    if sampling.temperature is not None:
        fields["temperature"] = sampling.temperature
    if sampling.max_output_tokens:
        name = "max_completion_tokens" if is_reasoning_model(model) else "max_tokens"
        fields[name] = sampling.max_output_tokens
    return fields


def schema_note(schema: type[BaseModel]) -> str:
    """Return the system message's part that gives the model the JSON schema to fill."""
    shape = json.dumps(schema.model_json_schema(), ensure_ascii=False, separators=(",", ":"))
    return f"The JSON schema of your answer:\n{shape}"


def _reply(body: dict[str, Any], model: str) -> Reply:
    """Return the first choice's text and the usage of a chat-completions answer."""
    usage = body.get("usage") or {}
    choice = body["choices"][0] if body.get("choices") else {}
    message = choice.get("message") or {}
    text = message.get("content")
    if isinstance(text, str):
        text = _THINKING.sub("", text)  # reasoning models served by Ollama think inline
    # DeepSeek's reasoner keeps its chain of thought in `reasoning_content`: never the answer.
    # Its content may come back blank (JSON mode says so): an empty answer, resent once.
    finish = str(choice.get("finish_reason") or "none")
    return Reply(
        text,
        model,
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),  # reasoning tokens included, as billed
        finish,
        str(body.get("model") or ""),
    )


def _error_of(response: httpx.Response) -> tuple[list[str], str]:
    """Return (codes, message) of an error answer in OpenAI's, vLLM's or any other shape."""
    try:
        body = response.json()
    except ValueError:
        return [], " ".join(response.text[:200].split()) or response.reason_phrase
    error = body.get("error", body) if isinstance(body, dict) else body
    if not isinstance(error, dict):
        return [], str(error)[:500]
    codes = [str(error[k]) for k in ("code", "type") if error.get(k)]
    return list(dict.fromkeys(codes)), str(error.get("message") or body)[:500]
