"""Extraction speed: our extractor against plain PyMuPDF text extraction on the same files.

Generates two-column 12-page papers (replay/pdfs.py), then reports pages per second and
figures per second for `tasks.pdf.extract.extract_pdf`, in-process and in the guarded child
process, next to `page.get_text()` over the same pages, as ratios from one run.

    uv run python -m bench.extract [--papers 12] [--pages 12]
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import pymupdf
import typer

from fakes.corpus import sample_spec
from replay.pdfs import make_paper_pdf
from tasks.pdf.extract import extract_pdf
from tasks.pdf.guard import extract_guarded


def make_papers(folder: Path, papers: int, pages: int) -> list[Path]:
    """Write `papers` generated two-column PDFs of about `pages` pages; return their paths."""
    paths = []
    for seed in range(papers):
        spec = dataclasses.replace(sample_spec(seed), pages=pages, two_column=True)
        path = folder / f"paper{seed}.pdf"
        path.write_bytes(make_paper_pdf(spec)[0])
        paths.append(path)
    return paths


def plain_text(paths: list[Path]) -> tuple[float, int]:
    """Return (seconds, pages) for PyMuPDF's own text extraction of every page."""
    started, pages = time.perf_counter(), 0
    for path in paths:
        with pymupdf.open(path) as doc:
            for page in doc:
                page.get_text()
                pages += 1
    return time.perf_counter() - started, pages


def ours(paths: list[Path], out: Path, guarded: bool) -> tuple[float, int, int]:
    """Return (seconds, pages, figures) for our extractor over `paths`."""
    started, pages, figures = time.perf_counter(), 0, 0
    for i, path in enumerate(paths):
        if guarded:
            ex = extract_guarded(path, f"2410.{i:05d}", 1, out, 4, 120, 2048, 300)
        else:
            ex = extract_pdf(path, f"2410.{i:05d}", 1, out, 4)
        pages, figures = pages + ex.pages, figures + len(ex.figures)
    return time.perf_counter() - started, pages, figures


def main(papers: int = 12, pages: int = 12) -> None:
    """Print pages/s and figures/s for each extractor and their ratios to plain PyMuPDF."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = make_papers(folder, papers, pages)
        plain_s, plain_pages = plain_text(paths)
        ours(paths[:1], folder / "warm", guarded=True)  # start the forkserver once
        rows = [("plain PyMuPDF get_text", plain_s, plain_pages, 0)]
        rows.append(("extract_pdf, in-process", *ours(paths, folder / "a", guarded=False)))
        rows.append(("extract_pdf, guarded child", *ours(paths, folder / "b", guarded=True)))
    typer.echo(f"{papers} generated two-column papers, {plain_pages} pages in all\n")
    typer.echo(f"{'method':<28} {'s':>7} {'pages/s':>9} {'figures/s':>10} {'time vs plain':>14}")
    for name, seconds, n_pages, n_figures in rows:
        typer.echo(
            f"{name:<28} {seconds:>7.2f} {n_pages / seconds:>9.1f} {n_figures / seconds:>10.1f}"
            f" {seconds / plain_s:>13.1f}x"
        )


if __name__ == "__main__":
    typer.run(main)
