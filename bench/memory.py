"""Peak resident memory (and CPU time) of this process and its descendants, from /proc (Linux).

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
TICK = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


def _stats() -> dict[int, list[str]]:
    """Return every process's /proc stat fields from the state on (ppid is [1], utime [11])."""
    stats = {}
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
    return stats


def _tree(root: int, excluded: frozenset[int], stats: dict[int, list[str]]) -> list[int]:
    """Return `root` and its descendants, minus excluded subtrees."""
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid not in excluded:
            found.append(pid)
            stack.extend(children.get(pid, []))
    return found


def _memory(pid: int) -> tuple[int, int]:
    """Return (RSS, PSS) in bytes; PSS splits pages shared with forked children fairly."""
    try:
        rss = int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE
        rollup = (PROC / str(pid) / "smaps_rollup").read_text()
    except (OSError, IndexError):
        return 0, 0
    pss = next(
        (int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:")),
        rss,
    )
    return rss, pss


def tree_memory(root: int, excluded: frozenset[int] = frozenset()) -> tuple[int, int]:
    """Return summed (RSS, PSS) of `root` and its descendants, minus excluded subtrees."""
    rss = pss = 0
    for pid in _tree(root, excluded, _stats()):
        one = _memory(pid)
        rss, pss = rss + one[0], pss + one[1]
    return rss, pss


def tree_cpu(root: int, excluded: frozenset[int] = frozenset()) -> float:
    """Return the CPU seconds `root` and its descendants have used so far.

    Each process counts its own time and its reaped children's, so extraction children that
    a forkserver started and reaped are in. Without /proc: this process and its reaped
    children, whatever `root`.
    """
    if not PROC.is_dir():
        return sum(os.times()[:4])
    stats = _stats()
    pids = _tree(root, excluded, stats)
    return sum(int(t) for pid in pids if pid in stats for t in stats[pid][11:15]) / TICK


class PeakSampler:
    """Sample the process tree's memory every `period` seconds in a thread; keep the peaks.

    Besides the peaks of the whole run, `segment()` returns the peaks since its last call, so
    a run of several parts (a backfill's labels) gets one peak per part.
    """

    def __init__(self, excluded: frozenset[int] = frozenset(), period: float = 0.1):
        self.excluded, self.period = excluded, period
        self.peak = self.peak_pss = 0
        self._part = (0, 0)
        self._lock = threading.Lock()
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
            self._record(*self.sample())
            self._stop.wait(self.period)

    def _record(self, rss: int, pss: int) -> None:
        with self._lock:
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)
            self._part = (max(self._part[0], rss), max(self._part[1], pss))

    def segment(self) -> tuple[int, int, int, int]:
        """Return (peak RSS, peak PSS, RSS now, PSS now) since the last call; start a new part."""
        rss, pss = self.sample()
        self._record(rss, pss)
        with self._lock:
            (peak, peak_pss), self._part = self._part, (0, 0)
        return peak, peak_pss, rss, pss

    def sample(self) -> tuple[int, int]:
        """Return the tree's (RSS, PSS) now; without /proc, getrusage's peaks (no PSS)."""
        if PROC.is_dir():
            return tree_memory(os.getpid(), self.excluded)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        return (own + kids) * 1024, (own + kids) * 1024
