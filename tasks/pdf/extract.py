"""Read a paper's PDF: sections, first-author affiliation, code links and captioned figures.

Pure functions with plain arguments and a picklable result, so `extract_pdf` can run in a
guarded child process.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pymupdf

from tasks.domain import Extraction, Figure, file_stem
from tasks.errors import ExtractError
from tasks.pdf.affiliation import first_affiliation
from tasks.pdf.crops import figure_image, write_figure
from tasks.pdf.figures import Region, find_regions
from tasks.pdf.lines import Line, body_size, page_lines, reading_order
from tasks.pdf.links import find_links
from tasks.pdf.sections import split_sections
from tasks.pdf.validate import check_pdf

MAX_PAGES = 300


def extract_pdf(
    pdf_path: Path,
    arxiv_id: str,
    version: int,
    figure_dir: Path,
    max_figures: int = 4,
    max_pages: int = MAX_PAGES,
) -> Extraction:
    """Read sections, affiliation, links and up to `max_figures` figures from a paper's PDF.

    Every page is read for text and figures; figure pages are 1-based and figure files go to
    `figure_dir`, replacing this version's old ones.
    """
    paper = f"{arxiv_id}v{version}"
    doc = open_pdf(pdf_path, paper)
    if doc.page_count > max_pages:
        count = doc.page_count
        doc.close()
        raise ExtractError(f"PDF has {count} pages, over the cap of {max_pages}", paper)
    try:
        return _extract(doc, arxiv_id, version, figure_dir, max_figures)
    except (RuntimeError, ValueError) as exc:  # pymupdf.FileDataError is a RuntimeError
        problem = str(exc)
    finally:
        doc.close()
    # Raised outside the handler, with MuPDF's words but not its exception as the context:
    # MuPDF's objects cannot be pickled, and Dask (tblib) pickles an error's context along.
    raise ExtractError(f"PDF could not be read: {problem}", paper)


def open_pdf(pdf_path: Path, paper: str = "") -> pymupdf.Document:
    """Open a PDF, refusing non-PDFs, truncated, encrypted and page-less files."""
    try:
        data = pdf_path.read_bytes()
    except OSError as exc:
        raise ExtractError(f"cannot read PDF file: {exc}", paper) from exc
    check_pdf(data, paper)
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
        doc, problem = None, str(exc)
    if doc is None:  # raised outside the handler, as in extract_pdf
        raise ExtractError(f"PDF is damaged: {problem}", paper)
    if doc.needs_pass:
        doc.close()
        raise ExtractError("PDF is encrypted (needs a password)", paper)
    if doc.page_count == 0:
        doc.close()
        raise ExtractError("PDF has no pages", paper)
    return doc


def _extract(
    doc: pymupdf.Document, arxiv_id: str, version: int, figure_dir: Path, max_figures: int
) -> Extraction:
    pages = [page_lines(page) for page in doc.pages()]
    body = body_size([ln for lines in pages for ln in lines])
    regions = [
        region
        for i, page in enumerate(doc.pages())
        for region in find_regions(page, pages[i], body)
    ]
    ordered = [reading_order(lns, doc[i].rect.width) for i, lns in enumerate(pages)]
    lines = [ln for page in ordered for ln in page]
    text_lines = [ln for ln in lines if not _in_figure(ln, regions)]
    sections, cut = split_sections(text_lines)
    return Extraction(
        arxiv_id=arxiv_id,
        version=version,
        pages=doc.page_count,
        sections=sections,
        affiliation=first_affiliation(ordered[0]),
        links=find_links(text_lines[:cut], doc),
        figures=_save_figures(doc, regions, file_stem(arxiv_id, version), figure_dir, max_figures),
    )


def _in_figure(line: Line, regions: list[Region]) -> bool:
    """Return True for figure labels and caption lines, which are not running text."""
    cx, cy = (line.bbox[0] + line.bbox[2]) / 2, (line.bbox[1] + line.bbox[3]) / 2
    return any(
        r.page == line.page and (_inside(cx, cy, r.bbox) or _inside(cx, cy, r.caption_bbox))
        for r in regions
    )


def _inside(x: float, y: float, box: tuple[float, float, float, float]) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _save_figures(
    doc: pymupdf.Document, regions: list[Region], stem: str, figure_dir: Path, limit: int
) -> tuple:
    """Save up to `limit` distinct figures in paper order, replacing earlier runs' files."""
    figure_dir.mkdir(parents=True, exist_ok=True)
    for old in figure_dir.glob(f"{stem}-fig*"):
        old.unlink()
    figures: list[Figure] = []
    seen: set[str] = set()
    for region in regions:
        if len(figures) >= limit:
            break
        image = figure_image(doc, region)
        digest = hashlib.sha256(image.data).hexdigest()
        if digest not in seen:
            seen.add(digest)
            figures.append(write_figure(region, image, len(figures) + 1, stem, figure_dir))
    return tuple(figures)
