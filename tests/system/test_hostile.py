"""Hostile papers through the whole flow: a path-like id, an enormous abstract, odd Unicode.

tests/post/test_render.py and tests/post/test_hexo.py cover markup and template syntax in every
field; this runs such a paper from the arXiv API to the post and the files on disk.
"""

from __future__ import annotations

import json

import duckdb
import pytest
import yaml

from fakes import gemini_server as gm
from replay import arxiv_server as ax
from tests.env import settings_env
from tests.system import test_faults as faults

EVIL_ID = "../../etc/passwd"
HOSTILE_ID = "2410.03999"
# Combining accent, zero-width characters, a right-to-left override, math letters, Arabic, emoji.
ODD = (
    "e\u0301 \u200b\u200d\ufeff \u202egnp.exe "
    "\U0001d507\U0001d526 \u0645\u0631\u062d\u0628\u0627 \U0001f9ea"
)
TITLE = f"Diffusion models {{{{ x }}}} <script>alert(1)</script> {ODD} {EVIL_ID}"
ABSTRACT = "We train a latent diffusion model on images. " * 2500  # ~110 kB; arXiv caps at 1920


@pytest.fixture(scope="module")
def day(prefect_harness, tmp_path_factory):
    """Run the small day with two more papers: hostile title and abstract, and a path-like id."""
    template = next(p for p in faults.entries() if p["arxiv_id"] == faults.TARGET)
    hostile = {**template, "arxiv_id": HOSTILE_ID, "title": TITLE, "abstract": ABSTRACT + ODD}
    evil = {**template, "arxiv_id": EVIL_ID}
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"

    def serve(arxiv_id: str, version: int) -> bytes | None:
        return (
            faults.good_pdf(faults.TARGET, 1)
            if arxiv_id in (EVIL_ID, HOSTILE_ID)
            else faults.good_pdf(arxiv_id, version)
        )

    served = [*faults.entries(), hostile, evil]
    with faults.capturing() as capture, ax.ArxivServer(served, serve) as arxiv:
        with (
            gm.FakeGemini() as gemini,
            settings_env(faults.world_env(arxiv, gemini, data)),
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


def test_a_path_like_id_is_refused_at_the_door_and_never_becomes_a_path(day):
    run, root, data, pdf_paths = day
    assert any("is not an arXiv identifier" in line and EVIL_ID in line for line in run.log)
    assert not (root / "etc").exists() and not (data / "etc").exists()
    for path in data.rglob("*"):
        assert path.resolve().is_relative_to(data.resolve()), path
        assert "passwd" not in path.name, path
    assert not any("passwd" in p for p in pdf_paths)
    with duckdb.connect(str(data / "digest.duckdb"), read_only=True) as con:
        keyed = con.execute(
            "SELECT table_name FROM duckdb_columns() WHERE column_name = 'arxiv_id'"
        ).fetchall()
        for (table,) in keyed:
            ids = con.execute(f"SELECT arxiv_id FROM {table}").fetchall()
            assert (EVIL_ID,) not in ids, table
        figures = [r[0] for r in con.execute("SELECT path FROM figures").fetchall()]
        [summary] = con.execute(
            "SELECT summary FROM summaries WHERE arxiv_id = ?", [HOSTILE_ID]
        ).fetchone()
    assert figures and all("/" not in f and not f.startswith("..") for f in figures)
    assert json.loads(summary)["one_line"]
