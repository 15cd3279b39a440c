"""A synthetic arXiv day: N diffusion papers in the 2024-10-07 batch, with their PDFs."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from tests.fakes.pdfs import make_paper_pdf, sample_spec

DAY = date(2024, 10, 7)
# The submission window of the batch labelled 2024-10-07 (14:00 ET Thu → 14:00 ET Fri).
WINDOW_START = datetime(2024, 10, 3, 18, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
CC_BY = "http://creativecommons.org/licenses/by/4.0/"
SUBJECTS = ("Video", "Image Editing", "Motion", "Audio", "3D Scenes", "Molecules", "Text")


def day_entries(n: int) -> list[dict]:
    """Return `n` ArxivServer entries submitted inside the window, all about diffusion."""
    rng = random.Random(n)
    entries = []
    for i in range(n):
        stamp = WINDOW_START + WINDOW * (i + 0.5) / n
        iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        subject = SUBJECTS[i % len(SUBJECTS)]
        entries.append({
            "arxiv_id": f"2410.{5000 + i:05d}",
            "version": 1,
            "title": f"Latent Diffusion Models for {subject}: Study {i}",
            "authors": [f"Author {rng.randint(1, 999)}", f"Writer {rng.randint(1, 999)}"],
            "abstract": f"We propose a latent diffusion model for {subject.lower()} generation. "
            "It samples faster than prior denoising diffusion models at equal quality.",
            "comment": "10 pages",
            "published": iso,
            "updated": iso,
            "categories": ["cs.CV"],
            "primary_category": "cs.CV",
            "licence": CC_BY,
        })  # fmt: skip
    return entries


def paper_pdf(entry: dict, seed: int, pages: int) -> bytes:
    """Return a `pages`-page PDF (figures, a table, filler prose) for one entry."""
    spec = replace(
        sample_spec(seed),
        title=entry["title"],
        authors=tuple(entry["authors"]),
        abstract=entry["abstract"],
        pages=pages,
    )
    return make_paper_pdf(spec)[0]


def pdf_cache(entries: list[dict], pages: int) -> dict[tuple[str, int], bytes]:
    """Generate every entry's PDF once, so serving them costs nothing during the run."""
    return {
        (e["arxiv_id"], e["version"]): paper_pdf(e, seed, pages) for seed, e in enumerate(entries)
    }
