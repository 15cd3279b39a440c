"""A local HTTP server that speaks OpenAI's chat-completions REST protocol.

`POST /v1/chat/completions` is served, as OpenAI, DeepSeek, Ollama and vLLM serve it, and,
given `served`, `GET /v1/models` (other models are then answered 404 model_not_found); the
base URL to configure is `.url` (it ends in `/v1`). Answers come from a
`responder(request_json) -> str`; the default answers judge prompts with a verdict per paper
and summary prompts with a valid summary, both made by gemini_server's default answers.
Injected faults (429 with Retry-After, insufficient_quota, 5xx, a canned answer, a delay) are
consumed one per request, in order, before the responder is asked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from fakes import gemini_server
from fakes.local_server import LocalServer, QuietHandler
from fakes.recorded import recorded

Responder = Callable[[dict[str, Any]], str]

PATH = "/v1/chat/completions"
QUOTA_MESSAGE = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes."
)
JSON_WORD_MESSAGE = (
    "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
    "'json_object'."
)


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour: an error status, a canned answer text, or a delay first."""

    status: int = 200
    body: dict[str, Any] | None = None
    text: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    raw: str | None = None  # a body sent as it is, not JSON (a proxy's error page)
    fixture: str = ""  # a recorded answer of tests/fixtures/llm/, its text the responder's


@dataclass(frozen=True)
class Request:
    """A request the fake received, and when (on the `time.monotonic` clock)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def prompt_text(self) -> str:
        """Return the text of every message (system, user and assistant)."""
        return "\n".join(m["content"] for m in self.body.get("messages", []))

    @property
    def judged_ids(self) -> list[str]:
        """Return the paper ids a judge prompt asks about; none for other prompts."""
        return gemini_server.judged_ids(as_gemini(self.body))


def error_body(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """Return an error answer's body as OpenAI words it."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _error(
    status: int, message: str, kind: str, code: str | None = None, headers: dict | None = None
) -> Fault:
    return Fault(status=status, body=error_body(message, kind, code), headers=headers or {})


def rate_limited(retry_after: str | None = "2") -> Fault:
    """Return a 429 for too many requests, with a Retry-After header (seconds) if given."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    message = "Rate limit reached for requests. Please try again later."
    return _error(429, message, "requests", "rate_limit_exceeded", headers)


def insufficient_quota() -> Fault:
    """Return OpenAI's 429 for a plan or billing limit that is used up (no retry helps)."""
    return _error(429, QUOTA_MESSAGE, "insufficient_quota", "insufficient_quota")


def server_error(status: int = 500) -> Fault:
    """Return a 5xx with OpenAI's error body."""
    message = "The server had an error while processing your request. Sorry about that!"
    return _error(status, message, "server_error")


def client_error(status: int = 400, message: str = "Invalid request.", code: str = "") -> Fault:
    """Return a 4xx such as a bad key, an unknown model or a bad request."""
    return _error(status, message, "invalid_request_error", code or None)


def raw_body(status: int, text: str) -> Fault:
    """Return a fault whose body is `text` as it is, such as a proxy's HTML page."""
    return Fault(status=status, raw=text, headers={"Content-Type": "text/html"})


def replay(name: str) -> Fault:
    """Return a fault that answers with the recorded shape `name` (tests/fixtures/llm/)."""
    return Fault(fixture=name)


def answer(text: str) -> Fault:
    """Return a fault that answers `text` (invalid JSON, placeholders, ...) instead."""
    return Fault(text=text)


def delay(seconds: float) -> Fault:
    """Return a fault that waits `seconds` before answering normally."""
    return Fault(delay=seconds)


def as_gemini(request_json: dict[str, Any]) -> dict[str, Any]:
    """Return the conversation in Gemini's shape, which gemini_server's answers read.

    The system message stays out: the judge's describes its paper tag (`<paper id="...">`).
    """
    messages = [m for m in request_json.get("messages", []) if m.get("role") != "system"]
    return {"contents": [{"parts": [{"text": m.get("content", "")} for m in messages]}]}


def default_answer(request_json: dict[str, Any]) -> str:
    """Return verdicts (every paper relevant) for a judge prompt, else a valid summary."""
    shaped = as_gemini(request_json)
    if gemini_server.judged_ids(shaped):
        return gemini_server.judge_answer(shaped, lambda _id: True)
    return gemini_server.default_summary(shaped)


