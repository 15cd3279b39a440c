"""Page layout and drawing for generated papers: a cursor over columns, figures, labels."""

from __future__ import annotations

import functools
import random

import pymupdf

from replay.paper_spec import (
    BODY_FONT,
    BOTTOM,
    ONE_COL,
    PAGE_H,
    PAGE_W,
    ROMAN,
    TOP,
    TWO_COL,
    WORDS,
    FigureSpec,
)


@functools.cache
def _advance(char: str, font: str) -> float:
    return pymupdf.get_text_length(char, fontname=font, fontsize=1)


def text_width(s: str, font: str, size: float) -> float:
    """Return the text width; PyMuPDF's own measure is per-call slow, so cache per glyph."""
    return size * sum(_advance(c, font) for c in s)


@functools.cache
def _font(name: str) -> pymupdf.Font:
    return pymupdf.Font(name)


class Layout:
    """A cursor over pages and columns that writes text and floats with one Shape per page."""

    def __init__(self, doc: pymupdf.Document, two_column: bool, rng: random.Random):
        self.doc, self.rng = doc, rng
        self.cols = TWO_COL if two_column else ONE_COL
        self.shapes: list[pymupdf.Shape] = []
        self.pending_wide: list = []
        self.col, self.y, self.col_top = 0, TOP, TOP
        self.new_page()

    @property
    def page(self) -> pymupdf.Page:
        return self.doc[-1]

    @property
    def shape(self) -> pymupdf.Shape:
        return self.shapes[-1]

    @property
    def x0(self) -> float:
        return self.cols[self.col][0]

    @property
    def width(self) -> float:
        return self.cols[self.col][1] - self.cols[self.col][0]

    def new_page(self) -> None:
        if self.shapes:
            self.finish_page()
        self.doc.new_page(width=PAGE_W, height=PAGE_H)
        self.shapes.append(self.page.new_shape())
        self.writer = pymupdf.TextWriter(self.page.rect)
        self.col, self.y, self.col_top = 0, TOP, TOP
        number = str(len(self.doc))
        self.text(PAGE_W / 2 - 3, BOTTOM + 30, number, 9)
        pending, self.pending_wide = self.pending_wide, []
        for draw in pending:
            draw()

    def ensure(self, height: float) -> None:
        """Move to the next column or page unless `height` fits below the cursor."""
        if self.y + height <= BOTTOM:
            return
        if self.col + 1 < len(self.cols):
            self.col, self.y = self.col + 1, self.col_top
        else:
            self.new_page()

    def finish_page(self) -> None:
        self.shape.commit()
        self.writer.write_text(self.page)

    def text(self, x: float, y: float, s: str, size: float, font: str = BODY_FONT, **kw) -> None:
        # A TextWriter per page is far faster than Shape.insert_text, which rescans fonts.
        if kw:
            self.shape.insert_text((x, y), s, fontname=font, fontsize=size, **kw)
        else:
            self.writer.append((x, y), s, font=_font(font), fontsize=size)

    def wrap(self, s: str, width: float, size: float, font: str = BODY_FONT) -> list[str]:
        lines: list[str] = []
        line: list[str] = []
        used = 0.0
        space = text_width(" ", font, size)
        for word in s.split():
            w = text_width(word, font, size)
            if line and used + space + w > width:
                lines.append(" ".join(line))
                line, used = [], 0.0
            used += (space if line else 0.0) + w
            line.append(word)
        return [*lines, " ".join(line)] if line else lines

    def paragraph(self, s: str, size: float = 10, font: str = BODY_FONT, gap: float = 6) -> None:
        lead = size * 1.2
        for line in self.wrap(s, self.width, size, font):
            self.ensure(lead)
            self.y += lead
            self.text(self.x0, self.y - size * 0.25, line, size, font)
        self.y += gap

    def centered(self, s: str, size: float, font: str = BODY_FONT, lead: float = 1.25) -> None:
        for line in self.wrap(s, ONE_COL[0][1] - ONE_COL[0][0], size, font):
            self.y += size * lead
            w = text_width(line, font, size)
            self.text((PAGE_W - w) / 2, self.y - size * 0.25, line, size, font)


def filler(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(10, 22))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def heading(style: str, k: int, name: str) -> str:
    return {
        "numbered": f"{k} {name}",
        "numbered_caps": f"{k}. {name.upper()}",
        "plain": name,
        "caps": name.upper(),
        "roman": f"{ROMAN[k - 1]}. {name.upper()}",
    }[style]


def caption_label(style: str, k: int) -> str:
    return {"Figure": f"Figure {k}:", "Fig.": f"Fig. {k}.", "FIGURE": f"FIGURE {k}."}[style]


def raster(rng: random.Random, w: int, h: int, fmt: str) -> bytes:
    """Return a PNG or JPEG of gradients and shapes, rendered from a scratch page."""
    scratch = pymupdf.open()
    page = scratch.new_page(width=w, height=h)
    shape = page.new_shape()
    base = [rng.random() for _ in range(3)]
    for i in range(0, h, 6):
        t = i / h
        color = tuple(min(1.0, c * (1 - t) + t * 0.9) for c in base)
        shape.draw_rect(pymupdf.Rect(0, i, w, i + 6))
        shape.finish(color=None, fill=color)
    for _ in range(6):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, h / 3)
        shape.draw_circle((cx, cy), r)
        shape.finish(color=None, fill=tuple(rng.random() for _ in range(3)))
    shape.commit()
    pix = page.get_pixmap()
    data = pix.tobytes("jpg" if fmt == "jpeg" else "png")
    scratch.close()
    return data


