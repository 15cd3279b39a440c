import json
import pickle
import re
import threading
import time
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import arxiv
import pytest

from config.settings import user_agent
from replay.arxiv_server import (
    ArxivServer,
    error_feed,
    rate_exceeded,
    rate_limited,
    slow,
    unavailable,
)
from tasks.errors import FetchError, TransientError, is_transient
from tasks.source.api import ArxivSource, paper_from_result
from tasks.source.client import retry_after_seconds
from tasks.source.limiter import Limiter
from tasks.source.schedule import batch_window, next_label

ROOT = Path(__file__).parents[2]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "arxiv-api"
SAMPLE = json.loads((ROOT / "config" / "sample" / "2024-10-07.json").read_text(encoding="utf-8"))
TOPIC_CATEGORIES = ["cs.CV", "cs.LG", "cs.AI", "cs.CL", "cs.GR", "cs.SD", "eess.IV", "eess.AS"]
UA = user_agent("tests <tests@example.org>")
# The server stamps a request a few ms after the limiter released it, and that delay varies;
# tests/source/test_limiter.py checks the limiter's own start times exactly.
JITTER = 0.02


def source_for(server: ArxivServer, timeout: float = 5.0, limiter: Limiter | None = None):
    return ArxivSource(server.api_url, 0, timeout, UA, limiter=limiter or Limiter(0))


