"""What a run produced per topic: the run report's rows, the flow's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class TopicResult:
    """What one topic's day produced, for the run report."""

    topic: str
    day: date
    post: str | None = None
    fetched: int = 0
    kept: int = 0
    summarized: int = 0
    failures: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    reused: int = 0  # kept papers already summarized in DuckDB, not processed again
    licences_unknown: int = 0  # kept papers whose licence lookup failed: figures withheld
    unavailable: bool = False  # arXiv listed nothing for the batch: the day is not finished
    prompt_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    note: str = ""
