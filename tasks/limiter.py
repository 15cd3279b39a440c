"""One process-wide pace for every request to arXiv (API, RSS, PDFs).

arXiv's terms ask for at most one request every 3 seconds, on a single connection, across
all its services: requests take turns, and each starts `min_interval` after the previous one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Limiter:
    """Serialise requests and space their starts at least `min_interval` seconds apart."""

    def __init__(self, min_interval: float):
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, got {min_interval}")
        self.min_interval = min_interval
        self._turn = threading.Lock()
        # A separate lock for the schedule, so `wait` works from inside a held slot.
        self._schedule = threading.Lock()
        self._next_start = 0.0

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Hold the one request turn; yield its start time on the `time.monotonic` clock."""
        with self._turn:
            started = self._sleep_until_due()
            with self._schedule:
                self._next_start = max(self._next_start, started + self.min_interval)
            yield started

    def wait(self, seconds: float) -> None:
        """Start no request for `seconds` from now (e.g. honouring Retry-After)."""
        with self._schedule:
            self._next_start = max(self._next_start, time.monotonic() + seconds)

    def _sleep_until_due(self) -> float:
        # Loop because `wait` may push the schedule while we sleep.
        while True:
            now = time.monotonic()
            with self._schedule:
                delay = self._next_start - now
            if delay <= 0:
                return now
            time.sleep(delay)


_limiters: dict[float, Limiter] = {}
_limiters_lock = threading.Lock()


def get_limiter(min_interval: float) -> Limiter:
    """Return the process's shared limiter for `min_interval`."""
    with _limiters_lock:
        if min_interval not in _limiters:
            _limiters[min_interval] = Limiter(min_interval)
        return _limiters[min_interval]
