"""`make relevance`: keyword step alone vs keyword + judge, on a labelled real arXiv day.

    uv run python -m bench.relevance [--listing bench/data/2026-06-17-listing.json]
                                     [--sample N] [--out bench/RELEVANCE.md]

The judge runs against the local fake Gemini answering from the day's verdicts file (a person's
verdicts standing in for a model), and against the real model when GEMINI_API_KEY is set.
It reports precision and recall; it asserts nothing.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from config.settings import Settings, Topic
from fakes.gemini_server import FakeGemini
from tasks import services
from tasks.domain import Paper, Selection
from tasks.llm.quota import reset_quotas
from tasks.relevance import keywords
from tasks.relevance.judge import GeminiJudge, Judge, JudgedDay, judge_day, keyword_net
from tasks.stage_config import llm_config

DATA = Path(__file__).with_name("data")
LISTING = DATA / "2026-06-17-listing.json"
TOPIC = "Diffusion Models"
FAKE_KEY = "bench-fake-key"
REPORT = Path(__file__).with_name("RELEVANCE.md")


@dataclass(frozen=True)
class Day:
    """A labelled day: its papers, the relevant keys, and the borderline keys."""

    day: str
    papers: list[Paper]
    relevant: set[str]
    borderline: set[str]
    verdicts: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Score:
    """One method's outcome on the day."""

    method: str
    kept: set[str]
    precision: float
    recall: float
    calls: int = 0
    tokens: int = 0
    fallbacks: int = 0


