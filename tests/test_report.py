"""The run report's content: built from DuckDB views without Prefect."""

from __future__ import annotations

from datetime import date

from flows.report import artifact_key, body, decision_rows, paper_rows, preview
from tasks import history, store
from tasks.types import Extraction, Failure, Selection
from tasks.views import PaperView
from tests.factories import paper, record

DAY = date(2024, 10, 7)


JUDGED = dict(step="judge", reason="a latent diffusion model is the method", confidence=0.92)


def view(
    arxiv_id: str, *, extracted: bool, summarized: bool, failures=(), **decision
) -> PaperView:  # fmt: skip
    p = paper(arxiv_id)
    return PaperView(
        paper=p,
        selection=Selection(
            p.arxiv_id, 1, "Diffusion Models", True, 2.456, ("diffusion model",), **decision
        ),  # fmt: skip
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


def test_rows_say_which_step_kept_each_paper_and_why():
    rows = paper_rows([
        view("2410.00001", extracted=True, summarized=True, **JUDGED),
        view("2410.00002", extracted=True, summarized=True,
             reason="keyword step alone (no LLM judge): score 2.456 >= 1"),
    ])  # fmt: skip
    assert [(r["step"], r["reason"]) for r in rows] == [
        ("judge", "a latent diffusion model is the method; matched: diffusion model"),
        (
            "keyword",
            "keyword step alone (no LLM judge): score 2.456 >= 1; matched: diffusion model",
        ),
    ]
    # The long texts last, after the stage statuses; the title after the reason.
    statuses = ["download", "extract", "summarize", "tokens", "model", "failure"]
    assert list(rows[0]) == ["id", "score", "step", *statuses, "reason", "title"]


def _decide(con, arxiv_id: str, kept: bool, score: float, **decision) -> None:
    p = paper(arxiv_id, title=f"Paper {arxiv_id}")
    store.save_papers(con, [p])
    s = Selection(p.arxiv_id, 1, "Diffusion Models", kept, score, **decision)
    store.save_selections(con, DAY, [s])


def test_the_decisions_table_has_every_decision_kept_first():
    with store.connect(":memory:") as con:
        _decide(con, "2410.00001", False, 3.0, step="judge", reason="GANs, not diffusion",
                confidence=0.7, matched=("image generation",))  # fmt: skip
        _decide(con, "2410.00002", True, 2.0, reason="judge failed (timeout); keyword decision: "
                "score 2 >= 1")  # fmt: skip
        _decide(con, "2410.00003", False, 0.0, reason="not a judge candidate: net score 0 < 1",
                excluded=("heat diffusion",))  # fmt: skip
        _decide(con, "2410.00004", True, 5.0, **JUDGED)
        _decide(con, "2410.00005", True, 1.0, step="judge", reason="other topic", confidence=0.6)
        store.save_selections(con, DAY, [Selection("2410.00006", 1, "NeRF", True, 9.0)])
        decisions = history.decisions(con, "Diffusion Models", DAY)
    rows = decision_rows(decisions)
    assert [(r["id"], r["kept"], r["step"], r["score"], r["confidence"]) for r in rows] == [
        ("2410.00004v1", True, "judge", 5.0, 0.92),
        ("2410.00002v1", True, "fallback", 2.0, None),
        ("2410.00005v1", True, "judge", 1.0, 0.6),
        ("2410.00001v1", False, "judge", 3.0, 0.7),
        ("2410.00003v1", False, "keyword", 0.0, None),
    ]
    assert list(rows[0]) == ["id", "kept", "step", "score", "confidence", "reason", "title"]
    assert rows[0]["title"] == "Paper 2410.00004"
    assert rows[3]["reason"] == "GANs, not diffusion; matched: image generation"
    assert rows[4]["reason"] == "not a judge candidate: net score 0 < 1; excluded: heat diffusion"
    text = preview("Diffusion Models", DAY, "## A paper\n", [], decisions)
    assert (
        "Selection: 5 decisions, 3 kept, 2 dropped: 3 by the LLM judge, 1 by keywords, "
        "1 by keywords because the judge failed. The decisions table gives each one's reason."
    ) in text
