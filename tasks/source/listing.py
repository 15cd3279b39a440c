"""The papers of one batch label, never an empty answer taken for a finished day.

The newest batch comes from the RSS feed, any other from the API by its submission window.
arXiv's API lags the announcement and answers empty pages under load, and a feed can come out
empty or short, so a feed with few items is checked against the API before it is trusted, and
a batch that should exist but lists no paper is `ListingUnavailable`: the day stays open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from tasks.domain import Paper
from tasks.errors import DigestError, ListingUnavailable
from tasks.source.api import ArxivSource

# A topic's feed normally lists hundreds of papers a day; one under this many is checked
# against the API (one or two queries, cheap next to the day's PDFs).
FEED_CHECK_BELOW = 20
log = logging.getLogger(__name__)

Feed = Callable[[], tuple[date | None, list[Paper]]]


def batch_papers(
    source: ArxivSource,
    categories: list[str],
    day: date,
    window: tuple[datetime, datetime],
    feed: Feed | None = None,
) -> list[Paper]:
    """Return the papers of the batch labelled `day`; raise if arXiv lists none.

    `feed`, for the newest batch, reads the RSS feed: its papers are taken when it carries
    the batch with enough items; otherwise the API's answer for the window is merged in. A
    feed that fails is an enrichment lost (announce types, licences), not the day.
    """
    answers: list[str] = []
    papers = _feed_papers(feed, day, answers) if feed else []
    if len(papers) >= FEED_CHECK_BELOW:
        return papers
    api = source.day_papers(categories, *window)
    answers.append(f"API {len(api)}")
    merged = merge(papers, api)
    scope = "+".join(categories)
    log.info("batch %s in %s: %s; %d papers", day, scope, ", ".join(answers), len(merged))
    if not merged:
        raise ListingUnavailable(
            f"arXiv listed no paper in {' '.join(categories)} for the batch labelled {day} "
            f"({', '.join(answers)}): the listing is not available yet; the next run or "
            "backfill fetches it again"
        )
    return merged


def _feed_papers(feed: Feed, day: date, answers: list[str]) -> list[Paper]:
    """Return the feed's papers if it carries the batch `day`; note what it gave."""
    try:
        label, items = feed()
    except (DigestError, OSError) as exc:  # the API lists the same batch: go on without
        log.warning("the RSS feed failed (%s); the batch comes from the API", exc)
        answers.append("RSS feed failed")
        return []
    if label != day:
        answers.append(f"RSS feed holds {label or 'no batch'}")
        return []
    answers.append(f"RSS feed {len(items)}")
    return items


def merge(first: list[Paper], second: list[Paper]) -> list[Paper]:
    """Return `first` followed by the papers of `second` it lacks (by id)."""
    seen = {p.arxiv_id for p in first}
    return [*first, *(p for p in second if p.arxiv_id not in seen)]
