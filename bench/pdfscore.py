"""Score one extraction against a real paper's truth (bench/pdf.py's measures)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from tasks.domain import Extraction, Figure
from tasks.pdf.captions import FIGURE_CAPTION

BBOX_SLACK = 2.0  # points: a judged crop still counts when its box moved less than this


@dataclass(frozen=True)
class Score:
    """Counts over papers; ratios come from their sums."""

    main: int = 0
    main_found: int = 0
    appendix: int = 0
    appendix_found: int = 0
    captions: int = 0
    captions_intact: int = 0
    papers: int = 0
    affiliation_exact: int = 0
    links_stated: int = 0
    links_found: int = 0
    links_spurious: int = 0
    crops: int = 0
    crops_ok: int = 0
    crops_unjudged: int = 0

    def __add__(self, other: Score) -> Score:
        return Score(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def with_crops(self, judged: list[str]) -> Score:
        unjudged = sum(1 for j in judged if j.endswith("unjudged"))
        ok = sum(1 for j in judged if j == "ok")
        return replace(self, crops=len(judged), crops_ok=ok, crops_unjudged=unjudged)

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("main-text figure recall", _ratio(self.main_found, self.main)),
            ("appendix figure recall", _ratio(self.appendix_found, self.appendix)),
            (
                "crops correct (truth has a verdict)",
                _ratio(self.crops_ok, self.crops) + f", {self.crops_unjudged} not yet judged",
            ),
            ("caption words intact", _ratio(self.captions_intact, self.captions)),
            ("affiliation exact", f"{self.affiliation_exact}/{self.papers}"),
            ("stated links found", _ratio(self.links_found, self.links_stated)),
            ("spurious links", str(self.links_spurious)),
        ]


def _ratio(n: int, d: int) -> str:
    return f"{n}/{d} = {n / d:.2f}" if d else "n/a"


def normal(text: str) -> str:
    """Return text as compared: NFKC, line-end hyphens joined, whitespace runs as one space."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return re.sub(r"(\w)- (?=[a-z])", r"\1", text)


def match_figure(truth: dict, found: tuple[Figure, ...]) -> Figure | None:
    """Return our figure with the truth figure's number on its page, if any."""
    for fig in found:
        m = FIGURE_CAPTION.match(fig.caption)
        if m and m.group(1) == str(truth["number"]) and fig.page == truth["page"]:
            return fig
    return None


def score_paper(paper: dict, ex: Extraction) -> tuple[Score, list[str]]:
    """Return the paper's counts and a line for each truth item it misses."""
    misses, counts = [], {"main": 0, "main_found": 0, "appendix": 0, "appendix_found": 0}
    captions = intact = 0
    for truth in paper["figures"]:
        part = "main" if truth["part"] == "main" else "appendix"
        fig = match_figure(truth, ex.figures)
        counts[part] += 1
        if fig is None:
            misses.append(f"figure {truth['number']} (p{truth['page']}, {part}) not found")
            continue
        counts[part + "_found"] += 1
        captions += 1
        start = normal(truth["caption_start"]).rstrip("-")
        if normal(fig.caption).startswith(start):
            intact += 1
        else:
            misses.append(f"figure {truth['number']} caption {fig.caption[: len(start)]!r}")
    aff = normal(ex.affiliation) in _printed(paper["first_author_affiliation"])
    if not aff:
        misses.append(f"affiliation {ex.affiliation!r}")
    stated = [u.split()[0] for u in paper["code_or_project_urls"]]
    found = [u for u in stated if _key(u) in {_key(x) for x in ex.links}]
    spurious = [u for u in ex.links if not _stated(u, stated)]
    misses += [f"link missed {u}" for u in stated if u not in found]
    misses += [f"link spurious {u}" for u in spurious]
    score = Score(
        captions=captions,
        captions_intact=intact,
        papers=1,
        affiliation_exact=int(aff),
        links_stated=len(stated),
        links_found=len(found),
        links_spurious=len(spurious),
        **counts,
    )
    return score, misses


def _printed(truth: str) -> set[str]:
    """Return the truth's affiliation, and without a reader's trailing "(gloss)" if it has one."""
    return {normal(truth), normal(re.sub(r"\s*\([^()]*\)$", "", truth))}


def _key(url: str) -> str:
    return url.lower().removeprefix("https://").removeprefix("http://").rstrip("/")


def _owner(url: str) -> tuple[str, str]:
    """Return (host, owner): a github.io site, or the first path segment after datasets/."""
    parts = urlsplit(url if "://" in url else "https://" + url)
    segments = [s for s in parts.path.split("/") if s and s not in ("datasets", "spaces")]
    host = parts.netloc.lower().removeprefix("www.")
    return (host, "") if host.endswith("github.io") else (host, (segments or [""])[0].lower())


def _stated(url: str, stated: list[str]) -> bool:
    """Return True for a stated URL, or another of the same owner's repositories or models."""
    return any(_key(url) == _key(s) or _owner(url) == _owner(s) for s in stated)


def load_verdicts(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["papers"] if path.exists() else {}


def crop_verdict(verdicts: dict, paper: dict, pair: tuple, crop_dir: Path) -> str:
    """Return "ok", or what is wrong with the crop, from the verdict judged for this bbox."""
    truth, fig = pair
    label = f"figure {truth['number']} crop"
    if fig is None:
        return f"{label} missing"
    judged = verdicts.get(paper["file"], {}).get(str(truth["number"]))
    if not judged or any(
        abs(a - b) > BBOX_SLACK for a, b in zip(judged["bbox"], fig.bbox, strict=True)
    ):
        return f"{label} {crop_dir.name}/{fig.path} {list(fig.bbox)} unjudged"
    if judged["verdict"] == "ok":
        return "ok"
    return f"{label} {judged['verdict']}: {judged.get('note', '')}"
