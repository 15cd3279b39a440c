"""Domain records shared by the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

ARXIV_ABS = "https://arxiv.org/abs/"
ARXIV_PDF = "https://arxiv.org/pdf/"


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

    @property
    def key(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return f"{ARXIV_ABS}{self.key}"

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
    # Which step decided ("keyword" or "judge"), why, and how sure the judge was (0..1).
    step: str = "keyword"
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


@dataclass(frozen=True)
class Failure:
    """A stage that failed for one paper, kept so the day can go on."""

    arxiv_id: str
    version: int
    stage: str
    reason: str
