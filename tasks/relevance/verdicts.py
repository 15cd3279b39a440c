"""The relevance judge's answer: one verdict per paper, read and checked against the ids asked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from tasks.llm.prompting import read_answer


class Verdict(BaseModel):
    """The judge's answer for one paper."""

    id: str
    relevant: bool
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str = Field(max_length=300)


class Verdicts(BaseModel):
    """The judge's whole answer: one verdict per paper of the batch."""

    verdicts: list[Verdict]


def parse_verdicts(text: str | None, keys: Sequence[str]) -> tuple[list[Verdict], list[str]]:
    """Return the verdicts in `text` and its problems: invalid JSON, missing or extra ids."""
    answer, problems = read_answer(text, Verdicts)
    if answer is None:
        return [], problems
    verdicts = [v.model_copy(update={"id": _known_id(v.id, keys)}) for v in answer.verdicts]
    ids = [v.id for v in verdicts]
    problems = [f"missing id {k}" for k in keys if k not in ids]
    problems += [f"unknown id {i}" for i in dict.fromkeys(ids) if i not in keys]
    problems += [
        f"id {i} answered {ids.count(i)} times" for i in dict.fromkeys(ids) if ids.count(i) > 1
    ]
    return verdicts, problems


def _known_id(answered: str, keys: Sequence[str]) -> str:
    """Return the asked id that `answered` stands for, when it names exactly one.

    Models write `arXiv:2410.03665v1` or drop the version (`2410.03665`); an id is matched
    only when it is unambiguous, otherwise it stays as answered (and is reported unknown).
    """
    bare = re.sub(r"^\s*arxiv:\s*", "", answered.strip(), flags=re.IGNORECASE)
    if bare in keys:
        return bare
    matches = [k for k in keys if re.sub(r"v\d+$", "", k) == bare]
    return matches[0] if len(matches) == 1 else answered
