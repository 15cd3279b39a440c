"""Peak resident memory of this process and its descendants, sampled from /proc (Linux).

psutil is not a dependency; /proc gives the same numbers. Where /proc is missing the peak
falls back to getrusage's max RSS of self plus the largest waited-for child.
"""

from __future__ import annotations

import os
import resource
import threading
from pathlib import Path

PROC = Path("/proc")
PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


def _parents() -> dict[int, int]:
    parents = {}
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        parents[int(stat.parent.name)] = int(fields[1])
    return parents


def _memory(pid: int) -> tuple[int, int]:
    """Return (RSS, PSS) in bytes; PSS splits pages shared with forked children fairly."""
    try:
        rss = int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE
        rollup = (PROC / str(pid) / "smaps_rollup").read_text()
    except (OSError, IndexError):
        return 0, 0
    pss = next((int(line.split()[1]) * 1024 for line in rollup.splitlines()
                if line.startswith("Pss:")), rss)  # fmt: skip
    return rss, pss


def tree_memory(root: int, excluded: frozenset[int] = frozenset()) -> tuple[int, int]:
    """Return summed (RSS, PSS) of `root` and its descendants, minus excluded subtrees."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in excluded:
            continue
        one = _memory(pid)
        rss, pss = rss + one[0], pss + one[1]
        stack.extend(children.get(pid, []))
    return rss, pss


class PeakSampler:
    """Sample the process tree's memory every `period` seconds in a thread; keep the peaks."""

    def __init__(self, excluded: frozenset[int] = frozenset(), period: float = 0.1):
        self.excluded, self.period = excluded, period
        self.peak = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = self.sample()
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)
            self._stop.wait(self.period)

    def sample(self) -> tuple[int, int]:
        """Return the tree's (RSS, PSS) now; without /proc, getrusage's peaks (no PSS)."""
        if PROC.is_dir():
            return tree_memory(os.getpid(), self.excluded)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return (own + kids) * 1024, (own + kids) * 1024
