"""`make demo`: the whole daily-digest flow for 2024-10-07 against a local replay of arXiv."""

from __future__ import annotations

import json
import os
import shlex
from datetime import date
from pathlib import Path
from typing import Any

import typer

from config.loading import get_settings

SAMPLE = Path(__file__).resolve().parents[1] / "config" / "sample" / "2024-10-07.json"
DEMO_DAY = date(2024, 10, 7)
# The replay is local, so the demo need not wait arXiv's 3 seconds between requests.
DEMO_INTERVAL = "0.2"
DEMO_PORT = 8765


def pdf_factory(papers: list[dict]):
    """Return a function that generates each sample paper's PDF from its metadata."""
    from replay.pdfs import make_paper_pdf, spec_from_metadata

    by_key = {(p["arxiv_id"], p["version"]): p for p in papers}

    def make(arxiv_id: str, version: int) -> bytes | None:
        paper = by_key.get((arxiv_id, version))
        if paper is None:
            return None
        spec = spec_from_metadata(
            paper["title"],
            paper["authors"],
            paper["abstract"],
            paper.get("affiliation", ""),
            seed=version,
        )
        return make_paper_pdf(spec)[0]

    return make


def demo_environment(arxiv_env: dict[str, str], data_dir: Path) -> dict[str, str]:
    """Return the settings the demo runs with: the replay, the extractive summarizer."""
    return {
        **arxiv_env,
        "DIGEST_ARXIV_MIN_INTERVAL": DEMO_INTERVAL,
        "DIGEST_LLM_BACKEND": "extractive",
        "DIGEST_DATA_DIR": str(data_dir),
        "DIGEST_DB_PATH": str(data_dir / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(data_dir / "posts"),
    }


def _replay(server_class: Any, papers: list[dict]) -> Any:
    """Return the replay server on DEMO_PORT, so a second demo run finds its cache warm."""
    try:
        return server_class(papers, pdf_factory(papers), port=DEMO_PORT)
    except OSError:  # the port is taken: any free one works, the cache just stays cold
        return server_class(papers, pdf_factory(papers))


def run_demo(data_dir: Path = Path("data/demo")) -> list:
    """Serve the sample day on 127.0.0.1, run the flow on it, and say where to look."""
    from flows.runs import run_day
    from replay.arxiv_server import ArxivServer

    papers = json.loads(SAMPLE.read_text(encoding="utf-8"))["papers"]
    with _replay(ArxivServer, papers) as server:
        typer.echo(f"Replaying arXiv's 2024-10-07 batch at {server.url}")
        os.environ.update(demo_environment(server.env(), data_dir))
        get_settings.cache_clear()
        results = run_day(DEMO_DAY, ["Diffusion Models"], "extractive")
        counts = {kind: server.count(kind) for kind in ("api", "oai", "pdf")}
        typer.echo("requests served: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    settings = get_settings()
    typer.echo(f"database: {settings.db_path}")
    typer.echo(explore(data_dir))
    typer.echo(ui_hint(os.environ.get("PREFECT_API_URL")))
    return results


def explore(data_dir: Path) -> str:
    """Return the commands that look into what the demo made, to paste as they are."""
    where = " ".join(
        f"{name}={shlex.quote(str(path))}"
        for name, path in (
            ("DIGEST_DATA_DIR", data_dir),
            ("DIGEST_DB_PATH", data_dir / "digest.duckdb"),
            ("DIGEST_OUTPUT_DIR", data_dir / "posts"),
        )
    )
    commands = [
        f'papers --topic "Diffusion Models" --date {DEMO_DAY} --why',
        f'papers --topic "Diffusion Models" --date {DEMO_DAY}',
        "stats",
        f"render --date {DEMO_DAY}",
    ]
    lines = [f"  {where} uv run arxiv-digest {command}" for command in commands]
    return "\n".join(["Explore what it made (from the repository root):", *lines])


def ui_hint(api_url: str | None) -> str:
    """Return where the demo's runs show in the Prefect UI, or how to keep them there."""
    if api_url:
        # Prefect 3.9 serves its current UI under /v2; /runs alone is the previous UI's page.
        return f"Prefect UI: {api_url.removesuffix('/').removesuffix('/api')}/v2/runs"
    return (
        "This run used a temporary Prefect server. To see runs in the Prefect UI, start one "
        "with `make ui`, export PREFECT_API_URL=http://127.0.0.1:4200/api in this shell and "
        "run `make demo` again."
    )
