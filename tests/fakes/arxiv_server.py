"""A local arXiv speaking the real protocols: /api/query (Atom) and /pdf/<id>v<n>.

Entries are dicts shaped like config/sample/*.json papers: arxiv_id, version, title, authors,
abstract, comment, published, updated (ISO 8601, UTC), categories, primary_category.

    with ArxivServer(sample["papers"], pdf_factory=make_pdf) as server:
        server.inject("/api", rate_limited("5"))          # the next API request gets a 429
        server.replay(recorded_bytes, id_list="abc")        # a recorded body for that query
        ...ArxivSource(server.api_url, ...)...
        assert server.count("api") == 2
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

Entry = dict[str, Any]
PdfFactory = Callable[[str, int], bytes | None]

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
_PDF_PATH = re.compile(r"^/pdf/(?P<id>.+)v(?P<version>\d+)$")


@dataclass(frozen=True)
class Reply:
    """An HTTP answer; injected as a fault, `status=None` answers normally after `delay` s."""

    status: int | None = None
    body: bytes = b""
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0


def rate_limited(retry_after: str = "3") -> Reply:
    """Return a 429 with a Retry-After header."""
    return Reply(429, b"Rate exceeded.", headers=(("Retry-After", retry_after),))


def unavailable() -> Reply:
    """Return a 503, as arXiv's front end gives under load."""
    return Reply(503, b"<html><body>Service Unavailable</body></html>", "text/html")


def rate_exceeded() -> Reply:
    """Return arXiv's throttled 200 with a plain-text body."""
    return Reply(200, b"Rate exceeded.")


def error_feed(message: str, status: int = 400) -> Reply:
    """Return arXiv's Atom error feed with `message` as its summary."""
    return Reply(status, error_feed_xml(message), "application/atom+xml")


def html_page() -> Reply:
    """Return an HTML page answered where a PDF was expected."""
    body = b"<!DOCTYPE html><html><head><title>arXiv</title></head><body>Retry later</body></html>"
    return Reply(200, body, "text/html")


def slow(seconds: float) -> Reply:
    """Answer normally, but only after `seconds`."""
    return Reply(delay=seconds)


@dataclass(frozen=True)
class Request:
    """A request the server received."""

    path: str
    kind: str
    at: float
    user_agent: str


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


class ArxivServer:
    """Serve `entries` through the API and PDFs from `pdf_factory` on 127.0.0.1."""

    def __init__(self, entries: Iterable[Entry] = (), pdf_factory: PdfFactory | None = None):
        self.entries = list(entries)
        self.pdf_factory = pdf_factory
        self.requests: list[Request] = []
        self._faults: dict[str, deque[Reply]] = {}
        self._replays: list[tuple[dict[str, str], int, bytes]] = []
        self._lock = threading.Lock()
        self._httpd = _Server(self)
        # A short poll keeps `shutdown` (and so each test) fast.
        serve = lambda: self._httpd.serve_forever(poll_interval=0.02)  # noqa: E731
        self._thread = threading.Thread(target=serve, daemon=True)

    def __enter__(self) -> ArxivServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/query"

    @property
    def pdf_url(self) -> str:
        return f"{self.url}/pdf/"

    @property
    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def count(self, kind: str) -> int:
        """Return how many requests of `kind` (api, pdf, other) arrived."""
        return sum(1 for request in self.requests if request.kind == kind)

    def inject(self, prefix: str, *faults: Reply) -> None:
        """Answer the next requests whose path starts with `prefix` with `faults`, in order."""
        with self._lock:
            self._faults.setdefault(prefix, deque()).extend(faults)

    def replay(self, body: bytes, status: int = 200, **params: str) -> None:
        """Answer API queries whose parameters include `params` with a recorded body."""
        self._replays.append((params, status, body))

    def answer(self, path: str, user_agent: str, at: float) -> tuple[Reply, Reply | None]:
        """Record a request; return its normal answer and the fault to apply, if any."""
        kind = path.split("/")[1] if path.count("/") > 1 else "other"
        kind = kind if kind in ("api", "pdf") else "other"
        with self._lock:
            self.requests.append(Request(path, kind, at, user_agent))
            fault = next(
                (q.popleft() for p, q in self._faults.items() if path.startswith(p) and q), None
            )
        parts = urlsplit(path)
        if parts.path == "/api/query":
            return self._query({k: v[0] for k, v in parse_qs(parts.query).items()}), fault
        if match := _PDF_PATH.match(parts.path):
            return self._pdf(match["id"], int(match["version"])), fault
        return Reply(404, b"not found"), fault

    def _query(self, params: dict[str, str]) -> Reply:
        for wanted, status, body in self._replays:
            if all(params.get(k, "") == v for k, v in wanted.items()):
                return Reply(status, body, "application/atom+xml")
        try:
            start, size = int(params.get("start", "0")), int(params.get("max_results", "10"))
            ids = [i for i in params.get("id_list", "").split(",") if i]
            if bad := [i for i in ids if not _ID.match(i)]:
                raise ValueError(f"incorrect id format for {bad[0]}")
            hits = self._search(params.get("search_query", ""), ids)
        except ValueError as exc:
            return error_feed(str(exc))
        hits = self._sorted(hits, params.get("sortBy", "relevance"), params.get("sortOrder"))
        query = "search_query={}&id_list={}&start={}&max_results={}".format(
            params.get("search_query", ""), params.get("id_list", ""), start, size
        )
        head = FEED_HEAD.format(
            query=escape(query), now=now_stamp(), per_page=size, total=len(hits), start=start
        )
        body = head + "".join(entry_xml(e) for e in hits[start : start + size]) + "</feed>\n"
        return Reply(200, body.encode(), "application/atom+xml")

    def _search(self, query: str, ids: list[str]) -> list[Entry]:
        if not query and not ids:
            return []
        matches = parse_query(query)
        return [
            e
            for e in self.entries
            if matches(e)
            and (not ids or {e["arxiv_id"], f"{e['arxiv_id']}v{e['version']}"} & set(ids))
        ]

    @staticmethod
    def _sorted(hits: list[Entry], sort_by: str, order: str | None) -> list[Entry]:
        field = {"submittedDate": "published", "lastUpdatedDate": "updated"}.get(sort_by)
        if field is None:
            return hits
        return sorted(hits, key=lambda e: e[field], reverse=order != "ascending")

    def _pdf(self, arxiv_id: str, version: int) -> Reply:
        data = self.pdf_factory(arxiv_id, version) if self.pdf_factory else None
        if data is None:
            return Reply(404, b"<html><body>Not found</body></html>", "text/html")
        return Reply(200, data, "application/pdf")


class _Server(ThreadingHTTPServer):
    def __init__(self, app: ArxivServer):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app
        self.accepted: dict[Any, float] = {}

    def process_request(self, request: Any, client_address: Any) -> None:
        # Stamp arrival on accept, before a handler thread starts: steadier for timing tests.
        self.accepted[request] = time.monotonic()
        super().process_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        at = self.server.accepted.pop(self.request, time.monotonic())
        user_agent = self.headers.get("User-Agent", "")
        normal, fault = self.server.app.answer(self.path, user_agent, at)
        if fault is not None:
            time.sleep(fault.delay)
        reply = normal if fault is None or fault.status is None else fault
        try:
            self.send_response(reply.status or 200)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing left to tell it

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""
