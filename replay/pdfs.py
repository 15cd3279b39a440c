"""Deterministic paper PDFs made with PyMuPDF, with the truth of what was placed where.

The layout mimics real preprints: a title block, one or two columns, section headings in several
styles, raster and vector figures with captions below, a booktabs table, a header logo, arXiv's
vertical side stamp and a References section. Same spec in, same bytes out.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from dataclasses import dataclass, field

import pymupdf

PAGE_W, PAGE_H = 612.0, 792.0
TOP, BOTTOM = 72.0, 720.0
ONE_COL = ((72.0, 540.0),)
TWO_COL = ((54.0, 297.0), (315.0, 558.0))
BODY_FONT, BOLD_FONT = "tiro", "tibo"
SECTIONS = ("Introduction", "Related Work", "Method", "Experiments", "Conclusion")
SECTION_KEYS = ("introduction", "related_work", "method", "experiments", "conclusion")
ROMAN = ("I", "II", "III", "IV", "V", "VI")
WORDS = (
    "diffusion model sampling denoising score latent prior training objective network "
    "generative image video distribution noise schedule guidance conditional encoder decoder "
    "transformer attention benchmark baseline accuracy robust efficient we propose show that "
    "the of a to in and our method results improves over prior work across datasets quality "
    "fidelity inference steps variance estimate loss gradient optimal learned representation"
).split()


@dataclass(frozen=True)
class FigureSpec:
    """One figure: `kind` is png, jpeg, grid (several rasters), chart or diagram (vector)."""

    kind: str = "png"
    full_width: bool = False
    caption_style: str = "Figure"  # "Figure" -> "Figure k:", "Fig." -> "Fig. k.", "FIGURE"
    section: int = 0  # index into SECTIONS after whose first paragraph the figure goes
    caption: str = ""  # the caption's text after its label; generated words when empty


@dataclass(frozen=True)
class PaperSpec:
    """What to put in a generated paper."""

    title: str
    authors: tuple[str, ...]
    affiliation: str
    abstract: str
    affiliation2: str = ""
    email: str = ""
    affiliations_inline: bool = False  # both affiliations on one line: "¹Univ A  ²Company B"
    two_column: bool = True
    pages: int = 4
    figures: tuple[FigureSpec, ...] = ()
    table: bool = False
    logo: bool = True
    stamp: bool = True
    heading_style: str = "numbered"  # numbered | numbered_caps | plain | caps | roman
    code_link: str = ""
    project_page: str = ""
    seed: int = 0
    # Prose per section (Introduction .. Conclusion) instead of generated filler words.
    section_prose: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placed:
    """Where something landed: 1-based page, bbox in PDF points, caption if any."""

    page: int
    bbox: tuple[float, float, float, float]
    caption: str = ""
    kind: str = ""


@dataclass
class PdfTruth:
    """Ground truth of a generated PDF for the extractor's tests."""

    pages: int = 0
    figures: list[Placed] = field(default_factory=list)
    tables: list[Placed] = field(default_factory=list)
    logos: list[Placed] = field(default_factory=list)
    stamp: Placed | None = None
    sections: list[str] = field(default_factory=list)
    section_text: dict[str, str] = field(default_factory=dict)
    affiliation: str = ""
    links: list[str] = field(default_factory=list)


@functools.cache
def _advance(char: str, font: str) -> float:
    return pymupdf.get_text_length(char, fontname=font, fontsize=1)


def _width(s: str, font: str, size: float) -> float:
    """Return the text width; PyMuPDF's own measure is per-call slow, so cache per glyph."""
    return size * sum(_advance(c, font) for c in s)


@functools.cache
def _font(name: str) -> pymupdf.Font:
    return pymupdf.Font(name)


class _Layout:
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
        lines, line, used = [], [], 0.0
        space = _width(" ", font, size)
        for word in s.split():
            w = _width(word, font, size)
            if line and used + space + w > width:
                lines.append(" ".join(line))
                line, used = [], 0.0
            used += (space if line else 0.0) + w
            line.append(word)
        return lines + [" ".join(line)] if line else lines

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
            w = _width(line, font, size)
            self.text((PAGE_W - w) / 2, self.y - size * 0.25, line, size, font)


