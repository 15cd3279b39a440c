"""The replayed arXiv's API endpoint: Atom feeds answering search_query / id_list queries."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

Entry = dict[str, Any]
ATOM_TYPE = "application/atom+xml"

FEED_HEAD = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" \
xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/fake</id>
  <title>arXiv Query: {query}</title>
  <updated>{now}</updated>
  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
"""
ERROR_ENTRY = """  <entry>
    <id>https://arxiv.org/api/errors#{anchor}</id>
    <title>Error</title>
    <updated>{now}</updated>
    <summary>{message}</summary>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>
"""
_ID = re.compile(r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$")
_DATE_RANGE = re.compile(r"(submittedDate|lastUpdatedDate):\[(\d{12}) TO (\d{12})\]")


def now_stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def error_feed_xml(message: str) -> bytes:
    anchor = re.sub(r"\W+", "_", message)
    entry = ERROR_ENTRY.format(anchor=anchor, now=now_stamp(), message=escape(message))
    head = FEED_HEAD.format(query="error", now=now_stamp(), per_page=1, total=1, start=0)
    return (head + entry + "</feed>\n").encode()


def entry_xml(entry: Entry) -> str:
    """Render one entry as arXiv's current API does."""
    key = f"{entry['arxiv_id']}v{entry['version']}"
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{key}</id>",
        f"    <title>{escape(entry['title'])}</title>",
        f"    <updated>{entry['updated']}</updated>",
        f'    <link href="https://arxiv.org/abs/{key}" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{key}" rel="related" type="application/pdf"'
        ' title="pdf"/>',
        f"    <summary>{escape(entry['abstract'])}</summary>",
    ]
    lines += [
        f'    <category term={quoteattr(c)} scheme="http://arxiv.org/schemas/atom"/>'
        for c in entry["categories"]
    ]
    lines.append(f"    <published>{entry['published']}</published>")
    if entry.get("comment"):
        lines.append(f"    <arxiv:comment>{escape(entry['comment'])}</arxiv:comment>")
    lines.append(f"    <arxiv:primary_category term={quoteattr(entry['primary_category'])}/>")
    lines += [
        f"    <author>\n      <name>{escape(a)}</name>\n    </author>" for a in entry["authors"]
    ]
    lines.append("  </entry>\n")
    return "\n".join(lines)


def minute(stamp: str) -> str:
    """Return an ISO timestamp as the API's YYYYMMDDHHMM."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%Y%m%d%H%M")


def parse_query(query: str) -> Callable[[Entry], bool]:
    """Return a predicate for `(cat:A OR cat:B) AND submittedDate:[.. TO ..]` queries."""
    clauses = [_clause(part) for part in re.split(r"\s+AND\s+", query.strip()) if part]
    return lambda entry: all(clause(entry) for clause in clauses)


def _clause(text: str) -> Callable[[Entry], bool]:
    dates = _DATE_RANGE.fullmatch(text.strip())
    if dates:
        field = "published" if dates[1] == "submittedDate" else "updated"
        low, high = dates[2], dates[3]
        return lambda entry: low <= minute(entry[field]) <= high
    terms = re.split(r"\s+OR\s+", text.strip().strip("()"))
    if not all(term.startswith("cat:") for term in terms):
        raise ValueError(f"the fake arXiv cannot answer {text!r}")
    wanted = {term.removeprefix("cat:") for term in terms}
    return lambda entry: bool(wanted & set(entry["categories"]))


def answer_query(entries: list[Entry], params: dict[str, str]) -> tuple[int, bytes]:
    """Answer one API query as arXiv does: an Atom page of hits, or a 400 error feed."""
    try:
        start, size = int(params.get("start", "0")), int(params.get("max_results", "10"))
        ids = [i for i in params.get("id_list", "").split(",") if i]
        if bad := [i for i in ids if not _ID.match(i)]:
            raise ValueError(f"incorrect id format for {bad[0]}")
        hits = _search(entries, params.get("search_query", ""), ids)
    except ValueError as exc:
        return 400, error_feed_xml(str(exc))
    hits = _sorted(hits, params.get("sortBy", "relevance"), params.get("sortOrder"))
    query = "search_query={}&id_list={}&start={}&max_results={}".format(
        params.get("search_query", ""), params.get("id_list", ""), start, size
    )
    head = FEED_HEAD.format(
        query=escape(query), now=now_stamp(), per_page=size, total=len(hits), start=start
    )
    body = head + "".join(entry_xml(e) for e in hits[start : start + size]) + "</feed>\n"
    return 200, body.encode()


def _search(entries: list[Entry], query: str, ids: list[str]) -> list[Entry]:
    if not query and not ids:
        return []
    matches = parse_query(query)
    return [
        e
        for e in entries
        if matches(e) and (not ids or {e["arxiv_id"], f"{e['arxiv_id']}v{e['version']}"} & set(ids))
    ]


def _sorted(hits: list[Entry], sort_by: str, order: str | None) -> list[Entry]:
    field = {"submittedDate": "published", "lastUpdatedDate": "updated"}.get(sort_by)
    if field is None:
        return hits
    return sorted(hits, key=lambda e: e[field], reverse=order != "ascending")
