"""The first author's affiliation as printed in a paper's title block."""

from __future__ import annotations

import re

from tasks.pdf.lines import Line, body_size
from tasks.pdf.sections import heading_key

AFFILIATION_WORDS = re.compile(
    r"Universit|Univ\.|Institut|Laborator|\bLab\b|College|School|Department|Dept\.|Academy"
    r"|Cent(?:er|re)\b|Research|\bInc\b|Ltd|Corporation|Hospital|Foundation|Polytechnic"
    r"|Google|DeepMind|Microsoft|\bMeta\b|NVIDIA|OpenAI|Adobe|Amazon|Apple|Tencent|Alibaba"
    r"|Baidu|ByteDance|Huawei|Samsung|\bIBM\b|\bETH\b|\bMIT\b|EPFL|KAIST",
)
# An author line that names an organisation, not people ("DeepSeek-AI", "Qwen Team").
ORGANISATION = re.compile(r"\b(?:AI|Team|Group|Labs?)\b")
QUOTED = re.compile(r"“[^”]*”|^[^“”]*”|“[^”]*$")  # a quotation, or its part on this line
EMAIL = re.compile(r"\{[^}]*\}@\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def first_affiliation(lines: list[Line]) -> str:
    """Return the first author's affiliation from page 1's title block, or "" if not found."""
    block = _title_block(lines)
    if not block:
        return ""
    mark = _first_marker(block[0])
    # Author names wrapping onto more lines carry markers after the names; skip them.
    rest = block[1:]
    while rest and _markers_follow_names(rest[0]):
        rest.pop(0)
    candidates = []
    for line in rest:
        for marker, text in _segments(line):
            cleaned = _clean_affiliation(text)
            if cleaned and (AFFILIATION_WORDS.search(cleaned) or marker):
                candidates.append((marker, cleaned))
    for marker, text in candidates:
        if mark and marker == mark:
            return text
    keyword = [text for _, text in candidates if AFFILIATION_WORDS.search(text)]
    return keyword[0] if keyword else _organisation_author(block[0])


def _organisation_author(line: Line) -> str:
    """Return the author line when it is one organisation (its own affiliation), else ""."""
    text = _clean_affiliation(line.plain)
    single = not re.search(r",|\band\b", text)
    org = ORGANISATION.search(text) or AFFILIATION_WORDS.search(text) or " " not in text
    return text if text and single and org else ""


def _title_block(lines: list[Line]) -> list[Line]:
    """Return the lines between the title and the abstract: authors first, then the rest."""
    body = body_size(lines)
    block: list[Line] = []
    for line in lines:
        if heading_key(line, body) is not None or len(block) > 12:
            break
        block.append(line)
    if not block:
        return []
    title_size = max(ln.size for ln in block)
    # The title's lines, and whatever stands above them (a date, a venue), are not authors.
    title = [i for i, ln in enumerate(block[:5]) if ln.size >= 0.9 * title_size]
    return block[title[-1] + 1 :]


def _markers_follow_names(line: Line) -> bool:
    spans = [s for s in line.spans if s.text.strip()]
    return len(spans) > 1 and spans[-1].sup and not spans[0].sup


def _first_marker(author_line: Line) -> str:
    for span in author_line.spans:
        mark = _marker(re.split(r"[,\s]", span.text.strip())[0]) if span.sup else ""
        if mark:
            return mark
    return ""


def _marker(text: str) -> str:
    """Return an affiliation mark: its digits or letters, else its symbol; stars are not marks."""
    text = text.strip(", ")
    alnum = "".join(ch for ch in text if ch.isalnum())
    return alnum or text.strip("*∗")


def _segments(line: Line) -> list[tuple[str, str]]:
    """Split a line at superscript markers (or a leading plain digit) into (marker, text)."""
    segments, marker, text = [], "", ""
    for span in line.spans:
        if span.sup:
            if text.strip():
                segments.append((marker, text))
            marker, text = _marker(span.text), ""
        else:
            text += span.text
    segments.append((marker, text))
    if len(segments) == 1 and not marker:
        plain = re.match(r"^\s*(\d)\s+(\D.*)$", text)
        if plain:
            return [(plain.group(1), plain.group(2))]
    return segments


def _clean_affiliation(text: str) -> str:
    text = EMAIL.sub("", QUOTED.sub("", text))
    text = re.sub(r"^[\s\d*∗†‡§,—–-]+|[\s*∗†‡§,;—–-]+$", "", text)
    return " ".join(text.split())
