"""What a model accepts beside the prompt: temperature, output tokens, thinking budget.

OpenAI's reasoning models (o1, o3, o4-mini, gpt-5 and its variants) answer 400
`unsupported_value` to any temperature but the default 1, and take `max_completion_tokens`
instead of `max_tokens`; Gemini 3.x models deprecate setting a temperature (Google recommends
the default 1.0). The `auto` temperature therefore reaches neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REASONING = re.compile(r"^(?:[\w.-]+/)?(?:o\d|gpt-5)", re.IGNORECASE)
_GEMINI_3_ON = re.compile(r"^(?:models/)?gemini-(?:[3-9]|\d\d)", re.IGNORECASE)
AUTO = "auto"


@dataclass(frozen=True)
class Sampling:
    """The sampling fields of one request; None is not sent."""

    temperature: float | None = None
    max_output_tokens: int | None = None
    thinking_budget: int | None = None


@dataclass(frozen=True)
class SamplingSettings:
    """What the settings ask for (`llm_temperature`, `llm_max_output_tokens`, ...)."""

    temperature: float | str | None = AUTO
    max_output_tokens: int | None = 8192
    thinking_budget: int | None = None
    context_tokens: int = 0  # the endpoint's context window, to warn about; 0: unknown

    def for_model(self, model: str, default_temperature: float) -> Sampling:
        """Return what a request to `model` sends; `default_temperature` stands for `auto`."""
        temperature = self.temperature
        if temperature == AUTO:
            temperature = default_temperature if takes_temperature(model) else None
        value = float(temperature) if temperature is not None else None
        return Sampling(value, self.max_output_tokens, self.thinking_budget)


def takes_temperature(model: str) -> bool:
    """Return whether `model` is one to send a chosen temperature to."""
    return not (_REASONING.match(model) or _GEMINI_3_ON.match(model))


def is_reasoning_model(model: str) -> bool:
    """Return whether `model` is one of OpenAI's reasoning models (max_completion_tokens)."""
    return bool(_REASONING.match(model))