class FakeOpenAI(LocalServer):
    """Run the fake on 127.0.0.1 on a free port; use as a context manager, read `.url`."""

    path = "/v1"

    def __init__(
        self,
        responder: Responder = default_answer,
        latency: float = 0.0,
        served: list[str] | None = None,
        reasoning: bool = False,
    ):
        self.responder = responder
        self.latency = latency  # seconds every answer takes, as a real model's generation does
        # The models `GET /models` lists and the only ones answered; None: no list (404), any
        # model answered, as some proxies do.
        self.served = served
        # Answer as OpenAI's reasoning models do: a temperature but 1, or max_tokens, is a 400.
        self.reasoning = reasoning
        self.listed: list[Request] = []
        super().__init__(_handler_for(self))

    def models(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        """Answer `GET /v1/models`: the served models in the recorded list's shape."""
        with self._lock:
            self.listed.append(request)
        if self.served is None:
            message = "Unknown request URL: GET /v1/models. Please check the URL for typos."
            return 404, _json(error_body(message, "invalid_request_error", "unknown_url")), {}
        status, body = recorded("openai_models_list")
        body["data"] = [{**body["data"][0], "id": name} for name in self.served]
        return status, _json(body), {}

    def _refused(self, request: Request) -> tuple[int, dict[str, Any]] | None:
        """Return the error a real endpoint gives this request's model or fields, if any."""
        if self.served is not None and request.model not in self.served:
            return recorded("openai_model_not_found", model=request.model)
        body = request.body
        if self.reasoning and body.get("temperature", 1) != 1:
            return recorded("openai_temperature_unsupported")
        if self.reasoning and "max_tokens" in body:
            return recorded("openai_max_tokens_unsupported")
        return None

    def calls(self, kind: str = "") -> list[Request]:
        """Return the chat calls received: all, or only "judge" or "summary" prompts."""
        if not kind:
            return list(self.requests)
        return [r for r in self.requests if bool(r.judged_ids) == (kind == "judge")]

    def _respond(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            self.requests.append(request)
            fault = self._faults.popleft() if self._faults else Fault()
        if fault.delay or self.latency:
            self._closing.wait(fault.delay + self.latency)  # closing the server cuts it short
        if fault.raw is not None:
            return fault.status, fault.raw.encode(), fault.headers
        if fault.status != 200:
            return fault.status, _json(fault.body or {}), fault.headers
        refused = self._refused(request)
        if refused:
            return refused[0], _json(refused[1]), {}
        if fault.fixture:
            text = self.responder(request.body)
            status, body = recorded(fault.fixture, text=text, model=request.model)
            return status, _json(body), fault.headers
        json_mode = request.body.get("response_format", {}).get("type") == "json_object"
        if json_mode and "json" not in request.prompt_text.lower():  # as OpenAI checks
            return 400, _json(error_body(JSON_WORD_MESSAGE, "invalid_request_error")), {}
        text = fault.text if fault.text is not None else self.responder(request.body)
        return 200, _json(self._completion(request, text)), fault.headers

    def _completion(self, request: Request, text: str) -> dict[str, Any]:
        prompt_tokens = max(1, len(request.prompt_text) // 4)
        output_tokens = max(1, len(text) // 4)
        return {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": prompt_tokens + output_tokens,
            },
        }


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    """Return a request handler class bound to `fake`."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            headers = {key.lower(): value for key, value in self.headers.items()}
            request = Request(path, headers, {}, time.monotonic())
            if path == "/v1/models":
                self._send(*fake.models(request))
                return
            body = error_body(f"Unknown request URL: GET {path}.", "invalid_request_error")
            self._send(404, _json(body), {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            path = self.path.split("?", 1)[0]
            if path != PATH:
                message = f"Unknown request URL: POST {path}. Please check the URL for typos."
                body = error_body(message, "invalid_request_error", "unknown_url")
                self._send(404, _json(body), {})
                return
            headers = {key.lower(): value for key, value in self.headers.items()}
            request = Request(path, headers, json.loads(raw or b"{}"), time.monotonic())
            self._send(*fake._respond(request))

        def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.reply(status, data, {"Content-Type": "application/json", **headers})

    return Handler
