"""Hostile papers through the whole flow: a path-like id, an enormous abstract, odd Unicode.

tests/test_render.py and tests/test_hexo.py cover markup and template syntax in every field;
this runs such a paper from the arXiv API to the post and the files on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
import yaml

from tests import test_faults as faults
from tests.fakes import arxiv_server as ax
from tests.fakes import gemini_server as gm

EVIL_ID = "../../etc/passwd"
# Combining accent, zero-width characters, a right-to-left override, math letters, Arabic, emoji.
ODD = (
    "e\u0301 \u200b\u200d\ufeff \u202egnp.exe "
    "\U0001d507\U0001d526 \u0645\u0631\u062d\u0628\u0627 \U0001f9ea"
)
TITLE = f"Diffusion models {{{{ x }}}} <script>alert(1)</script> {ODD} {EVIL_ID}"
ABSTRACT = "We train a latent diffusion model on images. " * 2500  # ~110 kB; arXiv caps at 1920


@pytest.fixture(scope="module")
def day(prefect_harness, tmp_path_factory):
    """Run the small day with one more paper: hostile id, title and abstract."""
    template = next(p for p in faults.entries() if p["arxiv_id"] == faults.TARGET)
    evil = {**template, "arxiv_id": EVIL_ID, "title": TITLE, "abstract": ABSTRACT + ODD}
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"

    def serve(arxiv_id: str, version: int) -> bytes | None:
        return (
            faults.good_pdf(faults.TARGET, 1)
            if arxiv_id == EVIL_ID
            else faults.good_pdf(arxiv_id, version)
        )

    with faults.capturing() as capture, ax.ArxivServer([*faults.entries(), evil], serve) as arxiv:
        with (
            gm.FakeGemini() as gemini,
            faults.environment(faults.settings_env(arxiv, gemini, data)),
        ):
            world = faults.World(arxiv, gemini, data)
            run = faults.run_day(world, capture)
            pdf_paths = [r.path for r in arxiv.requests if r.kind == "pdf"]
    return run, root, data, pdf_paths


def test_the_day_completes_with_the_hostile_paper_shown_as_text(day):
    run, _, _, _ = day
    assert run.completed, run.message
    front, body = run.post.split("---\n")[1], run.post.split("---\n", 2)[2]
    assert yaml.safe_load(front)["title"] == faults.TOPIC
    [heading] = [h for h in faults.headings(run.post) if "&lt;script&gt;alert" in h]
    assert "<script" not in run.post and "{{" not in body
    assert "\U0001d507\U0001d526" in heading and "\u0645\u0631\u062d\u0628\u0627" in heading
    assert body.count("We train a latent diffusion model on images.") >= 2500


def test_a_path_like_id_never_becomes_a_path(day):
    _, root, data, pdf_paths = day
    assert not (root / "etc").exists() and not (data / "etc").exists()
    for path in data.rglob("*"):
        assert path.resolve().is_relative_to(data.resolve()), path
        assert "passwd" not in path.name or path.name.startswith(".._.._etc_passwd"), path
    # Its PDF address leaves /pdf/ once the client resolves "..": the download fails,
    # is recorded, and the paper is summarized from its abstract.
    assert not any("passwd" in p for p in pdf_paths)
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        figures = [r[0] for r in con.execute("SELECT path FROM figures").fetchall()]
        [summary] = con.execute(
            "SELECT summary FROM summaries WHERE arxiv_id = ?", [EVIL_ID]
        ).fetchone()
    assert figures and all("/" not in f and not f.startswith("..") for f in figures)
    assert json.loads(summary)["one_line"]
    assert not list(Path(data / "posts").glob("*passwd*"))
