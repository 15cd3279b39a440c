"""One JSON chat call to an LLM, whatever the backend: model choice, quota, cost, one repair.

The summarizer and the relevance judge both ask a model for one JSON object and check it; only
the wire protocol differs between Gemini and OpenAI-compatible endpoints. A `Transport` speaks
the protocol and sorts each refusal by what to do about it; `Chat` does the rest, so every
backend paces, costs, falls back and fails alike. Nothing here retries or sleeps: the flow's
Prefect tasks retry `TransientError`, and the quota spaces the calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from pydantic import BaseModel

from tasks.errors import DigestError, QuotaExhausted, TransientError
from tasks.quota import Quota, cost_usd, get_quota

log = logging.getLogger(__name__)

T = TypeVar("T")
REJECTED_ECHO_CHARS = 8000  # how much of a rejected answer goes back with the repair request


@dataclass(frozen=True)
class QuotaSettings:
    """Client-side limits and prices for an LLM backend."""

    rpm: float = 0.0
    concurrency: int = 2
    budget_usd: float = 0.0
    prices: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One message of the conversation after the system instruction."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class Reply:
    """A model's answer to one call, with who wrote it and its tokens."""

    text: str | None
    model: str
    prompt_tokens: int = 0
    output_tokens: int = 0
    finish: str = "none"  # why generation stopped, or why it was blocked


class Refusal(Exception):
    """A call the endpoint refused, sorted by what to do; transports raise it, `Chat` maps it.

    `spent`: the quota or balance is used up (`reason` says whose); `rate`: slow down for
    `delay` seconds; `transient`: try again; `fatal`: a retry would not help.
    """

    def __init__(
        self,
        kind: Literal["spent", "rate", "transient", "fatal"],
        message: str,
        delay: float = 0.0,
        reason: str = "",
    ):
        super().__init__(kind, message, delay, reason)
        self.kind, self.message, self.delay, self.reason = kind, message, delay, reason


class Transport(Protocol):
    """One backend's wire protocol: one request, its reply or a `Refusal`, never the key."""

    name: str  # the backend's name in records and cache keys: "gemini"
    label: str  # how messages name the endpoint: "Gemini"

    def send(
        self,
        model: str,
        system: str,
        turns: Sequence[Turn],
        schema: type[BaseModel],
        temperature: float,
    ) -> Reply: ...


class Chat:
    """Calls to one backend for one purpose: the model in use, its quota, what errors mean."""

    def __init__(
        self,
        transport: Transport,
        models: Sequence[str],
        limits: QuotaSettings,
        fatal: type[DigestError],
        when_spent: str,
    ):
        self.transport = transport
        self.models = [m for m in dict.fromkeys(models) if m]
        self.limits = limits
        self.fatal = fatal  # the error for an unusable answer or request (SummaryError, ...)
        self.when_spent = when_spent  # what happens to the work once every quota is spent

    def call(
        self,
        label: str,
        system: str,
        turns: Sequence[Turn],
        schema: type[BaseModel],
        temperature: float,
    ) -> Reply:
        """Make one call for `label` (a paper or a batch) with the first model not spent."""
        model = self._active_model(label)
        quota = self._quota(model)
        with quota.call(label):
            try:
                reply = self.transport.send(model, system, turns, schema, temperature)
            except Refusal as refusal:
                # Mapped inside the slot, so no other call starts before a back-off or a
                # spent quota is on record.
                raise self._error(refusal, label, model) from None
        quota.charge(self.cost([reply]))
        return reply

    def cost(self, replies: Sequence[Reply]) -> float:
        """Return what `replies` cost by the price table, each at its own model's price."""
        prices = self.limits.prices
        return sum(cost_usd(prices, r.model, r.prompt_tokens, r.output_tokens) for r in replies)

    def _quota(self, model: str) -> Quota:
        limits = self.limits
        return get_quota(model, limits.rpm, limits.concurrency, limits.budget_usd)

    def _active_model(self, label: str) -> str:
        """Return the first model whose quota is not used up."""
        for model in self.models:
            if not self._quota(model).exhausted:
                return model
        self._quota(self.models[-1]).check(label)
        return self.models[-1]

    def _error(self, refusal: Refusal, label: str, model: str) -> Exception:
        """Return the error to raise for a refusal, after noting it in the model's quota."""
        message = refusal.message
        if refusal.kind == "spent":
            self._quota(model).exhaust(refusal.reason or f"{model}'s quota is used up")
            if any(not self._quota(m).exhausted for m in self.models):
                return TransientError(f"{message}; switching to the fallback model", label)
            return QuotaExhausted(f"{message}; {self.when_spent}", label)
        if refusal.kind == "rate":
            self._quota(model).back_off(refusal.delay)
            return TransientError(message, label, retry_after=refusal.delay)
        if refusal.kind == "transient":
            return TransientError(message, label)
        return self.fatal(message, label)


def ask_json(
    chat: Chat,
    label: str,
    prompt: tuple[str, str],
    schema: type[BaseModel],
    read: Callable[[Reply], tuple[T | None, list[str]]],
    what: str,
    temperature: float = 0.2,
) -> tuple[T, list[Reply]]:
    """Return what `read` makes of the answer to `prompt`, and every reply it took.

    `read` returns the value and its problems (schema errors, content checks). An answer with
    problems gets exactly one repair request listing them; after that `chat.fatal` is raised,
    saying that no valid `what` ("summary") came.
    """
    system, user = prompt
    turns = [Turn("user", user)]
    replies = [chat.call(label, system, turns, schema, temperature)]
    value, problems = read(replies[0])
    if problems:
        reasons = "; ".join(problems)
        log.warning("%s: %s answer rejected (%s); asking once more", label, chat.transport.label,
                    reasons)  # fmt: skip
        turns += repair_turns(replies[0].text, problems)
        replies.append(chat.call(label, system, turns, schema, temperature))
        value, problems = read(replies[1])
    if value is None or problems:
        reasons = "; ".join(problems) or "no answer"
        message = f"{chat.transport.label} gave no valid {what} after one repair: {reasons}"
        raise chat.fatal(message, label)
    return value, replies


def repair_turns(previous: str | None, problems: list[str]) -> list[Turn]:
    """Return the model's rejected answer and a request to fix the listed problems."""
    request = "\n- ".join(["Your answer was rejected for these reasons:", *problems])
    request += "\nReturn the corrected JSON object only, following every rule."
    rejected = [Turn("assistant", previous[:REJECTED_ECHO_CHARS])] if previous else []
    return [*rejected, Turn("user", request)]


def tokens(replies: Sequence[Reply]) -> tuple[int, int]:
    """Return (prompt, output) tokens over `replies`."""
    return sum(r.prompt_tokens for r in replies), sum(r.output_tokens for r in replies)
