import re
from datetime import date

import yaml

from tasks.render import attr, figures_allowed, inline, render_post, url
from tasks.store import PaperView
from tasks.types import Extraction, Failure, Figure, Selection
from tests.factories import paper, record

DAY = date(2024, 10, 7)
HOSTILE = "{{ x }} {% raw %} {# gone #} <script>alert(1)</script> </details> [a](b) *x* _y_ `z`"


def _view(p, fig_path="2410.03665v1-fig1.png", failures=(), summary=True):
    figure = Figure(1, 1, (0, 0, 1, 1), "Figure 1: A <b>real</b> {{figure}}", 300, 200, "h",
                    fig_path)  # fmt: skip
    ex = Extraction(p.arxiv_id, p.version, 4, {}, "UC Berkeley", ("https://github.com/a/b",),
                    (figure,))  # fmt: skip
    return PaperView(p, Selection(p.arxiv_id, p.version, "Diffusion Models", True, 3.0), ex,
                     record(p) if summary else None, tuple(failures))  # fmt: skip


def _render(tmp_path, views, policy="licensed"):
    figs = tmp_path / "figs"
    figs.mkdir(exist_ok=True)
    (figs / "2410.03665v1-fig1.png").write_bytes(b"\x89PNG fake")
    return render_post("Diffusion Models", "diffusion-models", "zh", DAY, views,
                       {"author": "Kedreamix", "tags": ["Diffusion Models"], "toc": ""},
                       tmp_path / "out", figs, policy)  # fmt: skip


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
    assert "gemini-2.5-flash" in body and "# 2024-10-07 更新" in body
    for part in ("## A Diffusion Model for Things", "**Authors:Ada Lovelace, Alan Turing**",
                 "[PDF](https://arxiv.org/abs/2410.03665v1) NeurIPS 2024", "**Summary**",
                 "**Key Takeaways**", "UC Berkeley", "[代码](https://github.com/a/b)",
                 '<img src="2410.03665v1-fig1.png"', "<details>", "</details>"):  # fmt: skip
        assert part in body, part
    assert post.figures == (
        tmp_path / "out" / "2024-10-07-diffusion-models" / "2410.03665v1-fig1.png",
    )
    assert post.figures[0].read_bytes() == b"\x89PNG fake"


def test_hostile_metadata_cannot_escape(tmp_path):
    p = paper(title=HOSTILE + " ---", abstract=HOSTILE, comment=HOSTILE,
              authors=("<img src=x onerror=alert(1)>",))  # fmt: skip
    text = _render(
        tmp_path, [_view(p, failures=[Failure(p.arxiv_id, 1, "download", HOSTILE)])]
    ).text
    body = text.split("---\n", 2)[2]
    assert "<script" not in text and "{{" not in body and "{%" not in body and "{#" not in body
    assert body.count("<details>") == body.count("</details>") == 1
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
    text = _render(tmp_path, [_view(p, failures=[Failure(p.arxiv_id, 1, "summarize", "quota")],
                                    summary=False)]).text  # fmt: skip
    assert "## A Diffusion Model for Things" in text and "quota" in text
    assert "**Summary**" not in text
