"""Where a page's tables are: a table caption and the rows and rules that hang under it."""

from __future__ import annotations

import re

from tasks.pdf.graphics import Graphic, union
from tasks.pdf.lines import Box, Line

TABLE_CAPTION = re.compile(r"^(?:Table|TABLE|Tab\.)\s*([A-Z]?\d+)(?:\s*[:.|]|\s+(?=[A-Z]))")
ROW_GAP = 4.5  # points: rows and booktabs rules of one table are closer than this
FIRST_GAP = 12.0  # points from the caption to the table's top rule


def table_boxes(lines: list[Line], graphics: list[Graphic], body: float) -> list[Box]:
    """Return the boxes of tables whose caption stands above them.

    From the caption down, text rows and rules join the table while each starts within
    ROW_GAP of the part above it (booktabs leaves a few points around its rules; the first
    rule may sit FIRST_GAP under the caption); a caption
    below its table bounds figures on its own, as a barrier.
    """
    boxes = []
    for cap in (ln for ln in lines if TABLE_CAPTION.match(ln.text)):
        if _ruled_above(cap, graphics):
            continue  # the caption is below its table
        box = _grow_down(cap, lines, graphics, body)
        if box is not None:
            boxes.append(box)
    return boxes


def _grow_down(cap: Line, lines: list[Line], graphics: list[Graphic], body: float) -> Box | None:
    items: list[tuple[Box, Graphic | None]] = [
        (ln.bbox, None) for ln in lines if ln.bbox[1] > cap.bbox[1] and _under(ln.bbox, cap.bbox)
    ]
    items += [
        (g.bbox, g) for g in graphics if g.bbox[1] >= cap.bbox[1] and _under(g.bbox, cap.bbox)
    ]
    bottom, parts, ruled = cap.bbox[3], [cap.bbox], False
    for box, graphic in sorted(items, key=lambda item: item[0][1]):
        if box[1] > bottom + (ROW_GAP if ruled else FIRST_GAP):
            break
        if graphic is not None and not _table_part(graphic, ruled, body):
            continue  # a figure drawn right under the table
        parts.append(box)
        ruled = ruled or graphic is not None
        bottom = max(bottom, box[3])
    # A caption followed by prose and no rule or cell grid is a caption below its table.
    return union(parts) if ruled and len(parts) > 2 else None


def _table_part(graphic: Graphic, ruled: bool, body: float) -> bool:
    """Return True for rules and cell shading; a tall frame only as the table's first part."""
    tall = graphic.bbox[3] - graphic.bbox[1] > 2.5 * body
    return not graphic.image and (not tall or not ruled)


def _ruled_above(cap: Line, graphics: list[Graphic]) -> bool:
    """Return True when a table rule ends just above the caption."""
    return any(
        g.bbox[3] - g.bbox[1] < 2
        and cap.bbox[1] - FIRST_GAP <= g.bbox[3] <= cap.bbox[1] + 1
        and min(g.bbox[2], cap.bbox[2]) > max(g.bbox[0], cap.bbox[0])
        for g in graphics
    )


def _under(box: Box, cap: Box) -> bool:
    """Return True for a part overlapping the caption's width, or mostly within 40 pt of it."""
    if min(box[2], cap[2]) > max(box[0], cap[0]):
        return True
    overlap = min(box[2], cap[2] + 40) - max(box[0], cap[0] - 40)
    return overlap > 0.5 * max(box[2] - box[0], 1.0)
