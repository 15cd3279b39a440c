"""Code and project links (GitHub, GitLab, Hugging Face, github.io pages) in a paper's text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pymupdf

from tasks.pdf.lines import Line

LINK = re.compile(
    r"(?:https?://)?(?:www\.)?"
    r"(?:(?:github\.com|gitlab\.com|huggingface\.co)/[\w.~%+-]+(?:/[^\s<>\"'()\[\]{}]*)?"
    r"|[\w-]+\.github\.io(?:/[^\s<>\"'()\[\]{}]*)?)",
    re.IGNORECASE,
)


def find_links(lines: list[Line], doc: pymupdf.Document) -> tuple[str, ...]:
    """Return code and project links in the lines' text and link annotations, de-duplicated.

    Where a line carries a link annotation, the annotation is the URL: the printed text may
    be shortened, broken over lines or glued to a footnote mark. Annotations are only taken
    from the lines given (the text before the references), never from the whole page.
    """
    annotated = _annotations(lines, doc)
    text = "\n".join("" if id(ln) in annotated else ln.plain for ln in lines)
    uris = [uri for ln in lines for uri in annotated.get(id(ln), ())]
    return _unique([_repository(u) for u in [*links_in_text(text), *uris]])


def _annotations(lines: list[Line], doc: pymupdf.Document) -> dict[int, list[str]]:
    """Return the code and project URIs of link annotations, by the id of the line they cover."""
    found: dict[int, list[str]] = {}
    by_page: dict[int, list[Line]] = {}
    for line in lines:
        by_page.setdefault(line.page, []).append(line)
    for number, page_lines in by_page.items():
        page = doc[number - 1]  # links refer back to their page: keep it alive
        link = page.first_link  # walking the chain is 4x cheaper than get_links()
        while link:
            uri = (link.uri or "").strip()
            if uri and LINK.fullmatch(uri):
                line = max(page_lines, key=lambda ln: _overlap(ln.bbox, link.rect))
                if _overlap(line.bbox, link.rect) > 0:
                    found.setdefault(id(line), []).append(uri)
            link = link.next
    return found


def _overlap(box: tuple, rect: pymupdf.Rect) -> float:
    return abs(pymupdf.Rect(box) & rect)


def _repository(url: str) -> str:
    """Return a GitHub file or commit link as its repository: the paper's code is the repo."""
    match = re.match(r"(https?://github\.com/[^/\s]+/[^/\s#?]+)/(?:blob|commit|raw)/", url)
    return match.group(1) if match else url


def links_in_text(text: str) -> list[str]:
    """Return code and project URLs in `text` in order, trailing punctuation stripped."""
    # A URL broken at a line end continues on the next line without a space; a line that
    # starts with a bare number ("1 Introduction") is a heading, not the URL's rest.
    text = re.sub(r"(https?://\S*[/_-])\n(?=[a-z0-9][\w./-]*[a-z][\w./-]*\s)", r"\1", text + "\n")
    return [url for url in (_normalise_url(m.group(0)) for m in LINK.finditer(text)) if url]


def _unique(urls: list[str]) -> tuple[str, ...]:
    found, seen = [], set()
    for url in urls:
        key = url.rstrip("/").lower()
        if key not in seen:
            seen.add(key)
            found.append(url)
    return tuple(found)


def _normalise_url(raw: str) -> str:
    url = raw.rstrip(".,;:!?'\"")
    if not url.lower().startswith(("http://", "https://")):
        url = "https://" + url
    parts = urlsplit(url)
    if "." not in parts.netloc or " " in url:
        return ""
    return url
