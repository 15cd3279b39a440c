"""Read a paper's PDF: sections, first-author affiliation, code links and captioned figures.

Pure functions with plain arguments and a picklable result, so `extract_pdf` can run in a
guarded child process.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pymupdf

from tasks.crops import figure_image, write_figure
from tasks.errors import ExtractError
from tasks.figures import FIGURE_CAPTION, Region, find_regions
from tasks.links import find_links
from tasks.pdftext import Line, body_size, page_lines, reading_order
from tasks.types import Extraction, file_stem

MAX_PAGES = 300

SECTION_NAMES = {
    "abstract": "abstract",
    "introduction": "introduction",
    "related work": "related_work",
    "related works": "related_work",
    "background": "related_work",
    "prior work": "related_work",
    "background and related work": "related_work",
    "method": "method",
    "methods": "method",
    "methodology": "method",
    "approach": "method",
    "our approach": "method",
    "proposed method": "method",
    "experiments": "experiments",
    "experiment": "experiments",
    "experimental results": "experiments",
    "experiments and results": "experiments",
    "results": "experiments",
    "evaluation": "experiments",
    "conclusion": "conclusion",
    "conclusions": "conclusion",
    "conclusion and future work": "conclusion",
    "conclusions and future work": "conclusion",
    "discussion and conclusion": "conclusion",
}
STOP_NAMES = {"references", "bibliography", "acknowledgements", "acknowledgments", "appendix"}
HEADING = re.compile(r"^(?:(\d{1,2}|[IVX]{1,4})\.?\s+)?([A-Za-z][\w &:,'()-]{2,60})$")
INLINE_ABSTRACT = re.compile(r"^Abstract\s*[—–:.-]\s*(\S.*)$", re.IGNORECASE)
AFFILIATION_WORDS = re.compile(
    r"Universit|Univ\.|Institut|Laborator|\bLab\b|College|School|Department|Dept\.|Academy"
    r"|Cent(?:er|re)\b|Research|\bInc\b|Ltd|Corporation|Hospital|Foundation|Polytechnic"
    r"|Google|DeepMind|Microsoft|\bMeta\b|NVIDIA|OpenAI|Adobe|Amazon|Apple|Tencent|Alibaba"
    r"|Baidu|ByteDance|Huawei|Samsung|\bIBM\b|\bETH\b|\bMIT\b|EPFL|KAIST",
)
EMAIL = re.compile(r"\{[^}]*\}@\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


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
    if not data.lstrip()[:5] == b"%PDF-":
        raise ExtractError(f"not a PDF: starts with {data[:16]!r}", paper)
    # MuPDF silently repairs a cut-off file and shows whatever pages survived.
    if b"%%EOF" not in data[-2048:]:
        raise ExtractError("PDF is truncated: no %%EOF marker at the end", paper)
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
    pages = [page_lines(page) for page in doc]
    body = body_size([ln for lines in pages for ln in lines])
    regions = [
        region for i, page in enumerate(doc) for region in find_regions(page, pages[i], body)
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
    figures, seen = [], set()
    for region in regions:
        if len(figures) >= limit:
            break
        image = figure_image(doc, region)
        digest = hashlib.sha256(image.data).hexdigest()
        if digest not in seen:
            seen.add(digest)
            figures.append(write_figure(region, image, len(figures) + 1, stem, figure_dir))
    return tuple(figures)


def heading_key(line: Line, body: float) -> str | None:
    """Return the normalised section name a heading line starts, or None for body text."""
    text = line.plain.strip()
    if INLINE_ABSTRACT.match(text) or text.lower() == "abstract":
        return "abstract"
    match = HEADING.match(text)
    if not match or not (line.bold or line.size > body * 1.05):
        return None
    name = " ".join(match.group(2).lower().split())
    if name in STOP_NAMES:
        return "references" if name in ("references", "bibliography") else "stop"
    # A numbered heading we cannot name still ends the section before it.
    return SECTION_NAMES.get(name, "other" if match.group(1) else None)


def split_sections(lines: list[Line]) -> tuple[dict[str, str], int]:
    """Return each known section's text and the index where the references start."""
    body = body_size(lines)
    parts: dict[str, list[str]] = {}
    current = None
    for i, line in enumerate(lines):
        key = heading_key(line, body)
        if key == "references":
            return _joined(parts), i
        if key == "other":
            key = _guess_unnamed(parts)
        if key is not None:
            current = None if key == "stop" else key
            parts.setdefault(current or "", [])
            inline = INLINE_ABSTRACT.match(line.plain.strip())
            if inline and current:
                parts[current].append(inline.group(1))
        elif current and not FIGURE_CAPTION.match(line.text):
            parts[current].append(line.plain)
    return _joined(parts), len(lines)


