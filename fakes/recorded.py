"""Answers of the real LLM services, kept as JSON under tests/fixtures/llm/, for the fakes.

Each file holds one shape a real service sends (a thinking model's usage, a routed model, a
QuotaFailure naming two quotas, DeepSeek's blank content, ...): its status and body, with
`<<text>>` and `<<model>>` standing for the answer's text and the model asked for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "tests" / "fixtures" / "llm"


def recorded(name: str, **values: str) -> tuple[int, dict[str, Any]]:
    """Return the status and body of the fixture `name`, its placeholders filled."""
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return int(data["status"]), _fill(data["body"], values)


def _fill(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values) for value in node]
    if isinstance(node, str):
        for key, value in values.items():
            node = node.replace(f"<<{key}>>", value)
    return node


def gemini_models() -> list[str]:
    """Return the model names of the recorded models.list answer."""
    _, body = recorded("gemini_models_list")
    return [m["name"].removeprefix("models/") for m in body["models"]]
