"""Code and project links: the paper's own, never the references', never glued to marks."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from fakes.layouts import LEFT, done, marked, new_page, paragraph, words
from tasks.pdf.extract import extract_pdf


def links(tmp: Path, data: bytes) -> tuple[str, ...]:
    pdf = tmp / "paper.pdf"
    pdf.write_bytes(data)
    return extract_pdf(pdf, "2410.00001", 1, tmp / "figures", max_figures=0).links


def test_links_are_the_papers_own_not_the_references_nor_footnote_marks(tmp_path):
    doc, page = new_page()
    words(page, LEFT, 80, "1 Introduction", size=12, font="hebo")
    y = paragraph(page, 100, 3)
    marked(
        page, LEFT, y, [("Our environment is at https://github.com/allenai/discoveryworld.", "1")]
    )
    words(page, LEFT, y + 14, "Code: https://github.com/", size=10)
    words(page, LEFT, y + 28, "available upon request, see the project page.", size=10)
    # The printed URL is cut at the line end; the link annotation on it holds the real one.
    page.insert_link(
        {
            "kind": pymupdf.LINK_URI,
            "from": pymupdf.Rect(LEFT, y + 4, 200, y + 16),
            "uri": "https://github.com/diptodip/counting/blob/main/README.md",
        }
    )
    words(page, LEFT, y + 60, "References", size=12, font="hebo")
    words(page, LEFT, y + 80, "[1] F. Chollet. Keras. https://github.com/fchollet/keras, 2015.", 9)
    page.insert_link(
        {
            "kind": pymupdf.LINK_URI,
            "from": pymupdf.Rect(LEFT, y + 72, 400, y + 82),
            "uri": "https://github.com/luca-medeiros/lang-segment-anything",
        }
    )
    assert links(tmp_path, done(doc)) == (
        "https://github.com/allenai/discoveryworld",
        "https://github.com/diptodip/counting",
    )
