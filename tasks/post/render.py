"""Render a topic's day from DuckDB rows into a post, with every outside text made inert.

The format is a template in config/templates/ (`hexo`, `markdown`); both share the body.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tasks.domain import LICENCE_STAGE
from tasks.post.inert import attr, inline, plain, url
from tasks.post.labels import LABELS, link_kind
from tasks.post.latex import readable
from tasks.record.store import is_waiting
from tasks.record.views import PaperView
from tasks.summary.extractive import NOT_STATED
from tasks.summary.schema import SummaryRecord

__all__ = ["Layout", "Post", "attr", "figures_allowed", "inline", "render_post", "url"]

TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates"
FORMATS = ("hexo", "markdown")
COMPUTED = ("llm_models", "prompt_versions")  # front matter from the day's rows, not the topic


_OPEN_LICENCES = (
    "creativecommons.org/licenses/by/",
    "creativecommons.org/licenses/by-sa/",
    "creativecommons.org/publicdomain/zero/",
)


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
    missing: tuple[Path, ...] = ()  # figures the post shows whose files are not on disk


def post_name(day: date, slug: str) -> str:
    """Return the post's file stem, which is also its Hexo asset folder."""
    return f"{day.isoformat()}-{slug}"


@dataclass(frozen=True)
class Layout:
    """The post's format and where its figures go."""

    post_format: str = "hexo"
    figure_base_url: str = "/images"
    figure_output_dir: Path = Path("data/images")

    def figure_home(self, output_dir: Path, name: str) -> tuple[Path, str]:
        """Return the folder the post's figures are copied to and the prefix of their `src`."""
        if self.post_format == "hexo":
            # Hexo's post_asset_folder: a bare file name resolves under any permalink.
            return output_dir / name, ""
        return self.figure_output_dir / name, f"{self.figure_base_url.rstrip('/')}/{quote(name)}/"


def post_date(day: date) -> str:
    """Return the post's date: noon UTC, which is still `day` from UTC-12 to UTC+11.

    Hexo reads the time as a wall clock in its `timezone` setting and files the post by the
    clock of the machine that builds it; midnight slips to the previous day whenever the
    setting is ahead of that machine (Asia/Shanghai on a UTC server), noon does not.
    """
    return f"{day.isoformat()}T12:00:00+00:00"


def front_matter(
    topic_name: str, day: date, views: list[PaperView], extra: dict, post_format: str = "hexo"
) -> str:
    """Return the YAML front matter, written by a serializer so no title can break it."""
    first = views[0].paper.title if views else ""
    meta = {
        "title": topic_name,
        "date": post_date(day),
        **{k: extra[k] for k in ("author", "cover", "categories", "tags") if k in extra},
        "description": f"{topic_name} 方向最新论文已更新，请持续关注 Update in {day.isoformat()} "
        f" {plain(readable(first))}",
        **{k: v for k, v in extra.items() if k not in ("author", "cover", "categories", "tags")},
    }
    if post_format != "hexo":
        # Jekyll and Hugo: the keys both read, none of a Hexo theme's.
        meta = {
            "title": f"{topic_name} {day.isoformat()}",
            "date": day,
            "tags": extra.get("tags", [topic_name]),
            "description": meta["description"],
        }
    meta["llm_models"] = sorted({_answered(v.summary) for v in views if v.summary})
    # The extractive summarizer has no prompt ("none"): a field with no value is left out.
    meta["prompt_versions"] = sorted(
        {v.summary.prompt_version for v in views if v.summary} - {"none", ""}
    )
    meta = {k: v for k, v in meta.items() if k not in COMPUTED or v}
    meta = {k: (None if v == "" else v) for k, v in meta.items()}
    body = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{body}---\n"


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
    layout: Layout = Layout(),
) -> Post:
    """Write the post for `day` and copy the figures it shows to where the layout says.

    A paper whose earlier version the topic already published (`previously`) is listed in the
    Updated part, never again as new.
    """
    name = post_name(day, slug)
    figure_home, figure_prefix = layout.figure_home(output_dir, name)
    papers = [
        {
            "v": v,
            "figures": figures_allowed(v.paper.licence, figure_policy),
            "withheld": "licence_unknown" if _licence_unknown(v) else "no_figures",
        }
        for v in views
        if v.previously is None
    ]
    body = (
        _environment()
        .get_template(f"{layout.post_format}.md.j2")
        .render(
            day=day.isoformat(),
            papers=papers,
            L=LABELS[language],
            language=language,
            disclaimer=_disclaimer(views, language),
            figure_prefix=figure_prefix,
            updated=[v for v in views if v.previously is not None],
            failures=_failures(views, LABELS[language]),
        )
    )
    text = front_matter(topic_name, day, views, front, layout.post_format) + body
    copied, missing = _copy_figures(papers, figure_dir, figure_home)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{name}.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return Post(path, text, copied, missing)


def _licence_unknown(view: PaperView) -> bool:
    """Return whether the paper's licence lookup failed (tasks.stages records it as a stage)."""
    return any(f.stage == LICENCE_STAGE for f in view.failures)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(md=inline, attr=attr, url=url, link_kind=link_kind, prose=prose)
    env.tests["waiting"] = is_waiting
    env.globals["NOT_STATED"] = NOT_STATED
    return env


def prose(text: str) -> str:
    """Return an author's or the summarizer's text as inert Markdown, its LaTeX made readable."""
    return inline(readable(text))


def _failures(views: list[PaperView], labels: dict[str, str]) -> list[dict[str, Any]]:
    """Return every failed or waiting stage of the day, for the collapsed list at the end."""
    return [
        {
            "key": v.paper.key,
            "url": url(v.paper.abs_url),
            "title": v.paper.title,
            "stage": f.stage,
            "reason": f.reason,
            "label": labels["waiting"] if is_waiting(f) else labels["failed"],
        }
        for v in sorted(views, key=lambda v: v.previously is not None)
        for f in v.failures
    ]


def _copy_figures(
    papers: list[dict], figure_dir: Path, target_dir: Path
) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Copy the figures the post shows next to it; return those copied and those missing."""
    copied, missing = [], []
    for item in papers:
        extraction = item["v"].extraction
        if not item["figures"] or extraction is None:
            continue
        for figure in extraction.figures:
            source = figure_dir / figure.path
            if not source.exists():
                missing.append(source)
                continue
            target_dir.mkdir(parents=True, exist_ok=True)
            target = target_dir / Path(figure.path).name
            shutil.copyfile(source, target)
            copied.append(target)
    return tuple(copied), tuple(missing)


def _disclaimer(views: list[PaperView], language: str) -> list[str]:
    backends = sorted({(v.summary.backend, _answered(v.summary)) for v in views if v.summary})
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
            # Gemini's models link to Google's page; others (an OpenAI-compatible endpoint)
            # are named only: the post cannot know which service served them.
            name = (
                f"[{inline(model)}](https://ai.google.dev/)"
                if backend == "gemini"
                else (inline(model))
            )
            lines.append(
                f"以下内容由大语言模型 {name} 生成，如有错误，仅供参考，谨慎使用"
                if language == "zh"
                else f"The summaries below were written by the language model {name}; "
                "they may contain errors"
            )
    return lines


def _answered(summary: SummaryRecord) -> str:
    """Return the model that wrote `summary`: the one the service named, if it routed."""
    return summary.served_model or summary.model
