"""An offline summarizer that fills the summary schema with the paper's own sentences.

It needs no key and no network, so the pipeline always produces a post. It never translates:
the text stays in the paper's language (English on arXiv), and the record says
`language="en"` whatever language the topic asked for, so a reader (and the renderer) can
tell an untranslated extract from a real summary. Each slot takes sentences from the section
it names, each sentence once per summary; a slot with nothing fitting says `NOT_STATED`,
which the post shows in its own language.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from tasks.domain import Extraction, Paper
from tasks.summary.keyphrases import keywords
from tasks.summary.schema import Analysis, PaperSummary, SummaryRecord
from tasks.summary.sentences import readable, split_sentences

__all__ = ["NOT_STATED", "ExtractiveSummarizer", "keywords", "paper_sections", "split_sentences"]

NOT_STATED = "Not stated."
SECTION_ROLES = (
    ("Introduction", ("introduction",)),
    ("Method", ("method", "approach", "framework", "proposed")),
    ("Experiments", ("experiment", "result", "evaluation")),
    ("Conclusion", ("conclusion", "discussion")),
)
# The sections the slots draw from (the keys of tasks.pdf.sections.SECTION_NAMES), and words that
# name them in a heading kept as printed ("3 Our Approach").
ROLE_WORDS = {
    "introduction": ("introduction",),
    "related_work": ("related", "prior work", "background"),
    "method": ("method", "approach", "framework", "proposed"),
    "experiments": ("experiment", "result", "evaluation"),
    "conclusion": ("conclusion", "discussion"),
}
SECTIONS = tuple(ROLE_WORDS)
_CUES = {
    "contribution": r"\b(we (propose|present|introduce|develop|design)|(this|our) (paper|work)"
    r"|in this (paper|work)|our (method|approach|framework|model))\b",
    "prior": r"\b(however|existing|previous|prior|conventional|traditional|suffers?|fails?"
    r"|struggles?|limited|limitations?|challeng\w*|drawbacks?|costly|expensive)\b",
    "result": r"(\b(outperform|achiev|state-of-the-art|surpass|improv|demonstrat|benchmark"
    r"|accuracy|fid|psnr|results?)\w*|\d(\.\d+)?\s?(%|×|x faster))",
    "novel": r"\b(first|novel|new|key insight|to the best of our knowledge|unlike"
    r"|contributions?)\b",
    "workload": r"\b(extensive|ablations?|datasets?|we (evaluate|conduct|train|collect|release"
    r"|build|compare)|benchmarks?|experiments?)\b",
    "step": r"\b(first|then|next|finally|subsequently|we (use|train|apply|compute|design|employ"
    r"|adopt|construct|encode|decode|sample|optimi[sz]e)|consists? of)\b",
    "significance": r"\b(we (show|showed|presented|have shown|demonstrated)|in this (paper|work)"
    r"|this work|enables?|opens?|future|implications?|important)\b",
}
CUES = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in _CUES.items()}


def paper_sections(extraction: Extraction | None) -> dict[str, str]:
    """Return the introduction, method, experiments and conclusion text found, by role."""
    found: dict[str, str] = {}
    sections = extraction.sections if extraction else {}
    for role, aliases in SECTION_ROLES:
        for heading, body in sections.items():
            if body.strip() and any(alias in heading.lower() for alias in aliases):
                found[role] = body
                break
    return found


def section_role(heading: str) -> str | None:
    """Return the slot section a heading names (abstract and unknown headings: None)."""
    name = heading.lower()
    return next((role for role, words in ROLE_WORDS.items() if any(w in name for w in words)), None)


class _Picker:
    """Hand out sentences from a paper's sections, each at most once per summary."""

    def __init__(self, pools: dict[str, list[str]], used: Iterable[str] = ()):
        self.pools = pools
        self.used: list[str] = list(used)

    def is_used(self, sentence: str) -> bool:
        """Return True when `sentence` or a near copy of it (abstract vs. introduction) is used."""
        for other in self.used:
            matcher = difflib.SequenceMatcher(None, sentence, other)
            quick = matcher.real_quick_ratio() >= 0.8 and matcher.quick_ratio() >= 0.8
            if quick and matcher.ratio() >= 0.8:
                return True
        return False

    def take(self, sources: Iterable[tuple[str, str | None]], count: int) -> list[str]:
        """Return up to `count` unused sentences fitting the (section, cue) `sources` in turn."""
        chosen: list[str] = []
        for section, cue in sources:
            for sentence in self.pools.get(section, []):
                if len(chosen) == count:
                    return chosen
                if fits(sentence, cue) and sentence not in chosen and not self.is_used(sentence):
                    chosen.append(sentence)
                    self.used.append(sentence)
        return chosen

    def unused(self, sections: Iterable[str]) -> list[str]:
        """Return the sentences of `sections` not used yet, in paper order."""
        pooled = dict.fromkeys(s for section in sections for s in self.pools.get(section, []))
        return [s for s in pooled if not self.is_used(s)]


