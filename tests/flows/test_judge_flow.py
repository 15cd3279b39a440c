"""The daily-digest flow with the LLM judge on, against fake arXiv and Gemini servers."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.logging.handlers import APILogHandler

from fakes.gemini_server import FakeGemini
from flows import report
from flows.demo import SAMPLE, pdf_factory
from replay.arxiv_server import ArxivServer
from tasks.record import history, store
from tests.env import settings_env

DAY = date(2024, 10, 7)
TOPIC, SLUG = "Diffusion Models", "diffusion-models"
BATCH = 5
DROPPED = "2410.03640v1"  # a paper of the reference post that the fake judge rejects
KEPT = "2410.03665v1"  # one it keeps
POST = f"{DAY}-{SLUG}.md"
PAPERS = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
TITLES = {f"{p['arxiv_id']}v{p['version']}": " ".join(p["title"].split()) for p in PAPERS}


def rejects_one(paper_id: str) -> bool:
    return paper_id != DROPPED


def leaves_one_out(paper_id: str) -> bool | None:
    return None if paper_id == DROPPED else True


@pytest.fixture(scope="module")
def runs(tmp_path_factory, prefect_harness):
    """Run 2024-10-07 four times: judge on, again, a faulty judge, judge off; yield each run."""
    data = tmp_path_factory.mktemp("data")
    done = {}
    with (
        ArxivServer(PAPERS, pdf_factory(PAPERS)) as arxiv,
        FakeGemini(judge=rejects_one) as llm,
    ):
        env = {
            **arxiv.env(),
            "DIGEST_ARXIV_MIN_INTERVAL": "0.05",
            "DIGEST_GEMINI_BASE_URL": llm.url,
            "GEMINI_API_KEY": "judge-flow-key",
            "DIGEST_DATA_DIR": str(data),
            "DIGEST_LLM_RPM": "0",
            "DIGEST_LLM_RPD": "0",
            "DIGEST_LLM_JUDGE": "true",
            "DIGEST_JUDGE_BATCH_SIZE": str(BATCH),
            "DIGEST_DB_PATH": str(data / "digest.duckdb"),
            "DIGEST_OUTPUT_DIR": str(data / "posts"),
        }
        done["first"] = _run(llm, data, env)
        done["again"] = _run(llm, data, env)
        # Another batch size makes other batches, so the judge is asked again; it skips an id.
        llm.judge = leaves_one_out
        env["DIGEST_JUDGE_BATCH_SIZE"] = "4"
        done["faulty"] = _run(llm, data, env)
        env["DIGEST_LLM_JUDGE"] = "false"
        done["off"] = _run(llm, data, env)
    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        for run in done.values():
            only = LogFilterFlowRunId(any_=[run["id"]])
            run["logs"] = [
                r.message for r in client.read_logs(log_filter=LogFilter(flow_run_id=only))
            ]
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    flow_run_id=ArtifactFilterFlowRunId(any_=[run["id"]])
                )
            )
            run["artifacts"] = {a.key: a.data for a in artifacts}
    yield done | {"data": data}


def _run(llm: FakeGemini, data, env: dict[str, str]) -> dict:
    """Run the day with the gemini backend under `env`; return what it did and left in DuckDB."""
    from flows.daily_digest import daily_digest

    with settings_env(env):
        llm.reset()
        state = daily_digest(day=DAY, topics=[TOPIC], llm="gemini", return_state=True)
        with store.connect(data / "digest.duckdb", read_only=True) as con:
            decisions = {d.key: d for d in history.decisions(con, TOPIC, DAY)}
        return {
            "id": state.state_details.flow_run_id,
            "result": state.result()[0],
            "judge_calls": [r.judged_ids for r in llm.requests if r.judged_ids],
            "decisions": decisions,
            "post": (data / "posts" / POST).read_text(encoding="utf-8"),
        }


def _in_post(run: dict, paper_id: str) -> bool:
    return f"## {TITLES[paper_id]}" in run["post"].replace("\\", "")


def test_the_judge_sees_each_candidate_once_in_batches(runs):
    first = runs["first"]
    candidates = [k for k, d in first["decisions"].items() if d.step == "judge"]
    reference = {key for key in TITLES if not key.startswith("2410.039")}
    assert set(candidates) == reference and len(candidates) == 12
    assert len(first["judge_calls"]) == math.ceil(len(candidates) / BATCH) == 3
    asked = [i for call in first["judge_calls"] for i in call]
    assert sorted(asked) == sorted(candidates)
    assert max(map(len, first["judge_calls"])) == BATCH


def test_every_decision_is_stored_with_its_step_and_reason(runs):
    decisions = runs["first"]["decisions"]
    assert len(decisions) == runs["first"]["result"].fetched == 20
    kept, dropped = decisions[KEPT], decisions[DROPPED]
    assert (kept.kept, kept.step, kept.confidence) == (True, "judge", 0.9)
    assert kept.reason == f"the fake judge keeps {KEPT}"
    assert (dropped.kept, dropped.step, dropped.confidence) == (False, "judge", 0.8)
    assert dropped.reason == f"the fake judge drops {DROPPED}" and dropped.score >= 1
    others = [d for d in decisions.values() if d.step != "judge"]
    assert len(others) == 8 and not any(d.kept for d in others)
    assert all(d.reason.startswith("not a judge candidate") for d in others)


def test_the_post_follows_the_judge(runs):
    first = runs["first"]
    assert _in_post(first, KEPT) and not _in_post(first, DROPPED)
    assert first["result"].kept == first["result"].summarized == 11


def test_a_rerun_asks_the_judge_nothing(runs):
    again = runs["again"]
    assert again["judge_calls"] == []
    assert again["decisions"] == runs["first"]["decisions"]
    assert again["post"] == runs["first"]["post"]


def test_a_missing_id_falls_back_to_the_keyword_decision_and_says_so(runs):
    faulty = runs["faulty"]
    # Three batches of four; the one without an answer for DROPPED is asked once more.
    assert len(faulty["judge_calls"]) == 3 + 1
    broken = next(call for call in faulty["judge_calls"] if DROPPED in call)
    assert faulty["judge_calls"].count(broken) == 2 and len(broken) == 4
    for paper_id, d in faulty["decisions"].items():
        if paper_id in broken:
            assert (d.step, d.kept, d.confidence) == ("fallback", True, None)
            assert d.reason.startswith("judge failed") and f"missing id {DROPPED}" in d.reason
            assert d.reason.endswith(f"keyword decision: score {d.score:g} >= 1")
        elif d.score:
            assert d.step == "judge", paper_id
    assert _in_post(faulty, DROPPED)
    assert any("judge failed" in line or "judge batches failed" in line for line in faulty["logs"])


def test_the_run_says_when_no_judge_is_used(runs):
    said = "no LLM judge"
    assert any(said in line for line in runs["off"]["logs"])
    assert not any(said in line for line in runs["first"]["logs"])
    assert runs["off"]["judge_calls"] == []
    decisions = runs["off"]["decisions"].values()
    assert {d.step for d in decisions} == {"keyword"}
    assert all("keyword step alone (no LLM judge)" in d.reason for d in decisions)


def test_the_ui_shows_every_decision_and_why_papers_were_kept(runs):
    artifacts = runs["first"]["artifacts"]
    keys = {f"post-{SLUG}", f"papers-{SLUG}", f"post-file-{SLUG}", f"progress-{SLUG}"}
    assert keys | {f"decisions-{SLUG}"} <= set(artifacts)
    table = json.loads(artifacts[f"decisions-{SLUG}"])
    assert len(table) == 20 and [row["kept"] for row in table] == [True] * 11 + [False] * 9
    row = next(r for r in table if r["id"] == DROPPED)
    assert (row["step"], row["confidence"]) == ("judge", 0.8)
    assert row["reason"].startswith(f"the fake judge drops {DROPPED}")
    papers = json.loads(artifacts[f"papers-{SLUG}"])
    assert {r["step"] for r in papers} == {"judge"}
    assert all(r["reason"].startswith("the fake judge keeps") for r in papers)
    assert "Selection: 20 decisions, 11 kept, 9 dropped" in artifacts[f"post-{SLUG}"]


def test_a_day_without_a_post_still_shows_its_decisions(runs):
    @flow(name="report-without-post")
    def show() -> None:
        report.publish(runs["data"] / "digest.duckdb", TOPIC, SLUG, "zh", DAY, None)

    run_id = show(return_state=True).state_details.flow_run_id
    with get_client(sync_client=True) as client:
        only = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        artifacts = {a.key: a.data for a in client.read_artifacts(artifact_filter=only)}
    assert set(artifacts) == {f"decisions-{SLUG}"}
    assert len(json.loads(artifacts[f"decisions-{SLUG}"])) == 20
