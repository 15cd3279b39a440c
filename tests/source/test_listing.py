"""A batch's listing: a short feed is checked against the API; no answer is never a day."""

from __future__ import annotations

import json
import pickle
from datetime import date
from pathlib import Path

import pytest

from replay.arxiv_server import ArxivServer
from tasks.errors import FetchError, ListingUnavailable
from tasks.source import listing
from tasks.source.api import ArxivSource
from tasks.source.limiter import Limiter
from tasks.source.schedule import batch_window
from tests.factories import paper

DAY = date(2024, 10, 7)
WINDOW = batch_window(DAY)
SAMPLE = json.loads(
    (Path(__file__).parents[2] / "config" / "sample" / "2024-10-07.json").read_text("utf-8")
)["papers"]


def source(server: ArxivServer) -> ArxivSource:
    return ArxivSource(server.api_url, 0, 5.0, "arxiv-digest-tests", limiter=Limiter(0))


def feed_of(label: date | None, papers: list) -> listing.Feed:
    return lambda: (label, papers)


def test_a_full_feed_is_taken_as_it_is():
    items = [paper(f"2410.{n:05d}", source="rss") for n in range(listing.FEED_CHECK_BELOW)]
    with ArxivServer(SAMPLE) as server:
        found = listing.batch_papers(source(server), ["cs.CV"], DAY, WINDOW, feed_of(DAY, items))
    assert found == items
    assert server.count("api") == 0


def test_a_short_feed_is_completed_from_the_api():
    items = [paper("2410.03665", source="rss")]
    with ArxivServer(SAMPLE) as server:
        found = listing.batch_papers(source(server), ["cs.CV"], DAY, WINDOW, feed_of(DAY, items))
    assert server.count("api") == 2  # the window's submissions and its replacements
    assert found[0] is items[0]  # the feed's own record (announce type, licence) is kept
    ids = [p.arxiv_id for p in found]
    assert len(ids) == len(set(ids)) > 1 and "2410.03456" in ids


def test_a_feed_of_another_batch_leaves_the_day_to_the_api():
    with ArxivServer(SAMPLE) as server:
        stale = feed_of(date(2024, 10, 4), [paper("2410.09999")])
        found = listing.batch_papers(source(server), ["cs.CV"], DAY, WINDOW, stale)
    assert "2410.09999" not in {p.arxiv_id for p in found} and found


def test_a_failing_feed_leaves_the_batch_to_the_api():
    def broken() -> tuple:
        raise FetchError("arXiv RSS answered HTTP 404")

    with ArxivServer(SAMPLE) as server:
        found = listing.batch_papers(source(server), ["cs.CV"], DAY, WINDOW, broken)
    assert "2410.03456" in {p.arxiv_id for p in found}


@pytest.mark.parametrize("feed", [None, feed_of(DAY, []), feed_of(None, [])])
def test_no_paper_anywhere_is_unavailable_never_an_empty_day(feed):
    with ArxivServer([]) as server, pytest.raises(ListingUnavailable) as raised:
        listing.batch_papers(source(server), ["cs.CV", "cs.LG"], DAY, WINDOW, feed)
    message = str(raised.value)
    assert "arXiv listed no paper in cs.CV cs.LG for the batch labelled 2024-10-07" in message
    assert "API 0" in message and "the next run or backfill fetches it again" in message
    assert ("RSS feed" in message) == (feed is not None)
    assert str(pickle.loads(pickle.dumps(raised.value))) == message
