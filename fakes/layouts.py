"""One-page PDFs that reproduce layout features of real papers, drawn with PyMuPDF.

Each generator places text word by word at known positions, so a test knows where every
figure, caption and line is. Inter-word spaces are drawn as runs of their own in another font
(as many real PDFs do), or left out as a gap between words.
"""

from __future__ import annotations

import pymupdf

WIDTH, HEIGHT = 612, 792
LEFT, RIGHT = 72, 540
BODY = 10.0
FILLER = "we study how the model learns from data and report results on every task here".split()


UNICODE = "uni"  # MuPDF's built-in Droid Sans Fallback: marks like † □ ◇ and curly quotes


def new_page() -> tuple[pymupdf.Document, pymupdf.Page]:
    doc = pymupdf.open()
    page = doc.new_page(width=WIDTH, height=HEIGHT)
    page.insert_font(fontname=UNICODE, fontbuffer=pymupdf.Font("cjk").buffer)
    return doc, page


def words(
    page: pymupdf.Page,
    x: float,
    y: float,
    text: str,
    size: float = BODY,
    font: str = "helv",
    gap_only: bool = False,
) -> float:
    """Draw `text` at baseline y, each space a run in another font (or only a gap); return x."""
    for i, word in enumerate(text.split()):
        if i and gap_only:
            x += 0.3 * size
        elif i:
            page.insert_text((x, y), " ", fontname="tiro", fontsize=size)
            x += pymupdf.get_text_length(" ", "tiro", size)
        page.insert_text((x, y), word, fontname=font, fontsize=size)
        x += _length(word, font, size)
    return x


def _length(text: str, font: str, size: float) -> float:
    if font == UNICODE:
        return pymupdf.Font("cjk").text_length(text, fontsize=size)
    return pymupdf.get_text_length(text, font, size)


def marked(
    page: pymupdf.Page, x: float, y: float, parts: list[tuple[str, str]], size: float = BODY
) -> None:
    """Draw text runs each followed by a raised small marker: [("Ann Lee", "1"), ...]."""
    for text, mark in parts:
        x = words(page, x, y, text, size)
        if mark:
            page.insert_text((x, y - 0.35 * size), mark, fontname=UNICODE, fontsize=0.65 * size)
            x += _length(mark, UNICODE, 0.65 * size) + 1


def paragraph(
    page: pymupdf.Page,
    y: float,
    lines: int,
    x0: float = LEFT,
    x1: float = RIGHT,
    size: float = BODY,
) -> float:
    """Draw body text lines filling x0..x1 from baseline y; return the next free baseline."""
    for n in range(lines):
        text, k = [], n
        while (
            pymupdf.get_text_length(" ".join([*text, FILLER[k % len(FILLER)]]), "helv", size)
            < x1 - x0
        ):
            text.append(FILLER[k % len(FILLER)])
            k += 1
        words(page, x0, y, " ".join(text), size)
        y += 1.2 * size
    return y + 0.6 * size


def chart(page: pymupdf.Page, rect: pymupdf.Rect, labels: bool = True) -> None:
    """Draw a line chart: a frame, a curve, and small tick labels outside the frame."""
    page.draw_rect(rect, color=(0, 0, 0), width=0.8)
    points = [
        (rect.x0 + rect.width * i / 8, rect.y1 - rect.height * (i % 3 + 1) / 4) for i in range(9)
    ]
    page.draw_polyline(points, color=(0.1, 0.3, 0.9), width=1.2, lineJoin=1)
    if labels:
        for i in range(3):
            page.insert_text((rect.x0 + i * rect.width / 2, rect.y1 + 8), f"{i}gy", fontsize=7)
            page.insert_text((rect.x0 - 16, rect.y1 - i * rect.height / 2), f"{i}.5", fontsize=7)


def picture(page: pymupdf.Page, rect: pymupdf.Rect, shade: int = 120) -> None:
    """Place a small raster image filling `rect`."""
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 120, 90), False)
    pix.clear_with(shade)
    page.insert_image(rect, pixmap=pix)


def done(doc: pymupdf.Document) -> bytes:
    data = doc.tobytes()
    doc.close()
    return data
