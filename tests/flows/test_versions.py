"""A paper revised in a later batch: listed once as updated, or left out with `skip`.

The paper's v1 is submitted in the window of the batch labelled 2024-10-04 and its v2 in the
window of 2024-10-08's; a backfill over both labels runs the real flows against the fakes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from replay.arxiv_server import ArxivServer
from replay.pdfs import make_paper_pdf, spec_from_metadata
from tests.env import settings_env

TOPIC = "Diffusion Models"
FIRST, SECOND = date(2024, 10, 4), date(2024, 10, 8)
REVISED = {
    "arxiv_id": "2410.02001",
    "version": 2,
    "title": "Consistency Distillation for Latent Diffusion Models",
    "authors": ["A. Author", "B. Author"],
    "abstract": "We distill latent diffusion models into few-step generators. "
    "The method keeps image quality while cutting sampling steps tenfold.",
    "comment": "",
    "published": "2024-10-03T10:00:00Z",  # in the 2024-10-04 label's window
    "updated": "2024-10-04T20:00:00Z",  # in the 2024-10-08 label's window
    "categories": ["cs.CV"],
    "primary_category": "cs.CV",
}


def pdf(arxiv_id: str, version: int) -> bytes | None:
    if arxiv_id != REVISED["arxiv_id"]:
        return None
    spec = spec_from_metadata(
        REVISED["title"], REVISED["authors"], REVISED["abstract"], "", seed=version
    )
    return make_paper_pdf(spec)[0]


def headings(post: str) -> list[str]:
    return [line for line in post.splitlines() if line.startswith("#") and REVISED["title"] in line]


def backfill_both(tmp_path: Path, updated_papers: str) -> tuple[ArxivServer, Path]:
    from flows.backfill import backfill

    with ArxivServer([REVISED], pdf) as arxiv:
        env = {
            **arxiv.env(),
            "DIGEST_ARXIV_MIN_INTERVAL": "0",
            "DIGEST_LLM_BACKEND": "extractive",
            "DIGEST_DATA_DIR": str(tmp_path),
            "DIGEST_DB_PATH": str(tmp_path / "d.duckdb"),
            "DIGEST_OUTPUT_DIR": str(tmp_path / "posts"),
            "DIGEST_UPDATED_PAPERS": updated_papers,
        }
        with settings_env(env):
            backfill(start=FIRST, end=SECOND, topics=[TOPIC])
    return arxiv, tmp_path


def test_a_new_version_is_listed_once_as_updated(prefect_harness, tmp_path):
    arxiv, data = backfill_both(tmp_path, "updated")
    first = (data / "posts" / f"{FIRST}-diffusion-models.md").read_text(encoding="utf-8")
    second = (data / "posts" / f"{SECOND}-diffusion-models.md").read_text(encoding="utf-8")
    assert headings(first) == [f"## {REVISED['title']}"] and "2410.02001v1" in first
    # Once, under the Updated part, with its new version and where v1 was published.
    assert headings(second) == [f"### {REVISED['title']}"] and "2410.02001v2" in second
    assert second.index("## 更新的论文") < second.index(f"### {REVISED['title']}")
    assert f"v1 已于 {FIRST} 发布" in second
    assert sorted(p for p in arxiv.paths if p.startswith("/pdf")) == [
        "/pdf/2410.02001v1",
        "/pdf/2410.02001v2",
    ]


def test_with_skip_the_new_version_costs_nothing_and_the_day_says_why(prefect_harness, tmp_path):
    arxiv, data = backfill_both(tmp_path, "skip")
    assert [p for p in arxiv.paths if p.startswith("/pdf")] == ["/pdf/2410.02001v1"]
    assert not (data / "posts" / f"{SECOND}-diffusion-models.md").exists()
    with duckdb.connect(str(data / "d.duckdb"), read_only=True) as con:
        path, note = con.execute(
            "SELECT path, note FROM digests WHERE day = ?", [SECOND]
        ).fetchone()
    assert path is None and "updated_papers = skip" in note
