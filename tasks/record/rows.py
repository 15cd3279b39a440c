"""Rows read by column name, never by position: a query's answer as dictionaries."""

from __future__ import annotations

from typing import Any

import duckdb


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    """Return every row of `sql`, each as {column: value}."""
    cursor = con.execute(sql, params) if params is not None else con.execute(sql)
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def row(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> dict[str, Any] | None:
    """Return the first row of `sql` as {column: value}, or None when there is none."""
    cursor = con.execute(sql, params) if params is not None else con.execute(sql)
    found = cursor.fetchone()
    names = [column[0] for column in cursor.description or ()]
    return dict(zip(names, found, strict=True)) if found is not None else None


def value(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    """Return the single value `sql` selects (None when it selects no row)."""
    found = (
        con.execute(sql, params).fetchone() if params is not None else con.execute(sql).fetchone()
    )
    return found[0] if found else None
