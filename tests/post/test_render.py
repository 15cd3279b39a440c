import re
from dataclasses import replace
from datetime import date

import pytest
import yaml

from tasks.domain import Extraction, Failure, Figure, Selection
from tasks.post.latex import readable
from tasks.post.render import Layout, attr, figures_allowed, inline, render_post, url
from tasks.record.views import PaperView, Previous
from tests.factories import paper, record

DAY, NEXT = date(2024, 10, 7), date(2024, 10, 8)
HEXO = Layout()
HOSTILE = "{{ x }} {% raw %} {# gone #} <script>alert(1)</script> </details> [a](b) *x* _y_ `z`"


def _view(p, fig_path="2410.03665v1-fig1.png", failures=(), summary=True, previously=None):
    figure = Figure(
        1, 1, (0, 0, 1, 1), "Figure 1: A <b>real</b> {{figure}}", 300, 200, "h", fig_path
    )
    ex = Extraction(
        p.arxiv_id, p.version, 4, {}, "UC Berkeley", ("https://github.com/a/b",), (figure,)
    )
    return PaperView(
        p,
        Selection(p.arxiv_id, p.version, "Diffusion Models", True, 3.0),
        ex,
        record(p) if summary else None,
        tuple(failures),
        previously,
    )


def _render(tmp_path, views, policy="licensed", layout=HEXO, language="zh"):
    figs = tmp_path / "figs"
    figs.mkdir(exist_ok=True)
    (figs / "2410.03665v1-fig1.png").write_bytes(b"\x89PNG fake")
    return render_post(
        "Diffusion Models",
        "diffusion-models",
        language,
        DAY,
        views,
        {"author": "Kedreamix", "tags": ["Diffusion Models"], "toc": ""},
        tmp_path / "out",
        figs,
        policy,
        layout,
    )


def test_inline_makes_hostile_text_inert():
    out = inline(HOSTILE + "\n---\n# heading")
    for bad in ("{", "}", "<script", "</details>", "](", "\n"):
        assert bad not in out
    assert "&lt;script&gt;" in out and "\\*x\\*" in out
    assert not inline("# title").startswith("#") and inline("1. x").startswith("1\\.")
    assert '"' not in attr('a "quoted" {x}')


def test_inline_links_addresses_without_escapes_inside_them():
    # marked links a bare address and would keep a "\\_" or "&#125;" inside it (seen in Hexo).
    out = inline("code: \\url{https://github.com/a_b/c~d}. (see http://x.org/p_(1)), www.x.org")
    assert "<https://github.com/a_b/c~d>&#125;." in out and "\\(see <http://x.org/p_(1)>\\)" in out
    assert "www\\.x.org" in out
    assert "\\-\\-\\-" in inline("a --- b") and inline("C #").endswith("C \\#")


def test_url_rejects_what_is_not_http():
    assert url("javascript:alert(1)") == ""
    assert url("https://github.com/a/b") == "https://github.com/a/b"
    assert "(" not in url("https://example.org/a_(b)")


def test_post_has_the_reference_structure(tmp_path):
    post = _render(tmp_path, [_view(paper(comment="NeurIPS 2024"))])
    text = post.path.read_text()
    front, body = text.split("---\n")[1], text.split("---\n", 2)[2]
    meta = yaml.safe_load(front)
    assert meta["title"] == "Diffusion Models" and meta["author"] == "Kedreamix"
    assert meta["tags"] == ["Diffusion Models"] and meta["toc"] is None
    assert meta["llm_models"] == ["gemini-2.5-flash"]
    assert meta["prompt_versions"] == ["summary-v1"]
    assert "gemini-2.5-flash" in body and "# 2024-10-07 更新" in body
    for part in (
        "## A Diffusion Model for Things",
        "**Authors:Ada Lovelace, Alan Turing**",
        "[PDF](https://arxiv.org/pdf/2410.03665v1) NeurIPS 2024",
        "**Summary**",
        "**Key Takeaways**",
        "UC Berkeley",
        "[代码](https://github.com/a/b)",
        '<img src="2410.03665v1-fig1.png"',
        "<details>",
        "</details>",
    ):
        assert part in body, part
    assert post.figures == (
        tmp_path / "out" / "2024-10-07-diffusion-models" / "2410.03665v1-fig1.png",
    )
    assert post.figures[0].read_bytes() == b"\x89PNG fake"


def _analysis_numbers(text: str) -> list[str]:
    return re.findall(r"^(\d+)\. \*\*", text, re.M)


def test_the_analysis_is_numbered_by_position_when_the_affiliation_is_missing(tmp_path):
    view = _view(paper())
    full = _render(tmp_path, [view]).text
    no_affiliation = replace(view, extraction=replace(view.extraction, affiliation=""))
    text = _render(tmp_path, [no_affiliation]).text
    assert _analysis_numbers(full) == [str(n) for n in range(1, 9)]
    assert _analysis_numbers(text) == [str(n) for n in range(1, 8)]
    assert "第一作者单位" not in text and "4. **链接**" in text


