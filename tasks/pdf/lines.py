"""Text lines of PDF pages with their geometry and fonts, in reading order."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import pymupdf

Box = tuple[float, float, float, float]

# Running headers and page numbers live in these top/bottom fractions of the page.
MARGIN_FRACTION = 0.065
CAPTION_START = re.compile(r"^(?:Figure|Fig\.|FIGURE|FIG\.|Table|TABLE)\s*\d")
# A gap wider than this share of the font size between two glyphs separates words.
WORD_GAP = 0.15
# Affiliation and footnote marks: digits, letters a-e, and the symbols templates use.
MARKER = re.compile(r"^[\d*†‡§¶,∗⋆a-e□■⋄◇◆♢♦♠♣♥♡★☆#‖•◦○●△▽✉]{1,6}$")


@dataclass(frozen=True)
class Span:
    """A run of text in one font; `sup` marks small raised markers like affiliation numbers."""

    text: str
    size: float
    sup: bool


@dataclass(frozen=True)
class Line:
    """One horizontal text line on a page (1-based page number)."""

    page: int
    bbox: Box
    spans: tuple[Span, ...]
    size: float
    bold: bool

    @cached_property  # read many times by the figure and section finders
    def text(self) -> str:
        return " ".join("".join(s.text for s in self.spans).split())

    @cached_property
    def plain(self) -> str:
        """Return the text without superscript markers."""
        return " ".join("".join(s.text for s in self.spans if not s.sup).split())

    @property
    def width(self) -> float:
        return self.bbox[2] - self.bbox[0]


def page_lines(page: pymupdf.Page) -> list[Line]:
    """Return the page's horizontal lines, without running header/footer and rotated stamps."""
    height = page.rect.height
    top, bottom = height * MARGIN_FRACTION, height * (1 - MARGIN_FRACTION)
    lines = []
    # Ligatures come out as their letters ("fi", not "ﬁ"): a reader and a summarizer see words.
    data = page.get_text("dict", flags=pymupdf.TEXTFLAGS_TEXT & ~pymupdf.TEXT_PRESERVE_LIGATURES)
    for block in data["blocks"]:
        raws = [raw for raw in block.get("lines", ()) if abs(raw["dir"][1]) <= 0.1]
        # A block reaching into the body, or a caption pushed into the margin, is not a
        # running header or footer; arXiv's side stamp and rotated labels are not text.
        inside = any(top <= raw["bbox"][3] and raw["bbox"][1] <= bottom for raw in raws)
        if raws and (inside or CAPTION_START.match(_raw_text(raws[0]))):
            lines += [ln for ln in (_make_line(page.number + 1, raw) for raw in raws) if ln]
    return lines


def _raw_text(raw: dict) -> str:
    return "".join(s["text"] for s in raw["spans"]).strip()


def _make_line(page: int, raw: dict) -> Line | None:
    size, bold_chars, total = float("-inf"), 0, 0
    for span in raw["spans"]:  # one pass: this runs for every line of every page
        text = span["text"]
        if not text.strip():
            continue
        size = max(size, span["size"])
        total += len(text)
        bold_chars += len(text) if _is_bold(span) else 0
    if not total:
        return None
    spans = tuple(_spaced(raw["spans"], size))
    return Line(page, tuple(raw["bbox"]), spans, size, bold_chars > total / 2)


def _spaced(raws: list[dict], size: float) -> list[Span]:
    """Return the inked spans, each led by a space where the glyphs leave a word gap.

    PDFs often draw the inter-word space as a span of its own, or as no glyph at all, only
    a jump in position: the gap between the spans' boxes, not their boundary, is the space.
    """
    out: list[Span] = []
    space, prev = "", None
    for raw in raws:
        text = raw["text"]
        if not text.strip():
            space = " " if text else space
            continue
        if (
            prev
            and not space
            and raw["bbox"][0] - prev["bbox"][2] > WORD_GAP * min(raw["size"], prev["size"])
        ):
            space = " "
        small = raw["size"] < 0.85 * size
        out.append(Span(space + text, raw["size"], small and bool(MARKER.match(text.strip()))))
        space, prev = "", raw
    return out


def _is_bold(span: dict) -> bool:
    return bool(span["flags"] & pymupdf.TEXT_FONT_BOLD) or "bold" in span["font"].lower()


def is_two_column(lines: list[Line], page_width: float) -> bool:
    """Return True when both halves of the page carry a column of text."""
    mid = page_width / 2
    left = sum(1 for ln in lines if ln.bbox[2] < mid)
    right = sum(1 for ln in lines if ln.bbox[0] > mid)
    return left >= 5 and right >= 5


def spans_gutter(line: Line, page_width: float) -> bool:
    mid = page_width / 2
    return line.bbox[0] < mid - 10 and line.bbox[2] > mid + 10


def reading_order(lines: list[Line], page_width: float) -> list[Line]:
    """Return lines in reading order: left column, then right, between full-width lines."""
    ordered: list[Line] = []
    band: list[Line] = []
    for line in sorted(lines, key=lambda ln: (ln.bbox[1], ln.bbox[0])):
        if spans_gutter(line, page_width):
            ordered += _flush(band, page_width)
            band = []
            ordered.append(line)
        else:
            band.append(line)
    return ordered + _flush(band, page_width)


def _flush(band: list[Line], page_width: float) -> list[Line]:
    mid = page_width / 2
    left = [ln for ln in band if (ln.bbox[0] + ln.bbox[2]) / 2 < mid]
    right = [ln for ln in band if (ln.bbox[0] + ln.bbox[2]) / 2 >= mid]
    return left + right


def body_size(lines: list[Line]) -> float:
    """Return the most common font size weighted by characters: the body text size."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size, 1)] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0
