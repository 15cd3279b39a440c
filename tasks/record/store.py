"""DuckDB, the durable record: opening it (migrated, or read-only), waiting out another
process's lock. The schema is in `tasks.record.migrations`, writes in `tasks.record.writes`,
reads in `tasks.record.views` and `tasks.record.history`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from tasks.domain import Failure
from tasks.record.migrations import SCHEMA_VERSION, StoreError, check_schema, migrate, version

log = logging.getLogger(__name__)

# Another process (a backfill beside a daily run) holds the file for one short write at a time;
# waiting this long means it is stuck, not busy.
LOCK_TIMEOUT = 300.0
# The mark of a failure that is no failure of the paper: the LLM quota or budget ran out.
WAITING = "waits for the next run"


def is_waiting(failure: Failure) -> bool:
    """Return True if the paper only waits for LLM quota or budget, rather than failed."""
    return failure.status == "waiting"


@contextmanager
def connect(
    db_path: Path | str, read_only: bool = False, lock_timeout: float = LOCK_TIMEOUT
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database briefly, migrated to the current schema; commit on success.

    While another process holds the file, wait with backoff for up to `lock_timeout` seconds.
    """
    if str(db_path) != ":memory:" and not read_only:
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    con = _open(db_path, read_only, lock_timeout)
    try:
        if read_only:
            check_schema(con, db_path)
        else:
            migrate(con)
        yield con
    finally:
        con.close()


def upgrade(db_path: Path) -> None:
    """Migrate an existing database older than this code, so reads can open it read-only.

    A missing database stays missing: the run's first write creates it.
    """
    if not db_path.exists():
        return
    con = _open(db_path, True, LOCK_TIMEOUT)
    try:
        current = version(con)
    finally:
        con.close()
    if current < SCHEMA_VERSION:
        with connect(db_path):
            pass


def _open(db_path: Path | str, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    deadline, delay, told = time.monotonic() + timeout, 0.02, False
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.IOException as exc:
            left = deadline - time.monotonic()
            if not is_lock_conflict(exc):
                raise
            if left <= 0:
                raise StoreError(
                    f"{db_path} stayed locked by another process for {timeout:g} s; wait for "
                    f"it to finish or stop it, then run again ({_holder(exc)})"
                ) from None
            if not told and timeout - left > 1:
                # A wait of more than a second is worth saying, or the run looks hung.
                log.warning("%s is locked by another process; waiting up to %g s", db_path, left)
                told = True
            # Jitter keeps two waiting processes from retrying in step.
            time.sleep(min(left, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, 0.5)


def _holder(exc: duckdb.IOException) -> str:
    """Return the part of DuckDB's lock message that names the process holding the file."""
    text = str(exc)
    start = text.find("Conflicting lock")
    return text[start:].split(". See")[0] if start != -1 else text


def is_lock_conflict(error: BaseException | None) -> bool:
    """Return True if `error` is DuckDB refusing its file lock, held by another process."""
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()
