"""English prose cut into sentences, and which of them are worth showing a reader."""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    "al e.g i.e etc fig figs eq eqs sec secs vs cf approx resp no nos tab ref refs viz incl "
    "w.r.t a.k.a dr prof mr ms st ch app alg def thm lem cor prop".split()
)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+")
_STARTS_SENTENCE = re.compile(r"[\"'(\[]?[A-Z0-9$\\]")
_CITATION = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]")
_FRONT_BACK_MATTER = re.compile(
    r"^(acknowledge?ments?|broader impacts?)\b|\bsupported by (the )?(grants?|funds?|nsf)\b"
    r"|\b(contributors|authors) are listed\b",
    re.IGNORECASE,
)


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


def readable(sentence: str) -> bool:
    """Return True for a sentence worth showing: prose-sized, mostly words, no links."""
    if not 25 <= len(sentence) <= 400 or len(sentence.split()) < 5:
        return False
    if re.search(r"https?://|www\.|github|@\w+\.\w", sentence, re.IGNORECASE):
        return False  # links come from metadata, never from the summary
    if re.match(r"(?:Table|Fig\.?|Figure)\s*\d", sentence, re.IGNORECASE):
        return False  # a caption that leaked into the text describes a float, not the paper
    if _FRONT_BACK_MATTER.search(sentence):
        return False  # thanks and ethics statements run into the last section's text
    visible = sentence.replace(" ", "")
    return sum(char.isalpha() for char in visible) >= 0.6 * len(visible)
