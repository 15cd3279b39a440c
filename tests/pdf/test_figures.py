"""Figures found on one-page layouts that real papers use (fakes/layouts.py)."""

from __future__ import annotations

from pathlib import Path

from pymupdf import Rect

from fakes.layouts import (
    BODY,
    LEFT,
    RIGHT,
    chart,
    done,
    new_page,
    paragraph,
    picture,
    words,
)
from tasks.domain import Extraction
from tasks.pdf.extract import extract_pdf


def run(tmp: Path, data: bytes) -> Extraction:
    pdf = tmp / "paper.pdf"
    pdf.write_bytes(data)
    return extract_pdf(pdf, "2410.00001", 1, tmp / "figures", max_figures=10)


def inside(box: tuple, outer: Rect, slack: float = 4) -> bool:
    return (
        box[0] >= outer.x0 - slack
        and box[1] >= outer.y0 - slack
        and box[2] <= outer.x1 + slack
        and box[3] <= outer.y1 + slack
    )


def test_spaces_drawn_as_their_own_runs_or_as_gaps_are_kept(tmp_path):
    doc, page = new_page()
    words(page, LEFT, 80, "1. Introduction", size=12, font="hebo")
    y = paragraph(page, 100, 4)
    words(page, LEFT, y, "Our code: every word apart, no space glyph at all.", gap_only=True)
    chart(page, Rect(150, y + 20, 450, y + 180))
    words(page, LEFT, y + 200, "Figure 2. UCF sample results. Left: input counting image.", size=9)
    ex = run(tmp_path, done(doc))
    assert [f.caption for f in ex.figures] == [
        "Figure 2. UCF sample results. Left: input counting image."
    ]
    assert "introduction" in ex.sections
    assert "no space glyph at all." in ex.sections["introduction"]
    assert ex.sections["introduction"].startswith("we study how the model")


def test_a_wrapped_figure_is_found_without_the_text_beside_it(tmp_path):
    doc, page = new_page()
    y = paragraph(page, 80, 5)
    plot = Rect(LEFT + 16, y + 6, 280, y + 150)
    chart(page, plot)
    words(page, LEFT, plot.y1 + 24, "Figure 1: Per-token KL Divergence", size=9)
    words(page, LEFT, plot.y1 + 35, "between aligned models.", size=9)
    paragraph(page, y, 16, x0=300)  # the text wrapping beside the figure and its caption
    paragraph(page, plot.y1 + 60, 4)
    (fig,) = run(tmp_path, done(doc)).figures
    assert fig.caption == "Figure 1: Per-token KL Divergence between aligned models."
    assert inside(fig.bbox, Rect(LEFT - 20, plot.y0 - 10, 296, plot.y1 + 12))
    assert fig.bbox[1] <= plot.y0 + 1 and fig.bbox[3] >= plot.y1 + 8  # tick labels kept


def test_sub_caption_lines_above_the_caption_are_part_of_the_figure(tmp_path):
    doc, page = new_page()
    y = paragraph(page, 80, 3)
    rows = [Rect(LEFT, y, RIGHT, y + 110), Rect(LEFT, y + 150, RIGHT, y + 260)]
    for k, row in enumerate(rows):
        picture(page, row, shade=80 + 60 * k)
        words(
            page,
            LEFT,
            row.y1 + 13,
            f"({'ab'[k]}) Prompt: A white cat sits on a soft sofa like a "
            "person, its long hair waving in the wind as it watches",
        )
        words(page, LEFT, row.y1 + 25, "the room.")
    words(page, LEFT, rows[1].y1 + 50, "Figure 1: Generated videos.", size=9)
    (fig,) = run(tmp_path, done(doc)).figures
    assert fig.bbox[1] <= rows[0].y0 + 1 and fig.bbox[3] >= rows[1].y1 + 25


def test_a_booktabs_table_above_a_figure_stays_out_of_its_crop(tmp_path):
    doc, page = new_page()
    words(page, LEFT, 80, "Table 1: Results on the benchmark for every method we compare.", 9)
    rule_y = [90.0, 104.0, 145.0]  # more than 6 pt apart, text between
    for ry in rule_y:
        page.draw_line((LEFT, ry), (RIGHT, ry), width=0.8)
    words(page, LEFT + 4, 100, "Method PSNR SSIM LPIPS", 8)
    for k in range(3):
        words(page, LEFT + 4, 116 + 12 * k, f"Model-{k} 2{k}.1 0.9{k} 0.0{k}", 8)
    plot = Rect(LEFT, 162, RIGHT, 330)
    chart(page, plot, labels=False)
    words(page, LEFT, 350, "Figure 5: Visual comparison with the baseline.", size=9)
    (fig,) = run(tmp_path, done(doc)).figures
    assert fig.bbox[1] >= rule_y[-1] and fig.bbox[1] <= plot.y0 + 1


