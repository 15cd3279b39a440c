"""One pace for every request to arXiv (API, RSS, OAI-PMH, PDFs), shared across processes.

arXiv's terms ask for at most one request every 3 seconds, on a single connection, across
all its services: requests take turns, and each starts `min_interval` after the previous one.
With a `lock_path`, processes that share it (a backfill beside a daily run) take turns too:
the file is locked for the length of each request and holds the earliest next start.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Limiter:
    """Serialise requests and space their starts at least `min_interval` seconds apart."""

    def __init__(self, min_interval: float, lock_path: Path | None = None):
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, got {min_interval}")
        self.min_interval = min_interval
        self.lock_path = lock_path
        self._turn = threading.Lock()
        # A separate lock for the schedule, so `wait` works from inside a held slot.
        self._schedule = threading.Lock()
        self._next_start = 0.0  # on the time.monotonic clock

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Hold the one request turn; yield its start time on the `time.monotonic` clock."""
        with self._turn, self._shared_turn() as shared:
            if shared is not None:  # another process's schedule, on the wall clock
                self.wait(_read_next(shared) - time.time())
            started = self._sleep_until_due()
            with self._schedule:
                self._next_start = max(self._next_start, started + self.min_interval)
            try:
                yield started
            finally:
                if shared is not None:
                    _write_next(shared, time.time() + self._next_start - time.monotonic())

    def wait(self, seconds: float) -> None:
        """Start no request for `seconds` from now (e.g. honouring Retry-After)."""
        with self._schedule:
            self._next_start = max(self._next_start, time.monotonic() + seconds)

    @contextmanager
    def _shared_turn(self) -> Iterator[int | None]:
        """Hold the lock file, if any, for one request; yield its descriptor."""
        if self.lock_path is None:
            yield None
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def _sleep_until_due(self) -> float:
        # Loop because `wait` may push the schedule while we sleep.
        while True:
            now = time.monotonic()
            with self._schedule:
                delay = self._next_start - now
            if delay <= 0:
                return now
            time.sleep(delay)


def _read_next(fd: int) -> float:
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        return float(os.read(fd, 64).decode() or 0)
    except ValueError:  # a torn or foreign file: no constraint from it
        return 0.0


def _write_next(fd: int, when: float) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, f"{when:.6f}".encode())


_limiters: dict[tuple[float, Path | None], Limiter] = {}
_limiters_lock = threading.Lock()


def get_limiter(min_interval: float, lock_path: Path | None = None) -> Limiter:
    """Return the process's shared limiter for `min_interval` (and `lock_path`)."""
    key = (min_interval, lock_path.resolve() if lock_path else None)
    with _limiters_lock:
        if key not in _limiters:
            _limiters[key] = Limiter(min_interval, key[1])
        return _limiters[key]
