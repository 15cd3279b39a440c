import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from config.settings import user_agent
from replay.arxiv_server import ArxivServer, Reply, rate_exceeded, rate_limited
from tasks.domain import Paper
from tasks.errors import FetchError, TransientError, is_transient
from tasks.source.api import ArxivSource
from tasks.source.client import PoliteSession
from tasks.source.limiter import Limiter
from tasks.source.oai import licence_of, licences, oai_set, with_licences
from tasks.source.schedule import batch_window

ROOT = Path(__file__).parents[2]
SAMPLE = json.loads((ROOT / "config" / "sample" / "2024-10-07.json").read_text(encoding="utf-8"))
PAPERS = SAMPLE["papers"]
LICENCE = {p["arxiv_id"]: p["licence"] for p in PAPERS}
UA = user_agent("tests <tests@example.org>")
CC_BY = "http://creativecommons.org/licenses/by/4.0/"


def session() -> PoliteSession:
    return PoliteSession(Limiter(0), 5.0, UA)


def params_of(path: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}


def paper(arxiv_id: str, updated: str, category: str = "cs.CV", licence: str = "") -> Paper:
    when = datetime.fromisoformat(updated).replace(tzinfo=UTC)
    return Paper(arxiv_id, 1, "T", ("A",), "Abs.", when, when, (category,), category, "", licence)


def test_list_records_pages_with_resumption_tokens():
    with ArxivServer(PAPERS, oai_page_size=5) as server:
        found = licences(session(), server.oai_url, date(2024, 10, 3), date(2024, 10, 4))
    assert found == LICENCE
    first, *rest = [params_of(p) for p in server.paths]
    assert first == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "from": "2024-10-03",
        "until": "2024-10-04",
    }
    assert len(rest) == 4 and all(set(p) == {"verb", "resumptionToken"} for p in rest)
    assert server.requests[0].user_agent == UA


def test_no_records_match_is_an_empty_answer_not_a_failure():
    with ArxivServer(PAPERS) as server:
        assert licences(session(), server.oai_url, date(2030, 1, 1)) == {}
    assert server.count("oai") == 1


def test_a_set_narrows_the_harvest_to_one_subject_group():
    with ArxivServer(PAPERS) as server:
        found = licences(session(), server.oai_url, date(2024, 10, 3), set_spec="physics")
    assert found == {"2410.03901": LICENCE["2410.03901"]}
    assert params_of(server.paths[0])["set"] == "physics"


def test_harvest_stops_once_every_wanted_id_is_seen():
    with ArxivServer(PAPERS, oai_page_size=2) as server:
        found = licences(session(), server.oai_url, date(2024, 10, 3), wanted={"2410.03190"})
    assert found["2410.03190"] == LICENCE["2410.03190"]
    # Sorted by datestamp, 2410.03190 is the third record: on the second of eleven pages.
    assert server.count("oai") == 2


def test_with_licences_fills_a_reconstructed_day_in_one_request_per_group():
    with ArxivServer(PAPERS) as server:
        source = ArxivSource(server.api_url, 0, 5.0, UA, limiter=Limiter(0))
        papers = source.day_papers(["cs.CV", "cs.LG", "eess.AS"], *batch_window(date(2024, 10, 7)))
        assert all(p.licence == "" for p in papers)
        filled = with_licences(session(), server.oai_url, papers)
    assert {p.arxiv_id: p.licence for p in filled} == {
        p.arxiv_id: LICENCE[p.arxiv_id] for p in papers
    }
    assert [(p.arxiv_id, p.version) for p in filled] == [(p.arxiv_id, p.version) for p in papers]
    harvests = [params_of(p) for p in server.paths if "/oai" in p]
    assert [h["set"] for h in harvests] == ["cs", "eess", "physics"]
    assert {h["from"] for h in harvests} == {"2024-10-03"}  # the earliest `updated` date
    assert {h["until"] for h in harvests} == {"2024-10-11"}  # the latest + a week's slack


