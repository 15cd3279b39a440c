"""The first author's affiliation on title blocks real papers print (fakes/layouts.py)."""

from __future__ import annotations

import pymupdf

from fakes.layouts import LEFT, UNICODE, done, marked, new_page, paragraph, words
from tasks.pdf.affiliation import first_affiliation
from tasks.pdf.lines import page_lines, reading_order


def affiliation(data: bytes) -> str:
    with pymupdf.open(stream=data) as doc:
        page = doc[0]
        return first_affiliation(reading_order(page_lines(page), page.rect.width))


def title(page: pymupdf.Page, y: float = 90) -> None:
    words(page, 140, y, "Benchmarks for Multi-Turn Learning", size=20, font="hebo")


def abstract(page: pymupdf.Page, y: float) -> None:
    words(page, 280, y, "Abstract", size=12, font="hebo")
    paragraph(page, y + 20, 5)


def test_an_organisation_as_author_is_its_own_affiliation():
    doc, page = new_page()
    title(page)
    words(page, 270, 130, "DeepSeek-AI", size=11)
    words(page, 255, 146, "research@deepseek.com", size=11)
    abstract(page, 180)
    assert affiliation(done(doc)) == "DeepSeek-AI"


def test_a_date_line_above_the_title_does_not_hide_the_first_authors_mark():
    doc, page = new_page()
    words(page, 480, 60, "November 2023", size=8)
    title(page)
    marked(
        page, LEFT, 120, [("Marwa Abdulhai", "1"), (", Isadora White", "1"), (", Kelvin Xu", "2")]
    )
    marked(page, LEFT, 134, [("", "1"), ("UC Berkeley,", "2"), ("Google DeepMind", "")], size=8)
    abstract(page, 170)
    assert affiliation(done(doc)) == "UC Berkeley"


def test_symbol_marks_pick_one_affiliation_not_the_list():
    doc, page = new_page()
    title(page)
    marked(page, 100, 124, [("Zejiang Shen", "†"), (", Tal August", "□"), (", Doug Downey", "◇")])
    marked(
        page,
        100,
        140,
        [
            ("", "†"),
            ("Massachusetts Institute of Technology,", "□"),
            ("Allen Institute for AI,", "◇"),
            ("Northwestern University", ""),
        ],
    )
    abstract(page, 176)
    assert affiliation(done(doc)) == "Massachusetts Institute of Technology"


def test_a_quotation_is_never_the_affiliation():
    doc, page = new_page()
    title(page)
    words(page, 110, 124, "“Bridging the gap between closed and open video models", font=UNICODE)
    words(
        page,
        110,
        138,
        "to accelerate community exploration.” — Hunyuan Foundation Model Team",
        font=UNICODE,
    )
    abstract(page, 170)
    assert affiliation(done(doc)) == "Hunyuan Foundation Model Team"


def test_spaces_in_affiliations_drawn_as_separate_runs_are_kept():
    doc, page = new_page()
    title(page)
    words(page, 250, 124, "Jake Poznanski", font="hebo")
    words(page, 250, 138, "Allen Institute for AI", size=9)
    abstract(page, 170)
    assert affiliation(done(doc)) == "Allen Institute for AI"
