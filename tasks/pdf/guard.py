"""Run PDF extraction in a child process with a time limit, a memory limit and a page cap.

A PDF from the internet can make MuPDF loop, allocate without bound or crash; in a child
process each of these ends as an ExtractError for that paper while the run goes on. Children
are forked from a forkserver that has already imported PyMuPDF, so each costs milliseconds.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tasks.domain import Extraction
from tasks.errors import ExtractError

MB = 1024 * 1024
_context: Any = None


def _forkserver() -> Any:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        # Children would each import the parent's __main__ again; the server does it once.
        _context.set_forkserver_preload(["__main__", "tasks.pdf.extract"])
    return _context


def run_guarded(
    fn: Callable[..., Any], args: tuple, paper: str, timeout: float, memory_mb: int
) -> Any:
    """Return `fn(*args)` computed in a child process, or raise ExtractError saying why not."""
    ctx = _forkserver()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(sender, fn, args, paper, memory_mb), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            child.kill()
            raise ExtractError(f"reading the PDF took longer than {timeout:g} s", paper)
        try:
            ok, value = receiver.recv()
        except EOFError:
            child.join()
            raise ExtractError(
                f"the PDF reader crashed (exit code {child.exitcode}); the file may be hostile",
                paper,
            ) from None
    finally:
        receiver.close()
        child.join(timeout=5)
    if not ok:
        raise value
    return value


def _child(sender: Connection, fn: Callable[..., Any], args: tuple, paper: str, mb: int) -> None:
    """Apply the memory limit, run `fn`, and send back its result or the error."""
    resource.setrlimit(resource.RLIMIT_AS, (mb * MB, mb * MB))
    try:
        sender.send((True, fn(*args)))
    except ExtractError as exc:
        sender.send((False, exc))
    except MemoryError:
        sender.send((False, ExtractError(f"reading the PDF needed more than {mb} MB", paper)))
    # The child's boundary: any other failure of the reader becomes this paper's failure.
    except Exception as exc:
        reason = f"the PDF reader failed: {type(exc).__name__}: {exc}"
        sender.send((False, ExtractError(reason, paper)))
    finally:
        sender.close()


def extract_guarded(
    pdf: Path,
    arxiv_id: str,
    version: int,
    figure_dir: Path,
    max_figures: int,
    timeout: float,
    memory_mb: int,
    max_pages: int,
) -> Extraction:
    """Extract a paper's PDF in a guarded child process."""
    from tasks.pdf.extract import extract_pdf

    paper = f"{arxiv_id}v{version}"
    args = (pdf, arxiv_id, version, figure_dir, max_figures, max_pages)
    return run_guarded(extract_pdf, args, paper, timeout, memory_mb)
