"""Find captioned figures on PDF pages and save them as image files."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from tasks.pdftext import Box, Line, is_two_column, spans_gutter
from tasks.types import Figure

FIGURE_CAPTION = re.compile(
    r"^(?:Figure|Fig\.|FIGURE|FIG\.)\s*([A-Z]?\d+)(?:\s*[:.|]|\s+(?=[A-Z]))"
)
TABLE_CAPTION = re.compile(r"^(?:Table|TABLE|Tab\.)\s*([A-Z]?\d+)(?:\s*[:.|]|\s+(?=[A-Z]))")
WEB_IMAGE_EXTS = {"png", "jpeg", "jpg"}
MIN_IMAGE_PX = 100  # logos, icons and bullets are smaller than this
MIN_AREA_FRACTION = 0.02
NEAR_CAPTION = 50.0  # points between a figure's bottom and its caption
RENDER_ZOOM = 2.0


@dataclass(frozen=True)
class Graphic:
    """An image placement (xref > 0 when extractable) or a vector path on a page."""

    bbox: Box
    xref: int = -1


@dataclass(frozen=True)
class Region:
    """A figure found on a page: the graphics above its caption."""

    page: int
    bbox: Box
    caption: str
    graphics: tuple[Graphic, ...]
    caption_bbox: Box


def union(boxes: list[Box]) -> Box:
    """Return the bounding box of boxes, counting zero-height rules (PyMuPDF's `|` drops them)."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def page_graphics(page: pymupdf.Page) -> list[Graphic]:
    """Return the page's non-tiny images and its vector paths."""
    area = page.rect.width * page.rect.height
    found = []
    for info in page.get_image_info(xrefs=True):
        box = tuple(pymupdf.Rect(info["bbox"]) & page.rect)
        if info["width"] < MIN_IMAGE_PX or info["height"] < MIN_IMAGE_PX or _area(box) <= 0:
            continue
        found.append(Graphic(box, info.get("xref", 0)))
    for path in page.get_drawings():
        box = tuple(path["rect"])
        # A full-page fill is a background, not part of a figure.
        if _area(box) < 0.8 * area:
            found.append(Graphic(box))
    return found


def _area(box: Box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def find_regions(page: pymupdf.Page, lines: list[Line]) -> list[Region]:
    """Return the page's captioned figures in reading order, tables and logos left out."""
    graphics = page_graphics(page)
    if not graphics:
        return []
    tables = _table_graphics(lines, graphics)
    graphics = [g for g in graphics if g not in tables]
    ordered = sorted(lines, key=lambda ln: (ln.bbox[1], ln.bbox[0]))
    regions = []
    for i, line in enumerate(ordered):
        if FIGURE_CAPTION.match(line.text):
            region = _region_above(page, ordered, i, graphics)
            if region is not None:
                regions.append(region)
    two_column = is_two_column(lines, page.rect.width)
    return sorted(regions, key=lambda r: _reading_key(r, two_column, page.rect.width))


def _reading_key(region: Region, two_column: bool, width: float) -> tuple[int, float]:
    """Order figures as read: full-width and left-column ones first, then the right column."""
    right = two_column and region.caption_bbox[0] > width / 2
    return int(right), region.bbox[1]


def _span(page: pymupdf.Page, lines: list[Line], caption: Line) -> tuple[float, float]:
    """Return the x-range of the caption's column, or the full width."""
    width = page.rect.width
    if not is_two_column(lines, width) or spans_gutter(caption, width):
        return 0.0, width
    return (0.0, width / 2) if caption.bbox[2] <= width / 2 + 10 else (width / 2, width)


def _in_span(box: Box, span: tuple[float, float]) -> bool:
    overlap = min(box[2], span[1]) - max(box[0], span[0])
    return overlap >= 0.5 * max(box[2] - box[0], 1.0)


def _overlaps(box: Box, span: tuple[float, float]) -> bool:
    return min(box[2], span[1]) > max(box[0], span[0])


def _is_barrier(line: Line, span: tuple[float, float], graphics: list[Graphic]) -> bool:
    """Return True for body text or captions, which bound a figure from above."""
    if FIGURE_CAPTION.match(line.text) or TABLE_CAPTION.match(line.text):
        return True
    cx, cy = (line.bbox[0] + line.bbox[2]) / 2, (line.bbox[1] + line.bbox[3]) / 2
    inside = any(g.bbox[0] <= cx <= g.bbox[2] and g.bbox[1] <= cy <= g.bbox[3] for g in graphics)
    return not inside and line.width >= 0.3 * (span[1] - span[0])


def _region_above(
    page: pymupdf.Page, lines: list[Line], i: int, graphics: list[Graphic]
) -> Region | None:
    caption = lines[i]
    span = _span(page, lines, caption)
    cap_top = caption.bbox[1]
    # Any overlap counts for text: a full-width caption also bounds a column figure below it.
    above = [ln for ln in lines[:i] if _overlaps(ln.bbox, span) and ln.bbox[3] <= cap_top + 1]
    barriers = [ln.bbox[3] for ln in above if _is_barrier(ln, span, graphics)]
    top = max(barriers, default=0.0)
    picked = [
        g
        for g in graphics
        if _in_span(g.bbox, span) and g.bbox[1] >= top - 1 and g.bbox[3] <= cap_top + 2
    ]
    if not picked or cap_top - max(g.bbox[3] for g in picked) > NEAR_CAPTION:
        return None
    box = _with_labels(union([g.bbox for g in picked]), above, top)
    if _area(box) < MIN_AREA_FRACTION * page.rect.width * page.rect.height:
        return None
    caption_lines = _caption_lines(lines, i, span)
    text = " ".join(ln.text for ln in caption_lines)
    text = re.sub(r"(\w)- (\w)", r"\1\2", text)
    cap_box = union([ln.bbox for ln in caption_lines])
    return Region(page.number + 1, box, text, tuple(picked), cap_box)


def _with_labels(box: Box, above: list[Line], top: float) -> Box:
    """Grow the box by small text hugging it (axis ticks, legends outside the plot)."""
    grown = pymupdf.Rect(box) + (-16, -12, 16, 12)
    labels = [
        ln.bbox
        for ln in above
        if ln.bbox[1] >= top
        and not ln.bold
        and len(ln.text) < 40
        and pymupdf.Rect(ln.bbox).intersects(grown)
    ]
    return union([box, *labels])


def _caption_lines(lines: list[Line], i: int, span: tuple[float, float]) -> list[Line]:
    """Return the caption's lines: the first and those following at the same size, no gap."""
    parts, prev = [lines[i]], lines[i]
    for line in lines[i + 1 :]:
        if not _in_span(line.bbox, span):
            continue
        gap = line.bbox[1] - prev.bbox[3]
        if gap > 0.6 * prev.size or abs(line.size - prev.size) > 0.6 or gap < -0.5 * prev.size:
            break
        if FIGURE_CAPTION.match(line.text) or TABLE_CAPTION.match(line.text):
            break
        parts.append(line)
        prev = line
    return parts


def _table_graphics(lines: list[Line], graphics: list[Graphic]) -> set[Graphic]:
    """Return graphics hanging below a table caption: the table's rules and cells."""
    claimed: set[Graphic] = set()
    for cap in (ln for ln in lines if TABLE_CAPTION.match(ln.text)):
        bottom = cap.bbox[3]
        for g in sorted(graphics, key=lambda g: g.bbox[1]):
            x_overlap = min(g.bbox[2], cap.bbox[2] + 40) - max(g.bbox[0], cap.bbox[0] - 40)
            # Mostly under the caption: a figure in the other column that merely comes
            # within the 40 pt margin is not part of the table.
            beneath = x_overlap > 0.5 * min(g.bbox[2] - g.bbox[0], cap.bbox[2] - cap.bbox[0] + 80)
            # The first rule sits just under the caption; further parts touch each other.
            reach = 20 if bottom == cap.bbox[3] else 6
            if beneath and bottom - 2 <= g.bbox[1] <= bottom + reach:
                claimed.add(g)
                bottom = max(bottom, g.bbox[3])
    return claimed


@dataclass(frozen=True)
class Image:
    """The bytes to save for a figure, with their format and pixel size."""

    data: bytes
    ext: str
    width: int
    height: int


def figure_image(doc: pymupdf.Document, region: Region) -> Image:
    """Return the figure's image: one embedded raster keeps its bytes, else render the clip."""
    return _embedded(doc, region) or _rendered(doc, region)


def write_figure(region: Region, image: Image, index: int, stem: str, figure_dir: Path) -> Figure:
    """Write the image as the paper's figure `index` and return its record."""
    name = f"{stem}-fig{index}.{image.ext}"
    (figure_dir / name).write_bytes(image.data)
    return Figure(
        index=index,
        page=region.page,
        bbox=tuple(round(v, 2) for v in region.bbox),
        caption=region.caption,
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(image.data).hexdigest(),
        path=name,
    )


def _embedded(doc: pymupdf.Document, region: Region) -> Image | None:
    images = [g for g in region.graphics if g.xref >= 0]
    if len(images) != 1 or images[0].xref == 0:
        return None
    frame = pymupdf.Rect(images[0].bbox) + (-2, -2, 2, 2)
    if any(not frame.contains(pymupdf.Rect(g.bbox)) for g in region.graphics):
        return None
    info = doc.extract_image(images[0].xref)
    # Soft masks and JPX/JBIG2 would not show as they do in the PDF.
    if not info or info.get("smask") or info["ext"] not in WEB_IMAGE_EXTS:
        return None
    if info.get("colorspace") not in (1, 3):  # gray or RGB; CMYK images need converting
        return None
    return Image(info["image"], info["ext"], info["width"], info["height"])


def _rendered(doc: pymupdf.Document, region: Region) -> Image:
    zoom = pymupdf.Matrix(RENDER_ZOOM, RENDER_ZOOM)
    pix = doc[region.page - 1].get_pixmap(matrix=zoom, clip=pymupdf.Rect(region.bbox), alpha=False)
    return Image(pix.tobytes("png"), "png", pix.width, pix.height)