def query_of(path: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


def entry(arxiv_id: str, published: str, updated: str | None = None, version: int = 1, **extra):
    return {
        "arxiv_id": arxiv_id,
        "version": version,
        "title": f"Paper {arxiv_id}",
        "authors": ["A. Author"],
        "abstract": "An abstract.",
        "comment": "",
        "published": published,
        "updated": updated or published,
        "categories": ["cs.CV"],
        "primary_category": "cs.CV",
        **extra,
    }


# Every recorded fixture, how the source asks for it, and what it must yield.
ID_FIXTURES = {
    "modern2026_id_quant-ph_0201082v1.xml": ("quant-ph/0201082v1", ["quant-ph/0201082"]),
    "modern2026_id_astro-ph_0601001.xml": ("astro-ph/0601001", ["astro-ph/0601001"]),
    "modern2026_empty_id_0000.0000.xml": ("0000.0000", []),
    "modern2026_nonexistent_0808.05394.xml": ("0808.05394", []),
}
QUERY_FIXTURES = {
    "legacy2016_au_del_maestro_AND_ti_checkerboard.xml": "au:del_maestro AND ti:checkerboard",
    "legacy2016_au_del_maestro_ANDNOT.xml": (
        "au:del_maestro ANDNOT (ti:checkerboard OR ti:Pyrochlore)"
    ),
}
FIRST_TITLES = {  # the first is wrapped across lines in the recorded feed
    "legacy2016_au_del_maestro_AND_ti_checkerboard.xml": (
        "From stripe to checkerboard order on the square lattice in the presence of quenched"
        " disorder"
    ),
    "legacy2016_au_del_maestro_ANDNOT.xml": (
        "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
    ),
}
PAGED_FIXTURES = ["modern2026_q_testing_s0_m10.xml", "modern2026_q_testing_s10_m10.xml"]
ERROR_FIXTURE = "modern2026_error_id_abc_http400.xml"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_every_recorded_fixture_is_replayed_below():
    covered = {*ID_FIXTURES, *QUERY_FIXTURES, *PAGED_FIXTURES, ERROR_FIXTURE}
    assert {p.name for p in FIXTURES.glob("*.xml")} == covered


@pytest.mark.parametrize("name", sorted(ID_FIXTURES))
def test_by_ids_parses_recorded_responses(name):
    asked, expected = ID_FIXTURES[name]
    with ArxivServer() as server:
        server.replay(fixture(name), id_list=asked)
        papers = source_for(server).by_ids([asked])
    assert [p.arxiv_id for p in papers] == expected
    assert query_of(server.paths[0])["id_list"] == asked


def test_old_style_ids_keep_their_slash_and_split_the_version():
    with ArxivServer() as server:
        server.replay(fixture("modern2026_id_quant-ph_0201082v1.xml"))
        (paper,) = source_for(server).by_ids(["quant-ph/0201082v1"])
    assert (paper.arxiv_id, paper.version, paper.stem) == (
        "quant-ph/0201082",
        1,
        "quant-ph_0201082v1",
    )
    assert paper.categories == ("quant-ph", "cs.PL")
    assert paper.primary_category == "quant-ph"
    assert paper.comment == "32 pages"
    assert paper.authors == ("Stephen Blaha",)
    assert paper.published == datetime(2002, 1, 18, 15, 8, 5, tzinfo=UTC)
    assert paper.published.utcoffset().total_seconds() == 0


def test_abstract_whitespace_is_normalised():
    with ArxivServer() as server:
        server.replay(fixture("modern2026_id_astro-ph_0601001.xml"))
        (paper,) = source_for(server).by_ids(["astro-ph/0601001"])
    assert paper.abstract.startswith("We derive the frequencies of hot Jupiters")
    assert len(paper.authors) == 4


@pytest.mark.parametrize("name", sorted(QUERY_FIXTURES))
def test_legacy_feeds_parse_with_wrapped_titles_normalised(name):
    with ArxivServer() as server:
        server.replay(fixture(name), search_query=QUERY_FIXTURES[name])
        results = list(source_for(server).results(arxiv.Search(QUERY_FIXTURES[name])))
    papers = [paper_from_result(r) for r in results]
    assert papers and any("/" in p.arxiv_id for p in papers)
    assert all(re.fullmatch(r"\d{4}\.\d{4,5}|cond-mat/\d{7}", p.arxiv_id) for p in papers)
    assert all("\n" not in p.title and "  " not in p.title for p in papers)
    assert all("\n" not in p.abstract for p in papers)
    assert papers[0].title == FIRST_TITLES[name]


def test_results_page_through_recorded_pages():
    with ArxivServer() as server:
        for start, name in zip(("0", "10"), PAGED_FIXTURES, strict=True):
            server.replay(fixture(name), search_query="all:testing", start=start)
        search = arxiv.Search("all:testing", max_results=20)
        papers = [paper_from_result(r) for r in source_for(server).results(search, page_size=10)]
    assert len({p.arxiv_id for p in papers}) == 20
    assert [query_of(p)["start"] for p in server.paths] == ["0", "10"]


def test_recorded_400_error_feed_raises_fetch_error_with_arxivs_message():
    with ArxivServer() as server:
        server.replay(fixture(ERROR_FIXTURE), status=400, id_list="abc")
        with pytest.raises(FetchError, match="incorrect id format for abc") as caught:
            source_for(server).by_ids(["abc"])
    assert not is_transient(caught.value)
    assert server.count("api") == 1  # the arxiv package alone would have retried


def test_429_raises_transient_with_retry_after_and_pushes_the_limiter():
    limiter = Limiter(0)
    with ArxivServer([entry("2410.00001", "2024-10-04T10:00:00Z")]) as server:
        server.inject("/api", rate_limited(retry_after="0.3"))
        source = source_for(server, limiter=limiter)
        with pytest.raises(TransientError) as caught:
            source.by_ids(["2410.00001"])
        assert source.by_ids(["2410.00001"])[0].arxiv_id == "2410.00001"
    assert caught.value.retry_after == pytest.approx(0.3)
    first, second = server.requests
    assert second.at - first.at >= 0.3 - JITTER


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (unavailable(), "HTTP 503"),
        (rate_exceeded(), "Rate exceeded."),
        (slow(1.0), "did not answer within"),
    ],
)
def test_transient_failures_raise_transient_error(fault, message):
    with ArxivServer(SAMPLE["papers"]) as server:
        server.inject("/api", fault)
        with pytest.raises(TransientError, match=message):
            source_for(server, timeout=0.3).day_papers(["cs.CV"], *batch_window(date(2024, 10, 7)))


def test_unreachable_api_is_transient():
    with ArxivServer() as server:
        api_url = server.api_url
    with pytest.raises(TransientError, match="cannot reach arXiv"):
        ArxivSource(api_url, 0, 1.0, UA, limiter=Limiter(0)).by_ids(["2410.03665"])


