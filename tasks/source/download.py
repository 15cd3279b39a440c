"""A paper's PDF on disk, fetched politely and checked before anyone reads it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tasks.domain import Paper
from tasks.errors import ExtractError
from tasks.pdf.validate import check_pdf
from tasks.source.client import PoliteSession


def download_pdf(
    paper: Paper, pdf_url: str, dest_dir: Path, session: PoliteSession, max_bytes: int
) -> Path:
    """Return the path of the paper's validated PDF, downloading it unless already on disk."""
    path = dest_dir / f"{paper.stem}.pdf"
    if _valid_file(path, max_bytes, paper.key):
        return path
    url = f"{pdf_url}{paper.key}"
    response, data = session.get_capped(url, max_bytes)
    if response.status_code != 200:
        raise ExtractError(f"arXiv answered HTTP {response.status_code} for {url}", paper.key)
    check_pdf(data, paper.key, max_bytes)
    _write_atomic(path, data)
    return path


def _valid_file(path: Path, max_bytes: int, paper: str) -> bool:
    if not path.is_file() or path.stat().st_size > max_bytes:
        return False
    try:
        check_pdf(path.read_bytes(), paper, max_bytes)
    except ExtractError:
        return False
    return True


def _write_atomic(path: Path, data: bytes) -> None:
    # Write beside the target, then rename: a crash never leaves a half PDF under its name.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
