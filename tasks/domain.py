"""Domain records shared by the stages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

# The stages a paper can fail at: its own three, and the licence lookup (auxiliary: the paper
# itself is done; its figures wait).
Stage = Literal["download", "extract", "summarize", "licence"]
PAPER_STAGES: tuple[Stage, ...] = ("download", "extract", "summarize")
LICENCE_STAGE: Stage = "licence"
# A failure proper, or a paper that only waits for the LLM's quota or budget (the next run
# summarizes it); stored as the value, never read out of the reason's text.
FailureStatus = Literal["failed", "waiting"]
# Which step decided a selection: the keywords, the LLM judge, or the keywords because the
# judge failed for the paper's batch.
Step = Literal["keyword", "judge", "fallback"]
ARXIV_ABS = "https://arxiv.org/abs/"
ARXIV_PDF = "https://arxiv.org/pdf/"
# New-style (2410.03665, 0704.0001) and old-style (hep-th/9901001, math.AG/0301001) ids.
ARXIV_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z-]{2,})?/\d{7})$")


def is_arxiv_id(text: str) -> bool:
    """Return True if `text` is an arXiv id without version, in either style."""
    return bool(ARXIV_ID.match(text))


def file_stem(arxiv_id: str, version: int) -> str:
    """Return a file-name-safe stem for a paper version (old-style ids keep no slash)."""
    return f"{arxiv_id.replace('/', '_')}v{version}"


@dataclass(frozen=True)
class Paper:
    """One version of an arXiv paper as announced."""

    arxiv_id: str
    version: int
    title: str
    authors: tuple[str, ...]
    abstract: str
    published: datetime
    updated: datetime
    categories: tuple[str, ...] = ()
    primary_category: str = ""
    comment: str = ""
    licence: str = ""
    announce_type: str = "new"
    # "rss": from the live feed; "api": reconstructed from the API by the batch's window.
    source: str = "api"

    @property
    def key(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return f"{ARXIV_ABS}{self.key}"

    @property
    def pdf_url(self) -> str:
        return f"{ARXIV_ABS.replace('/abs/', '/pdf/')}{self.key}"

    @property
    def stem(self) -> str:
        return file_stem(self.arxiv_id, self.version)


@dataclass(frozen=True)
class Selection:
    """A topic's decision on one paper, with the evidence for it."""

    arxiv_id: str
    version: int
    topic: str
    kept: bool
    score: float
    matched: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    # Which step decided, why, and how sure the judge was (0..1).
    step: Step = "keyword"
    reason: str = ""
    confidence: float | None = None


@dataclass(frozen=True)
class Figure:
    """A figure cropped from a paper, saved as an image file."""

    index: int
    page: int
    bbox: tuple[float, float, float, float]
    caption: str
    width: int
    height: int
    sha256: str
    path: str


@dataclass(frozen=True)
class Extraction:
    """What was read from a paper's PDF."""

    arxiv_id: str
    version: int
    pages: int
    sections: dict[str, str] = field(default_factory=dict)
    affiliation: str = ""
    links: tuple[str, ...] = ()
    figures: tuple[Figure, ...] = ()
    extractor: str = ""  # the extractor version that read it (tasks.stages.EXTRACTOR_VERSION)


@dataclass(frozen=True)
class Failure:
    """A stage that failed for one paper, kept so the day can go on."""

    arxiv_id: str
    version: int
    stage: Stage
    reason: str
    status: FailureStatus = "failed"


@dataclass(frozen=True)
class Listing:
    """The papers a batch lists in some categories, fetched ahead with a whole date range."""

    categories: tuple[str, ...]
    day: date
    window: tuple[datetime, datetime]
    papers: tuple[Paper, ...]


@dataclass(frozen=True)
class DayNote:
    """A topic's day without a post, and why.

    `empty` days are finished (no batch that day, or no paper on the topic); an `unavailable`
    day is not: arXiv listed no paper for a batch that should exist, and a later run asks again.
    """

    topic: str
    day: date
    reason: str
    status: Literal["empty", "unavailable"] = "empty"


@dataclass(frozen=True)
class Cleared:
    """A paper's stage that succeeded now: its earlier failure is forgotten."""

    arxiv_id: str
    version: int
    stage: str


@dataclass(frozen=True)
class JudgeCalls:
    """The relevance judge's batches (tasks.relevance.judge.JudgeBatch) for a topic and day."""

    topic: str
    day: date
    batches: tuple[Any, ...]
