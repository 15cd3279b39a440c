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

from tasks.errors import DigestError, LLMConfigError, QuotaExhausted, TransientError
from tasks.llm.quota import Quota, cost_usd, get_quota, unpriced, warn_once
from tasks.llm.sampling import Sampling, SamplingSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
REJECTED_ECHO_CHARS = 8000  # how much of a rejected answer goes back with the repair request
CHARS_PER_TOKEN = 4  # the prompt's size in tokens, estimated, for the context warning
# Finish reasons after which the same prompt would be refused again: no repair is asked.
BLOCKED = {"SAFETY", "PROHIBITED_CONTENT", "RECITATION", "BLOCKLIST", "SPII", "content_filter"}


@dataclass(frozen=True)
class QuotaSettings:
    """Client-side limits and prices for an LLM backend."""

    rpm: float = 0.0
    concurrency: int = 2
    budget_usd: float = 0.0
    prices: dict[str, list[float]] = field(default_factory=dict)
    rpd: int = 0  # requests per day and model; 0: no limit


@dataclass(frozen=True)
class Turn:
    """One message of the conversation after the system instruction."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(frozen=True)
class Reply:
    """A model's answer to one call, with who wrote it and its tokens."""

    text: str | None
    model: str  # the model asked for
    prompt_tokens: int = 0
    output_tokens: int = 0  # thinking and reasoning tokens included: they bill as output
    finish: str = "none"  # why generation stopped, or why it was blocked
    served: str = ""  # the model that answered, as the service names it (modelVersion)

    @property
    def answered_by(self) -> str:
        """Return the model that wrote the answer: the one asked, unless the service names
        another (a dated snapshot of the one asked, `gpt-5-mini-2025-08-07`, is the same)."""
        same = not self.served or self.served.startswith(self.model)
        return self.model if same else self.served

    @property
    def blocked(self) -> bool:
        """Return whether the service withheld the answer (safety, recitation, prompt)."""
        return self.finish in BLOCKED or self.finish.startswith("blocked")


class Refusal(Exception):
    """A call the endpoint refused, sorted by what to do; transports raise it, `Chat` maps it.

    `spent`: the quota or balance is used up (`reason` says whose); `rate`: slow down for
    `delay` seconds; `transient`: try again; `fatal`: a retry would not help; `config`: the
    settings are refused (no such model, a bad key, no access), so no call can succeed.
    """

    def __init__(
        self,
        kind: Literal["spent", "rate", "transient", "fatal", "config"],
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
        sampling: Sampling,
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
        sampling: SamplingSettings | None = None,
    ):
        self.transport = transport
        self.name = transport.label
        self.sampling = sampling or SamplingSettings()
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
        """Make one call for `label` (a paper or a batch) with the first model not spent.

        `temperature` is the purpose's own (0.2 for summaries): what `auto` sends.
        """
        model = self._active_model(label)
        quota = self._quota(model)
        sampling = self.sampling.for_model(model, temperature)
        self._warn_context(label, system, turns, sampling)
        with quota.call(label):
            try:
                reply = self.transport.send(model, system, turns, schema, sampling)
            except Refusal as refusal:
                # Mapped inside the slot, so no other call starts before a back-off or a
                # spent quota is on record.
                raise self._error(refusal, label, model) from None
        if reply.answered_by != model:
            warn_once(
                f"{self.transport.label} answered {model} requests with "
                f"{reply.answered_by}; records name the model that answered"
            )
        quota.charge(self.cost([reply]))
        return reply

    def cost(self, replies: Sequence[Reply]) -> float:
        """Return what `replies` cost by the price table, each at the answering model's price.

        A routed request bills at the rates of the model that answered; without a price for
        it, the one asked for is used. A model with no price at all is warned about once.
        """
        return sum(self._cost(r) for r in replies)

    def _cost(self, reply: Reply) -> float:
        prices = self.limits.prices
        model = reply.answered_by if reply.answered_by in prices else reply.model
        if model not in prices:
            warn_once(unpriced(model, self.limits.budget_usd))
        return cost_usd(prices, model, reply.prompt_tokens, reply.output_tokens)

    def _warn_context(
        self, label: str, system: str, turns: Sequence[Turn], sampling: Sampling
    ) -> None:
        """Warn when the prompt and its answer may not fit `llm_context_tokens`."""
        window = self.sampling.context_tokens
        prompt = (len(system) + sum(len(t.text) for t in turns)) // CHARS_PER_TOKEN
        needed = prompt + (sampling.max_output_tokens or 0)
        if window and needed > window:
            message = (
                "%s: the prompt (~%d tokens) and its answer (up to %d) exceed "
                "llm_context_tokens = %d; the endpoint may cut the prompt short"
            )
            log.warning(message, label, prompt, sampling.max_output_tokens or 0, window)

    def _quota(self, model: str) -> Quota:
        limits = self.limits
        return get_quota(model, limits.rpm, limits.concurrency, limits.budget_usd, limits.rpd)

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
        if refusal.kind == "config":
            return LLMConfigError(message)
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
    saying that no valid `what` ("summary") came. An empty answer that says it stopped
    normally is asked for once more as it was, instead of a repair; a blocked one (safety,
    recitation) is not asked again: the same prompt would be refused again.
    """
    system, user = prompt
    turns = [Turn("user", user)]
    replies = [chat.call(label, system, turns, schema, temperature)]
    if _empty_stop(replies[0]):
        log.warning("%s: %s answered nothing (STOP); asking once more", label, chat.name)
        replies.append(chat.call(label, system, turns, schema, temperature))
    _raise_if_blocked(chat, label, replies[-1], what)
    value, problems = read(replies[-1])
    if problems and len(replies) == 1:
        log.warning(
            "%s: %s answer rejected (%s); asking once more",
            label,
            chat.transport.label,
            "; ".join(problems),
        )
        turns += repair_turns(replies[-1].text, problems)
        replies.append(chat.call(label, system, turns, schema, temperature))
        _raise_if_blocked(chat, label, replies[-1], what)
        value, problems = read(replies[-1])
    if value is None or problems:
        reasons = "; ".join(problems) or "no answer"
        message = f"{chat.transport.label} gave no valid {what} after one repair: {reasons}"
        raise chat.fatal(message, label)
    return value, replies


def _empty_stop(reply: Reply) -> bool:
    return not (reply.text or "").strip() and reply.finish.upper() == "STOP"


def _raise_if_blocked(chat: Chat, label: str, reply: Reply, what: str) -> None:
    """Raise `chat.fatal` naming why the service withheld the answer."""
    if reply.blocked:
        why = f"{chat.transport.label} withheld the {what} ({reply.finish})"
        raise chat.fatal(f"{why}; not asked again: the same prompt would be refused", label)


def repair_turns(previous: str | None, problems: list[str]) -> list[Turn]:
    """Return the model's rejected answer and a request to fix the listed problems."""
    request = "\n- ".join(["Your answer was rejected for these reasons:", *problems])
    request += "\nReturn the corrected JSON object only, following every rule."
    rejected = [Turn("assistant", previous[:REJECTED_ECHO_CHARS])] if previous else []
    return [*rejected, Turn("user", request)]


def tokens(replies: Sequence[Reply]) -> tuple[int, int]:
    """Return (prompt, output) tokens over `replies`."""
    return sum(r.prompt_tokens for r in replies), sum(r.output_tokens for r in replies)