def test_a_page_emptier_than_its_total_is_transient():
    body = (FIXTURES / "modern2026_empty_id_0000.0000.xml").read_text()
    body = body.replace("<opensearch:totalResults>0<", "<opensearch:totalResults>5<")
    with ArxivServer() as server:
        server.replay(body.encode(), id_list="2410.03665")
        with pytest.raises(TransientError, match="empty page"):
            source_for(server).by_ids(["2410.03665"])


def test_a_200_error_feed_is_a_fetch_error():
    with ArxivServer() as server:
        server.inject("/api", error_feed("max_results must be an integer", status=200))
        with pytest.raises(FetchError, match="max_results must be an integer"):
            source_for(server).by_ids(["2410.03665"])


def test_requests_name_the_tool_and_its_contact():
    with ArxivServer(SAMPLE["papers"]) as server:
        source_for(server).by_ids(["2410.03665"])
    assert server.requests[0].user_agent == UA
    assert "tests@example.org" in UA and "arxiv.py" not in UA


def test_shared_limiter_spaces_request_starts():
    interval = 0.2
    with ArxivServer(SAMPLE["papers"]) as server:
        source = ArxivSource(server.api_url, interval, 5.0, UA)
        threads = [threading.Thread(target=source.by_ids, args=(["2410.03665"],)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    times = sorted(request.at for request in server.requests)
    assert all(b - a >= interval - JITTER for a, b in pairwise(times))
    assert len(times) == 3


def test_day_query_returns_the_window_and_its_replacements():
    start, end = batch_window(date(2024, 10, 7))
    with ArxivServer(SAMPLE["papers"]) as server:
        papers = source_for(server).day_papers(TOPIC_CATEGORIES, start, end)
    in_window = {p["arxiv_id"] for p in SAMPLE["papers"] if p["role"] != "outside_window"}
    found = {p.arxiv_id: p for p in papers}
    assert set(found) == in_window and len(papers) == len(found)
    assert {"2410.03909", "2410.03910"}.isdisjoint(found)
    replaced = {k for k, p in found.items() if p.announce_type == "replace"}
    assert replaced == {"2410.02369", "2410.01723", "2409.18881"}
    assert all(found[k].version == 2 for k in replaced)
    assert found["2410.03665"].published == datetime(2024, 10, 4, 17, 59, tzinfo=UTC)
    assert found["2410.03902"].announce_type == "cross"  # primary cs.RO, cross-listed
    assert found["2410.03456"].title == "Dynamic Diffusion Transformer"


def test_day_query_sends_the_documented_queries():
    start, end = batch_window(date(2024, 10, 7))
    with ArxivServer(SAMPLE["papers"]) as server:
        source_for(server).day_papers(["cs.CV", "cs.LG"], start, end)
    submitted, updated = (query_of(path) for path in server.paths)
    assert submitted["search_query"] == (
        "(cat:cs.CV OR cat:cs.LG) AND submittedDate:[202410031800 TO 202410041800]"
    )
    assert (submitted["sortBy"], submitted["max_results"]) == ("submittedDate", "2000")
    assert updated["search_query"] == "(cat:cs.CV OR cat:cs.LG)"
    assert (updated["sortBy"], updated["sortOrder"]) == ("lastUpdatedDate", "descending")


def test_boundary_minute_belongs_to_exactly_one_day():
    papers = [entry("2410.04000", "2024-10-04T18:00:30Z")]
    monday, tuesday = date(2024, 10, 7), next_label(date(2024, 10, 7))
    with ArxivServer(papers) as server:
        source = source_for(server)
        assert source.day_papers(["cs.CV"], *batch_window(monday)) == []
        assert [p.arxiv_id for p in source.day_papers(["cs.CV"], *batch_window(tuesday))] == [
            "2410.04000"
        ]


def test_replacements_outside_the_window_and_later_revisions_are_handled():
    start, end = batch_window(date(2024, 10, 7))
    papers = [
        entry("2410.01000", "2024-10-01T10:00:00Z", "2024-10-04T18:30:00Z", version=2),
        entry("2410.01001", "2024-10-01T10:00:00Z", "2024-10-03T17:00:00Z", version=2),
        entry("2410.03500", "2024-10-04T09:00:00Z", "2024-10-09T09:00:00Z", version=3),
    ]
    with ArxivServer(papers) as server:
        (paper,) = source_for(server).day_papers(["cs.CV"], start, end)
    # Revised after its batch: that batch announced v1.
    assert (paper.arxiv_id, paper.version, paper.announce_type) == ("2410.03500", 1, "new")
    assert paper.updated == paper.published


def test_by_ids_sends_at_most_100_ids_per_request():
    papers = [entry(f"2410.{n:05d}", "2024-10-04T10:00:00Z") for n in range(150)]
    with ArxivServer(papers) as server:
        found = source_for(server).by_ids([p["arxiv_id"] for p in papers])
    assert len(found) == 150
    assert [len(query_of(p)["id_list"].split(",")) for p in server.paths] == [100, 50]


def test_paper_from_result_requires_a_version():
    result = arxiv.Result(entry_id="http://arxiv.org/abs/2410.03665", title="T")
    with pytest.raises(FetchError, match="carries no version"):
        paper_from_result(result)


def test_errors_survive_pickling_for_prefect_states():
    error = pickle.loads(pickle.dumps(TransientError("HTTP 429", retry_after=3.0)))
    assert (error.message, error.retry_after) == ("HTTP 429", 3.0)


def test_retry_after_accepts_seconds_and_http_dates():
    soon = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert retry_after_seconds("7") == 7.0
    assert 25 < retry_after_seconds(soon) <= 30
    assert retry_after_seconds("soon") == retry_after_seconds(None) == 0.0


def test_fake_server_answers_malformed_ids_like_arxiv():
    with ArxivServer(SAMPLE["papers"]) as server:
        with pytest.raises(FetchError, match="incorrect id format for 2410-03665"):
            source_for(server).by_ids(["2410-03665"])


def test_a_range_of_labels_costs_two_queries_and_matches_day_by_day():
    labels = [date(2024, 10, 3), date(2024, 10, 4), date(2024, 10, 7), date(2024, 10, 8)]
    windows = {label: batch_window(label) for label in labels}
    papers = [
        *SAMPLE["papers"],
        entry("2410.02000", "2024-10-02T10:00:00Z"),  # the 2024-10-03 label
        entry("2410.01000", "2024-09-30T10:00:00Z", "2024-10-02T12:00:00Z", version=2),
        entry("2410.04000", "2024-10-04T18:00:30Z"),  # the first minute of 2024-10-08's
        entry("2410.05000", "2024-10-08T19:00:00Z"),  # after the range
    ]
    with ArxivServer(papers) as server:
        source = source_for(server)
        by_range = source.range_papers(TOPIC_CATEGORIES, windows)
        assert server.count("api") == 2
        by_day = {label: source.day_papers(TOPIC_CATEGORIES, *windows[label]) for label in labels}
    assert by_range == by_day
    third = {p.key: p.announce_type for p in by_range[date(2024, 10, 3)]}
    assert (third["2410.02000v1"], third["2410.01000v2"]) == ("new", "replace")
    assert "2410.04000" in {p.arxiv_id for p in by_range[date(2024, 10, 8)]}
    # A version is announced once; a paper revised later in the range is listed again as v2.
    everywhere = [p.key for found in by_range.values() for p in found]
    assert len(everywhere) == len(set(everywhere)) and "2410.05000v1" not in everywhere
    assert {"2410.01723v1", "2410.01723v2"} <= set(everywhere)


def test_an_entry_whose_id_is_no_arxiv_id_is_skipped():
    papers = [entry("2410.04001", "2024-10-04T10:00:00Z"), entry("../../x", "2024-10-04T10:00:00Z")]
    with ArxivServer(papers) as server:
        found = source_for(server).day_papers(["cs.CV"], *batch_window(date(2024, 10, 7)))
    assert [p.arxiv_id for p in found] == ["2410.04001"]
