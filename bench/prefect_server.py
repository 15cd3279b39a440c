"""A local `prefect server start` of one's own: free port, own home, no telemetry.

The benchmarks measure against it, and tests/system/test_server.py serves deployments from it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
STARTUP = 120  # seconds; a loaded machine starts the server in 5–30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(api: str) -> bool:
    """Return True if the Prefect API at `api` answers its health check."""
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def prefect_env(home: Path, api: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return `base` (default: this process's environment) with Prefect pointed at `api`.

    Every other PREFECT_ setting is dropped, so nothing of the caller's profile leaks in;
    telemetry is off, and the UI is on and talks to `api` (as `make ui` sets it).
    """
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.startswith("PREFECT_")
    }
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api,
        PREFECT_UI_ENABLED="true",
        PREFECT_UI_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
    )
    return env


def stop(process: subprocess.Popen) -> None:
    """Terminate `process`; kill it if it has not ended within 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def prefect_server(home: Path, startup: float = STARTUP) -> Iterator[tuple[str, int]]:
    """Run `prefect server start` with PREFECT_HOME=`home`; yield its API URL and pid.

    Returns once /health answers; the server's output goes to `home`/server.log.
    """
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    args = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    log = home / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*args, "--port", str(port)],
            cwd=ROOT,
            env=prefect_env(home, api),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + startup
        while not healthy(api):
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited with {server.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"prefect server not healthy after {startup} s; see {log}")
            time.sleep(0.25)
        yield api, server.pid
    finally:
        stop(server)
