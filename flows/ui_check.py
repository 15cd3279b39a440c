"""`make ui-check`: screenshot a flow run's page in the Prefect UI and check it rendered the run.

    python -m flows.ui_check [--api URL] [--flow-run-id ID | --latest] [--out shot.png]

Finds the run through the REST API (by default the latest started `daily-digest` run), opens
its page in headless Chromium on the UI the server serves by default (`/v2` or `/`), writes a
screenshot for a person, and dumps the page's DOM (its Task Runs tab). Exits 0 only if the
run is Completed and the DOM shows its name, its state and at least one of its task runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

DEFAULT_API = "http://127.0.0.1:4200/api"
FLOW = "daily-digest"
# Headless flags for a machine without network but localhost: background networking,
# component updates and sync would only try (and fail) to reach Google.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # needed as root (CI); it only ever opens the local Prefect UI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1000",
]
# Task Runs tab of the run page, by UI version (v2 is the default UI since Prefect 3.6).
TASK_RUNS_TAB = {"v2": "?tab=TaskRuns", "v1": "?tab=Task%20Runs"}


class CheckFailed(Exception):
    """A one-line reason the check failed."""


def find_chromium() -> str | None:
    """The Chromium binary: $CHROMIUM, else `chromium` (Debian) or `chromium-browser` on PATH."""
    candidates = [os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "/usr/bin/chromium"]
    for name in filter(None, candidates):
        if found := shutil.which(name):
            return found
    return None


def api_post(client: httpx.Client, path: str, body: dict) -> list[dict]:
    response = client.post(path, json=body)
    response.raise_for_status()
    return response.json()


def find_run(client: httpx.Client, flow_run_id: str | None, flow: str = FLOW) -> dict:
    """The flow run with this id, or the latest started run of `flow`."""
    if flow_run_id:
        response = client.get(f"flow_runs/{flow_run_id}")
        if response.status_code == 404:
            raise CheckFailed(f"no flow run {flow_run_id} at {client.base_url}")
        response.raise_for_status()
        return response.json()
    body = {
        "flows": {"name": {"any_": [flow]}},
        "flow_runs": {"start_time": {"is_null_": False}},
        "sort": "START_TIME_DESC",
        "limit": 1,
    }
    runs = api_post(client, "flow_runs/filter", body)
    if not runs:
        raise CheckFailed(f"no {flow} run has started at {client.base_url}; run one first")
    return runs[0]


def task_run_names(client: httpx.Client, flow_run_id: str) -> list[str]:
    body = {"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200}
    return [t["name"] for t in api_post(client, "task_runs/filter", body)]


def run_page(base: str, flow_run_id: str) -> tuple[str, str]:
    """The run's page on the server's default UI, and the UI version ("v1" or "v2")."""
    try:
        settings = httpx.get(f"{base}/ui-settings", timeout=10).json()
    except (httpx.HTTPError, ValueError) as error:
        raise CheckFailed(f"no Prefect UI at {base}: {error}") from None
    if settings.get("available_uis") == []:
        raise CheckFailed(f"{base} serves no UI; start it with PREFECT_UI_ENABLED=true")
    version = settings.get("default_ui") or "v1"
    prefix = (settings.get(f"{version}_base_url") or "/").rstrip("/")
    return f"{base}{prefix}/runs/flow-run/{flow_run_id}", version


def chromium(binary: str, action: str, url: str, budget_ms: int) -> str:
    """Run headless Chromium once (`--dump-dom` or `--screenshot=PATH`); return its stdout."""
    with tempfile.TemporaryDirectory(prefix="ui-check-") as profile:
        args = [
            binary,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            action,
            url,
        ]
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"chromium did not finish {action} of {url} in 120 s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CheckFailed(f"chromium exited with {done.returncode}: {last}")
    return done.stdout


def check(api: str, flow_run_id: str | None, out: Path, budget_ms: int = 15000) -> str:
    """Screenshot and check the run's page; return a one-line summary or raise CheckFailed."""
    binary = find_chromium()
    if binary is None:
        raise CheckFailed("chromium not found; install it: apt-get install -y chromium")
    api = api.rstrip("/")
    base = api.removesuffix("/api")
    with httpx.Client(base_url=api + "/", timeout=10) as client:
        try:
            run = find_run(client, flow_run_id)
            tasks = task_run_names(client, run["id"])
        except httpx.HTTPError as error:
            raise CheckFailed(f"cannot read flow runs from {api}: {error}") from None
    name, state = run["name"], run["state_name"]
    if state != "Completed":
        raise CheckFailed(f"flow run {name!r} ({run['id']}) is {state}, not Completed")
    url, version = run_page(base, run["id"])
    out.parent.mkdir(parents=True, exist_ok=True)
    chromium(binary, f"--screenshot={out.resolve()}", url, budget_ms)
    if not out.is_file() or out.stat().st_size == 0:
        raise CheckFailed(f"chromium wrote no screenshot to {out}")
    for attempt in (1, 2):  # a loaded machine may still be fetching at the end of the budget
        dom = chromium(binary, "--dump-dom", url + TASK_RUNS_TAB[version], budget_ms * attempt)
        missing = [text for text in (name, state) if text not in dom]
        shown = [task for task in tasks if task in dom]
        if not missing and (shown or not tasks):
            return f"ok: {url} shows {name!r} {state} and {len(shown)} of {len(tasks)} task runs"
    what = ", ".join(repr(m) for m in missing) or "any of its task runs"
    raise CheckFailed(f"{url} did not render {what} (screenshot: {out})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.ui_check", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--api",
        default=os.environ.get("PREFECT_API_URL") or DEFAULT_API,
        help=f"default: $PREFECT_API_URL or {DEFAULT_API}",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--flow-run-id", help="the flow run to check")
    which.add_argument(
        "--latest", action="store_true", help=f"the latest started {FLOW} run (the default)"
    )
    parser.add_argument("--out", type=Path, default=Path("ui-check.png"), help="screenshot path")
    args = parser.parse_args(argv)
    try:
        summary = check(args.api, args.flow_run_id, args.out)
    except CheckFailed as error:
        print(f"ui-check: {error}", file=sys.stderr)
        return 1
    print(f"ui-check {summary}")
    print(f"screenshot: {args.out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