def _filler(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(10, 22))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def _heading(style: str, k: int, name: str) -> str:
    return {
        "numbered": f"{k} {name}",
        "numbered_caps": f"{k}. {name.upper()}",
        "plain": name,
        "caps": name.upper(),
        "roman": f"{ROMAN[k - 1]}. {name.upper()}",
    }[style]


def _caption_label(style: str, k: int) -> str:
    return {"Figure": f"Figure {k}:", "Fig.": f"Fig. {k}.", "FIGURE": f"FIGURE {k}."}[style]


def _raster(rng: random.Random, w: int, h: int, fmt: str) -> bytes:
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


def _draw_raster(lay: _Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
    scale = max(1.5, 300 / box.width, 200 / box.height)
    w, h = round(box.width * scale), round(box.height * scale)
    lay.page.insert_image(box, stream=_raster(lay.rng, w, h, spec.kind), keep_proportion=False)
    return box


def _draw_grid(lay: _Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
    """Draw a 2x3 grid of sample images, the usual diffusion-paper figure."""
    cw, ch = (box.width - 8) / 3, (box.height - 4) / 2
    cells = []
    for row in range(2):
        for col in range(3):
            x, y = box.x0 + col * (cw + 4), box.y0 + row * (ch + 4)
            cell = pymupdf.Rect(x, y, x + cw, y + ch)
            lay.page.insert_image(cell, stream=_raster(lay.rng, 128, 128, "png"))
            cells.append(cell)
    return _union(cells)


def _draw_chart(lay: _Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
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


def _draw_diagram(lay: _Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
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


def _label(lay: _Layout, x: float, y: float, s: str, size: float) -> pymupdf.Rect:
    """Write a small label and return its box (baseline at y)."""
    lay.text(x, y, s, size, "helv")
    return pymupdf.Rect(x, y - size * 0.8, x + _width(s, "helv", size), y + size * 0.2)


def _draw_plot(lay: _Layout, box: pymupdf.Rect, spec: FigureSpec) -> pymupdf.Rect:
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


def _caption_text(rng: random.Random, label: str) -> str:
    return f"{label} {_filler(rng, rng.randint(1, 3))}"


def _place_figure(lay: _Layout, k: int, spec: FigureSpec, truth: PdfTruth) -> None:
    """Place figure `k` in the current column, or queue it for the top of the next page."""
    rng = lay.rng
    label = _caption_label(spec.caption_style, k)
    caption = f"{label} {spec.caption}" if spec.caption else _caption_text(rng, label)
    if spec.full_width and len(lay.cols) == 2:
        lay.pending_wide.append(lambda: _draw_wide(lay, spec, caption, truth))
        return
    width = lay.width * rng.uniform(0.8, 1.0)
    height = width * rng.uniform(0.5, 0.75)
    cap_lines = lay.wrap(caption, lay.width, 9)
    lay.ensure(height + 8 + len(cap_lines) * 11 + 10)
    x0 = lay.x0 + (lay.width - width) / 2
    box = pymupdf.Rect(x0, lay.y + 4, x0 + width, lay.y + 4 + height)
    drawn = DRAWERS[spec.kind](lay, box, spec)
    truth.figures.append(Placed(len(lay.doc), tuple(drawn), caption, spec.kind))
    lay.y = box.y1 + 4
    lay.paragraph(caption, size=9, gap=10)


def _draw_wide(lay: _Layout, spec: FigureSpec, caption: str, truth: PdfTruth) -> None:
    """Draw a full-width figure at the top of a fresh page, above both columns."""
    x0, x1 = TWO_COL[0][0], TWO_COL[1][1]
    height = (x1 - x0) * lay.rng.uniform(0.3, 0.42)
    box = pymupdf.Rect(x0 + 10, TOP, x1 - 10, TOP + height)
    drawn = DRAWERS[spec.kind](lay, box, spec)
    truth.figures.append(Placed(len(lay.doc), tuple(drawn), caption, spec.kind))
    lay.y = box.y1 + 4
    for line in lay.wrap(caption, x1 - x0, 9):
        lay.y += 10.8
        lay.text(x0, lay.y - 2.25, line, 9)
    lay.col_top = lay.y = lay.y + 14


def _place_table(lay: _Layout, truth: PdfTruth) -> None:
    """Draw a booktabs table with its caption above, as vector rules and text."""
    caption = "Table 1: Quantitative comparison with baselines on standard benchmarks."
    rows = [("Method", "FID", "IS", "Steps")] + [
        (name, f"{lay.rng.uniform(2, 30):.1f}", f"{lay.rng.uniform(50, 300):.0f}", "50")
        for name in ("DDPM", "DDIM", "EDM", "Ours")
    ]
    lay.ensure(len(rows) * 12 + 40)
    lay.paragraph(caption, size=9, gap=4)
    top, x0, x1 = lay.y, lay.x0 + 4, lay.x0 + lay.width - 4
    cw = (x1 - x0) / 4
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            lay.text(x0 + c * cw + 2, top + 12 * (r + 1) - 2, cell, 8)
    bottom = top + 12 * len(rows) + 3
    for y in (top, top + 13, bottom):
        lay.shape.draw_line((x0, y), (x1, y))
    lay.shape.finish(color=(0, 0, 0), width=0.6)
    truth.tables.append(Placed(len(lay.doc), (x0, top, x1, bottom), caption, "table"))
    lay.y = bottom + 12


def _title_block(lay: _Layout, spec: PaperSpec, truth: PdfTruth) -> None:
    """Write the header, side stamp, title, authors with markers, affiliations and email."""
    if spec.logo:
        logo = pymupdf.Rect(72, 30, 96, 54)
        lay.page.insert_image(logo, stream=_raster(lay.rng, 40, 40, "png"))
        truth.logos.append(Placed(1, tuple(logo), kind="logo"))
    lay.text(102, 46, "Preprint. Under review.", 8, "helv")
    if spec.stamp:
        stamp = f"arXiv:2410.{spec.seed % 99999:05d}v1  [cs.CV]  7 Oct 2024"
        lay.text(34, 560, stamp, 20, color=(0.5, 0.5, 0.5), rotate=90)
        truth.stamp = Placed(1, (14.0, 560 - 20 * len(stamp) * 0.5, 38.0, 560.0), kind="stamp")
    lay.centered(spec.title, 16, BOLD_FONT)
    lay.y += 8
    _author_line(lay, spec)
    if not spec.affiliation2:
        _marked_line(lay, [("", spec.affiliation)])
    elif spec.affiliations_inline:
        _marked_line(lay, [("1", spec.affiliation + "   "), ("2", spec.affiliation2)])
    else:
        _marked_line(lay, [("1", spec.affiliation)])
        _marked_line(lay, [("2", spec.affiliation2)])
    if spec.email:
        lay.centered(spec.email, 9, "cour")
    lay.col_top = lay.y = lay.y + 16
    truth.affiliation = spec.affiliation


def _marked_line(lay: _Layout, parts: list[tuple[str, str]], size: float = 10) -> None:
    """Write a centred line of texts each led by a superscript marker."""
    widths = [_width(m, BODY_FONT, size * 0.65) + _width(t, BODY_FONT, size) for m, t in parts]
    lay.y += size * 1.25
    x = (PAGE_W - sum(widths)) / 2
    for (mark, text), w in zip(parts, widths, strict=True):
        lay.text(x, lay.y - size * 0.25 - size * 0.35, mark, size * 0.65)
        lay.text(x + _width(mark, BODY_FONT, size * 0.65), lay.y - size * 0.25, text, size)
        x += w


def _author_line(lay: _Layout, spec: PaperSpec) -> None:
    """Write authors centred with superscript affiliation markers after each name."""
    pieces = []
    for i, name in enumerate(spec.authors):
        mark = "1" if not spec.affiliation2 or i % 2 == 0 else "2"
        if i == 0 and spec.email:
            mark += "*"
        pieces.append((name + ("," if i < len(spec.authors) - 1 else ""), mark))
    widths = [_width(n, BODY_FONT, 11) + _width(m, BODY_FONT, 7) + 5 for n, m in pieces]
    lay.y += 14
    x = (PAGE_W - sum(widths)) / 2
    for (name, mark), w in zip(pieces, widths, strict=True):
        lay.text(x, lay.y, name.rstrip(","), 11)
        nw = _width(name.rstrip(","), BODY_FONT, 11)
        lay.text(x + nw, lay.y - 4, mark, 7)
        if name.endswith(","):
            lay.text(x + nw + _width(mark, BODY_FONT, 7), lay.y, ",", 11)
        x += w
    lay.y += 4


def _body(lay: _Layout, spec: PaperSpec, truth: PdfTruth) -> None:
    """Write abstract, sections with figures/table, and references to fill `spec.pages`."""
    rng = lay.rng
    lay.paragraph("Abstract", size=11, font=BOLD_FONT, gap=2)
    abstract = spec.abstract
    if spec.project_page:
        abstract += f" Project page: {spec.project_page}."
    lay.paragraph(abstract, gap=10)
    truth.sections.append("abstract")
    truth.section_text["abstract"] = abstract
    # A page holds about nine filler paragraphs in either layout; floats and title eat some.
    floats = sum(3 if f.full_width else 1.5 for f in spec.figures) + 2 * spec.table
    budget = max(5, int((spec.pages - 0.3) * 9 - 4 - floats))
    by_section = {i: [f for f in enumerate(spec.figures, 1) if f[1].section == i] for i in range(5)}
    for i, name in enumerate(SECTIONS):
        lay.ensure(40)
        lay.y += 6
        lay.paragraph(_heading(spec.heading_style, i + 1, name), size=11, font=BOLD_FONT, gap=3)
        truth.sections.append(SECTION_KEYS[i])
        n = max(1, budget // 5)
        for p in range(n):
            text = _paragraph_text(rng, spec, i, p)
            lay.paragraph(text)
            key = SECTION_KEYS[i]
            truth.section_text[key] = f"{truth.section_text.get(key, '')} {text}".strip()
            if p == 0:
                # The table comes first so a figure can sit right under it, as floats do.
                if i == 3 and spec.table:
                    _place_table(lay, truth)
                for k, fig in by_section[i]:
                    _place_figure(lay, k, fig, truth)
    _references(lay, rng)
    if lay.pending_wide:  # a wide float queued on the last page still has to appear
        lay.new_page()
    lay.finish_page()


def _paragraph_text(rng: random.Random, spec: PaperSpec, section: int, p: int) -> str:
    if spec.section_prose:
        # Only the given prose, so nothing generated reaches a summary built from the text.
        return spec.section_prose[section] if p == 0 else ""
    else:
        text = _filler(rng, rng.randint(4, 7))
    if spec.code_link and p == 0 and section in (0, 4):
        text += f" Our code is available at {spec.code_link}."
    if spec.code_link and p == 1 and section == 3:
        text += f" See ({spec.code_link}) for the training scripts."
    return text


def _references(lay: _Layout, rng: random.Random) -> None:
    lay.ensure(60)
    lay.y += 6
    lay.paragraph("References", size=11, font=BOLD_FONT, gap=3)
    for i in range(1, 9):
        ref = f"[{i}] A. Author and B. Writer. {_filler(rng, 1)} In NeurIPS, 20{10 + i}."
        if i == 3:
            ref += " https://github.com/other/baseline."
        lay.paragraph(ref, size=8, gap=2)


def make_paper_pdf(spec: PaperSpec) -> tuple[bytes, PdfTruth]:
    """Return the PDF bytes for `spec` and the truth of what was placed where."""
    rng = random.Random(spec.seed)
    doc = pymupdf.open()
    truth = PdfTruth()
    lay = _Layout(doc, spec.two_column, rng)
    _title_block(lay, spec, truth)
    _body(lay, spec, truth)
    truth.pages = len(doc)
    truth.links = [u for u in (spec.project_page, spec.code_link) if u]
    doc.set_metadata({"title": spec.title, "author": ", ".join(spec.authors)})
    # Fixed ids and no timestamps keep the bytes identical for the same spec.
    data = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return data, truth


def _handmade_pdf(pages: int) -> bytes:
    """Return a PDF of `pages` blank pages written by hand.

    PyMuPDF refuses to save a document without pages, and writing 2000 pages by hand is
    much faster than `new_page` in a loop.
    """
    kids = " ".join(f"{n} 0 R" for n in range(3, 3 + pages))
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> >>"
    objs += [page] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_bad_pdfs() -> dict[str, bytes]:
    """Return PDFs that extraction must refuse or bound, keyed by what is wrong with them."""
    good, _ = make_paper_pdf(sample_spec(0))
    doc = pymupdf.open("pdf", good)
    encrypted = doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner"
    )
    doc.close()
    garbage = random.Random(7).randbytes(4000)
    return {
        "encrypted": encrypted,
        "corrupt": b"%PDF-1.7\n" + garbage + b"\n%%EOF\n",
        "truncated": good[: len(good) // 2],
        "zero_pages": _handmade_pdf(0),
        "huge": _handmade_pdf(2000),
        "html": b"<!DOCTYPE html>\n<html><head><title>arXiv</title></head>"
        b"<body><p>Rate exceeded.</p></body></html>\n",
        "empty": b"",
    }


def sample_spec(seed: int) -> PaperSpec:
    """Return a varied spec for test corpora: layout, styles and figure kinds follow `seed`."""
    rng = random.Random(seed)
    kinds = ("png", "jpeg", "grid", "chart", "diagram", "plot")
    n = rng.randint(2, 4)
    figures = tuple(
        FigureSpec(
            kind=kinds[(seed + i) % len(kinds)],
            full_width=(i == 1 and seed % 2 == 0),
            caption_style=("Figure", "Fig.", "FIGURE")[(seed + i) % 3],
            section=min(4, i + 1),
        )
        for i in range(n)
    )
    two = seed % 3 != 1
    return PaperSpec(
        title=f"Scalable Diffusion Sampling via Learned Schedules {seed}",
        authors=("Alice Smith", "Bob Jones", "Carol Wu")[: 2 + seed % 2],
        affiliation="Department of Computer Science, Stanford University",
        affiliation2="Google DeepMind" if seed % 2 else "",
        email=("alice@cs.stanford.edu", "{alice,bob}@stanford.edu", "", "")[seed % 4],
        affiliations_inline=seed % 4 == 1,
        abstract=_filler(rng, 5),
        two_column=two,
        pages=4 + seed % 3,
        figures=figures,
        table=seed % 2 == 1,
        heading_style=("numbered", "numbered_caps", "plain", "caps", "roman")[seed % 5],
        code_link="https://github.com/org/repo",
        project_page="https://alice.github.io/sched/" if seed % 3 == 0 else "",
        seed=seed,
    )


_META_LINK = re.compile(r"https?://(?:github\.com|gitlab\.com|huggingface\.co)/[\w./-]*\w")
SECTION_COUNT = len(SECTIONS)
DEMO_CAPTION = "A synthetic {} drawn by the demo's PDF generator; not from the paper."


def _prose_from_abstract(abstract: str) -> tuple[str, ...]:
    """Spread the abstract's own sentences over the five sections, in order."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(abstract.split())) if s]
    sentences = sentences or [abstract or "No abstract."]
    share = -(-len(sentences) // SECTION_COUNT)
    parts = [" ".join(sentences[i * share : (i + 1) * share]) for i in range(SECTION_COUNT)]
    return tuple(part or sentences[-1] for part in parts)


def spec_from_metadata(
    title: str, authors: list[str] | tuple[str, ...], abstract: str, affiliation: str, seed: int
) -> PaperSpec:
    """Return a demo spec for a paper's metadata: two columns, 4 pages, raster+vector, table.

    The text of each section is the abstract's own sentences, and the code link is the one the
    abstract names (none otherwise), so the demo shows no invented link.
    """
    mixed = seed ^ int(hashlib.sha256(title.encode()).hexdigest()[:8], 16)
    code = _META_LINK.search(abstract)
    return PaperSpec(
        title=title,
        authors=tuple(authors) or ("Anonymous",),
        affiliation=affiliation,
        abstract=abstract,
        two_column=True,
        pages=4,
        figures=(
            FigureSpec("png", section=0, caption=DEMO_CAPTION.format("image")),
            FigureSpec("chart", section=3, caption=DEMO_CAPTION.format("chart")),
        ),
        table=True,
        logo=True,
        code_link=code.group(0) if code else "",
        seed=mixed,
        section_prose=_prose_from_abstract(abstract),
    )
