"""The run report's content: built from DuckDB views without Prefect."""

from __future__ import annotations

from datetime import date

from flows.report import artifact_key, body, paper_rows, preview
from tasks.store import PaperView
from tasks.types import Extraction, Failure, Selection
from tests.factories import paper, record


def view(arxiv_id: str, *, extracted: bool, summarized: bool, failures=()) -> PaperView:
    p = paper(arxiv_id)
    return PaperView(
        paper=p,
        selection=Selection(p.arxiv_id, 1, "Diffusion Models", True, 2.456),
        extraction=Extraction(p.arxiv_id, 1, 9) if extracted else None,
        summary=record(p) if summarized else None,
        failures=tuple(Failure(p.arxiv_id, 1, stage, reason) for stage, reason in failures),
    )


def test_rows_give_each_stage_its_status_and_the_reasons():
    rows = paper_rows([
        view("2410.00001", extracted=True, summarized=True),
        view("2410.00002", extracted=False, summarized=True, failures=[("extract", "bad xref")]),
        view("2410.00003", extracted=False, summarized=False,
             failures=[("download", "HTTP 404"), ("summarize", "placeholder text")]),
    ])  # fmt: skip
    stages = [(r["download"], r["extract"], r["summarize"]) for r in rows]
    assert stages == [("ok", "ok", "ok"), ("ok", "failed", "ok"), ("failed", "-", "failed")]
    assert [r["tokens"] for r in rows] == [1600, 1600, 0]
    assert rows[0]["score"] == 2.46 and rows[0]["id"] == "2410.00001v1"
    assert rows[2]["failure"] == "download: HTTP 404; summarize: placeholder text"


def test_preview_lists_failures_then_the_post_without_front_matter():
    rows = paper_rows([view("2410.00002", extracted=False, summarized=True,
                            failures=[("extract", "bad xref")])])  # fmt: skip
    post = "---\ntitle: x\n---\n\n## A paper\n"
    text = preview("Diffusion Models", date(2024, 10, 7), post, rows)
    assert text.startswith("# Diffusion Models, 2024-10-07\n\n1 papers, 1 with failures, 1600")
    assert "- `2410.00002v1` extract: bad xref" in text
    assert text.endswith("## A paper\n") and "title: x" not in text
    assert body("no front matter") == "no front matter"


def test_artifact_keys_are_what_prefect_accepts():
    assert artifact_key("post", "Diffusion Models") == "post-diffusion-models"
    assert artifact_key("progress", "3DGS / NeRF") == "progress-3dgs-nerf"
