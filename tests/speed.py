"""The `slow` mark, put on every test that starts Prefect, a subprocess or a Hexo build.

`make test-fast` runs the rest (`pytest -m "not slow"`): the unit tests of every module, in
well under a minute; `make test` runs everything.
"""

from __future__ import annotations

import pytest

# Fixtures that start a Prefect server or run whole flows.
SLOW_FIXTURES = {"prefect_harness"}
# Modules whose tests run the CLI or flows in child processes, Dask clusters or a Hexo build.
SLOW_MODULES = {
    "test_bench",
    "test_cli_errors",
    "test_crash",
    "test_task_runner",
    "test_demo",
    "test_faults",
    "test_hexo",
    "test_hexo_timezone",
    "test_hostile",
    "test_server",
    "test_startup",
}

# Single tests that wait out real delays or race real processes.
SLOW_TESTS = {
    "test_a_quota_failure_naming_minute_and_day_is_a_wait_not_a_spent_day",
    "test_two_processes_write_the_same_database_at_once",
    "test_a_locked_database_is_waited_for_then_named_in_a_clear_error",
    "test_processes_sharing_a_lock_file_keep_the_pace_together",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts Prefect, a subprocess or a Hexo build")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        fixtures = set(getattr(item, "fixturenames", ()))
        name = getattr(item, "originalname", item.name)
        slow = module in SLOW_MODULES or fixtures & SLOW_FIXTURES or name in SLOW_TESTS
        if slow or item.get_closest_marker("prefect_server"):
            item.add_marker(pytest.mark.slow)