def test_links_are_labelled_by_what_they_are_and_pdf_is_the_pdf(tmp_path):
    view = _view(paper())
    links = ("https://github.com/a/b", "https://a.github.io/proj/", "https://huggingface.co/x/y")
    text = _render(tmp_path, [replace(view, extraction=replace(view.extraction, links=links))]).text
    assert "[代码](https://github.com/a/b)" in text
    assert "[项目主页](https://a.github.io/proj/)" in text
    assert "[Hugging Face](https://huggingface.co/x/y)" in text
    assert "[PDF](https://arxiv.org/pdf/2410.03665v1)" in text
    assert "[PDF](https://arxiv.org/abs/" not in text


def test_front_matter_leaves_out_fields_without_a_value(tmp_path):
    p = paper()
    offline = replace(record(p), backend="extractive", model="extractive-v1", prompt_version="none")
    text = _render(tmp_path, [replace(_view(p), summary=offline)]).text
    meta = yaml.safe_load(text.split("---\n")[1])
    assert "prompt_versions" not in meta and "none" not in text.split("---\n")[1]
    assert meta["llm_models"] == ["extractive-v1"]
    empty = yaml.safe_load(_render(tmp_path, [_view(p, summary=False)]).text.split("---\n")[1])
    assert "llm_models" not in empty and "prompt_versions" not in empty


def test_hostile_metadata_cannot_escape(tmp_path):
    p = paper(
        title=HOSTILE + " ---",
        abstract=HOSTILE,
        comment=HOSTILE,
        authors=("<img src=x onerror=alert(1)>",),
    )
    text = _render(
        tmp_path, [_view(p, failures=[Failure(p.arxiv_id, 1, "download", HOSTILE)])]
    ).text
    body = text.split("---\n", 2)[2]
    assert "<script" not in text and "{{" not in body and "{%" not in body and "{#" not in body
    # The figures and the list of failures at the end: no more, whatever the text says.
    assert body.count("<details>") == body.count("</details>") == 2
    assert "alert(1)" in yaml.safe_load(text.split("---\n")[1])["description"]
    assert not re.search(r"^---$", body, re.M)


def test_figures_follow_the_licence_policy(tmp_path):
    closed = paper(licence="http://arxiv.org/licenses/nonexclusive-distrib/1.0/")
    post = _render(tmp_path, [_view(closed)])
    assert "<img" not in post.text and post.figures == ()
    assert "许可" in post.text
    assert figures_allowed("http://creativecommons.org/licenses/by-sa/4.0/", "licensed")
    assert figures_allowed("anything", "always") and not figures_allowed("", "licensed")


def test_failed_paper_still_appears_with_its_reason(tmp_path):
    p = paper()
    text = _render(
        tmp_path, [_view(p, failures=[Failure(p.arxiv_id, 1, "summarize", "quota")], summary=False)]
    ).text
    assert "## A Diffusion Model for Things" in text and "quota" in text
    assert "**Summary**" not in text


def test_failures_are_listed_again_at_the_end_and_waiting_is_not_failing(tmp_path):
    failed, waiting = paper("2410.00001"), paper("2410.00002")
    text = _render(
        tmp_path,
        [
            _view(failed, failures=[Failure(failed.arxiv_id, 1, "extract", "bad <xref> {{x}}")]),
            _view(
                waiting,
                summary=False,
                failures=[
                    Failure(
                        waiting.arxiv_id,
                        1,
                        "summarize",
                        "429; the paper waits for the next run",
                        "waiting",
                    )
                ],
            ),
        ],
    ).text
    assert "> ⚠️ 未能完成（extract）：bad &lt;xref&gt; &#123;&#123;x&#125;&#125;" in text
    assert "> ⏳ 等待下次运行（summarize）：429" in text and "未能完成（summarize）" not in text
    end = text[text.rindex("<details>") :]
    assert end.startswith("<details>\n  <summary>未完成的论文（2）</summary>")
    assert end.endswith("</ul>\n</details>\n")
    assert (
        '<li><a href="https://arxiv.org/abs/2410.00001v1">2410.00001v1</a> A Diffusion Model for '
        "Things · extract · 未能完成：bad &lt;xref&gt; &#123;&#123;x&#125;&#125;</li>"
    ) in end
    assert "· summarize · 等待下次运行：429; the paper waits for the next run</li>" in end


def test_a_day_without_failures_has_no_failure_list(tmp_path):
    assert "未完成的论文" not in _render(tmp_path, [_view(paper())]).text


