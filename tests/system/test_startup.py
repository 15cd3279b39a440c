"""Start-up: commands that need no flow never start Prefect; a slow temporary server is waited
for, and one that does not start in time is one line saying what to do.

Each command runs as its own process, as a user runs it. A slow server is made real with a
`sitecustomize` that delays the temporary server's own process (Prefect marks it with
PREFECT__SERVER_EPHEMERAL=1) before it starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOBODY = "http://127.0.0.1:9/api"  # no server listens there: any Prefect call would fail

SLOW_SERVER = """\
import os, time
if os.environ.get("PREFECT__SERVER_EPHEMERAL") == "1":
    time.sleep(float(os.environ.get("SLOW_SERVER_SECONDS", "0")))
"""


def command(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `arxiv-digest ARGS` with its data in `tmp_path`; `env` adds to the environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "PREFECT_"))}
    base |= {
        "DIGEST_DATA_DIR": str(tmp_path),
        "DIGEST_DB_PATH": str(tmp_path / "digest.duckdb"),
        "DIGEST_OUTPUT_DIR": str(tmp_path / "posts"),
        "DIGEST_LLM_BACKEND": "extractive",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    code = "import sys; from flows.cli import app; sys.argv[0] = 'arxiv-digest'; app()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_weekend_is_answered_without_importing_prefect(tmp_path):
    code = (
        "import sys\nfrom flows.cli import app\n"
        "try:\n    app(['run', '--date', '2024-10-05'])\nexcept SystemExit:\n    pass\n"
        "print('prefect imported' if 'prefect' in sys.modules else 'prefect not imported')\n"
    )
    env = {**os.environ, "DIGEST_DB_PATH": str(tmp_path / "d.duckdb"), "PREFECT_API_URL": NOBODY}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "no batch labelled 2024-10-05 (weekend); the next is 2024-10-07" in done.stdout
    assert done.stdout.strip().endswith("prefect not imported")


@pytest.mark.parametrize(
    "args",
    [
        ("run", "--date", "2024-10-05"),
        ("run", "--date", "2024-12-26"),  # no announcement on the holiday evening before
        ("calendar", "--date", "2024-10-05"),
        ("render", "--date", "2024-10-05"),
        ("papers",),
        ("stats",),
    ],
)
def test_commands_that_need_no_flow_never_reach_prefect(tmp_path, args):
    command(tmp_path, "run", "--date", "2024-10-05", PREFECT_API_URL=NOBODY)  # a record to read
    done = command(tmp_path, *args, PREFECT_API_URL=NOBODY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_a_server_that_does_not_start_in_time_is_one_line_saying_what_to_do(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_SERVER, encoding="utf-8")
    done = command(
        tmp_path,
        "run",
        "--date",
        "2024-10-07",
        PYTHONPATH=str(site),
        SLOW_SERVER_SECONDS="30",
        DIGEST_PREFECT_STARTUP_TIMEOUT="1",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: Prefect's temporary server did not start within 1 s (a busy machine?). Start a "
        "lasting one with `make ui` and export PREFECT_API_URL=http://127.0.0.1:4200/api, or "
        "raise prefect_startup_timeout (DIGEST_PREFECT_STARTUP_TIMEOUT)"
    ]
    assert "Traceback" not in done.stderr


def test_render_without_a_database_creates_none_and_says_what_to_do(tmp_path):
    done = command(tmp_path, "render", "--date", "2024-10-07", PREFECT_API_URL=NOBODY)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: no database at {tmp_path / 'digest.duckdb'}; run `arxiv-digest run` first, "
        "or set DIGEST_DB_PATH"
    )
    assert not (tmp_path / "digest.duckdb").exists()
