"""Find captioned figures on PDF pages: the graphics and labels between a caption and a barrier."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pymupdf

from tasks.pdf.captions import FIGURE_CAPTION, caption_lines, subcaption_lines
from tasks.pdf.graphics import Graphic, area, page_graphics, union
from tasks.pdf.lines import MARGIN_FRACTION, Box, Line, is_two_column, spans_gutter
from tasks.pdf.tables import TABLE_CAPTION, table_boxes

MIN_AREA_FRACTION = 0.02
NEAR_CAPTION = 50.0  # points between a figure's edge and its caption
INNER_GAP = 36.0  # points of empty space that end a figure
MARGIN = 2.0


@dataclass(frozen=True)
class Region:
    """A figure found on a page: the graphics beside its caption."""

    page: int
    bbox: Box
    caption: str
    graphics: tuple[Graphic, ...]
    caption_bbox: Box


@dataclass(frozen=True)
class Context:
    """What a page offers a caption: its lines, graphics, tables and body text size."""

    lines: list[Line]
    graphics: list[Graphic]
    tables: list[Box]
    body: float
    subcaptions: frozenset[int]
    captioned: frozenset[int]  # ids of every caption line, figure or table


def find_regions(page: pymupdf.Page, lines: list[Line], body: float) -> list[Region]:
    """Return the page's captioned figures in reading order, tables and logos left out."""
    ordered = sorted(lines, key=lambda ln: (ln.bbox[1], ln.bbox[0]))
    captions = [i for i, ln in enumerate(ordered) if FIGURE_CAPTION.match(ln.text)]
    # Most pages have no figure: reading their drawings would be most of the time spent.
    graphics = page_graphics(page) if captions else []
    if not graphics:
        return []
    tables = table_boxes(ordered, graphics, body)
    starts = [i for i, ln in enumerate(ordered) if TABLE_CAPTION.match(ln.text)] + captions
    captioned = frozenset(id(ln) for i in starts for ln in caption_lines(ordered, i))
    ctx = Context(ordered, graphics, tables, body, subcaption_lines(ordered), captioned)
    regions = []
    for i in captions:
        region = _region(page, ctx, i, captions)
        if region is not None:
            regions.append(region)
    two_column = is_two_column(lines, page.rect.width)
    return sorted(regions, key=lambda r: _reading_key(r, two_column, page.rect.width))


def _reading_key(region: Region, two_column: bool, width: float) -> tuple[int, float, float]:
    """Order figures as read: full-width and left-column ones first, then the right column;
    side-by-side figures (captions level within 10 pt) from left to right."""
    right = two_column and region.caption_bbox[0] > width / 2
    return int(right), round(region.caption_bbox[1] / 10), region.bbox[0]


def _region(page: pymupdf.Page, ctx: Context, i: int, captions: list[int]) -> Region | None:
    block = caption_lines(ctx.lines, i)
    cap_box = union([ln.bbox for ln in block])
    span = _span(page, ctx, i, cap_box, captions)
    found = _sweep(ctx, span, cap_box, set(map(id, block)), up=True)
    if found is None:  # a caption above its figure
        found = _sweep(ctx, span, cap_box, set(map(id, block)), up=False)
    if found is None and _wide_above(page, ctx, cap_box):  # a wide figure, a column's caption
        found = _sweep(ctx, (0.0, page.rect.width), cap_box, set(map(id, block)), up=True)
    if found is None:
        return None
    box, picked = found
    box = _padded(_with_labels(box, ctx), page.rect)
    if area(box) < MIN_AREA_FRACTION * page.rect.width * page.rect.height:
        return None
    text = re.sub(r"(\w)- (\w)", r"\1\2", " ".join(ln.text for ln in block))
    return Region(page.number + 1, box, text, tuple(picked), cap_box)


def _wide_above(page: pymupdf.Page, ctx: Context, cap: Box) -> bool:
    """Return True when a graphic across the gutter ends just above a caption in one column.

    A running header's band across the top margin is no figure.
    """
    middle, top = page.rect.width / 2, MARGIN_FRACTION * page.rect.height
    return any(
        g.bbox[0] < middle < g.bbox[2]
        and g.bbox[3] > top
        and 0 <= cap[1] - g.bbox[3] <= NEAR_CAPTION
        for g in ctx.graphics
    )


def _span(page: pymupdf.Page, ctx: Context, i: int, cap: Box, captions: list[int]) -> tuple:
    """Return the x-range the figure may take: its column, split between side-by-side captions."""
    width, caption = page.rect.width, ctx.lines[i]
    x0, x1 = 0.0, width
    if is_two_column(ctx.lines, width) and not spans_gutter(caption, width):
        x0, x1 = (0.0, width / 2) if caption.bbox[2] <= width / 2 + 10 else (width / 2, width)
    siblings = [ctx.lines[j] for j in captions if j != i] + [
        ln for ln in ctx.lines if TABLE_CAPTION.match(ln.text)
    ]
    for other in siblings:
        level = abs(other.bbox[1] - caption.bbox[1]) < caption.size
        if level and other.bbox[0] >= cap[2] - 1:
            x1 = min(x1, (cap[2] + other.bbox[0]) / 2)
        elif level and other.bbox[2] <= cap[0] + 1:
            x0 = max(x0, (other.bbox[2] + cap[0]) / 2)
    return x0, x1