def _guess_unnamed(parts: dict[str, list[str]]) -> str:
    """Name a custom numbered section: between introduction and experiments it is the method."""
    if "introduction" in parts and "method" not in parts and "experiments" not in parts:
        return "method"
    return "stop"


def _joined(parts: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for key, texts in parts.items():
        text = re.sub(r"(\w)- (?=[a-z])", r"\1", " ".join(texts))
        if key and text.strip():
            out[key] = " ".join(text.split())
    return out


def first_affiliation(lines: list[Line]) -> str:
    """Return the first author's affiliation from page 1's title block, or "" if not found."""
    block = _title_block(lines)
    if len(block) < 2:
        return ""
    mark = _first_marker(block[0])
    # Author names wrapping onto more lines carry markers after the names; skip them.
    rest = block[1:]
    while rest and _markers_follow_names(rest[0]):
        rest.pop(0)
    candidates = []
    for line in rest:
        for marker, text in _segments(line):
            cleaned = _clean_affiliation(text)
            if cleaned and (AFFILIATION_WORDS.search(cleaned) or marker):
                candidates.append((marker, cleaned))
    for marker, text in candidates:
        if mark and marker == mark:
            return text
    keyword = [text for _, text in candidates if AFFILIATION_WORDS.search(text)]
    return keyword[0] if keyword else ""


def _title_block(lines: list[Line]) -> list[Line]:
    """Return the lines between the title and the abstract: authors first, then the rest."""
    body = body_size(lines)
    block = []
    for line in lines:
        if heading_key(line, body) is not None or len(block) > 12:
            break
        block.append(line)
    if not block:
        return []
    title_size = max(ln.size for ln in block)
    while block and block[0].size >= 0.9 * title_size:
        block.pop(0)
    return block


def _markers_follow_names(line: Line) -> bool:
    spans = [s for s in line.spans if s.text.strip()]
    return len(spans) > 1 and spans[-1].sup and not spans[0].sup


def _first_marker(author_line: Line) -> str:
    for span in author_line.spans:
        if span.sup:
            return re.split(r"[,\s]", span.text.strip())[0].strip("*∗†‡")
    return ""


def _segments(line: Line) -> list[tuple[str, str]]:
    """Split a line at superscript markers (or a leading plain digit) into (marker, text)."""
    segments, marker, text = [], "", ""
    for span in line.spans:
        if span.sup:
            if text.strip():
                segments.append((marker, text))
            marker, text = span.text.strip().strip(",*∗†‡"), ""
        else:
            text += span.text
    segments.append((marker, text))
    if len(segments) == 1 and not marker:
        plain = re.match(r"^\s*(\d)\s+(\D.*)$", text)
        if plain:
            return [(plain.group(1), plain.group(2))]
    return segments


def _clean_affiliation(text: str) -> str:
    text = EMAIL.sub("", text)
    text = re.sub(r"^[\s\d*∗†‡§,]+|[\s*∗†‡§,;]+$", "", text)
    return " ".join(text.split())