def fits(sentence: str, cue: str | None) -> bool:
    """Return True when `sentence` carries `cue`; "context" is a sentence about others' work."""
    if cue is None:
        return True
    we = re.search(r"\b(we|our|us)\b", sentence, re.IGNORECASE)
    if cue == "context":
        return not we
    if cue == "we":  # the abstract's own method sentences, not its results
        return bool(we) and not CUES["result"].search(sentence)
    # Others' methods and their problems, not "We, however, leave this to future work."
    return bool(CUES[cue].search(sentence)) and not (cue == "prior" and we)


# Each slot: the (section, cue) sources it may draw from, in order, and how many sentences.
SLOTS: dict[str, tuple[tuple[tuple[str, str | None], ...], int]] = {
    "background": ((("introduction", "context"), ("introduction", None)), 2),
    "prior_work": (
        (("related_work", "prior"), ("introduction", "prior"), ("related_work", None)),
        2,
    ),
    # One sentence: the method section's overview, so the steps below keep their order.
    "method": ((("method", "contribution"), ("method", None)), 1),
    "performance": ((("experiments", "result"), ("experiments", None)), 2),
    "methodology": ((("method", "step"), ("method", None)), 5),
    "significance": ((("conclusion", "significance"), ("conclusion", None)), 2),
    "innovation": ((("introduction", "novel"), ("conclusion", "novel")), 1),
    "performance_assessment": ((("conclusion", "result"), ("experiments", "result")), 1),
    "workload": ((("experiments", "workload"), ("method", "workload")), 2),
}
# With no extraction (or none of a slot's sections in it), the abstract stands in, by cue.
ABSTRACT_CUES = {
    "background": "context",
    "prior_work": "prior",
    "method": "we",
    "performance": "result",
    "methodology": "step",
    "significance": "significance",
    "innovation": "novel",
    "performance_assessment": "result",
    "workload": "workload",
}


class ExtractiveSummarizer:
    """Fill every summary field with sentences from the abstract and the extracted sections."""

    name = "extractive"
    model = "extractive-v2"  # the algorithm's version: a new one redoes the stored extracts
    prompt_version = "none"  # no prompt: the algorithm's version is the model name

    def recorded_as(self, language: str) -> tuple[str, str]:
        """Return the prompt version and language its summaries carry: always English."""
        return self.prompt_version, "en"

    def summarize(
        self, paper: Paper, extraction: Extraction | None, language: str
    ) -> SummaryRecord:
        """Return an English extract of `paper`; `language` is ignored (see the module doc)."""
        return SummaryRecord(
            arxiv_id=paper.arxiv_id,
            version=paper.version,
            backend=self.name,
            model=self.model,
            prompt_version=self.prompt_version,
            language="en",
            summary=extract_summary(paper, extraction),
        )


