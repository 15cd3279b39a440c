"""Every kind of record the stages produce, written to DuckDB in one transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from tasks.domain import (
    Cleared,
    DayNote,
    Extraction,
    Failure,
    JudgeCalls,
    Listing,
    Paper,
    Selection,
)
from tasks.record import store
from tasks.summary.schema import SummaryRecord

Saver = Callable[[duckdb.DuckDBPyConnection, list[Any], "date | None"], object]


def _each(save: Callable[[duckdb.DuckDBPyConnection, Any], object]) -> Saver:
    return lambda con, items, _day: [save(con, item) for item in items]


# In this order: papers before what refers to them.
SAVERS: dict[type, Saver] = {
    Paper: lambda con, items, _day: store.save_papers(con, items),
    Listing: _each(
        lambda con, x: store.save_listing(con, x.categories, x.day, x.window, list(x.papers))
    ),
    Selection: lambda con, items, day: store.save_selections(con, day, items),
    JudgeCalls: _each(lambda con, x: store.save_judgements(con, x.topic, x.day, x.batches)),
    Extraction: _each(store.save_extraction),
    SummaryRecord: _each(store.save_summary),
    Failure: _each(store.save_failure),
    DayNote: _each(lambda con, x: store.save_empty_day(con, x.topic, x.day, x.reason, x.status)),
    Cleared: _each(lambda con, x: store.clear_failure(con, x.arxiv_id, x.version, x.stage)),
}


def save_all(db_path: Path, items: Iterable[Any], day: date | None = None) -> int:
    """Upsert `items` (any mix of the kinds above) in one transaction; safe to repeat."""
    by_type: dict[type, list[Any]] = defaultdict(list)
    for item in items:
        by_type[type(item)].append(item)
    unknown = set(by_type) - set(SAVERS)
    if unknown:
        raise TypeError(f"cannot store {', '.join(sorted(t.__name__ for t in unknown))}")
    with store.connect(db_path) as con:
        con.execute("BEGIN")
        for kind, save in SAVERS.items():
            if by_type.get(kind):
                save(con, by_type[kind], day)
        con.execute("COMMIT")
    return sum(map(len, by_type.values()))
