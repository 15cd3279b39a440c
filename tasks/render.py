"""Render a topic's day from DuckDB rows into a Hexo post, with every outside text made inert."""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tasks.store import PaperView

TEMPLATES = Path(__file__).resolve().parents[1] / "config" / "templates"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~()!#])")
_LINE_START = re.compile(r"^(\s*)([=+-]|\d+(?=[.)]))")
# A web address inside text: ASCII URL characters only, so braces, quotes and "<" end it.
_URL_IN_TEXT = re.compile(r"(?:https?|ftp)://[A-Za-z0-9][A-Za-z0-9._~:/?#@!$&'()*+,;=%-]*")
_URL_TAIL = ".,:;!?*_~'\""
_MARKUP_CHARS = re.compile(r"[<>{}]")
_URL = re.compile(r"^https?://[^\s<>\"'{}|\\^`]+$")

LABELS = {
    "zh": {
        "updated": "更新", "summary": "Summary", "takeaways": "Key Takeaways",
        "analysis": "论文解读", "title": "标题及中文翻译", "authors": "作者",
        "affiliation": "第一作者单位", "keywords": "关键词", "links": "链接",
        "abstract": "摘要", "background": "研究背景", "prior": "过去的方法及问题",
        "method": "研究方法", "performance": "任务与性能", "methods": "方法",
        "conclusion": "结论", "significance": "工作意义", "innovation": "创新点",
        "perf": "性能", "workload": "工作量", "figures": "点此查看论文截图",
        "no_figures": "该论文的许可不允许转载其图片，请在 PDF 中查看。",
        "failed": "未能完成", "code": "代码",
    },
    "en": {
        "updated": "Update", "summary": "Summary", "takeaways": "Key Takeaways",
        "analysis": "Analysis", "title": "Title", "authors": "Authors",
        "affiliation": "First author's affiliation", "keywords": "Keywords", "links": "Links",
        "abstract": "Summary", "background": "Background", "prior": "Prior work and its problems",
        "method": "Method", "performance": "Tasks and performance", "methods": "Methods",
        "conclusion": "Conclusion", "significance": "Significance", "innovation": "Innovation",
        "perf": "Performance", "workload": "Workload", "figures": "Figures",
        "no_figures": "The paper's licence does not allow republishing its figures; see the PDF.",
        "failed": "Not completed", "code": "Code",
    },
}  # fmt: skip

_OPEN_LICENCES = ("creativecommons.org/licenses/by/", "creativecommons.org/licenses/by-sa/",
                  "creativecommons.org/publicdomain/zero/")  # fmt: skip


def inline(text: str) -> str:
    """Return `text` as one inert line of Markdown: no HTML, no template tags, no markup.

    Web addresses become autolinks (`<https://...>`): marked links bare addresses itself, and
    an escape inside one would end up in its link.
    """
    text = " ".join(str(text).split())
    parts, start = [], 0
    for match in _URL_IN_TEXT.finditer(text):
        link = _trim_url(match.group())
        parts += [_inert(text[start : match.start()]), f"<{link}>"]
        start = match.start() + len(link)
    parts.append(_inert(text[start:]))
    return _LINE_START.sub(_escape_line_start, "".join(parts))


def _inert(text: str) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    # "---" turns into a dash (smartypants) or a rule, "www." into a link: escape them.
    text = re.sub(r"-{2,}", lambda m: "\\-" * len(m.group()), text).replace("www.", "www\\.")
    # Hexo runs Nunjucks over the body: braces must never reach it as braces.
    return text.replace("{", "&#123;").replace("}", "&#125;")


def _trim_url(link: str) -> str:
    """Drop the punctuation that ends a sentence rather than the address, as GFM does."""
    while link and (
        link[-1] in _URL_TAIL or (link[-1] == ")" and link.count(")") > link.count("("))
    ):
        link = link[:-1]
    return link


def _escape_line_start(match: re.Match[str]) -> str:
    lead, mark = match.groups()
    # "1." starts a list: escape the dot, not the digit.
    return lead + (mark + "\\" if mark[0].isdigit() else "\\" + mark)


def attr(text: str) -> str:
    """Return `text` safe inside a double-quoted HTML attribute."""
    text = html.escape(" ".join(str(text).split()), quote=True)
    return text.replace("{", "&#123;").replace("}", "&#125;")


