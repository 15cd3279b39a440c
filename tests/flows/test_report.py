"""The run report: its content from DuckDB views, then the artifacts a real run leaves."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.demo import SAMPLE, pdf_factory
from flows.report import artifact_key, body, decision_rows, paper_rows, preview
from replay.arxiv_server import ArxivServer
from tasks.domain import Extraction, Failure, Selection
from tasks.record import history, store, writes
from tasks.record.views import PaperView
from tasks.summary.extractive import ExtractiveSummarizer
from tests.env import settings_env
from tests.factories import paper, record

DAY = date(2024, 10, 7)


JUDGED = {"step": "judge", "reason": "a latent diffusion model is the method", "confidence": 0.92}


def view(arxiv_id: str, *, extracted: bool, summarized: bool, failures=(), **decision) -> PaperView:
    p = paper(arxiv_id)
    return PaperView(
        paper=p,
        selection=Selection(
            p.arxiv_id, 1, "Diffusion Models", True, 2.456, ("diffusion model",), **decision
        ),
        extraction=Extraction(p.arxiv_id, 1, 9) if extracted else None,
        summary=record(p) if summarized else None,
        failures=tuple(Failure(p.arxiv_id, 1, stage, reason) for stage, reason in failures),
    )


def test_rows_give_each_stage_its_status_and_the_reasons():
    rows = paper_rows(
        [
            view("2410.00001", extracted=True, summarized=True),
            view(
                "2410.00002", extracted=False, summarized=True, failures=[("extract", "bad xref")]
            ),
            view(
                "2410.00003",
                extracted=False,
                summarized=False,
                failures=[("download", "HTTP 404"), ("summarize", "placeholder text")],
            ),
        ]
    )
    stages = [(r["download"], r["extract"], r["summarize"]) for r in rows]
    assert stages == [("ok", "ok", "ok"), ("ok", "failed", "ok"), ("failed", "-", "failed")]
    assert [r["tokens"] for r in rows] == [1600, 1600, 0]
    assert rows[0]["score"] == 2.46 and rows[0]["id"] == "2410.00001v1"
    assert rows[2]["failure"] == "download: HTTP 404; summarize: placeholder text"


def test_preview_lists_failures_then_the_post_without_front_matter():
    rows = paper_rows(
        [view("2410.00002", extracted=False, summarized=True, failures=[("extract", "bad xref")])]
    )
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
    rows = paper_rows(
        [
            view("2410.00001", extracted=True, summarized=True, **JUDGED),
            view(
                "2410.00002",
                extracted=True,
                summarized=True,
                reason="keyword step alone (no LLM judge): score 2.456 >= 1",
            ),
        ]
    )
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
    writes.save_papers(con, [p])
    s = Selection(p.arxiv_id, 1, "Diffusion Models", kept, score, **decision)
    writes.save_selections(con, DAY, [s])


def test_the_decisions_table_has_every_decision_kept_first():
    with store.connect(":memory:") as con:
        _decide(
            con,
            "2410.00001",
            False,
            3.0,
            step="judge",
            reason="GANs, not diffusion",
            confidence=0.7,
            matched=("image generation",),
        )
        _decide(
            con,
            "2410.00002",
            True,
            2.0,
            step="fallback",
            reason="judge failed (timeout); keyword decision: score 2 >= 1",
        )
        _decide(
            con,
            "2410.00003",
            False,
            0.0,
            reason="not a judge candidate: net score 0 < 1",
            excluded=("heat diffusion",),
        )
        _decide(con, "2410.00004", True, 5.0, **JUDGED)
        _decide(con, "2410.00005", True, 1.0, step="judge", reason="other topic", confidence=0.6)
        writes.save_selections(con, DAY, [Selection("2410.00006", 1, "NeRF", True, 9.0)])
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


def test_the_preview_leaves_images_out_and_names_their_folder(tmp_path):
    post = (
        '<details>\n<img src="2410.00001v1-fig1.png" align="middle" alt="Figure 1: a plot">\n'
        "<p>Figure 1: a plot</p>\n</details>\n\n![chart](/images/2024-10-07-x/fig2.png)\nEnd.\n"
    )
    text = preview("Diffusion Models", DAY, post, [], figures=tmp_path)
    assert "<img" not in text and "![" not in text
    assert "[figure: 2410.00001v1-fig1.png]\n<p>Figure 1: a plot</p>" in text
    assert "[figure: fig2.png]\nEnd." in text
    assert f"2 figures left out of this preview (the files are in `{tmp_path}`)." in text
    assert "figures left out" not in preview("Diffusion Models", DAY, "## A paper\n", [])


def test_the_preview_says_how_many_papers_were_reused():
    rows = paper_rows([view(f"2410.0000{i}", extracted=True, summarized=True) for i in (1, 2)])
    text = preview("Diffusion Models", DAY, "## A paper\n", rows, reused=2)
    assert text.startswith(
        "# Diffusion Models, 2024-10-07\n\n2 papers, 0 with failures, 3200 LLM tokens.\n\n"
        "2 papers reused from DuckDB (already summarized by gemini-2.5-flash), "
        "0 processed in this run.\n"
    )
    assert "reused" not in preview("Diffusion Models", DAY, "## A paper\n", rows)


SAMPLE_IDS = {"2410.03456", "2410.03665", "2410.03902"}  # two papers of the topic, one not


@pytest.fixture(scope="module")
def reran(tmp_path_factory, prefect_harness) -> list[dict[str, Any]]:
    """Run a small 2024-10-07 twice (the rerun reuses every paper); return each run's artifacts."""
    from flows.daily_digest import daily_digest

    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
    papers = [p for p in sample if p["arxiv_id"] in SAMPLE_IDS]
    data = tmp_path_factory.mktemp("data")
    settings = {
        "DIGEST_ARXIV_MIN_INTERVAL": "0.02",
        "DIGEST_LLM_BACKEND": "extractive",
        "DIGEST_DATA_DIR": str(data),
        "DIGEST_DB_PATH": str(data / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(data / "posts"),
        "DIGEST_FIGURE_POLICY": "always",
    }
    runs = []
    with ArxivServer(papers, pdf_factory(papers)) as arxiv, settings_env(arxiv.env() | settings):
        for _ in range(2):
            state = daily_digest(DAY, ["Diffusion Models"], "extractive", False, return_state=True)
            runs.append(state.state_details.flow_run_id)
    return [artifacts_of(run) for run in runs]


def artifacts_of(flow_run_id) -> dict[str, Any]:
    """Return the flow run's artifacts by key, as the Prefect API holds them."""
    only = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        return {a.key: a for a in client.read_artifacts(artifact_filter=only)}


def test_the_ui_tables_put_the_title_last(reran):
    for run in reran:
        papers = json.loads(run["papers-diffusion-models"].data)
        decisions = json.loads(run["decisions-diffusion-models"].data)
        assert len(papers) == 2 and len(decisions) == 3
        assert list(papers[0])[-2:] == ["reason", "title"] and len(papers[0]) == 11
        columns = ["id", "kept", "step", "score", "confidence", "reason", "title"]
        assert list(decisions[0]) == columns


def test_the_preview_artifact_has_no_image(reran):
    for run in reran:
        text = run["post-diffusion-models"].data
        assert "<img" not in text and "[figure: 2410.03665v1-fig1.png]" in text
        assert "figures left out of this preview (the files are in `" in text
        assert "## Estimating Body and Hand Motion in an Ego-sensed World" in text


def test_a_rerun_that_reused_everything_says_so(reran):
    first, again = reran
    model = ExtractiveSummarizer.model
    line = f"2 papers reused from DuckDB (already summarized by {model}), 0 processed in this run."
    assert line in again["post-diffusion-models"].data
    assert line in again["papers-diffusion-models"].description
    progress = again["progress-diffusion-models"]
    assert progress.data == 100 and line in progress.description
    assert "reused" not in first["post-diffusion-models"].data
    assert first["progress-diffusion-models"].description.endswith("papers done: 2 of 2")
