"""Code and project links (GitHub, GitLab, Hugging Face, github.io pages) in a paper's text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pymupdf

from tasks.pdftext import Line

LINK = re.compile(
    r"(?:https?://)?(?:www\.)?"
    r"(?:(?:github\.com|gitlab\.com|huggingface\.co)/[\w.~%+-]+(?:/[^\s<>\"'()\[\]{}]*)?"
    r"|[\w-]+\.github\.io(?:/[^\s<>\"'()\[\]{}]*)?)",
    re.IGNORECASE,
)


def find_links(lines: list[Line], doc: pymupdf.Document) -> tuple[str, ...]:
    """Return code and project links in the lines' text and link annotations, de-duplicated."""
    text = "\n".join(ln.text for ln in lines)
    pages = sorted({ln.page for ln in lines})
    annotated = [
        link["uri"].strip()
        for page in pages
        for link in doc[page - 1].get_links()
        if link.get("uri") and LINK.fullmatch(link["uri"].strip())
    ]
    return _unique([*links_in_text(text), *annotated])


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