def load_day(listing: Path = LISTING, sample: int = 0) -> Day:
    """Read a labelled listing (and its verdicts file); `sample` keeps every k-th paper."""
    doc = json.loads(listing.read_text(encoding="utf-8"))
    rows = doc["papers"]
    if sample and sample < len(rows):
        rows = rows[:: len(rows) // sample][:sample]
    stamp = datetime.fromisoformat(doc["day"]).replace(tzinfo=UTC)
    papers = [
        Paper(
            r["id"],
            r["version"],
            r["title"],
            (),
            r["abstract"],
            stamp,
            stamp,
            tuple(r["categories"]),
            r["primary_category"],
        )
        for r in rows
    ]
    verdicts_path = listing.with_name(listing.name.replace("-listing", "-verdicts"))
    verdicts = json.loads(verdicts_path.read_text(encoding="utf-8"))["verdicts"]
    return Day(
        doc["day"],
        papers,
        {p.key for p, r in zip(papers, rows, strict=True) if r["label"]},
        {p.key for p, r in zip(papers, rows, strict=True) if r.get("borderline")},
        verdicts,
    )


def verdict_responder(verdicts: dict[str, dict[str, Any]]) -> Any:
    """Return a FakeGemini responder answering each <paper id> of a request from `verdicts`."""

    def respond(request: dict[str, Any]) -> str:
        texts = [
            part.get("text", "")
            for turn in request.get("contents", [])
            for part in turn.get("parts", [])
        ]
        ids = dict.fromkeys(re.findall(r'<paper id="([^"]+)">', "\n".join(texts)))
        return json.dumps({"verdicts": [{"id": i, **verdicts[i]} for i in ids]})

    return respond


def score(method: str, day: Day, kept: set[str], judged: JudgedDay | None = None) -> Score:
    """Return precision and recall of `kept` against the day's labels."""
    hits = len(kept & day.relevant)
    batches = judged.batches if judged else []
    return Score(
        method,
        kept,
        hits / len(kept) if kept else 1.0,
        hits / len(day.relevant) if day.relevant else 1.0,
        len(batches) + (judged.failed_batches if judged else 0),
        sum(b.prompt_tokens + b.output_tokens for b in batches),
        judged.failed_batches if judged else 0,
    )


def run(day: Day, topic: Topic, judges: dict[str, Judge]) -> list[Score]:
    """Score the keyword step alone, the keyword net, and keyword + each judge."""
    fetched = [p for p in day.papers if set(p.categories) & set(topic.categories)]
    keyword = keywords.select_papers(
        fetched, topic.name, topic.include, topic.exclude, topic.min_score
    )
    net = _kept(fetched, keyword_net(fetched, topic))
    strict = keywords.select_papers(fetched, topic.name, topic.include, topic.exclude, 2.0)
    scores = [
        score("keyword step alone", day, _kept(fetched, keyword)),
        score("keyword step alone, min_score 2", day, _kept(fetched, strict)),
        score("keyword net (judge candidates)", day, net),
    ]
    for name, found in judges.items():
        judged = judge_day(fetched, keyword, found, topic, 25)
        scores.append(score(name, day, _kept(fetched, judged.selections), judged))
    return scores


def _kept(papers: list[Paper], selections: list[Selection]) -> set[str]:
    kept = {(s.arxiv_id, s.version) for s in selections if s.kept}
    return {p.key for p in papers if (p.arxiv_id, p.version) in kept}


def without(day: Day, keys: set[str]) -> Day:
    """Return `day` with the papers in `keys` left out (the borderline ones)."""
    papers = [p for p in day.papers if p.key not in keys]
    return Day(day.day, papers, day.relevant - keys, set(), day.verdicts)


def table(scores: list[Score]) -> str:
    """Return the scores as a Markdown table."""
    lines = [
        "| method | kept | precision | recall | judge calls | judge tokens | failed batches |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in scores:
        calls = str(s.calls) if s.calls else "–"
        lines.append(
            f"| {s.method} | {len(s.kept)} | {s.precision:.2f} | {s.recall:.2f} | {calls} "
            f"| {s.tokens or '–'} | {s.fallbacks or '–'} |"
        )
    return "\n".join(lines)


def misses(day: Day, s: Score, papers: dict[str, Paper]) -> list[str]:
    """Return one line per false positive and false negative of `s`."""
    lines = [f"- missed {k}: {papers[k].title}" for k in sorted(day.relevant - s.kept)]
    return lines + [f"- wrongly kept {k}: {papers[k].title}" for k in sorted(s.kept - day.relevant)]


def main(
    listing: Annotated[Path, typer.Option(help="labelled listing JSON")] = LISTING,
    sample: Annotated[int, typer.Option(help="keep every k-th paper, N in all (0: all)")] = 0,
    out: Annotated[Path, typer.Option(help="report file")] = REPORT,
) -> None:
    """Print and write keyword-only vs keyword + judge precision and recall."""
    settings = Settings()
    topic = settings.topic(TOPIC)
    day = load_day(listing, sample)
    with FakeGemini(verdict_responder(day.verdicts)) as fake:
        judges: dict[str, Judge] = {
            "keyword + judge (fake LLM, verdicts file)": GeminiJudge(
                FAKE_KEY, settings.llm_model, fake.url
            )
        }
        real = services.judge(llm_config(settings)) if os.environ.get("GEMINI_API_KEY") else None
        if real:
            judges[f"keyword + judge ({real.model})"] = real
        reset_quotas()
        everything = run(day, topic, judges)
        core = run(without(day, day.borderline), topic, judges)
    report = _report(day, topic, everything, core, real is not None, listing)
    print(report)
    out.write_text(report, encoding="utf-8")


def _report(
    day: Day, topic: Topic, everything: list[Score], core: list[Score], real: bool, listing: Path
) -> str:
    papers = {p.key: p for p in day.papers}
    fetched = sum(1 for p in day.papers if set(p.categories) & set(topic.categories))
    parts = [
        f"# Relevance: keyword step alone vs keyword + judge ({TOPIC}, {day.day})",
        "",
        f"Generated by `make relevance` from `{listing.name}`: {len(day.papers)} papers, "
        f"{fetched} in the topic's categories, {len(day.relevant)} labelled relevant "
        f"({len(day.borderline)} labels borderline). Labels: `bench/data/RUBRIC.md`.",
        "",
        "## All labels",
        "",
        table(everything),
        "",
        "## Borderline papers left out",
        "",
        table(core),
        "",
        "The fake LLM answers from `*-verdicts.json`, verdicts written by the same person who "
        "made the labels, so its rows bound what a judge can do behind this keyword net (the "
        "net's recall is the ceiling); they do not measure a model. "
        + ("A real-model row is included." if real else "No GEMINI_API_KEY: no real-model row."),
        "",
    ]
    for s in everything:
        if s.method == "keyword step alone" or s.method.startswith("keyword + judge"):
            parts += [f"### {s.method}: errors", "", *misses(day, s, papers), ""]
    return "\n".join(parts)


if __name__ == "__main__":
    typer.run(main)
