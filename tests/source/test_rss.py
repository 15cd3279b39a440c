import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from config.settings import user_agent
from replay.arxiv_server import ArxivServer, Reply, rate_exceeded, unavailable
from tasks.errors import FetchError, TransientError
from tasks.source.api import ArxivSource
from tasks.source.client import PoliteSession
from tasks.source.limiter import Limiter
from tasks.source.rss import feed_url, parse_rss, rss_papers

ROOT = Path(__file__).parents[2]
SAMPLE = json.loads((ROOT / "config" / "sample" / "2024-10-07.json").read_text(encoding="utf-8"))
IN_WINDOW = [p for p in SAMPLE["papers"] if p["role"] != "outside_window"]
RECORDED_LOOKING = (Path(__file__).parents[1] / "fixtures" / "rss_math.OC.xml").read_bytes()
UA = user_agent("tests <tests@example.org>")
DAY = date(2024, 10, 7)


def clients(server: ArxivServer) -> tuple[PoliteSession, ArxivSource]:
    limiter = Limiter(0)
    return PoliteSession(limiter, 5.0, UA), ArxivSource(server.api_url, 0, 5.0, UA, limiter)


def test_parse_the_specs_example_feed():
    feed = parse_rss(RECORDED_LOOKING)
    assert feed.label == date(2024, 2, 23)
    first = feed.items[0]
    assert (first.arxiv_id, first.version, first.announce_type) == (
        "2203.01250",
        3,
        "replace-cross",
    )
    assert first.licence == "http://creativecommons.org/licenses/by/4.0/"
    assert first.authors == ("Antonin Monteil", "Paul Pegon")
    assert first.categories == ("math.AP", "math.OC")
    assert first.abstract.startswith("We consider first order local minimization problems")
    assert first.abstract.endswith("approximation of branched transport by elliptic energies.")
    kinds = [(i.arxiv_id, i.version, i.announce_type) for i in feed.items[1:]]
    assert kinds == [
        ("2402.14001", 1, "new"),
        ("2402.14002", 1, "cross"),
        ("2310.00003", 2, "replace"),
        ("math/9901001", 4, "replace"),
    ]
    assert (
        feed.items[1].title
        == "Convergence of a proximal method for nonsmooth <i>composite</i> problems"
    )


def test_label_falls_back_to_last_build_date_in_eastern_time():
    without_pub = RECORDED_LOOKING.replace(
        b"<pubDate>Fri, 23 Feb 2024 00:00:00 -0500</pubDate>\n    <skipDays>", b"<skipDays>"
    )
    assert b"<lastBuildDate>" in without_pub
    assert parse_rss(without_pub).label == date(2024, 2, 23)


def test_todays_batch_with_api_metadata_in_one_batched_request():
    with ArxivServer(IN_WINDOW, rss_day=DAY) as server:
        session, source = clients(server)
        label, papers = rss_papers(session, source, server.rss_url, ["cs.CV", "cs.LG"])
        paths = server.paths
    assert label == DAY
    assert paths[0] == "/rss/cs.CV+cs.LG"
    assert server.count("rss") == 1 and server.count("api") == 1
    found = {p.arxiv_id: p for p in papers}
    expected = {p["arxiv_id"] for p in IN_WINDOW if {"cs.CV", "cs.LG"} & set(p["categories"])}
    assert set(found) == expected and len(papers) == len(found)
    assert {k for k, p in found.items() if p.announce_type == "replace"} == {
        "2410.02369",
        "2410.01723",
        "2409.18881",
    }
    assert all(found[k].version == 2 for k in ("2410.02369", "2410.01723", "2409.18881"))
    assert {k for k, p in found.items() if p.announce_type == "cross"} == {
        "2410.03902",
        "2410.03901",
        "2410.03907",
    }
    assert all(
        p.licence == next(e["licence"] for e in IN_WINDOW if e["arxiv_id"] == k)
        for k, p in found.items()
    )
    assert found["2410.03665"].published == datetime(2024, 10, 4, 17, 59, tzinfo=UTC)
    assert found["2410.03665"].comment == "Project page: https://egoallo.github.io/"