def test_a_title_block_with_a_rule_stays_out_of_a_teaser(tmp_path):
    doc, page = new_page()
    words(page, 150, 90, "A Large Model for Every View", size=20, font="hebo")
    page.draw_line((LEFT, 104), (RIGHT, 104), width=1)
    words(page, 200, 124, "Ann Lee, Bo Chen, Cy Diaz, Dee Evans")
    words(page, 220, 138, "Adobe Research, University of Michigan")
    words(page, 240, 152, "https://example.github.io/")
    teaser = Rect(LEFT, 166, RIGHT, 400)
    picture(page, teaser)
    words(page, LEFT, 418, "Figure 1: Our model reconstructs any view at any time.", size=9)
    (fig,) = run(tmp_path, done(doc)).figures
    assert inside(fig.bbox, teaser)


def test_side_by_side_figures_with_their_own_captions_are_two_crops(tmp_path):
    doc, page = new_page()
    y = paragraph(page, 80, 4)
    left, right = Rect(LEFT, y, 320, y + 120), Rect(336, y, RIGHT, y + 120)
    picture(page, left)
    chart(page, right, labels=False)
    words(page, LEFT, y + 136, "Figure 3: Task visualizations in 2D and 3D simula-", size=9)
    words(page, LEFT, y + 147, "tions and real robot experiments.", size=9)
    words(page, 336, y + 136, "Figure 4: Expert selection frequency", size=9)
    paragraph(page, y + 175, 4)
    figs = run(tmp_path, done(doc)).figures
    assert [f.caption[:8] for f in figs] == ["Figure 3", "Figure 4"]
    assert inside(figs[0].bbox, left) and inside(figs[1].bbox, right)


def test_a_wide_figure_over_a_caption_set_in_one_column(tmp_path):
    doc, page = new_page()  # a journal's two-column page: the caption runs in the left column
    wide = Rect(LEFT, 80, RIGHT, 300)
    picture(page, wide)
    words(page, LEFT, 318, "Fig. 3. Schematic model of the waves in glia. The", size=9)
    words(page, LEFT, 329, "model shows how the signal spreads.", size=9)
    words(page, 316, 318, "ger by calcium, the inability of diffusion of the ion", size=9)
    paragraph(page, 360, 8, x1=300)
    paragraph(page, 360, 8, x0=316)
    (fig,) = run(tmp_path, done(doc)).figures
    assert fig.caption.startswith("Fig. 3. Schematic model") and fig.page == 1
    assert inside(fig.bbox, wide) and fig.bbox[0] < 306 < fig.bbox[2]  # across the gutter


def test_a_caption_above_its_figure(tmp_path):
    doc, page = new_page()
    y = paragraph(page, 80, 4)
    words(page, LEFT, y + 6, "Figure 1: Overview of the method, from input to output.", size=9)
    plot = Rect(LEFT + 20, y + 18, RIGHT - 20, y + 200)
    chart(page, plot)
    paragraph(page, plot.y1 + 30, 4)
    (fig,) = run(tmp_path, done(doc)).figures
    assert fig.caption == "Figure 1: Overview of the method, from input to output."
    assert fig.bbox[1] >= y + 8 and fig.bbox[1] <= plot.y0 + 1 and fig.bbox[3] >= plot.y1


def test_a_caption_whose_label_is_set_larger_than_its_words_keeps_all_its_lines(tmp_path):
    doc, page = new_page()  # IJCAI's style: a 10 pt bold "Figure 1:", then 9 pt words
    plot = Rect(LEFT + 20, 100, RIGHT - 20, 300)
    chart(page, plot)
    x = words(page, LEFT, 330, "Figure 1:", size=10, font="hebo")
    words(page, x + 3, 330, "Overview of the tuples extracted from the Web", size=9)
    words(page, LEFT, 340.5, "page corpus, and how many are well formed.", size=9)
    paragraph(page, 380, 4)
    (fig,) = run(tmp_path, done(doc)).figures
    assert fig.caption == (
        "Figure 1: Overview of the tuples extracted from the Web page corpus, and how many "
        "are well formed."
    )


def test_labels_below_a_chart_keep_their_descenders(tmp_path):
    doc, page = new_page()
    plot = Rect(LEFT + 20, 100, RIGHT - 20, 300)
    chart(page, plot)
    words(page, LEFT, 330, "Figure 1: Loss against steps.", size=9)
    (fig,) = run(tmp_path, done(doc)).figures
    baseline = plot.y1 + 8
    assert fig.bbox[3] >= baseline + 0.2 * 7  # "gy" hangs below its baseline
    assert fig.bbox[3] < 330 - BODY  # and the caption stays out
