"""Licences from arXiv's OAI-PMH interface (metadata format `arXiv`), for reconstructed days.

The API carries no licence. OAI-PMH selects records by datestamp (the record's last change,
at or after the paper's announcement), not by submission date, so a day's licences come from
one ListRecords harvest per subject group over the papers' dates, paged by resumptionToken,
and a GetRecord for any paper whose record changed after that range.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from tasks.domain import Paper
from tasks.errors import FetchError, TransientError
from tasks.source.client import PoliteSession, xml_root

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
ID_PREFIX = "oai:arXiv.org:"
METADATA_PREFIX = "arXiv"
# Archives with their own OAI group; every other archive (hep-th, cond-mat, ...) is "physics".
GROUPS = frozenset({"cs", "econ", "eess", "math", "q-bio", "q-fin", "stat"})
# A record is stamped when its paper is announced: within days of the version's date, more
# when moderation holds it or holidays intervene. Later changes are fetched one by one.
ANNOUNCE_SLACK = timedelta(days=7)
# An expired token cures itself when the harvest starts over, so Prefect may retry it.
TRANSIENT_CODES = frozenset({"badResumptionToken"})


def oai_set(category: str) -> str:
    """Return the OAI set (subject group) holding `category`: cs.CV → cs, hep-th → physics."""
    archive = category.split(".")[0]
    return archive if archive in GROUPS else "physics"


def licences(
    session: PoliteSession,
    oai_url: str,
    start: date,
    until: date | None = None,
    set_spec: str | None = None,
    wanted: set[str] | None = None,
) -> dict[str, str]:
    """Return {arxiv_id: licence URL} for records stamped from `start` to `until`, inclusive.

    Pages with resumptionToken; stops early once every id in `wanted` has been seen. A paper
    with no licence on record maps to "".
    """
    params = {"verb": "ListRecords", "metadataPrefix": METADATA_PREFIX, "from": start.isoformat()}
    if until is not None:
        params["until"] = until.isoformat()
    if set_spec:
        params["set"] = set_spec
    found: dict[str, str] = {}
    for record in _records(session, oai_url, params):
        arxiv_id, licence = _licence(record)
        found[arxiv_id] = licence
        if wanted is not None and wanted <= found.keys():
            break
    return found


def licence_of(session: PoliteSession, oai_url: str, arxiv_id: str) -> str:
    """Return the licence URL of one paper (GetRecord), "" if it has none."""
    params = {
        "verb": "GetRecord",
        "identifier": ID_PREFIX + arxiv_id,
        "metadataPrefix": METADATA_PREFIX,
    }
    root = _request(session, oai_url, params)
    record = None if root is None else root.find(f"{OAI}GetRecord/{OAI}record")
    if record is None:
        raise FetchError(f"arXiv OAI-PMH returned no record for {arxiv_id} ({oai_url})")
    return _licence(record)[1]


def with_licences(
    session: PoliteSession, oai_url: str, papers: list[Paper], until: date | None = None
) -> list[Paper]:
    """Return `papers` with `licence` filled in from OAI-PMH, in as few requests as possible.

    One harvest per subject group from the earliest `updated` date to `until` (default: a
    week after the latest), then one GetRecord per paper still missing.
    """
    missing = [p for p in papers if not p.licence]
    if not missing:
        return papers
    start = min(p.updated.date() for p in missing)
    end = until or max(p.updated.date() for p in missing) + ANNOUNCE_SLACK
    groups: dict[str, set[str]] = defaultdict(set)
    for paper in missing:
        groups[oai_set(paper.primary_category or paper.categories[0])].add(paper.arxiv_id)
    found: dict[str, str] = {}
    for set_spec, ids in sorted(groups.items()):
        found |= licences(session, oai_url, start, end, set_spec, wanted=ids)
    for paper in missing:
        if paper.arxiv_id not in found:
            found[paper.arxiv_id] = licence_of(session, oai_url, paper.arxiv_id)
    return [p if p.licence else replace(p, licence=found[p.arxiv_id]) for p in papers]


def _records(session: PoliteSession, oai_url: str, params: dict[str, str]) -> Iterator[Any]:
    while True:
        root = _request(session, oai_url, params)
        if root is None:
            return
        listing = root.find(f"{OAI}ListRecords")
        if listing is None:
            raise FetchError(f"arXiv OAI-PMH answered {params['verb']} without a list ({oai_url})")
        yield from listing.iterfind(f"{OAI}record")
        token = (listing.findtext(f"{OAI}resumptionToken") or "").strip()
        if not token:
            return
        # A resumption request carries the token and the verb, nothing else (OAI-PMH 3.5).
        params = {"verb": params["verb"], "resumptionToken": token}


def _request(session: PoliteSession, oai_url: str, params: dict[str, str]) -> Any:
    """Return the OAI-PMH response root, or None for an empty list (noRecordsMatch)."""
    response = session.get(oai_url, params=params)
    root = xml_root(response.content)
    if root is None or root.tag != f"{OAI}OAI-PMH":
        snippet = response.content[:120].decode("utf-8", "replace")
        error = TransientError if response.status_code == 200 else FetchError
        raise error(
            f"arXiv OAI-PMH answered HTTP {response.status_code} without OAI-PMH XML: "
            f"{' '.join(snippet.split())!r} ({response.url})"
        )
    errors = {e.get("code", ""): " ".join((e.text or "").split()) for e in root.iter(f"{OAI}error")}
    if set(errors) == {"noRecordsMatch"}:
        return None
    if errors:
        code, message = next(iter(errors.items()))
        error = TransientError if code in TRANSIENT_CODES else FetchError
        raise error(f"arXiv OAI-PMH error {code}: {message or 'no message'} ({response.url})")
    return root


def _licence(record: Any) -> tuple[str, str]:
    identifier = (record.findtext(f"{OAI}header/{OAI}identifier") or "").strip()
    arxiv_id = identifier.removeprefix(ID_PREFIX)
    metadata = record.find(f"{OAI}metadata/{ARXIV}arXiv")
    if metadata is not None:
        arxiv_id = (metadata.findtext(f"{ARXIV}id") or arxiv_id).strip()
        return arxiv_id, (metadata.findtext(f"{ARXIV}license") or "").strip()
    return arxiv_id, ""
