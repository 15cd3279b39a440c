"""The prompt and the answer around one JSON chat call: templates, paper text, the reply.

The summarizer and the relevance judge both fill a template of config/prompts/ with paper
text that must not be able to close its `<paper>` delimiter, and both read the model's answer
as one JSON object of a schema, wording what is wrong for the repair turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from config.settings import DEFAULT_CONFIG
from tasks.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

PROMPTS_DIR = DEFAULT_CONFIG.parent / "prompts"
EMPTY_ANSWER = "the answer was empty"
MAX_PROBLEMS = 10  # schema errors listed in the repair request; the rest follow from them
# Any tag that opens or closes a paper, attributes and odd spacing included: `</paper >`,
# `<PAPER id="x">`. `<papers>` is another word and stays.
_PAPER_TAG = re.compile(r"<\s*(/?)\s*paper\b[^>]*>", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")


@dataclass(frozen=True)
class PromptTemplate:
    """A prompt file split into its version, system part and user part."""

    version: str
    system: str
    user: str

    def fill(self, values: dict[str, str]) -> tuple[str, str]:
        """Return the (system, user) prompt with the `{name}` fields set from `values`."""
        return fill(self.system, values), fill(self.user, values)


def prompt_path(name: str) -> Path:
    """Return the file of the prompt called `name` ("summary", "judge")."""
    return PROMPTS_DIR / f"{name}.md"


@lru_cache
def load_template(name: str) -> PromptTemplate:
    """Return the template of config/prompts/`name`.md, read once."""
    return read_template(prompt_path(name))


def read_template(path: Path) -> PromptTemplate:
    """Read and split a prompt file: a version line, then `## system` and `## user` parts."""
    text = path.read_text(encoding="utf-8")
    match = re.match(r"version:\s*(\S+)\s*\n", text)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    parts = re.split(r"^## (system|user)\s*$", text, flags=re.MULTILINE)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    if not match or set(sections) != {"system", "user"}:
        raise ConfigError(f"{path} needs a 'version:' line and '## system', '## user' parts")
    return PromptTemplate(match[1], sections["system"].strip(), sections["user"].strip())


def fill(template: str, values: dict[str, str]) -> str:
    """Return `template` with each `{name}` field replaced by its value, in `values` order."""
    # str.replace, not str.format: paper text and the template may hold literal braces.
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def one_line(text: str) -> str:
    """Return `text` with every run of whitespace, line breaks included, as one space."""
    return " ".join(text.split())


def defuse(text: str) -> str:
    """Return `text` with paper tags made plain (`</paper>` -> `[/paper]`).

    Paper text goes between `<paper>` tags of the prompt; a tag inside it could close its
    own delimiter or open a paper of its own, and make the text read as instructions.
    """
    return _PAPER_TAG.sub(r"[\1paper]", text)


def strip_fence(text: str) -> str:
    """Return `text` without a Markdown code fence around it (```json ... ```)."""
    return _FENCE.sub("", text)


def schema_problems(error: ValidationError) -> list[str]:
    """Return the first schema errors of an answer, each as `where: what` for the repair."""
    return [_problem(item) for item in error.errors()[:MAX_PROBLEMS]]


def _problem(item: Any) -> str:
    where = ".".join(str(part) for part in item["loc"]) or "answer"
    return f"{where}: {item['msg']}"


def read_answer(
    text: str | None, schema: type[M], empty: str = EMPTY_ANSWER
) -> tuple[M | None, list[str]]:
    """Return the `schema` object in the answer `text` and its problems (`empty` if blank)."""
    if not text or not text.strip():
        return None, [empty]
    try:
        return schema.model_validate_json(strip_fence(text)), []
    except ValidationError as exc:
        return None, schema_problems(exc)
