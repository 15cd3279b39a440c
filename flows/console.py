"""The terminal side of the CLI: errors in one line, short cells, text tables, quiet Prefect."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any, NoReturn

import typer

options = {"debug": False}  # --debug: tracebacks shown, errors raised as they are


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `message` as the command's one error line and exit with `code`."""
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def short(text: str, width: int = 60) -> str:
    """Return `text` on one line, cut to `width` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return rows as a plain text table under `head`, the last column left ragged."""
    cells = [[str(c) for c in head], *[[_cell(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in cells
    )


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if value < 1 else f"{value:.2f}"
    return "-" if value is None else str(value)


class Brief(logging.Formatter):
    """Format a log record without its traceback; --debug keeps them."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def brief_console() -> None:
    """Keep tracebacks out of the terminal (the Prefect UI still gets them) unless --debug."""
    if options["debug"]:
        return
    loggers = [
        logging.getLogger(),
        *(
            logger
            for name, logger in logging.root.manager.loggerDict.items()
            if name.startswith("prefect") and isinstance(logger, logging.Logger)
        ),
    ]
    for logger in loggers:
        for handler in logger.handlers:
            is_console = isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            )
            if is_console and not isinstance(handler.formatter, Brief):
                handler.setFormatter(Brief(handler.formatter))


STARTUP_TIMEOUT = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


def quiet_prefect() -> None:
    """Prepare Prefect before its first import: offline-friendly, patient on a busy machine.

    No analytics calls from this process; without PREFECT_API_URL each command starts a
    temporary server, whose 20 s start-up limit a loaded 2-core machine overruns.
    """
    from config.loading import get_settings

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault(STARTUP_TIMEOUT, str(get_settings().prefect_startup_timeout))


def fail_startup(exc: RuntimeError) -> None:
    """Say what to do when Prefect's temporary server did not start in time."""
    if "ephemeral Prefect API server" not in str(exc) or options["debug"]:
        raise exc
    limit = os.environ.get(STARTUP_TIMEOUT, "?")
    if "process exited" in str(exc):
        what = "exited while starting (its log is above)"
    else:
        what = f"did not start within {limit} s (a busy machine?)"
    fail(
        f"Prefect's temporary server {what}. Start a "
        "lasting one with `make ui` and export PREFECT_API_URL=http://127.0.0.1:4200/api, or "
        f"raise prefect_startup_timeout (DIGEST_PREFECT_STARTUP_TIMEOUT)",
        1,
    )
