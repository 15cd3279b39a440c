"""Extraction against generated papers whose layout truth is known."""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import replace
from pathlib import Path

import pymupdf
import pytest
import tblib.pickling_support

from fakes.corpus import make_bad_pdfs, sample_spec
from replay.paper_spec import FigureSpec, PdfTruth
from replay.pdfs import make_paper_pdf, spec_from_metadata
from tasks.domain import Extraction
from tasks.errors import ExtractError
from tasks.pdf.extract import extract_pdf
from tasks.pdf.links import links_in_text

CORPUS_SEEDS = range(12)


def iou(a: tuple, b: tuple) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def overlap(a: tuple, b: tuple) -> float:
    """Return the share of `b` covered by `a`."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return ix * iy / max((b[2] - b[0]) * (b[3] - b[1]), 1e-6)


def run(tmp: Path, data: bytes, max_figures: int = 10) -> Extraction:
    pdf = tmp / "paper.pdf"
    pdf.write_bytes(data)
    return extract_pdf(pdf, "2410.00001", 1, tmp / "figures", max_figures=max_figures)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[tuple[PdfTruth, Extraction, Path]]:
    out = []
    for seed in CORPUS_SEEDS:
        tmp = tmp_path_factory.mktemp(f"paper{seed}")
        data, truth = make_paper_pdf(sample_spec(seed))
        out.append((truth, run(tmp, data), tmp / "figures"))
    return out


def test_corpus_covers_varied_layouts():
    specs = [sample_spec(seed) for seed in CORPUS_SEEDS]
    assert {s.two_column for s in specs} == {True, False}
    assert {f.kind for s in specs for f in s.figures} >= {"png", "jpeg", "grid", "chart", "plot"}
    assert {f.caption_style for s in specs for f in s.figures} == {"Figure", "Fig.", "FIGURE"}
    assert any(f.full_width for s in specs for f in s.figures)


def test_figures_match_truth_by_iou_and_caption(corpus):
    placed = found = 0
    ious = []
    for truth, extraction, _ in corpus:
        for want in truth.figures:
            placed += 1
            same_page = [f for f in extraction.figures if f.page == want.page]
            best = max(same_page, key=lambda f: iou(f.bbox, want.bbox), default=None)
            score = iou(best.bbox, want.bbox) if best else 0.0
            ious.append(score)
            found += score >= 0.8 and best.caption == " ".join(want.caption.split())
    assert found / placed >= 0.95, f"{found}/{placed} figures found"
    assert sum(ious) / len(ious) >= 0.9


def test_no_extra_figures_and_no_logo_stamp_or_table(corpus):
    for truth, extraction, _ in corpus:
        assert len(extraction.figures) == len(truth.figures)
        others = [*truth.logos, *truth.tables] + ([truth.stamp] if truth.stamp else [])
        for fig in extraction.figures:
            for other in others:
                if other.page == fig.page:
                    assert overlap(fig.bbox, other.bbox) < 0.2, (fig.caption, other.kind)


def test_figure_files_are_real_images_named_by_paper(corpus):
    for _, extraction, figure_dir in corpus:
        for k, fig in enumerate(extraction.figures, 1):
            assert fig.index == k
            assert fig.path.startswith(f"2410.00001v1-fig{k}.")
            data = (figure_dir / fig.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == fig.sha256
            pix = pymupdf.Pixmap(data)
            assert (pix.width, pix.height) == (fig.width, fig.height)
            assert fig.caption.split()[0] in ("Figure", "Fig.", "FIGURE")


def test_single_raster_figure_keeps_embedded_bytes(tmp_path):
    spec = replace(sample_spec(0), figures=(FigureSpec("jpeg"), FigureSpec("chart", section=3)))
    data, _ = make_paper_pdf(spec)
    extraction = run(tmp_path, data)
    raster, chart = extraction.figures
    assert raster.path.endswith(".jpeg") and raster.width >= 300 and raster.height >= 200
    doc = pymupdf.open("pdf", data)
    embedded = {doc.extract_image(x[0])["image"] for p in doc for x in p.get_images()}
    assert (tmp_path / "figures" / raster.path).read_bytes() in embedded
    assert chart.path.endswith(".png")


def test_max_figures_keeps_paper_order_and_replaces_old_files(tmp_path):
    spec = replace(sample_spec(5), figures=tuple(FigureSpec(k) for k in ("png", "chart", "grid")))
    data, truth = make_paper_pdf(spec)
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "2410.00001v1-fig9.png").write_bytes(b"stale")
    extraction = run(tmp_path, data, max_figures=2)
    assert [f.caption for f in extraction.figures] == [
        " ".join(t.caption.split()) for t in truth.figures[:2]
    ]
    names = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert names == ["2410.00001v1-fig1.png", "2410.00001v1-fig2.png"]


def test_identical_images_are_deduplicated(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page()
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 320, 200), False)
    pix.set_rect(pix.irect, (200, 40, 90))
    png = pix.tobytes("png")
    for k, top in ((1, 80), (2, 400)):
        page.insert_image(pymupdf.Rect(100, top, 500, top + 250), stream=png)
        page.insert_text((100, top + 265), f"Figure {k}: The same picture again.", fontsize=9)
    extraction = run(tmp_path, doc.tobytes())
    assert [f.caption for f in extraction.figures] == ["Figure 1: The same picture again."]


def _in_order(words: list[str], within: list[str]) -> bool:
    it = iter(within)
    return all(word in it for word in words)


def test_sections_in_order_with_text_and_references_cut(corpus):
    for truth, extraction, _ in corpus:
        assert list(extraction.sections) == truth.sections
        for key, want in truth.section_text.items():
            got = extraction.sections[key].split()
            assert _in_order(want.split(), got), key
            # Only the table's caption and cells may add words to a section.
            assert len(got) <= len(want.split()) + 40, key
        text = " ".join(extraction.sections.values())
        assert "A. Author and B. Writer" not in text
        assert "Figure 1:" not in text and "Fig. 1." not in text


def test_affiliation_is_first_authors_without_markers_or_email(corpus):
    for truth, extraction, _ in corpus:
        assert extraction.affiliation == truth.affiliation


def test_affiliation_is_empty_when_absent(tmp_path):
    data, _ = make_paper_pdf(replace(sample_spec(2), affiliation="", email="x@y.org"))
    assert run(tmp_path, data).affiliation == ""


def test_links_found_deduplicated_and_references_excluded(corpus):
    for truth, extraction, _ in corpus:
        assert extraction.links == tuple(truth.links)


def test_links_in_text_strips_punctuation_and_joins_broken_urls():
    text = (
        "Code: (https://github.com/a/b). Mirror github.com/c/d, demo at "
        "https://huggingface.co/spaces/e/f; page https://me.github.io/proj/. "
        "Bare https://github.com "
        "is not a repository. Split https://gitlab.com/g/\nrepo here."
    )
    assert links_in_text(text) == [
        "https://github.com/a/b",
        "https://github.com/c/d",
        "https://huggingface.co/spaces/e/f",
        "https://me.github.io/proj/",
        "https://gitlab.com/g/repo",
    ]


def test_a_numbered_heading_after_a_url_is_not_part_of_it():
    text = "Project page: https://egoallo.github.io/\n1 Introduction\nWe study motion."
    assert links_in_text(text) == ["https://egoallo.github.io/"]


@pytest.fixture(scope="module")
def bad_pdfs() -> dict[str, bytes]:
    return make_bad_pdfs()


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("encrypted", "encrypted"),
        ("corrupt", "damaged"),
        ("truncated", "truncated"),
        ("zero_pages", "no pages"),
        ("html", "not a PDF"),
        ("empty", "not a PDF"),
    ],
)
def test_bad_pdfs_raise_extract_error_with_reason(tmp_path, bad_pdfs, kind, reason):
    with pytest.raises(ExtractError, match=reason) as info:
        run(tmp_path, bad_pdfs[kind])
    assert info.value.paper == "2410.00001v1"
    assert isinstance(pickle.loads(pickle.dumps(info.value)), ExtractError)
    # Dask (distributed) pickles exceptions with their causes: none may hold MuPDF objects.
    tblib.pickling_support.install(info.value)
    assert isinstance(pickle.loads(pickle.dumps(info.value)), ExtractError)


def test_missing_file_raises_extract_error(tmp_path):
    with pytest.raises(ExtractError, match="cannot read"):
        extract_pdf(tmp_path / "absent.pdf", "2410.00001", 1, tmp_path)


def test_huge_pdf_is_refused_over_the_page_cap(tmp_path, bad_pdfs):
    with pytest.raises(ExtractError, match="2000 pages, over the cap of 300"):
        run(tmp_path, bad_pdfs["huge"])


def test_extraction_survives_a_pickle_round_trip(corpus):
    _, extraction, _ = corpus[0]
    assert pickle.loads(pickle.dumps(extraction)) == extraction


def test_generator_is_deterministic():
    assert make_paper_pdf(sample_spec(3))[0] == make_paper_pdf(sample_spec(3))[0]
    a = spec_from_metadata("A Title", ["A. One", "B. Two"], "We study x.", "MIT", seed=1)
    assert a == spec_from_metadata("A Title", ("A. One", "B. Two"), "We study x.", "MIT", seed=1)


def test_demo_spec_from_metadata_extracts_cleanly(tmp_path):
    spec = spec_from_metadata(
        "Diffusion for Everything", ["Ada Lovelace", "Alan Turing"], "We propose it.", "MIT", 7
    )
    data, truth = make_paper_pdf(spec)
    extraction = run(tmp_path, data)
    assert len(truth.figures) == 2 and len(truth.tables) == 1 and truth.pages >= 1
    assert len(extraction.figures) == 2
    assert extraction.affiliation == "MIT"


def _handmade_paper() -> bytes:
    """Return a one-page paper whose first author is at the second listed affiliation."""
    doc = pymupdf.open()
    page = doc.new_page()
    put = page.insert_text
    put((150, 100), "A Handmade Paper Title", fontsize=16, fontname="tibo")
    x = 150
    for name, mark in (("Ann Lee", "2*"), (", Bo Chen", "1"), (", Cy Park", "1,2")):
        put((x, 130), name, fontsize=11, fontname="tiro")
        x += pymupdf.get_text_length(name, "tiro", 11)
        put((x, 126), mark, fontsize=7, fontname="tiro")
        x += pymupdf.get_text_length(mark, "tiro", 7) + 2
    put((150, 146), "1", fontsize=7, fontname="tiro")
    put((155, 150), "Tsinghua University", fontsize=10, fontname="tiro")
    put((150, 160), "2", fontsize=7, fontname="tiro")
    put((155, 164), "Microsoft Research Asia, Beijing; ann.lee@microsoft.com", fontsize=10)
    body = [
        ("Abstract", "tibo"),
        ("We study handmade things.", "tiro"),
        ("1. INTRODUCTION", "tibo"),
        ("Handmade papers are rare.", "tiro"),
        ("3 Denoising with Style", "tibo"),
        ("Our custom method section.", "tiro"),
        ("4 Experiments", "tibo"),
        ("It works; see https://huggingface.co/ann/model.", "tiro"),
        ("REFERENCES", "tibo"),
        ("[1] Someone. https://github.com/someone/else", "tiro"),
    ]
    for i, (text, font) in enumerate(body):
        put((72, 200 + 16 * i), text, fontsize=10, fontname=font)
    return doc.tobytes()


def test_handmade_paper_marker_affiliation_and_custom_method_heading(tmp_path):
    extraction = run(tmp_path, _handmade_paper())
    assert extraction.affiliation == "Microsoft Research Asia, Beijing"
    assert extraction.sections == {
        "abstract": "We study handmade things.",
        "introduction": "Handmade papers are rare.",
        "method": "Our custom method section.",
        "experiments": "It works; see https://huggingface.co/ann/model.",
    }
    assert extraction.links == ("https://huggingface.co/ann/model",)


def test_a_figure_beside_a_table_caption_is_not_taken_for_the_table(tmp_path):
    # In this demo paper Figure 1 ends the left column where Table 1's caption starts the right.
    sample = json.loads((Path(__file__).parents[2] / "config/sample/2024-10-07.json").read_text())
    paper = next(p for p in sample["papers"] if p["arxiv_id"] == "2410.01366")
    spec = spec_from_metadata(paper["title"], paper["authors"], paper["abstract"], "", seed=1)
    data, truth = make_paper_pdf(spec)
    extraction = run(tmp_path, data)
    assert [f.caption.split(":")[0] for f in extraction.figures] == ["Figure 1", "Figure 2"]
    assert len(truth.tables) == 1
