"""Shared fixtures: one Prefect test harness for the whole session."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.speed"]

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def prefect_harness():
    """Start Prefect's test harness once (it costs seconds) and share it."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "prefect_server: starts a real `prefect server start`; part of `make test`"
    )


# Tables a test module hands over (tests/system/test_faults.py), printed after the summary.
TABLES = pytest.StashKey[list[str]]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for table in config.stash.get(TABLES, []):
        terminalreporter.write_line("")
        terminalreporter.write_line(table)


@pytest.fixture
def shipped_settings():
    """Settings from config/digest.toml alone: no key and no DIGEST_* left by other tests."""
    from tests.env import settings_env

    keys = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    with settings_env(drop=[n for n in os.environ if n.startswith("DIGEST_") or n in keys]):
        yield
