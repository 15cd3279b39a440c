"""A real Prefect server and `flows/serve.py`: a deployment run, its tasks and artifacts.

This is what `make ui` + `make serve` do, with a server of its own on a free port (its own
PREFECT_HOME, telemetry off) and arXiv replayed locally.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.prefect_server import prefect_env, prefect_server, stop
from flows.demo import SAMPLE, pdf_factory, ui_hint
from flows.serve import ROOT
from flows.ui_check import find_chromium
from replay.arxiv_server import ArxivServer

pytestmark = pytest.mark.prefect_server

TOPIC = "Diffusion Models"
# Two papers of the topic and one off-topic paper from the sample day.
PAPERS = {"2410.03456", "2410.03665", "2410.03902"}
ARTIFACTS = {
    "post-diffusion-models",
    "papers-diffusion-models",
    "post-file-diffusion-models",
    "progress-diffusion-models",
}
STAGES = {
    "fetch",
    "select",
    "licences",
    "download",
    "extract",
    "summarize",
    "store",
    "render",
    "report",
}
STARTUP = 90  # seconds; a loaded CI machine starts the server in 5–30


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def deploy_first(env: dict[str, str]) -> None:
    """Create the work pool and deployments of deploy/prefect.yaml, as `make deploy` does."""
    prefect = [sys.executable, "-m", "prefect"]
    for args in (
        ["work-pool", "create", "arxiv-digest", "--type", "process"],
        ["--no-prompt", "deploy", "--prefect-file", "deploy/prefect.yaml", "--all"],
    ):
        done = subprocess.run(
            [*prefect, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[dict]:
    """A Prefect server and `python -m flows.serve` pointed at it and at a local arXiv."""
    tmp = tmp_path_factory.mktemp("server")
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
    papers = [p for p in sample if p["arxiv_id"] in PAPERS]
    data = tmp / "data"
    with (
        prefect_server(tmp / "prefect", startup=STARTUP) as (api, _),
        ArxivServer(papers, pdf_factory(papers)) as arxiv,
    ):
        base = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        env = prefect_env(tmp / "prefect", api, base)
        env.update(PREFECT_RUNNER_POLL_FREQUENCY="1", **arxiv.env())
        env.update(
            DIGEST_ARXIV_MIN_INTERVAL="0.02",
            DIGEST_LLM_BACKEND="extractive",
            DIGEST_DATA_DIR=str(data),
            DIGEST_DB_PATH=str(data / "digest.duckdb"),
            DIGEST_OUTPUT_DIR=str(data / "posts"),
        )
        deploy_first(env)  # as `make deploy` before `make serve` leaves the server
        serve = start([sys.executable, "-m", "flows.serve"], env, tmp / "serve.log")
        try:
            yield {"api": api, "serve": serve, "data": data, "logs": tmp}
        finally:
            stop(serve)


async def run_deployment(api: str, serve: subprocess.Popen) -> dict:
    """Trigger daily-digest for 2024-10-07; wait for a final state; read back what it made."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
    )

    async with PrefectClient(api) as client:
        deadline = time.monotonic() + STARTUP
        while True:
            try:
                deployment = await client.read_deployment_by_name("daily-digest/daily")
            except Exception:
                if serve.poll() is not None or time.monotonic() > deadline:
                    raise
            else:
                if not deployment.work_pool_name:  # the served one, not `make deploy`'s
                    break
                assert time.monotonic() < deadline, "serve never took the deployment over"
            await asyncio.sleep(0.5)
        params = {"day": "2024-10-07", "topics": [TOPIC], "llm": "extractive"}
        run = await client.create_flow_run_from_deployment(deployment.id, parameters=params)
        deadline = time.monotonic() + 120
        while not (run := await client.read_flow_run(run.id)).state.is_final():
            assert serve.poll() is None, "flows.serve exited"
            assert time.monotonic() < deadline, f"run still {run.state.name} after 120 s"
            await asyncio.sleep(0.5)
        only_run = FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        tasks = await client.read_task_runs(flow_run_filter=only_run)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
        )
    return {"run": run, "tasks": tasks, "artifacts": {a.key: a for a in artifacts}}


@pytest.fixture(scope="module")
def finished(served) -> dict:
    return asyncio.run(run_deployment(served["api"], served["serve"]))


def test_serving_after_make_deploy_takes_the_deployments_over(finished, served):
    log = (served["logs"] / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert "daily-digest/daily (work pool arxiv-digest) is now served from this process" in log
    assert "/None" not in log


def test_the_served_run_completes_with_its_name(finished, served):
    run = finished["run"]
    log = (served["logs"] / "serve.log").read_text(errors="replace")[-3000:]
    assert run.state.is_completed(), f"{run.state}\n{log}"
    assert run.name == f"{TOPIC}-2024-10-07"


def test_every_stage_is_a_recorded_task_run(finished):
    names = {t.name for t in finished["tasks"]}
    assert {n.split("-")[0] for n in names} == STAGES
    assert {"download-2410.03456v1", "extract-2410.03665v1", "summarize-2410.03456v1"} <= names
    assert all(t.state.is_completed() for t in finished["tasks"])


def test_the_four_artifacts_exist(finished, served):
    artifacts = finished["artifacts"]
    assert set(artifacts) >= ARTIFACTS
    table = json.loads(artifacts["papers-diffusion-models"].data)
    assert sorted(row["id"] for row in table) == ["2410.03456v1", "2410.03665v1"]
    assert all(row["summarize"] == "ok" for row in table)
    assert artifacts["progress-diffusion-models"].data == 100
    post = served["data"] / "posts" / "2024-10-07-diffusion-models.md"
    assert post.as_uri() in artifacts["post-file-diffusion-models"].data
    assert "# Diffusion Models, 2024-10-07" in artifacts["post-diffusion-models"].data


def test_the_ui_renders_the_finished_run(finished, served):
    """`make ui-check` against the run: headless Chromium shows its name, state and tasks."""
    if find_chromium() is None:
        message = "install Debian's chromium: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    shot = served["logs"] / "ui-check.png"
    args = [
        sys.executable,
        "-m",
        "flows.ui_check",
        "--api",
        served["api"],
        "--flow-run-id",
        str(finished["run"].id),
        "--out",
        str(shot),
    ]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)
    print(done.stdout + done.stderr, end="")  # the check's summary and the screenshot's path
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Diffusion Models-2024-10-07" in done.stdout
    assert shot.stat().st_size > 10_000


def test_the_demo_hint_links_the_current_ui(served):
    """The hint's page is the UI Prefect opens by default (served under /v2), not the old one."""
    link = ui_hint(served["api"]).removeprefix("Prefect UI: ")
    html = {"Accept": "text/html"}
    home = httpx.get(served["api"].removesuffix("/api") + "/", headers=html, timeout=10)
    page = httpx.get(link, headers=html, timeout=10)
    assert home.status_code == 307 and home.headers["location"].endswith("/v2/")
    assert page.status_code == 200 and 'src="/v2/assets/' in page.text
    assert "make ui" in ui_hint(None) and "prefect server start" not in ui_hint(None)
