"""An offline summarizer that fills the summary schema with the paper's own sentences.

It needs no key and no network, so the pipeline always produces a post. It never translates:
the text stays in the paper's language (English on arXiv), and the record says
`language="en"` whatever language the topic asked for, so a reader (and the renderer) can
tell an untranslated extract from a real summary.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable

from tasks.summary import Analysis, PaperSummary, SummaryRecord
from tasks.types import Extraction, Paper

SECTION_ROLES = (
    ("Introduction", ("introduction",)),
    ("Method", ("method", "approach", "framework", "proposed")),
    ("Experiments", ("experiment", "result", "evaluation")),
    ("Conclusion", ("conclusion", "discussion")),
)
ABBREVIATIONS = frozenset(
    "al e.g i.e etc fig figs eq eqs sec secs vs cf approx resp no nos tab ref refs viz incl "
    "w.r.t a.k.a dr prof mr ms st ch app alg def thm lem cor prop".split()
)
STOPWORDS = frozenset(
    "a an the and or but nor of in on at to for from by with without into onto over under "
    "between among through via per as is are was were be been being has have had do does did "
    "this that these those it its their our we they them us he she his her which who whom "
    "whose what when where while how why than then so such not no can could may might must "
    "shall should will would also both each either all any some more most less many much "
    "other another only same very well here there up down out about above below again "
    "further once if because until however thus therefore moreover furthermore yet still "
    "paper work study propose proposed proposes present presents presented introduce "
    "introduces introduced show shows shown demonstrate demonstrates achieve achieves "
    "achieved improve improves improved enable enables allow allows use uses using used "
    "based existing current novel new approach approaches method methods results result "
    "significantly significant extensive experiments experiment first second one two three "
    "key able make makes made including include includes across within toward towards "
    "several various like often usually typically even though although whether just fail "
    "fails yield yields lead leads provide provides require requires remain remains reveal "
    "reveals outperform outperforms reduce reduces given called named".split()
)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+")
_STARTS_SENTENCE = re.compile(r"[\"'(\[]?[A-Z0-9$\\]")
_CITATION = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
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


def clean_text(text: str) -> str:
    """Return `text` on one line, without line-break hyphens or numeric citations."""
    text = re.sub(r"(?<=[a-z])-\n(?=[a-z])", "", text)
    return _CITATION.sub("", " ".join(text.split()))


def split_sentences(text: str) -> list[str]:
    """Split English prose into sentences, keeping "e.g.", "et al.", "Fig. 3" and initials."""
    text = clean_text(text)
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if _is_boundary(text, match):
            sentences.append(text[start : match.end()].strip())
            start = match.end()
    tail = text[start:].strip()
    return [*sentences, tail] if tail else sentences


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    """Return True when the punctuation at `match` really ends a sentence."""
    if not _STARTS_SENTENCE.match(text, match.end()):
        return False
    if text[match.start()] != ".":
        return True
    word = text[: match.start()].rsplit(" ", 1)[-1].lstrip("([").lower()
    return word not in ABBREVIATIONS and not re.fullmatch(r"[a-z]", word)


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


def _readable(sentence: str) -> bool:
    """Return True for a sentence worth showing: prose-sized, mostly words, no links."""
    if not 25 <= len(sentence) <= 400 or len(sentence.split()) < 5:
        return False
    if re.search(r"https?://|www\.|github|@\w+\.\w", sentence, re.IGNORECASE):
        return False  # links come from metadata, never from the summary
    if re.match(r"(?:Table|Fig\.?|Figure)\s*\d", sentence, re.IGNORECASE):
        return False  # a caption that leaked into the text describes a float, not the paper
    visible = sentence.replace(" ", "")
    return sum(char.isalpha() for char in visible) >= 0.6 * len(visible)


class _Picker:
    """Hand out sentences by cue, each at most once while unused ones remain."""

    def __init__(self, pools: dict[str, list[str]], used: Iterable[str] = ()):
        self.pools = pools
        self.used: set[str] = set(used)

    def take(self, roles: Iterable[str], cue: str | None, count: int) -> list[str]:
        """Return up to `count` sentences from `roles`, in paper order, that fit the cue best.

        Fresh matches first, then one reused match (a repeated result sentence reads better
        under "performance" than an unrelated one), then fresh others, then one reused other.
        """
        candidates = list(dict.fromkeys(s for role in roles for s in self.pools.get(role, [])))
        matches = [s for s in candidates if cue is None or CUES[cue].search(s)]
        others = [s for s in candidates if s not in matches]
        chosen: list[str] = []
        for group in (matches, others):
            fresh = [s for s in group if s not in self.used]
            chosen = chosen or fresh[:count] or [s for s in group if s in self.used][:1]
        self.used.update(chosen)
        return sorted(chosen, key=candidates.index)

    def spare(self, exclude: Iterable[str] = ()) -> list[str]:
        """Return every sentence not in `exclude`: unused, then used, then metadata facts."""
        skip = set(exclude)
        real = [s for role, pool in self.pools.items() if role != "Facts" for s in pool]
        real = [s for s in dict.fromkeys(real) if s not in skip]
        facts = [s for s in self.pools.get("Facts", []) if s not in skip]
        return [s for s in real if s not in self.used] + [s for s in real if s in self.used] + facts


class ExtractiveSummarizer:
    """Fill every summary field with sentences from the abstract and the extracted sections."""

    name = "extractive"
    model = "extractive-v1"
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
    lead = _Picker(pools).take(["Abstract"], "contribution", 1)[0]
    # Takeaways and the analysis are separate views of the paper (as in the reference post),
    # so each draws from all sentences; within each, a sentence is used once where possible.
    listing = _Picker(pools, used=[lead])
    takeaways = _distinct(
        listing.take(["Abstract", "Conclusion", "Introduction"], "result", 5), lead
    )
    pick = _Picker(pools, used=[lead])
    body = " ".join(" ".join(v) for k, v in pools.items() if k not in ("Abstract", "Facts"))
    analysis = Analysis(
        title_translation=" ".join(paper.title.split()),
        keywords=keywords(paper.title, paper.abstract, body, fallback=paper.categories),
        background=_prose(pick, ["Introduction", "Abstract"], None, 2),
        prior_work=_prose(pick, ["Introduction", "Abstract"], "prior", 2),
        method=_prose(pick, ["Abstract", "Method"], "contribution", 2),
        performance=_prose(pick, ["Abstract", "Experiments", "Conclusion"], "result", 2),
        methodology=_steps(pick),
        significance=_prose(pick, ["Conclusion", "Abstract"], "significance", 2),
        innovation=_prose(pick, ["Abstract", "Introduction", "Conclusion"], "novel", 1),
        performance_assessment=_prose(pick, ["Conclusion", "Experiments", "Abstract"], "result", 2),
        workload=_prose(pick, ["Experiments", "Method", "Abstract"], "workload", 2),
    )
    takeaways = _at_least(takeaways, 3, listing.spare(exclude=[lead]))
    return PaperSummary(one_line=_fit(lead, 300), takeaways=takeaways, analysis=analysis)


def _pools(paper: Paper, extraction: Extraction | None) -> dict[str, list[str]]:
    """Return readable sentences by role, with metadata facts last so no field is ever empty."""
    pools = {"Abstract": split_sentences(paper.abstract)}
    pools |= {role: split_sentences(text) for role, text in paper_sections(extraction).items()}
    pools = {role: [s for s in sentences if _readable(s)] for role, sentences in pools.items()}
    facts = [f"The paper is titled “{' '.join(paper.title.split())}” (arXiv {paper.key})."]
    if paper.categories:
        facts.append(f"It is listed under {', '.join(paper.categories)}.")
    if paper.authors:
        facts.append(f"It has {len(paper.authors)} author{'s' * (len(paper.authors) > 1)}.")
    if extraction and extraction.pages:
        facts.append(f"The paper runs to {extraction.pages} pages.")
    pools["Abstract"] = pools["Abstract"] or facts[:1]
    return pools | {"Facts": facts}


def _prose(pick: _Picker, roles: list[str], cue: str | None, count: int) -> str:
    """Return a short paragraph for one field, never empty."""
    return " ".join(pick.take(roles, cue, count) or pick.spare()[:1])


def _steps(pick: _Picker) -> list[str]:
    """Return 2-6 method steps in the order the paper gives them."""
    steps = pick.take(["Method"], "step", 5) or pick.take(["Abstract"], "contribution", 3)
    return _at_least(steps, 2, pick.spare())


def _at_least(items: list[str], count: int, spare: list[str]) -> list[str]:
    """Return `items` topped up from `spare` until there are `count`."""
    extra = [s for s in spare if s not in items]
    return items + extra[: max(count - len(items), 0)]


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


def keywords(
    title: str, abstract: str, body: str = "", count: int = 6, fallback: Iterable[str] = ()
) -> list[str]:
    """Return 3 to `count` key phrases: runs of content words, title words weighted up.

    A phrase scores the sum of its words' weighted frequencies (RAKE-like), so "diffusion
    model" beats "diffusion"; it must appear in the title or twice in the text.
    """
    texts = ((title, 3), (abstract, 1), (body, 1))
    found = [(phrase, weight) for text, weight in texts for phrase in _phrases(text)]
    words: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for phrase, weight in found:
        seen[phrase.lower()] += weight
        if " " not in phrase:
            words[phrase.lower()] += weight
    score = {key: sum(words[w] for w in key.split()) for key in seen if seen[key] >= 2}
    surface = {phrase.lower(): phrase for phrase, _ in reversed(found)}
    chosen: list[str] = []
    for key in sorted(score, key=lambda k: (-score[k], k)):
        if len(chosen) < count and not set(key.split()) & {w for c in chosen for w in c.split()}:
            chosen.append(key)
    spare = [*_content_words(title + " " + abstract), *fallback, "arXiv"]
    chosen += [w for w in dict.fromkeys(spare) if w.lower() not in chosen][
        : max(3 - len(chosen), 0)
    ]
    return [surface.get(key, key) for key in chosen]


def _phrases(text: str) -> list[str]:
    """Return the 1-3 word runs of content words in `text`, split at stopwords and punctuation."""
    phrases = []
    for chunk in re.split(r"[.,;:!?()\[\]{}\"$]", clean_text(text)):
        run: list[str] = []
        for word in [*_WORD.findall(chunk), ""]:
            if word and word.lower() not in STOPWORDS and len(word) > 1:
                run.append(_display(word))
                continue
            phrases += [
                " ".join(run[i : i + n])
                for n in (1, 2, 3)
                for i in range(len(run) - n + 1)
                # a phrase led by an -ing word is mostly a verb phrase ("estimating body")
                if n == 1 or not run[i].endswith("ing")
            ]
            run = []
    return phrases


def _content_words(text: str) -> list[str]:
    words = [_display(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 3]
    return list(dict.fromkeys(words))


def _display(word: str) -> str:
    """Return `word` lower-cased unless it is an acronym or a CamelCase name (DiT, EgoAllo)."""
    return word if any(char.isupper() for char in word[1:]) else word.lower()
