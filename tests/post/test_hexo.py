"""Build rendered posts with real Hexo (the site in tests/hexo) and read what a browser gets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, replace
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from tasks.domain import Extraction, Failure, Figure, Paper, Selection
from tasks.post.latex import readable
from tasks.post.render import render_post
from tasks.record import store, views, writes
from tests.factories import record

ROOT = Path(__file__).resolve().parents[2]
SKELETON = ROOT / "tests" / "hexo"
HEXO = SKELETON / "node_modules" / "hexo" / "bin" / "hexo"
SAMPLE = ROOT / "config" / "sample" / "2024-10-07.json"
DAY, HOSTILE_DAY, LATER = date(2024, 10, 7), date(2024, 10, 8), date(2024, 10, 9)
SAMPLE_POST, HOSTILE_POST = "2024-10-07-diffusion-models", "2024-10-08-hostile"
# The next days: a new version of a paper each post above showed, beside a new paper.
LATER_POST, HOSTILE_LATER_POST = "2024-10-09-diffusion-models", "2024-10-09-hostile"
WAITING = "gemini-2.5-flash's daily quota is used up; the paper waits for the next run"
HOSTILE = (
    "{{ x }} {% raw %} {# y #} <script>alert(1)</script> </details> [link](http://x) "
    "`code` _u_ *s* [b] ${{\\rm A}}$ ~t~ a|b \\url{https://example.org/a_b~c}. #"
)
HOSTILE_ABSTRACT = f"{HOSTILE}\n---\n{HOSTILE}"
# What a reader sees of it where LaTeX is made readable (titles, abstracts, summaries, authors).
READ = HOSTILE.replace("\\url{https://example.org/a_b~c}", "https://example.org/a_b~c")
# The smallest valid PNG (1x1, grey): Hexo copies asset files without reading them.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c63680000008200816cf6a12d0000000049454e44ae426082"
)
# Addresses in the sample's abstracts, as a reader expects them linked.
SAMPLE_LINKS = {
    "https://egoallo.github.io/",
    "https://github.com/caradryanl/CopyMark",
    "https://github.com/Darkbblue/generic-diffusion-feature",
    "https://github.com/NUS-HPC-AI-Lab/",
}
# The site's typography (marked's smartypants) curls quotes: that is the blog's choice.
STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
VOID = {"img", "br", "hr", "meta", "link", "input", "wbr", "source"}


def _site(tmp: Path) -> Path:
    """Return a copy of the skeleton site in `tmp` sharing its installed node_modules."""
    if not HEXO.exists() or shutil.which("node") is None:
        reason = "Hexo is not installed in tests/hexo/node_modules: run `make hexo`"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must build the posts with real Hexo)")
        pytest.skip(reason)
    site = tmp / "site"
    ignore = shutil.ignore_patterns("node_modules", "public", "db.json", "*.md")
    shutil.copytree(SKELETON, site, ignore=ignore)
    (site / "node_modules").symlink_to(SKELETON / "node_modules", target_is_directory=True)
    return site


def hexo_generate(site: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `hexo generate` in `site` with its own installed Hexo."""
    hexo = site / "node_modules" / "hexo" / "bin" / "hexo"
    return subprocess.run(
        ["node", str(hexo), "generate"],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _sample_papers() -> list[Paper]:
    """Return the papers of the real 2024-10-07 post that the demo replays."""
    entries = json.loads(SAMPLE.read_text())["papers"]
    return [_paper(e) for e in entries if e["role"] == "reference"]


def _paper(e: dict) -> Paper:
    return Paper(
        arxiv_id=e["arxiv_id"],
        version=e["version"],
        title=e["title"],
        authors=tuple(e["authors"]),
        abstract=e["abstract"],
        published=datetime.fromisoformat(e["published"]),
        updated=datetime.fromisoformat(e["updated"] or e["published"]),
        categories=tuple(e["categories"]),
        primary_category=e["primary_category"],
        comment=e.get("comment", ""),
        licence=e["licence"],
    )


def _hostile_paper() -> Paper:
    sample = _sample_papers()[0]
    return Paper(
        arxiv_id="hep-th/9901001",
        version=2,
        title=HOSTILE,
        abstract=HOSTILE_ABSTRACT,
        authors=(HOSTILE, "<img src=x onerror=alert(1)>"),
        comment=HOSTILE,
        published=sample.published,
        updated=sample.updated,
        licence="http://creativecommons.org/licenses/by/4.0/",
    )


def _store(
    con,
    topic: str,
    day: date,
    p: Paper,
    figure_dir: Path,
    text: str,
    caption: str,
    summarized: bool = True,
):
    """Store `p` as kept by `topic` on `day`, with two figures written to `figure_dir`."""
    figures = []
    for i in (1, 2):
        name = f"{p.stem}-fig{i}.png"
        (figure_dir / name).write_bytes(PNG)
        figures.append(Figure(i, i, (0.0, 0.0, 1.0, 1.0), f"{caption} {i}", 1, 1, "sha", name))
    writes.save_papers(con, [p])
    writes.save_selections(con, day, [Selection(p.arxiv_id, p.version, topic, True, 2.0)])
    writes.save_extraction(
        con,
        Extraction(
            p.arxiv_id,
            p.version,
            9,
            {},
            text,
            ("javascript:alert(1)", "https://github.com/a_b/c~d"),
            tuple(figures),
        ),
    )
    if summarized:
        writes.save_summary(con, record(p, text))


Posts = dict[tuple[str, str, date], tuple[list[Paper], list[Paper]]]


def _fill(db: Path, figure_dir: Path) -> Posts:
    """Store four days; return the new and the updated papers of each (topic, slug, day)."""
    sample, hostile = _sample_papers(), _hostile_paper()
    failed = sample[-1]
    v2 = replace(sample[0], version=2, announce_type="replace", comment="v2: camera ready")
    fresh = replace(sample[1], arxiv_id="2410.09999")
    v3 = replace(hostile, version=3, announce_type="replace")
    with store.connect(db) as con:
        for p in sample:
            _store(
                con,
                "Diffusion Models",
                DAY,
                p,
                figure_dir,
                "内容",
                f"Figure: {p.title}",
                summarized=p is not failed,
            )
        writes.save_failure(
            con,
            Failure(
                failed.arxiv_id, failed.version, "summarize", "429 quota exhausted: retry tomorrow"
            ),
        )
        _store(con, "Hostile", HOSTILE_DAY, hostile, figure_dir, HOSTILE, HOSTILE)
        writes.save_failure(con, Failure(hostile.arxiv_id, hostile.version, "summarize", HOSTILE))
        for p in (v2, fresh):
            _store(
                con, "Diffusion Models", LATER, p, figure_dir, "内容", "Figure", summarized=p is v2
            )
        writes.save_failure(con, Failure(fresh.arxiv_id, 1, "summarize", WAITING, "waiting"))
        _store(con, "Hostile", LATER, v3, figure_dir, HOSTILE, HOSTILE)
        writes.save_failure(con, Failure(v3.arxiv_id, 3, "extract", HOSTILE))
    return {
        ("Diffusion Models", "diffusion-models", DAY): (sample, []),
        ("Hostile", "hostile", HOSTILE_DAY): ([hostile], []),
        ("Diffusion Models", "diffusion-models", LATER): ([fresh], [v2]),
        ("Hostile", "hostile", LATER): ([], [v3]),
    }


@dataclass(frozen=True)
class Built:
    site: Path
    pages: dict[str, Path]  # post stem -> its generated page
    papers: dict[str, list[Paper]]  # post stem -> the new papers it shows
    updated: dict[str, list[Paper]]  # post stem -> the papers it shows as updated


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    """Render two days from a database, as `render` does, and build them with Hexo."""
    tmp = tmp_path_factory.mktemp("hexo")
    site, figure_dir, out, db = _site(tmp), tmp / "figures", tmp / "posts", tmp / "d.duckdb"
    figure_dir.mkdir()
    papers, updated = {}, {}
    for (topic, slug, day), (new, newer) in _fill(db, figure_dir).items():
        with store.connect(db, read_only=True) as con:
            shown = views.load_day(con, topic, day, "zh")
        post = render_post(topic, slug, "zh", day, shown, {"author": "Kedreamix"}, out, figure_dir)
        papers[post.path.stem], updated[post.path.stem] = new, newer
    shutil.copytree(out, site / "source" / "_posts", dirs_exist_ok=True)
    run = hexo_generate(site)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    # Hexo skips a post it cannot read and still exits 0: look for each page.
    found = {stem: list((site / "public").glob(f"*/*/*/{stem}/index.html")) for stem in papers}
    assert all(len(hits) == 1 for hits in found.values()), f"pages {found}\n{log}"
    return Built(site, {stem: hits[0] for stem, hits in found.items()}, papers, updated)


class Page(HTMLParser):
    """A generated page as a browser sees it: elements with their ancestors, and text."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None], tuple[str, ...]]] = []
        self.closed: list[str] = []
        self.open: list[str] = []
        self.chunks: list[str] = []
        self.h2: list[str] = []
        self.h3: list[str] = []
        self.li: list[str] = []  # list items inside a <details>
        self.feed(path.read_text(encoding="utf-8"))
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), tuple(self.open)))
        if tag in ("h2", "h3"):
            getattr(self, tag).append("")
        if tag == "li" and "details" in self.open:
            self.li.append("")
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        self.closed.append(tag)
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]

    def handle_data(self, data):
        self.chunks.append(data)
        for tag in ("h2", "h3"):
            if tag in self.open:
                getattr(self, tag)[-1] += data
        if "li" in self.open and "details" in self.open:
            self.li[-1] += data

    @property
    def text(self) -> str:
        return _squash("".join(self.chunks))

    def all(self, tag: str) -> list[tuple[dict[str, str | None], tuple[str, ...]]]:
        return [(attrs, parents) for t, attrs, parents in self.elements if t == tag]


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_every_post_page_shows_every_paper_title(built):
    for stem, papers in built.papers.items():
        page = Page(built.pages[stem])
        updated = built.updated[stem]
        assert [_squash(h) for h in page.h2] == [_squash(readable(p.title)) for p in papers] + (
            ["更新的论文"] if updated else []
        )
        assert [_squash(h) for h in page.h3] == [_squash(readable(p.title)) for p in updated]
        for p in papers:
            assert _squash(readable(p.title)) in page.text
            assert _squash(readable(p.abstract)) in page.text.translate(STRAIGHT), p.arxiv_id
    assert "未能完成（summarize）：429 quota exhausted" in Page(built.pages[SAMPLE_POST]).text


def test_an_updated_paper_shows_once_with_its_new_version(built):
    page = Page(built.pages[LATER_POST])
    [v2] = built.updated[LATER_POST]
    assert page.text.count(_squash(readable(v2.title))) == 1
    assert f"v2 · arXiv v2 · v1 已于 {DAY} 发布 · v2: camera ready" in page.text
    assert f"https://arxiv.org/abs/{v2.arxiv_id}v2" in {a["href"] for a, _ in page.all("a")}
    hostile = Page(built.pages[HOSTILE_LATER_POST])
    assert [_squash(h) for h in hostile.h3] == [_squash(READ)]
    assert f"v3 · arXiv v3 · v1 已于 {HOSTILE_DAY} 发布" not in hostile.text  # v2 was published
    assert f"v3 · arXiv v3 · v2 已于 {HOSTILE_DAY} 发布 · {_squash(READ)}" in hostile.text


def test_every_failure_is_listed_collapsed_at_the_end(built):
    def listed(stem):
        page = Page(built.pages[stem])
        return [_squash(li) for li in page.li]

    failed = built.papers[SAMPLE_POST][-1]
    assert listed(SAMPLE_POST) == [
        f"{failed.key} {_squash(failed.title)} · summarize · 未能完成：429 quota exhausted: "
        "retry tomorrow"
    ]
    [fresh] = built.papers[LATER_POST]
    assert listed(LATER_POST) == [
        f"{fresh.key} {_squash(fresh.title)} · summarize · 等待下次运行：{WAITING}"
    ]
    assert f"等待下次运行（summarize）：{WAITING}" in Page(built.pages[LATER_POST]).text.translate(
        STRAIGHT
    )
    hostile = _squash(HOSTILE)
    assert listed(HOSTILE_LATER_POST) == [
        f"hep-th/9901001v3 {hostile} · extract · 未能完成：{hostile}"
    ]


def test_addresses_in_text_link_to_themselves(built):
    hrefs = {a["href"] for a, _ in Page(built.pages[SAMPLE_POST]).all("a")}
    assert hrefs >= SAMPLE_LINKS
    hostile = {a["href"] for a, _ in Page(built.pages[HOSTILE_POST]).all("a")}
    assert {"http://x/", "https://example.org/a_b~c"} <= hostile  # Hexo adds the "/"


def test_every_image_resolves_to_a_generated_file(built):
    public = built.site / "public"
    for stem, path in built.pages.items():
        page_url = "/" + path.parent.relative_to(public).as_posix() + "/"
        images = Page(path).all("img")
        shown = [p for p in built.papers[stem] if "creativecommons" in p.licence]
        assert len(images) == 2 * len(shown), stem
        assert images or stem not in (SAMPLE_POST, HOSTILE_POST)
        for attrs, parents in images:
            src = urlsplit(urljoin(page_url, attrs["src"] or ""))
            assert src.netloc == "" and "details" in parents, attrs
            assert (public / unquote(src.path).lstrip("/")).is_file(), (stem, attrs["src"])


def test_hostile_text_builds_and_shows_literally(built):
    page = Page(built.pages[HOSTILE_POST])
    hostile, read = _squash(HOSTILE), _squash(READ)
    for shown in (
        read,
        f"{read} --- {read}",  # the abstract
        f"Authors:{read}, <img src=x onerror=alert(1)>",
        f"PDF {read}",
        f"第一作者单位：{read}",
        f"一句话：{read}",
        f"步骤二 {read}",
        f"工作量：工作量 {read}",
        f"{hostile} 2",  # the second figure's caption
        f"未能完成（summarize）：{hostile}",
    ):
        assert shown in page.text, shown
    assert page.h2 and _squash(page.h2[0]) == read


@pytest.mark.parametrize("stem", [HOSTILE_POST, HOSTILE_LATER_POST])
def test_hostile_text_adds_no_markup(built, stem):
    page = Page(built.pages[stem])
    later = stem == HOSTILE_LATER_POST
    assert not page.all("script")
    assert not [a for _, a, _ in page.elements if any(k.startswith("on") for k in a)]
    for tag in ("code", "em", "del", "hr", "table", "dl"):
        assert not page.all(tag), tag
    assert len(page.all("h2")) == 1 and len(page.all("h3")) == int(later)
    # The figures (not shown for an updated paper), then the list of failures.
    assert len(page.all("details")) == page.closed.count("details") == 2 - later
    inside = [parents for tag, _, parents in page.elements if tag in ("summary", "img")]
    assert len(inside) == (1 if later else 4) and all("details" in p for p in inside)
    assert len(page.li) == 1
    hrefs = {a["href"] for a, _ in page.all("a")}
    assert not [h for h in hrefs if not h.startswith(("#", "https://", "http://x"))], hrefs
    assert ("https://github.com/a_b/c~d" in hrefs) is not later


def test_latex_in_abstracts_reads_as_text_and_math_stays_for_mathjax(built):
    text = Page(built.pages[SAMPLE_POST]).text
    assert "available on GitHub: https://github.com/caradryanl/CopyMark" in text
    assert "which we term token selection ambiguity" in text and "a naïve application" in text
    assert "$\\mathbf{1.75}\\times$ and $\\mathbf{1.76}\\times$" in text
    for residue in ("\\url{", "\\textit{", 'na\\"ive'):
        assert residue not in text
