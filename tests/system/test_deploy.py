"""deploy/prefect.yaml: entrypoints that load, the schedule its README promises."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

from flows.serve import PREFECT_YAML, ROOT, deployment_specs, to_deployment
from tasks.source import schedule

SPECS = {spec["name"]: spec for spec in deployment_specs()}
FLOW_NAMES = {"daily": "daily-digest", "backfill": "backfill"}


def readme_schedule() -> tuple[str, str]:
    text = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    found = re.search(r"`daily-digest/daily`.*cron `([^`]+)`, timezone `([^`]+)`", text)
    assert found, "deploy/README.md no longer states the daily schedule"
    return found[1], found[2]


@pytest.mark.parametrize("name", sorted(FLOW_NAMES))
def test_every_entrypoint_loads_the_flow_it_names(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # where `prefect deploy` and the worker resolve entrypoints
    flow = load_flow_from_entrypoint(SPECS[name]["entrypoint"])
    assert flow.name == FLOW_NAMES[name]
    assert SPECS[name]["concurrency_limit"] == 1
    assert SPECS[name]["work_pool"]["name"] == "arxiv-digest"


def test_the_daily_schedule_is_the_one_the_readme_states():
    (schedule,) = SPECS["daily"]["schedules"]
    assert (schedule["cron"], schedule["timezone"]) == readme_schedule()
    assert "schedules" not in SPECS["backfill"]


def test_each_scheduled_run_finds_the_batch_labelled_that_day():
    """At 00:30 and 06:30 New York time, Monday to Friday, the latest batch is that day's."""
    minute, hours, _, _, weekdays = SPECS["daily"]["schedules"][0]["cron"].split()
    zone = schedule.EASTERN
    assert hours.split(",") == ["0", "6"] and weekdays == "1-5"
    for day in range(7, 12):  # 2024-10-07 (Monday) to 2024-10-11 (Friday)
        for hour in hours.split(","):
            run = datetime(2024, 10, day, int(hour), int(minute), tzinfo=zone)
            assert schedule.latest_label(run) == run.date()


def test_no_secret_in_the_file():
    declared = yaml.safe_dump(yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))).lower()
    assert not re.search(r"api_key|token|password|secret", declared)
    assert all(not spec["work_pool"]["job_variables"] for spec in SPECS.values())


def test_serve_builds_both_deployments_from_the_file():
    deployments = {spec["name"]: to_deployment(spec) for spec in SPECS.values()}
    daily = deployments["daily"]
    (schedule,) = daily.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == readme_schedule()
    assert daily.concurrency_limit == 1
    assert deployments["backfill"].schedules == []
