"""Keep the papers of a topic: phrase scoring over title and abstract."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from tasks.domain import Paper, Selection

TITLE_WEIGHT = 2.0
ABSTRACT_WEIGHT = 1.0


def _pattern(phrase: str) -> re.Pattern[str]:
    words = [re.escape(word) for word in phrase.lower().split()]
    # Hyphens and spaces are interchangeable ("diffusion-based"), and plurals count.
    return re.compile(r"(?<![\w-])" + r"[\s\-]+".join(words) + r"(?:e?s)?(?![\w-])")


def _mask(text: str, phrases: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """Blank out the exclude phrases in `text`; return it and the phrases that hit."""
    hits = []
    for phrase in phrases:
        text, count = _pattern(phrase).subn(" ", text)
        if count:
            hits.append(phrase)
    return text, tuple(hits)


def score_paper(
    paper: Paper, include: Sequence[str], exclude: Sequence[str]
) -> tuple[float, tuple[str, ...], tuple[str, ...]]:
    """Return the paper's score, the include phrases matched and the exclude phrases hit.

    Exclude phrases are removed from the text before matching, so "heat diffusion" does not
    count as "diffusion", while a paper that also says "diffusion model" still scores.
    """
    title, title_hits = _mask(" ".join(paper.title.lower().split()), exclude)
    abstract, abstract_hits = _mask(" ".join(paper.abstract.lower().split()), exclude)
    score, matched = 0.0, []
    for phrase in include:
        pattern = _pattern(phrase)
        weight = TITLE_WEIGHT if pattern.search(title) else 0.0
        weight += ABSTRACT_WEIGHT if pattern.search(abstract) else 0.0
        if weight:
            score += weight
            matched.append(phrase)
    excluded = tuple(dict.fromkeys(title_hits + abstract_hits))
    return score, tuple(matched), excluded


def select_papers(
    papers: Iterable[Paper],
    topic: str,
    include: Sequence[str],
    exclude: Sequence[str],
    min_score: float = 1.0,
) -> list[Selection]:
    """Score every paper for `topic`; each decision keeps its score and evidence."""
    decisions = []
    for paper in papers:
        score, matched, excluded = score_paper(paper, include, exclude)
        decisions.append(
            Selection(
                arxiv_id=paper.arxiv_id,
                version=paper.version,
                topic=topic,
                kept=score >= min_score,
                score=score,
                matched=matched,
                excluded=excluded,
            )
        )
    return decisions