def url(link: str) -> str:
    """Return a link safe for Markdown `(...)`, or an empty string if it is not http(s)."""
    link = link.strip()
    if not _URL.match(link):
        return ""
    return quote(link, safe=":/?=&#%.-_~+,;@!$*").replace("(", "%28").replace(")", "%29")


def figures_allowed(licence: str, policy: str) -> bool:
    """Return whether a paper's figures may be republished under the figure policy."""
    if policy == "always":
        return True
    if policy == "never":
        return False
    return any(marker in licence for marker in _OPEN_LICENCES)


@dataclass(frozen=True)
class Post:
    """A rendered post: its file and the figure files it references."""

    path: Path
    text: str
    figures: tuple[Path, ...]


def post_name(day: date, slug: str) -> str:
    """Return the post's file stem, which is also its Hexo asset folder."""
    return f"{day.isoformat()}-{slug}"


def front_matter(topic_name: str, day: date, views: list[PaperView], extra: dict) -> str:
    """Return the YAML front matter, written by a serializer so no title can break it."""
    first = views[0].paper.title if views else ""
    models = sorted({v.summary.model for v in views if v.summary})
    meta = {
        "title": topic_name,
        "date": f"{day.isoformat()} 00:00:00",
        **{k: extra[k] for k in ("author", "cover", "categories", "tags") if k in extra},
        "description": f"{topic_name} 方向最新论文已更新，请持续关注 Update in {day.isoformat()} "
        f" {_plain(first)}",
        **{k: v for k, v in extra.items() if k not in ("author", "cover", "categories", "tags")},
        "llm_models": models,
    }
    meta = {k: (None if v == "" else v) for k, v in meta.items()}
    body = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{body}---\n"


def _plain(text: str) -> str:
    """Return `text` on one line without the characters themes could take for markup."""
    return " ".join(_MARKUP_CHARS.sub(" ", text).split())


def render_post(
    topic_name: str,
    slug: str,
    language: str,
    day: date,
    views: list[PaperView],
    front: dict,
    output_dir: Path,
    figure_dir: Path,
    figure_policy: str = "licensed",
) -> Post:
    """Write the post for `day` and copy its figures into the post's asset folder."""
    name = post_name(day, slug)
    asset_dir = output_dir / name
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(md=inline, attr=attr, url=url)
    papers = [{"v": v, "figures": figures_allowed(v.paper.licence, figure_policy)} for v in views]
    text = front_matter(topic_name, day, views, front) + env.get_template("hexo.md.j2").render(
        day=day.isoformat(), papers=papers, L=LABELS[language], language=language,
        disclaimer=_disclaimer(views, language),
    )  # fmt: skip
    copied = _copy_figures(papers, figure_dir, asset_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{name}.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return Post(path, text, copied)


def _copy_figures(papers: list[dict], figure_dir: Path, asset_dir: Path) -> tuple[Path, ...]:
    copied = []
    for item in papers:
        extraction = item["v"].extraction
        if not item["figures"] or extraction is None:
            continue
        for figure in extraction.figures:
            source = figure_dir / figure.path
            if source.exists():
                asset_dir.mkdir(parents=True, exist_ok=True)
                target = asset_dir / Path(figure.path).name
                shutil.copyfile(source, target)
                copied.append(target)
    return tuple(copied)


def _disclaimer(views: list[PaperView], language: str) -> list[str]:
    backends = sorted({(v.summary.backend, v.summary.model) for v in views if v.summary})
    lines = []
    for backend, model in backends:
        if backend == "extractive":
            lines.append(
                f"以下总结由离线抽取式摘要器（{inline(model)}）从论文原文中摘取句子组成，未经大语言模型改写"
                if language == "zh"
                else f"The summaries below were assembled offline by an extractive summarizer "
                f"({inline(model)}) from the papers' own sentences; no language model rewrote them"
            )
        else:
            lines.append(
                f"以下内容由大语言模型 [{inline(model)}](https://ai.google.dev/) 生成，"
                "如有错误，仅供参考，谨慎使用"
                if language == "zh"
                else f"The summaries below were written by the language model "
                f"[{inline(model)}](https://ai.google.dev/); they may contain errors"
            )
    return lines
