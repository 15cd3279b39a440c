"""Key phrases of a paper: runs of content words from its title, abstract and body."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from tasks.summary.sentences import clean_text

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
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")


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