def extract_summary(paper: Paper, extraction: Extraction | None) -> PaperSummary:
    """Return a PaperSummary made only of the paper's own sentences, title words and metadata."""
    pools = _pools(paper, extraction)
    pick = _Picker(pools)
    lead = (pick.take([("abstract", "contribution"), ("abstract", None)], 1) or [_fact(paper)])[0]
    slots = {name: _slot(pick, name, sources, count) for name, (sources, count) in SLOTS.items()}
    steps = slots.pop("methodology")
    body = " ".join(" ".join(pools.get(key, [])) for key in SECTIONS)
    analysis = Analysis(
        # It cannot translate: the title itself, which the post does not show as a translation.
        title_translation=" ".join(paper.title.split()),
        keywords=keywords(paper.title, paper.abstract, body, fallback=paper.categories),
        # Two items at least (the schema); the post shows a repeated NOT_STATED once.
        methodology=(steps + [NOT_STATED] * 2)[: max(len(steps), 2)],
        **{name: " ".join(sentences) or NOT_STATED for name, sentences in slots.items()},
    )
    return PaperSummary(
        one_line=_fit(lead, 300), takeaways=_takeaways(pick, paper, lead), analysis=analysis
    )


def _slot(pick: _Picker, name: str, sources: tuple, count: int) -> list[str]:
    """Return a slot's sentences from its sections, or by cue from the abstract without them."""
    if any(section in pick.pools for section, _ in sources):
        return pick.take(sources, count)
    return pick.take([("abstract", ABSTRACT_CUES[name])], count)


def _takeaways(pick: _Picker, paper: Paper, lead: str) -> list[str]:
    """Return 3-5 takeaways: results first, sentences the analysis left unused where possible."""
    fresh = pick.take([(key, "result") for key in ("abstract", "conclusion", "experiments")], 5)
    fresh += pick.take([("abstract", None), ("conclusion", None)], 5 - len(fresh))
    fresh += pick.take([(key, None) for key in SECTIONS], 3 - len(fresh))
    chosen = _distinct(fresh, lead)
    if len(chosen) < 3:  # a short paper: reuse analysis sentences, then metadata facts
        reused = [s for s in pick.used if s != lead and s not in chosen]
        chosen = _distinct([*chosen, *reused, *_facts(paper)], lead)[:3]
    return chosen[:5]


def _pools(paper: Paper, extraction: Extraction | None) -> dict[str, list[str]]:
    """Return the readable sentences of the abstract and of each extracted section."""
    sections = extraction.sections if extraction else {}
    texts = {"abstract": paper.abstract or sections.get("abstract", "")}
    for heading, text in sections.items():
        role = section_role(heading)
        if role and role not in texts and text.strip():
            texts[role] = text
    pools = {key: [s for s in split_sentences(text) if readable(s)] for key, text in texts.items()}
    return {key: pool for key, pool in pools.items() if pool or key == "abstract"}


def _fact(paper: Paper) -> str:
    return f"The paper is titled “{' '.join(paper.title.split())}” (arXiv {paper.key})."


def _facts(paper: Paper) -> list[str]:
    """Return what metadata says about `paper`, for a paper too short to fill the takeaways."""
    facts = [_fact(paper)]
    if paper.categories:
        facts.append(f"It is listed under {', '.join(paper.categories)}.")
    if paper.authors:
        facts.append(f"It has {len(paper.authors)} author{'s' * (len(paper.authors) > 1)}.")
    return [*facts, f"Its arXiv identifier is {paper.arxiv_id}, version {paper.version}."]


def _distinct(sentences: list[str], *seen: str) -> list[str]:
    """Return `sentences` without near-duplicates of each other or of `seen`."""
    kept: list[str] = []
    for sentence in sentences:
        others = [*seen, *kept]
        if all(difflib.SequenceMatcher(None, sentence, o).ratio() < 0.8 for o in others):
            kept.append(sentence)
    return kept


def _fit(sentence: str, limit: int) -> str:
    """Return `sentence` cut at a clause or word boundary to at most `limit` characters."""
    if len(sentence) <= limit:
        return sentence
    head = sentence[: limit - 1]
    cut = max(head.rfind(", "), head.rfind("; "))
    return (head[:cut] if cut > limit // 2 else head.rsplit(" ", 1)[0]).rstrip(",;") + "…"
