"""What a person sees when the world is wrong: arXiv unreachable, an unwritable output directory.

The command runs in a child process, as a person runs it, so the output checked is everything
the terminal shows: the command's own lines and Prefect's console log.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fakes import gemini_server as gm
from replay import arxiv_server as ax
from tests.system import test_faults as faults
from tests.system.test_crash import ROOT, child_env, cli_run

RUN = cli_run("extractive")


def run_cli(tmp_path: Path, pdfs: bool = True, **overrides: str) -> subprocess.CompletedProcess:
    with ax.ArxivServer(faults.entries(), faults.good_pdf if pdfs else None) as arxiv:
        with gm.FakeGemini() as gemini:
            env = {**child_env(arxiv, gemini, tmp_path / "data"), **overrides}
            return subprocess.run(
                RUN, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )


def error_lines(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if line.startswith("error:")]


@pytest.fixture(scope="module")
def unreachable(prefect_harness, tmp_path_factory):
    return run_cli(
        tmp_path_factory.mktemp("unreachable"),
        pdfs=False,
        DIGEST_ARXIV_API_URL="http://127.0.0.1:9/api/query",
    )


@pytest.fixture(scope="module")
def unwritable(prefect_harness, tmp_path_factory):
    # Something in the way rather than permissions: root (as in CI containers) ignores those.
    root = tmp_path_factory.mktemp("unwritable")
    blocked = root / "posts"
    blocked.write_text("a file where the output directory should be")
    return run_cli(root, DIGEST_OUTPUT_DIR=str(blocked)), blocked


def test_an_unreachable_arxiv_fails_with_one_line_naming_it(unreachable):
    assert unreachable.returncode == 1
    [line] = error_lines(unreachable)
    assert "2024-10-07" in line and "cannot reach arXiv" in line and "127.0.0.1:9" in line


def test_an_unwritable_output_directory_fails_with_one_line_naming_it(unwritable):
    done, blocked = unwritable
    assert done.returncode == 1
    [line] = error_lines(done)
    assert str(blocked) in line


@pytest.mark.parametrize("name", ["unreachable", "unwritable"])
def test_no_traceback_without_debug(request, name):
    done = request.getfixturevalue(name)
    done = done[0] if isinstance(done, tuple) else done
    assert "Traceback" not in done.stdout + done.stderr