def _in_span(box: Box, span: tuple) -> bool:
    overlap = min(box[2], span[1]) - max(box[0], span[0])
    return overlap >= 0.5 * max(box[2] - box[0], 1.0)


def _sweep(ctx: Context, span: tuple, cap: Box, skip: set[int], up: bool) -> tuple | None:
    """Grow the figure away from its caption, item by item, until a barrier or a wide gap.

    Downward (a caption above its figure) is the same walk on the page mirrored.
    """
    flip = (lambda b: b) if up else _mirror
    c = flip(cap)
    shapes = [(flip(g.bbox), g) for g in ctx.graphics if _in_span(g.bbox, span)]
    texts = [(flip(_ink(ln)), k) for k, ln in enumerate(ctx.lines) if id(ln) not in skip]
    items = [(b, it) for b, it in shapes + texts if b[3] <= c[1] + 2 and b[1] < c[1]]
    walk = Walk(c[1], (c[0], c[2]), [], [], [b for b, _ in shapes], [flip(t) for t in ctx.tables])
    for box, item in sorted(items, key=lambda p: -p[0][3]):
        if not walk.take(box, item, ctx, span):
            break
    if not walk.picked:
        return None
    x0, y0, x1, y1 = union(walk.parts)
    return flip((x0, max(y0, walk.stop), x1, y1)), walk.picked


@dataclass
class Walk:
    """The figure so far while sweeping: its far edge, x-range, graphics and parts."""

    edge: float
    xs: tuple[float, float]
    picked: list[Graphic]
    parts: list[Box]
    shapes: list[Box]
    tables: list[Box]
    stop: float = -1e9

    def take(self, box: Box, item: Graphic | int, ctx: Context, span: tuple) -> bool:
        """Add the item if it belongs to the figure; return False when the figure ends."""
        if box[3] < self.edge - (INNER_GAP if self.picked else NEAR_CAPTION):
            return False
        if _overlaps(box, self.xs) and any(_inside_box(box, t) for t in self.tables):
            return False
        if isinstance(item, Graphic):
            self.picked.append(item)
            self.xs = (min(self.xs[0], box[0]), max(self.xs[1], box[2]))
        elif not _overlaps(box, self.xs):
            return True  # text beside the figure: a wrapped paragraph or the next column
        elif self._barrier(item, box, ctx, span):
            self.stop = box[3] + MARGIN  # graphics reaching past it are cut at it
            return False
        self.parts.append(box)
        self.edge = min(self.edge, box[1])
        return True

    def _barrier(self, k: int, box: Box, ctx: Context, span: tuple) -> bool:
        """Return True for captions and body text, which bound a figure."""
        line = ctx.lines[k]
        if id(line) in ctx.captioned:
            return True
        if k in ctx.subcaptions or line.size < 0.97 * ctx.body:  # labels are set smaller
            return False
        if line.width >= 0.6 * (span[1] - span[0]):  # a line of body text, boxed or not
            return True
        if any(_inside_box(box, s) for s in self.shapes):
            return False
        # Body-size text wholly past the figure begun is a paragraph or the title block.
        return bool(self.picked) and box[3] <= self.edge + 1


def _ink(line: Line) -> Box:
    """Return the line's box with room for descenders: some fonts declare none."""
    x0, y0, x1, y1 = line.bbox
    return (x0 - 0.5, y0, x1 + 0.5, y1 + 0.2 * line.size)


def _mirror(box: Box) -> Box:
    return (box[0], -box[3], box[2], -box[1])


def _overlaps(box: Box, xs: tuple) -> bool:
    return min(box[2], xs[1]) > max(box[0], xs[0]) + 1


def _inside_box(box: Box, outer: Box) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return outer[0] <= cx <= outer[2] and outer[1] <= cy <= outer[3]


def _with_labels(box: Box, ctx: Context) -> Box:
    """Grow the box by small text hugging it (tick labels, legends outside the plot)."""
    for _ in range(2):
        grown = (box[0] - 14, box[1] - 10, box[2] + 14, box[3] + 10)
        labels = [
            _ink(ln)
            for ln in ctx.lines
            if ln.size < 1.05 * ctx.body
            and _contains(grown, ln.bbox)
            and id(ln) not in ctx.captioned
            and not any(_inside_box(ln.bbox, t) for t in ctx.tables)
        ]
        box = union([box, *labels])
    return box


def _contains(outer: Box, box: Box) -> bool:
    return (
        box[0] >= outer[0] - 1
        and box[1] >= outer[1] - 1
        and box[2] <= outer[2] + 1
        and box[3] <= outer[3] + 1
    )


def _padded(box: Box, page: pymupdf.Rect) -> Box:
    return (
        max(box[0] - MARGIN, page.x0),
        max(box[1] - MARGIN, page.y0),
        min(box[2] + MARGIN, page.x1),
        min(box[3] + MARGIN, page.y1),
    )
