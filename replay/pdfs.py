"""Deterministic paper PDFs made with PyMuPDF, with the truth of what was placed where.

The layout mimics real preprints: a title block, one or two columns, section headings in several
styles, raster and vector figures with captions below, a booktabs table, a header logo, arXiv's
vertical side stamp and a References section. Same spec in, same bytes out.
"""

from __future__ import annotations

import hashlib
import random
import re

import pymupdf

from replay.paper_spec import (
    BODY_FONT,
    BOLD_FONT,
    PAGE_W,
    SECTION_KEYS,
    SECTIONS,
    TOP,
    TWO_COL,
    FigureSpec,
    PaperSpec,
    PdfTruth,
    Placed,
)
from replay.pdf_layout import DRAWERS, Layout, caption_label, filler, heading, raster, text_width


def _box(rect: pymupdf.Rect) -> tuple[float, float, float, float]:
    return (rect.x0, rect.y0, rect.x1, rect.y1)  # tuple(rect), typed


def _caption_text(rng: random.Random, label: str) -> str:
    return f"{label} {filler(rng, rng.randint(1, 3))}"


def _place_figure(lay: Layout, k: int, spec: FigureSpec, truth: PdfTruth) -> None:
    """Place figure `k` in the current column, or queue it for the top of the next page."""
    rng = lay.rng
    label = caption_label(spec.caption_style, k)
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
    truth.figures.append(Placed(len(lay.doc), _box(drawn), caption, spec.kind))
    lay.y = box.y1 + 4
    lay.paragraph(caption, size=9, gap=10)


def _draw_wide(lay: Layout, spec: FigureSpec, caption: str, truth: PdfTruth) -> None:
    """Draw a full-width figure at the top of a fresh page, above both columns."""
    x0, x1 = TWO_COL[0][0], TWO_COL[1][1]
    height = (x1 - x0) * lay.rng.uniform(0.3, 0.42)
    box = pymupdf.Rect(x0 + 10, TOP, x1 - 10, TOP + height)
    drawn = DRAWERS[spec.kind](lay, box, spec)
    truth.figures.append(Placed(len(lay.doc), _box(drawn), caption, spec.kind))
    lay.y = box.y1 + 4
    for line in lay.wrap(caption, x1 - x0, 9):
        lay.y += 10.8
        lay.text(x0, lay.y - 2.25, line, 9)
    lay.col_top = lay.y = lay.y + 14


def _place_table(lay: Layout, truth: PdfTruth) -> None:
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


def _title_block(lay: Layout, spec: PaperSpec, truth: PdfTruth) -> None:
    """Write the header, side stamp, title, authors with markers, affiliations and email."""
    if spec.logo:
        logo = pymupdf.Rect(72, 30, 96, 54)
        lay.page.insert_image(logo, stream=raster(lay.rng, 40, 40, "png"))
        truth.logos.append(Placed(1, _box(logo), kind="logo"))
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


def _marked_line(lay: Layout, parts: list[tuple[str, str]], size: float = 10) -> None:
    """Write a centred line of texts each led by a superscript marker."""
    widths = [
        text_width(m, BODY_FONT, size * 0.65) + text_width(t, BODY_FONT, size) for m, t in parts
    ]
    lay.y += size * 1.25
    x = (PAGE_W - sum(widths)) / 2
    for (mark, text), w in zip(parts, widths, strict=True):
        lay.text(x, lay.y - size * 0.25 - size * 0.35, mark, size * 0.65)
        lay.text(x + text_width(mark, BODY_FONT, size * 0.65), lay.y - size * 0.25, text, size)
        x += w


def _author_line(lay: Layout, spec: PaperSpec) -> None:
    """Write authors centred with superscript affiliation markers after each name."""
    pieces = []
    for i, name in enumerate(spec.authors):
        mark = "1" if not spec.affiliation2 or i % 2 == 0 else "2"
        if i == 0 and spec.email:
            mark += "*"
        pieces.append((name + ("," if i < len(spec.authors) - 1 else ""), mark))
    widths = [text_width(n, BODY_FONT, 11) + text_width(m, BODY_FONT, 7) + 5 for n, m in pieces]
    lay.y += 14
    x = (PAGE_W - sum(widths)) / 2
    for (name, mark), w in zip(pieces, widths, strict=True):
        lay.text(x, lay.y, name.rstrip(","), 11)
        nw = text_width(name.rstrip(","), BODY_FONT, 11)
        lay.text(x + nw, lay.y - 4, mark, 7)
        if name.endswith(","):
            lay.text(x + nw + text_width(mark, BODY_FONT, 7), lay.y, ",", 11)
        x += w
    lay.y += 4


def _body(lay: Layout, spec: PaperSpec, truth: PdfTruth) -> None:
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
        lay.paragraph(heading(spec.heading_style, i + 1, name), size=11, font=BOLD_FONT, gap=3)
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
    text = filler(rng, rng.randint(4, 7))
    if spec.code_link and p == 0 and section in (0, 4):
        text += f" Our code is available at {spec.code_link}."
    if spec.code_link and p == 1 and section == 3:
        text += f" See ({spec.code_link}) for the training scripts."
    return text


def _references(lay: Layout, rng: random.Random) -> None:
    lay.ensure(60)
    lay.y += 6
    lay.paragraph("References", size=11, font=BOLD_FONT, gap=3)
    for i in range(1, 9):
        ref = f"[{i}] A. Author and B. Writer. {filler(rng, 1)} In NeurIPS, 20{10 + i}."
        if i == 3:
            ref += " https://github.com/other/baseline."
        lay.paragraph(ref, size=8, gap=2)


def make_paper_pdf(spec: PaperSpec) -> tuple[bytes, PdfTruth]:
    """Return the PDF bytes for `spec` and the truth of what was placed where."""
    rng = random.Random(spec.seed)
    doc = pymupdf.open()
    truth = PdfTruth()
    lay = Layout(doc, spec.two_column, rng)
    _title_block(lay, spec, truth)
    _body(lay, spec, truth)
    truth.pages = len(doc)
    truth.links = [u for u in (spec.project_page, spec.code_link) if u]
    doc.set_metadata({"title": spec.title, "author": ", ".join(spec.authors)})
    # Fixed ids and no timestamps keep the bytes identical for the same spec.
    data = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return data, truth


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
