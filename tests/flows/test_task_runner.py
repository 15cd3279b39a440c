"""The daily-digest flow on a 2-worker local Dask cluster gives what the thread runner gives."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import duckdb
import pytest
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from config.settings import Settings
from flows.demo import SAMPLE, pdf_factory
from flows.task_runner import build
from replay.arxiv_server import ArxivServer
from tests.env import settings_env

DAY = date(2024, 10, 7)
POST = "2024-10-07-diffusion-models.md"
# A small day: four of the post's papers (one a second version) and the day's unrelated ones.
SMALL_DAY = {"2410.03463", "2410.03368", "2410.02369", "2410.01366"}
BROKEN_PDF = ("2410.03368", 1)  # garbage: its extraction fails, in a worker as in a thread
RUN_TIME_COLUMNS = {"created_at", "fetched_at"}  # when a row was written, not what it says


class _Lines(logging.Handler):
    """Collect what Prefect's task runners log: which cluster they start or join."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _run_day(arxiv: ArxivServer, data: Path, runner_env: dict[str, str]) -> dict:
    """Run the day with the runner `runner_env` names, in its own data directory."""
    from flows.daily_digest import daily_digest

    env = {
        **arxiv.env(),
        **runner_env,
        "DIGEST_ARXIV_MIN_INTERVAL": "0.05",
        "DIGEST_LLM_BACKEND": "extractive",
        "DIGEST_LLM_JUDGE": "false",
        "DIGEST_DATA_DIR": str(data),
        "DIGEST_DB_PATH": str(data / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(data / "posts"),
        "DIGEST_FIGURE_POLICY": "always",
    }
    with settings_env(env):
        runner_log = _Lines()
        logging.getLogger("prefect.task_runner").addHandler(runner_log)
        try:
            results = daily_digest(day=DAY, topics=["Diffusion Models"], llm="extractive")
        finally:
            logging.getLogger("prefect.task_runner").removeHandler(runner_log)
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        rows = _dump(con, str(data))
    figures = data / "posts" / POST.removesuffix(".md")
    return {
        "result": results[0],
        "rows": rows,
        "post": (data / "posts" / POST).read_text(encoding="utf-8"),
        "figures": {f.name: f.read_bytes() for f in sorted(figures.iterdir())},
        "runner_log": runner_log.lines,
    }


def _dump(con: duckdb.DuckDBPyConnection, data: str) -> dict[str, list[str]]:
    """Return every table's rows, with the data directory's path replaced by a mark."""
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    dump = {}
    for table in tables:
        columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        kept = ", ".join(c for c in columns if c not in RUN_TIME_COLUMNS)
        rows = con.execute(f"SELECT {kept} FROM {table}").fetchall()
        dump[table] = sorted(str(row).replace(data, "<data>") for row in rows)
    return dump


@pytest.fixture(scope="module")
def arxiv():
    """A replay of part of the sample day, its PDFs generated; one of them garbage."""
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
    papers = [p for p in sample if p["arxiv_id"] in SMALL_DAY or p["arxiv_id"] > "2410.039"]
    make_pdf = pdf_factory(papers)

    def serve_pdf(arxiv_id: str, version: int) -> bytes | None:
        if (arxiv_id, version) == BROKEN_PDF:
            return b"%PDF-1.7 garbage %%EOF"
        return make_pdf(arxiv_id, version)

    with ArxivServer(papers, serve_pdf) as server:
        yield server


@pytest.fixture(scope="module")
def on_threads(arxiv, tmp_path_factory, prefect_harness):
    """The day with the default runner, in a fresh data directory."""
    return _run_day(arxiv, tmp_path_factory.mktemp("threads"), {})


@pytest.fixture(scope="module")
def on_dask(arxiv, tmp_path_factory, prefect_harness):
    """The day on a local cluster of 2 worker processes, as the settings ask."""
    env = {"DIGEST_TASK_RUNNER": "dask", "DIGEST_DASK_WORKERS": "2", "DIGEST_MAX_WORKERS": "4"}
    return _run_day(arxiv, tmp_path_factory.mktemp("dask"), env)


def test_dask_stores_the_same_rows_as_threads(on_threads, on_dask):
    assert on_dask["rows"] == on_threads["rows"]
    # Extraction starts a child process per PDF: the Dask workers must be allowed children.
    assert len(on_dask["rows"]["extractions"]) == 3
    failures = on_dask["rows"]["failures"]
    assert len(failures) == 1 and "2410.03368" in failures[0] and "extract" in failures[0]


def test_dask_renders_the_same_post_and_figures(on_threads, on_dask):
    assert on_dask["post"] == on_threads["post"]
    assert on_dask["figures"] == on_threads["figures"]
    assert len(on_dask["figures"]) >= 3
    assert on_dask["result"].kept == on_dask["result"].summarized == 4


def test_the_tasks_ran_on_a_dask_cluster_only_when_asked(on_threads, on_dask):
    assert any("Creating a new Dask cluster" in line for line in on_dask["runner_log"])
    assert not any("Dask" in line for line in on_threads["runner_log"])


def test_the_settings_choose_the_runner():
    threads = build(Settings(task_runner="threads", max_workers=3))
    assert isinstance(threads, ThreadPoolTaskRunner) and threads._max_workers == 3
    remote = build(Settings(task_runner="dask", dask_address="tcp://dask-scheduler:8786"))
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://dask-scheduler:8786"
    local = build(Settings(task_runner="dask", dask_workers=3, max_workers=8))
    assert isinstance(local, DaskTaskRunner) and local.address is None
    assert type(build(Settings(task_runner="dask"))) is type(local)  # one class, built once
    assert local.cluster_kwargs["n_workers"] == 3
    assert local.cluster_kwargs["threads_per_worker"] == 3


def test_daemonic_workers_are_refused_with_what_to_do():
    import dask
    import distributed

    from flows.task_runner import check_workers
    from tasks.errors import ConfigError

    # Dask's default: worker processes are daemonic, so extraction could not start its child.
    with dask.config.set({"distributed.worker.daemon": True}):
        cluster = distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        )
    with cluster, distributed.Client(cluster, set_as_default=False) as client:
        with pytest.raises(ConfigError, match="DASK_DISTRIBUTED__WORKER__DAEMON=False"):
            check_workers(client)
