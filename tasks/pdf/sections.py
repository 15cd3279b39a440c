"""A paper's known sections (abstract, introduction, …, conclusion) from its text lines."""

from __future__ import annotations

import re

from tasks.pdf.captions import FIGURE_CAPTION
from tasks.pdf.lines import Line, body_size

SECTION_NAMES = {
    "abstract": "abstract",
    "introduction": "introduction",
    "related work": "related_work",
    "related works": "related_work",
    "background": "related_work",
    "prior work": "related_work",
    "background and related work": "related_work",
    "method": "method",
    "methods": "method",
    "methodology": "method",
    "approach": "method",
    "our approach": "method",
    "proposed method": "method",
    "experiments": "experiments",
    "experiment": "experiments",
    "experimental results": "experiments",
    "experiments and results": "experiments",
    "results": "experiments",
    "evaluation": "experiments",
    "conclusion": "conclusion",
    "conclusions": "conclusion",
    "conclusion and future work": "conclusion",
    "conclusions and future work": "conclusion",
    "discussion and conclusion": "conclusion",
}
LEADERS = re.compile(r"(?:\. ?){5,}")  # the dots leading to a page number in a contents list
TOC_CHARS = 400
STOP_NAMES = {"references", "bibliography", "acknowledgements", "acknowledgments", "appendix"}
HEADING = re.compile(r"^(?:(\d{1,2}|[IVX]{1,4})\.?\s+)?([A-Za-z][\w &:,'()-]{2,60})$")
INLINE_ABSTRACT = re.compile(r"^Abstract\s*[—–:.-]\s*(\S.*)$", re.IGNORECASE)


def heading_key(line: Line, body: float) -> str | None:
    """Return the normalised section name a heading line starts, or None for body text."""
    text = line.plain.strip()
    if INLINE_ABSTRACT.match(text) or text.lower() == "abstract":
        return "abstract"
    if not (line.bold or line.size > body * 1.05):  # checked first: the pattern costs more
        return None
    match = HEADING.match(text)
    if not match:
        return None
    name = " ".join(match.group(2).lower().split())
    if name[-1].isdigit():  # "Conclusion 15": a table-of-contents entry with its page
        return None
    if name in STOP_NAMES:
        return "references" if name in ("references", "bibliography") else "stop"
    if name.startswith(("conclusion", "concluding")):  # "Conclusion and Limitations"
        return "conclusion"
    # A numbered heading we cannot name still ends the section before it.
    return SECTION_NAMES.get(name, "other" if match.group(1) else None)


def split_sections(lines: list[Line]) -> tuple[dict[str, str], int]:
    """Return each known section's text and the index where the references start."""
    body = body_size(lines)
    parts: dict[str, list[str]] = {}
    current = None
    for i, line in enumerate(lines):
        key = heading_key(line, body)
        if key == "references":
            return _joined(parts), i
        if key == "other":
            key = _guess_unnamed(parts)
        if key is not None:
            current = None if key == "stop" else key
            # Met again after a few words only: the first was a table-of-contents entry.
            if sum(len(t) for t in parts.get(current or "", ())) < TOC_CHARS:
                parts[current or ""] = []
            inline = INLINE_ABSTRACT.match(line.plain.strip())
            if inline and current:
                parts[current].append(inline.group(1))
        elif current and not FIGURE_CAPTION.match(line.text) and not LEADERS.search(line.text):
            parts[current].append(line.plain)
    return _joined(parts), len(lines)


def _guess_unnamed(parts: dict[str, list[str]]) -> str:
    """Name a custom numbered section: between introduction and experiments it is the method."""
    if "introduction" in parts and "method" not in parts and "experiments" not in parts:
        return "method"
    return "stop"


def _joined(parts: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for key, texts in parts.items():
        text = re.sub(r"(\w)- (?=[a-z])", r"\1", " ".join(texts))
        if key and text.strip():
            out[key] = " ".join(text.split())
    return out
