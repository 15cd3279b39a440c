"""A wrong config file or variable is one line naming where, the key and what is allowed.

Each case runs the real command in a child process against a temporary TOML named by
DIGEST_CONFIG, so the check covers pydantic-settings' own loading and everything printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOPIC = '[[topics]]\nname = "X"\nslug = "x"\ncategories = ["cs.CV"]\ninclude = ["a"]\n'


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "digest.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def one_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('max_figures = 3\nllm_model = = "x"\n', [":2:", "TOML syntax"]),
        ('topics = []\nmax_figures = "four"\n', [":2:", "max_figures", "four", "valid integer"]),
        ("max_figure = 3\n", [":1:", "'max_figure'", "did you mean 'max_figures'"]),
        (TOPIC + "min_scor = 2\n", [":6:", "topics[0].min_scor", "did you mean 'min_score'"]),
        (TOPIC + TOPIC.replace('name = "X"\n', ""), [":6:", "topics[1].name", "required"]),
    ],
    ids=["syntax", "type", "unknown-top", "unknown-in-topic", "topic-without-name"],
)
def test_a_wrong_config_file_is_one_line_naming_file_line_and_key(tmp_path, text, expected):
    path = config(tmp_path, text)
    line = one_error(cli("calendar", "--date", "2024-10-07", DIGEST_CONFIG=path))
    assert path in line
    for part in expected:
        assert part in line


def test_a_wrong_variable_names_itself_and_the_allowed_values():
    line = one_error(cli("calendar", DIGEST_LLM_BACKEND="gemni"))
    assert "DIGEST_LLM_BACKEND='gemni'" in line and "'extractive'" in line


def test_a_missing_config_file_is_an_error_not_no_topics(tmp_path):
    line = one_error(cli("calendar", DIGEST_CONFIG=str(tmp_path / "nowhere.toml")))
    assert "nowhere.toml" in line and "DIGEST_CONFIG" in line


def test_unrelated_digest_variables_are_not_errors():
    done = cli("calendar", "--date", "2024-10-07", DIGEST_SOMETHING_ELSE="x")
    assert done.returncode == 0 and "batch 2024-10-07" in done.stdout


def test_an_impossible_database_path_fails_before_prefect_starts(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = cli(
        "run",
        "--date",
        "2024-10-07",
        "--llm",
        "extractive",
        DIGEST_DB_PATH=str(blocker / "digest.duckdb"),
    )
    line = one_error(done)
    assert "DIGEST_DB_PATH" in line and str(blocker) in line and "not a folder" in line
    assert "prefect" not in done.stdout.lower()
