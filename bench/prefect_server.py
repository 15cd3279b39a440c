"""A persistent local Prefect server of the benchmark's own: free port, own home, no telemetry."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

STARTUP = 120  # seconds; a loaded machine starts the server in 5–30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def prefect_server(home: Path) -> Iterator[tuple[str, int]]:
    """Run `prefect server start` with PREFECT_HOME=`home`; yield its API URL and pid."""
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    args = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [*args, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + STARTUP
        while not _healthy(api):
            if server.poll() is not None:
                raise RuntimeError(
                    f"prefect server exited with {server.returncode}; see {log.name}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"prefect server not healthy after {STARTUP} s")
            time.sleep(0.25)
        yield api, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