def test_records_changed_after_the_range_are_fetched_one_by_one():
    entries = [
        {**PAPERS[0], "datestamp": "2024-10-07"},
        {**PAPERS[1], "datestamp": "2025-03-01"},  # a journal reference added months later
    ]
    with ArxivServer(entries) as server:
        filled = with_licences(
            session(), server.oai_url, [paper(e["arxiv_id"], e["updated"][:19]) for e in entries]
        )
    assert [p.licence for p in filled] == [CC_BY, CC_BY]
    verbs = [params_of(p)["verb"] for p in server.paths]
    assert verbs == ["ListRecords", "GetRecord"]
    assert params_of(server.paths[1])["identifier"] == "oai:arXiv.org:2410.03640"


def test_papers_with_a_licence_cost_no_request():
    known = [paper("2410.03665", "2024-10-04T17:59:00", licence=CC_BY)]
    with ArxivServer(PAPERS) as server:
        assert with_licences(session(), server.oai_url, known) == known
    assert server.requests == []


def test_old_style_ids_and_papers_without_licence():
    entry = {
        **PAPERS[0],
        "arxiv_id": "hep-th/9901001",
        "categories": ["hep-th"],
        "primary_category": "hep-th",
        "licence": "",
        "updated": "1999-01-04T10:00:00Z",
        "published": "1999-01-04T10:00:00Z",
    }
    old = paper("hep-th/9901001", "1999-01-04T10:00:00", "hep-th")
    with ArxivServer([entry]) as server:
        (filled,) = with_licences(session(), server.oai_url, [old])
        assert licence_of(session(), server.oai_url, "hep-th/9901001") == ""
    assert (filled.arxiv_id, filled.licence) == ("hep-th/9901001", "")
    assert params_of(server.paths[0])["set"] == "physics"


def test_unknown_id_is_a_fetch_error_naming_it():
    with ArxivServer(PAPERS) as server:
        with pytest.raises(FetchError, match=r"idDoesNotExist.*2499.99999") as caught:
            licence_of(session(), server.oai_url, "2499.99999")
    assert not is_transient(caught.value)


def test_bad_argument_is_a_fetch_error():
    with ArxivServer(PAPERS) as server:
        with pytest.raises(FetchError, match="badArgument: Illegal date range"):
            licences(session(), server.oai_url, date(2024, 10, 5), date(2024, 10, 1))


def test_an_expired_resumption_token_is_transient():
    with ArxivServer(PAPERS, oai_page_size=5) as server:
        expired = server.oai.answer({"verb": "ListRecords", "resumptionToken": "gone"})
        server.inject("/oai?verb=ListRecords&resumptionToken", Reply(200, expired, "text/xml"))
        with pytest.raises(TransientError, match="badResumptionToken"):
            licences(session(), server.oai_url, date(2024, 10, 3))


@pytest.mark.parametrize(
    ("fault", "message"),
    [(rate_limited("0"), "HTTP 429"), (rate_exceeded(), "without OAI-PMH XML: 'Rate exceeded.'")],
)
def test_throttling_is_transient(fault, message):
    with ArxivServer(PAPERS) as server:
        server.inject("/oai", fault)
        with pytest.raises(TransientError, match=message):
            licences(session(), server.oai_url, date(2024, 10, 3))


def test_a_non_xml_error_page_is_a_fetch_error():
    with ArxivServer(PAPERS) as server:
        server.inject("/oai", Reply(404, b"<html>Not Found</html>", "text/html"))
        with pytest.raises(FetchError, match="HTTP 404 without OAI-PMH XML"):
            licences(session(), server.oai_url, date(2024, 10, 3))


@pytest.mark.parametrize(
    ("category", "group"),
    [
        ("cs.CV", "cs"),
        ("eess.IV", "eess"),
        ("stat.ML", "stat"),
        ("math.OC", "math"),
        ("q-bio.NC", "q-bio"),
        ("hep-th", "physics"),
        ("physics.flu-dyn", "physics"),
        ("astro-ph.GA", "physics"),
        ("cond-mat.stat-mech", "physics"),
    ],
)
def test_oai_set_is_the_subject_group(category, group):
    assert oai_set(category) == group


def test_replace_keeps_version_when_licence_is_filled():
    base = replace(paper("2410.02369", "2024-10-04T08:12:45"), version=2)
    with ArxivServer(PAPERS) as server:
        (filled,) = with_licences(session(), server.oai_url, [base])
    assert (filled.version, filled.licence) == (2, CC_BY)