def test_full_metadata_comes_in_batches_of_100_ids():
    entries = [
        {**IN_WINDOW[0], "arxiv_id": f"2410.{n:05d}", "categories": ["cs.CV"]} for n in range(150)
    ]
    with ArxivServer(entries, rss_day=DAY) as server:
        session, source = clients(server)
        _, papers = rss_papers(session, source, server.rss_url, ["cs.CV"])
    assert len(papers) == 150
    assert (server.count("rss"), server.count("api")) == (1, 2)


def test_an_empty_feed_costs_no_api_request():
    # A weekend feed: built (lastBuildDate) but with no items.
    with ArxivServer(IN_WINDOW, rss_day=None) as server:
        session, source = clients(server)
        _, papers = rss_papers(session, source, server.rss_url, ["cs.CV"])
    assert papers == []
    assert server.count("api") == 0


def test_papers_the_api_does_not_list_yet_come_from_the_feed():
    with ArxivServer() as server:
        server.inject("/rss", Reply(200, RECORDED_LOOKING, "application/rss+xml"))
        session, source = clients(server)
        label, papers = rss_papers(session, source, server.rss_url, ["math.OC"])
    assert label == date(2024, 2, 23)
    assert [p.key for p in papers] == [
        "2203.01250v3",
        "2402.14001v1",
        "2402.14002v1",
        "2310.00003v2",
        "math/9901001v4",
    ]
    old = papers[-1]
    assert (old.arxiv_id, old.stem, old.primary_category) == (
        "math/9901001",
        "math_9901001v4",
        "math.OC",
    )
    assert old.published == datetime(2024, 2, 23, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fault", "error", "message"),
    [
        (rate_exceeded(), TransientError, "200 without an RSS feed: 'Rate exceeded.'"),
        (unavailable(), TransientError, "HTTP 503"),
        (Reply(404, b"Not Found"), FetchError, "HTTP 404"),
    ],
)
def test_feed_failures(fault, error, message):
    with ArxivServer(IN_WINDOW, rss_day=DAY) as server:
        server.inject("/rss", fault)
        session, source = clients(server)
        with pytest.raises(error, match=message):
            rss_papers(session, source, server.rss_url, ["cs.CV"])


def test_feed_url_joins_categories_with_plus():
    assert feed_url("https://rss.arxiv.org/rss/", ["cs.CV", "eess.IV"]) == (
        "https://rss.arxiv.org/rss/cs.CV+eess.IV"
    )
    with pytest.raises(ValueError, match="category"):
        feed_url("https://rss.arxiv.org/rss/", [])


def test_feed_papers_are_marked_as_from_the_feed():
    with ArxivServer(IN_WINDOW, rss_day=DAY) as server:
        session, source = clients(server)
        _, papers = rss_papers(session, source, server.rss_url, ["cs.CV"])
    assert papers and {p.source for p in papers} == {"rss"}


def test_a_feed_at_arxivs_cap_is_not_trusted_and_costs_no_api_request():
    entries = [
        {**IN_WINDOW[0], "arxiv_id": f"2410.{n:05d}", "categories": ["cs.CV"]} for n in range(2000)
    ]
    with ArxivServer(entries, rss_day=DAY) as server:
        session, source = clients(server)
        label, papers = rss_papers(session, source, server.rss_url, ["cs.CV"])
    assert (label, papers) == (None, [])
    assert server.count("api") == 0


def test_an_item_whose_id_is_no_arxiv_id_is_skipped_and_the_rest_kept():
    hostile = RECORDED_LOOKING.replace(b"oai:arXiv.org:2402.14001v1", b"oai:arXiv.org:../../x1v1")
    assert hostile != RECORDED_LOOKING
    feed = parse_rss(hostile)
    assert [i.arxiv_id for i in feed.items] == [
        "2203.01250",
        "2402.14002",
        "2310.00003",
        "math/9901001",
    ]