def test_an_updated_paper_is_listed_once_under_updated(tmp_path):
    new = paper("2410.09999", title="A Brand New Paper")
    v2 = paper(version=2, announce_type="replace", comment="v2: camera ready")
    post = _render(tmp_path, [_view(new), _view(v2, previously=Previous(date(2024, 10, 4), 1))])
    body = post.text.split("---\n", 2)[2]
    new_part, updated_part = body.split("\n## 更新的论文\n")
    assert "## A Brand New Paper" in new_part and "A Diffusion Model for Things" not in new_part
    assert updated_part.count("A Diffusion Model for Things") == 1
    assert "### A Diffusion Model for Things" in updated_part
    assert (
        "**v2** · [arXiv v2](https://arxiv.org/abs/2410.03665v2) · v1 已于 2024-10-04 发布"
        " · v2: camera ready"
    ) in updated_part
    assert "一句话：内容" in updated_part and "<img" not in updated_part
    assert [p.name for p in post.figures] == ["2410.03665v1-fig1.png"]  # the new paper's only


def test_the_updated_part_in_english(tmp_path):
    v2 = paper(version=2)
    text = _render(
        tmp_path, [_view(v2, previously=Previous(date(2024, 10, 4), 1))], language="en"
    ).text
    assert "\n## Updated papers\n" in text and "v1 published 2024-10-04" in text


def test_markdown_format_has_plain_front_matter_and_figures_under_the_base_url(tmp_path):
    layout = Layout("markdown", "https://cdn.example.org/img/", tmp_path / "static" / "img")
    post = _render(tmp_path, [_view(paper())], policy="always", layout=layout)
    meta = yaml.safe_load(post.text.split("---\n")[1])
    assert set(meta) == {"title", "date", "tags", "description", "llm_models", "prompt_versions"}
    assert meta["date"] == DAY and meta["tags"] == ["Diffusion Models"]
    src = "https://cdn.example.org/img/2024-10-07-diffusion-models/2410.03665v1-fig1.png"
    assert f'<img src="{src}"' in post.text
    copied = tmp_path / "static" / "img" / "2024-10-07-diffusion-models" / "2410.03665v1-fig1.png"
    assert post.figures == (copied,) and copied.read_bytes() == b"\x89PNG fake"
    assert post.path == tmp_path / "out" / "2024-10-07-diffusion-models.md"
    assert not (tmp_path / "out" / "2024-10-07-diffusion-models").exists()
    hexo = _render(tmp_path, [_view(paper())], policy="always").text
    assert post.text.split("---\n", 2)[2] == hexo.split("---\n", 2)[2].replace(
        '<img src="', '<img src="https://cdn.example.org/img/2024-10-07-diffusion-models/'
    )


@pytest.mark.parametrize("setting", ["updated", "new", "skip"])
def test_two_days_from_the_database_show_a_new_version_once(tmp_path, setting):
    from config.settings import Settings
    from tasks.record import store, writes
    from tasks.stage_config import stage_config
    from tasks.stages import render_day

    db, out = tmp_path / "d.duckdb", tmp_path / "out"
    v1, v2 = paper(), paper(version=2, announce_type="replace")
    other = paper("2410.09999", title="Another Paper")
    with store.connect(db) as con:
        for day, p in ((DAY, v1), (NEXT, v2), (NEXT, other)):
            writes.save_papers(con, [p])
            writes.save_selections(con, day, [Selection(p.arxiv_id, p.version, "DM", True, 1.0)])
            writes.save_summary(con, record(p))
    settings = Settings(db_path=db, output_dir=out, data_dir=tmp_path, updated_papers=setting)
    config = stage_config(settings)
    posts = [render_day.fn(config, "DM", "dm", "zh", day, {}) for day in (DAY, NEXT)]
    first, second = (p.text.split("---\n", 2)[2] for p in posts)
    assert "## A Diffusion Model for Things" in first and "更新的论文" not in first
    title = "A Diffusion Model for Things"
    assert second.count(f"## {title}") == (setting != "skip")
    assert ("\n## 更新的论文\n" in second) is (setting == "updated")
    assert (f"### {title}" in second) is (setting == "updated")
    assert ("https://arxiv.org/abs/2410.03665v2" in second) is (setting != "skip")
    with store.connect(db, read_only=True) as con:
        row = con.execute("SELECT papers, prompt_versions FROM digests WHERE day = ?", [NEXT])
        assert row.fetchone() == (1 + (setting != "skip"), ["summary-v1"])


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ('a \\textit{na\\"ive} method, 5% better', "a naïve method, 5% better"),
        ("code: \\url{https://github.com/a_b/c~d}.", "code: https://github.com/a_b/c~d."),
        ("\\emph{fast} $\\mathcal{O}(n)$ and \\emph{$x_1$}", "fast $\\mathcal{O}(n)$ and $x_1$"),
        (
            "plain 50% of a~b, R&D {x} https://x.org/a~b",
            "plain 50% of a~b, R&D {x} https://x.org/a~b",
        ),
        ("Sch\\\"onberg \\cite{k} and 10\\% -- ``so''", "Schönberg  and 10% – “so”"),
    ],
)
def test_latex_outside_math_becomes_readable_text(tmp_path, typed, read):
    assert readable(typed) == read
    text = _render(tmp_path, [_view(paper(abstract=typed))]).text
    assert inline(read) in text