def _union(rects: list[pymupdf.Rect]) -> pymupdf.Rect:
    """Return the union; PyMuPDF's `|` ignores zero-height rects such as axis lines."""
    return pymupdf.Rect(
        min(r.x0 for r in rects),
        min(r.y0 for r in rects),
        max(r.x1 for r in rects),
        max(r.y1 for r in rects),
    )


def _draw_raster(lay: Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
    scale = max(1.5, 300 / box.width, 200 / box.height)
    w, h = round(box.width * scale), round(box.height * scale)
    lay.page.insert_image(box, stream=raster(lay.rng, w, h, spec.kind), keep_proportion=False)
    return box


def _draw_grid(lay: Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
    """Draw a 2x3 grid of sample images, the usual diffusion-paper figure."""
    cw, ch = (box.width - 8) / 3, (box.height - 4) / 2
    cells = []
    for row in range(2):
        for col in range(3):
            x, y = box.x0 + col * (cw + 4), box.y0 + row * (ch + 4)
            cell = pymupdf.Rect(x, y, x + cw, y + ch)
            lay.page.insert_image(cell, stream=raster(lay.rng, 128, 128, "png"))
            cells.append(cell)
    return _union(cells)


def _draw_chart(lay: Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
    """Draw a line chart on a grey background with ticks, labels and a legend."""
    sh, rng = lay.shape, lay.rng
    sh.draw_rect(box)
    sh.finish(color=None, fill=(0.93, 0.93, 0.95))
    plot = pymupdf.Rect(box.x0 + 24, box.y0 + 8, box.x1 - 8, box.y1 - 18)
    for i in range(5):
        y = plot.y0 + i * plot.height / 4
        sh.draw_line((plot.x0, y), (plot.x1, y))
        lay.text(box.x0 + 3, y + 3, f"{1 - i * 0.25:.2f}", 6, "helv")
    sh.finish(color=(1, 1, 1), width=0.8)
    for color in ((0.1, 0.3, 0.8), (0.85, 0.3, 0.1)):
        pts = [
            (plot.x0 + i * plot.width / 9, plot.y1 - rng.uniform(0.1, 0.9) * plot.height)
            for i in range(10)
        ]
        sh.draw_polyline(pts)
        sh.finish(color=color, width=1.2, closePath=False)
    lay.text(plot.x0 + plot.width / 2 - 10, box.y1 - 5, "Steps", 7, "helv")
    legend = pymupdf.Rect(plot.x1 - 60, plot.y0 + 4, plot.x1 - 4, plot.y0 + 26)
    sh.draw_rect(legend)
    sh.finish(color=(0.5, 0.5, 0.5), fill=(1, 1, 1), width=0.5)
    lay.text(legend.x0 + 4, legend.y0 + 9, "Ours", 6, "helv")
    lay.text(legend.x0 + 4, legend.y0 + 18, "Baseline", 6, "helv")
    return box


def _draw_diagram(lay: Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
    """Draw a pipeline diagram: labelled boxes joined by arrows, no background."""
    sh = lay.shape
    n, gap = 4, 14.0
    bw = (box.width - gap * (n - 1)) / n
    parts = []
    for i, label in enumerate(("Input", "Encoder", "Denoiser", "Output")):
        x = box.x0 + i * (bw + gap)
        y0 = box.y0 + (i % 2) * box.height * 0.3
        cell = pymupdf.Rect(x, y0, x + bw, y0 + box.height * 0.7)
        sh.draw_rect(cell)
        sh.finish(color=(0.2, 0.2, 0.2), fill=(0.8, 0.9, 1.0 - 0.15 * i), width=0.8)
        lay.text(cell.x0 + 3, cell.y0 + cell.height / 2, label, 6, "helv")
        parts.append(cell)
        if i:
            mid = cell.y0 + cell.height / 2
            sh.draw_line((x - gap + 1, mid), (x - 1, mid))
            sh.draw_polyline([(x - 5, mid - 3), (x - 1, mid), (x - 5, mid + 3)])
            sh.finish(color=(0, 0, 0), width=0.8, closePath=False)
    return _union(parts)


def _label(lay: Layout, x: float, y: float, s: str, size: float) -> pymupdf.Rect:
    """Write a small label and return its box (baseline at y)."""
    lay.text(x, y, s, size, "helv")
    return pymupdf.Rect(x, y - size * 0.8, x + text_width(s, "helv", size), y + size * 0.2)


def _draw_plot(lay: Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
    """Draw bare axes with tick labels outside them, like a matplotlib default figure."""
    sh, rng = lay.shape, lay.rng
    plot = pymupdf.Rect(box.x0 + 22, box.y0 + 4, box.x1 - 4, box.y1 - 16)
    sh.draw_polyline([(plot.x0, plot.y0), (plot.x0, plot.y1), (plot.x1, plot.y1)])
    sh.finish(color=(0, 0, 0), width=0.7, closePath=False)
    parts = [pymupdf.Rect(plot.x0, plot.y0, plot.x1, plot.y1)]
    for i in range(4):
        y = plot.y1 - i * plot.height / 3
        parts.append(_label(lay, box.x0, y + 2, f"{i * 10:>3}", 6))
        x = plot.x0 + i * plot.width / 3
        parts.append(_label(lay, x - 3, plot.y1 + 9, f"{i * 5}", 6))
    pts = [
        (plot.x0 + i * plot.width / 11, plot.y1 - rng.uniform(0.05, 0.95) * plot.height)
        for i in range(12)
    ]
    sh.draw_polyline(pts)
    sh.finish(color=(0.2, 0.5, 0.2), width=1.0, closePath=False)
    return _union(parts)


DRAWERS = {
    "png": _draw_raster,
    "jpeg": _draw_raster,
    "grid": _draw_grid,
    "chart": _draw_chart,
    "diagram": _draw_diagram,
    "plot": _draw_plot,
}
