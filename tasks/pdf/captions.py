"""Caption lines: where a figure's or table's caption starts, which lines it runs over."""

from __future__ import annotations

import re

from tasks.pdf.lines import Line
from tasks.pdf.tables import TABLE_CAPTION

FIGURE_CAPTION = re.compile(
    r"^(?:Figure|Fig\.|FIGURE|FIG\.)\s*([A-Z]?\d+)(?:\s*[:.|]|\s+(?=[A-Z]))"
)
SUBCAPTION = re.compile(r"^\(?[a-z]\)\s")  # "(b) Prompt: …", "a) Input"


def caption_lines(lines: list[Line], i: int) -> list[Line]:
    """Return the caption's lines: the first and those following at the same size, no gap."""
    parts, prev = [lines[i]], lines[i]
    for line in lines[i + 1 :]:
        if min(line.bbox[2], prev.bbox[2]) <= max(line.bbox[0], prev.bbox[0]):
            continue  # another column's line at this height
        gap = line.bbox[1] - prev.bbox[3]
        if (
            gap > 0.6 * prev.size
            or abs(line.size - _end_size(prev)) > 0.6
            or gap < -0.5 * prev.size
        ):
            break
        if FIGURE_CAPTION.match(line.text) or TABLE_CAPTION.match(line.text):
            break
        # Wider than the caption's first line: the text after a wrapped figure.
        first = lines[i].bbox
        ragged = max(line.size, 0.3 * (first[2] - first[0]))
        if line.bbox[0] < first[0] - line.size or line.bbox[2] > first[2] + ragged:
            break
        parts.append(line)
        prev = line
    return parts


def _end_size(line: Line) -> float:
    """Return the size a line's text ends in: a caption's label may be set larger than its words."""
    words = [s for s in line.spans if not s.sup and s.text.strip()]
    return words[-1].size if words else line.size


def subcaption_lines(lines: list[Line]) -> frozenset[int]:
    """Return indexes of sub-caption lines: "(a) …" and the lines continuing it."""
    marked: set[int] = set()
    for i, line in enumerate(lines):
        if SUBCAPTION.match(line.text) or (i - 1 in marked and _continues(lines[i - 1], line)):
            marked.add(i)
    return frozenset(marked)


def _continues(prev: Line, line: Line) -> bool:
    gap = line.bbox[1] - prev.bbox[3]
    same_column = min(line.bbox[2], prev.bbox[2]) > max(line.bbox[0], prev.bbox[0])
    return (
        same_column
        and -0.5 * prev.size < gap < 0.6 * prev.size
        and abs(line.size - prev.size) < 0.6
    )
