"""Synthetic arXiv batches: N diffusion papers per batch label, with their PDFs.

One day (`day_entries`, the 2024-10-07 batch) for bench/day.py, or many consecutive labels
(`range_entries`) for bench/backfill.py, each label's papers submitted inside the window that
tasks/source/schedule.py gives it, so the real fetch rebuilds exactly those batches.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from fakes.corpus import sample_spec
from replay.pdfs import make_paper_pdf
from tasks.source import schedule

DAY = date(2024, 10, 7)
# The submission window of the batch labelled 2024-10-07 (14:00 ET Thu → 14:00 ET Fri).
WINDOW_START = datetime(2024, 10, 3, 18, 0, tzinfo=UTC)
WINDOW = timedelta(hours=24)
CC_BY = "http://creativecommons.org/licenses/by/4.0/"
SUBJECTS = ("Video", "Image Editing", "Motion", "Audio", "3D Scenes", "Molecules", "Text")
DAY_NUMBERS = 5000  # the day's ids are 2410.05000 on; a range's start at RANGE_NUMBERS
RANGE_NUMBERS = 10000


def day_entries(n: int) -> list[dict]:
    """Return `n` ArxivServer entries submitted inside the window, all about diffusion."""
    return window_entries(WINDOW_START, WINDOW_START + WINDOW, n, DAY_NUMBERS)


def window_entries(start: datetime, end: datetime, n: int, first_number: int) -> list[dict]:
    """Return `n` diffusion papers submitted evenly across [start, end), numbered on."""
    rng = random.Random(n)
    entries = []
    for i in range(n):
        stamp = start + (end - start) * (i + 0.5) / n
        iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        subject = SUBJECTS[i % len(SUBJECTS)]
        entries.append(
            {
                "arxiv_id": f"{stamp:%y%m}.{first_number + i:05d}",
                "version": 1,
                "title": f"Latent Diffusion Models for {subject}: Study {i}",
                "authors": [f"Author {rng.randint(1, 999)}", f"Writer {rng.randint(1, 999)}"],
                "abstract": f"We propose a latent diffusion model for {subject.lower()} "
                "generation. "
                "It samples faster than prior denoising diffusion models at equal quality.",
                "comment": "10 pages",
                "published": iso,
                "updated": iso,
                "categories": ["cs.CV"],
                "primary_category": "cs.CV",
                "licence": CC_BY,
            }
        )
    return entries


def labels(first: date, count: int, holidays: schedule.Holidays = ()) -> list[date]:
    """Return `count` consecutive batch labels from `first` on (weekends and holidays have none)."""
    day = first if schedule.has_batch(first, holidays) else schedule.next_label(first, holidays)
    found = [day]
    while len(found) < count:
        found.append(schedule.next_label(found[-1], holidays))
    return found


def range_entries(
    days: list[date], n: int, holidays: schedule.Holidays = ()
) -> dict[date, list[dict]]:
    """Return, per label, `n` papers submitted inside that label's window."""
    batches = {}
    for k, day in enumerate(days):
        batch = schedule.batch(day, holidays)
        if batch is None:
            raise ValueError(f"arXiv announces no batch labelled {day}")
        batches[day] = window_entries(batch.start, batch.end, n, RANGE_NUMBERS + k * n)
    return batches


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
