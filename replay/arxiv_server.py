"""A local arXiv speaking the real protocols: API (Atom), RSS, OAI-PMH and PDFs.

Entries are dicts shaped like config/sample/*.json papers: arxiv_id, version, title, authors,
abstract, comment, published, updated (ISO 8601, UTC), categories, primary_category, licence,
and optionally announce_type (RSS) and datestamp (OAI-PMH). The protocols live in
arxiv_api.py, arxiv_rss.py and arxiv_oai.py; this module serves them and injects faults.

    with ArxivServer(sample["papers"], pdf_factory=make_pdf, rss_day=date(2024, 10, 7)) as server:
        server.inject("/api", rate_limited("5"))          # the next API request gets a 429
        server.replay(recorded_bytes, id_list="abc")        # a recorded body for that query
        ...ArxivSource(server.api_url, ...)...  rss: server.rss_url  OAI-PMH: server.oai_url
        assert server.count("api") == 2
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from replay.arxiv_api import ATOM_TYPE, answer_query, error_feed_xml
from replay.arxiv_oai import OaiRepository
from replay.arxiv_rss import rss_feed

Entry = dict[str, Any]
PdfFactory = Callable[[str, int], bytes | None]
KINDS = ("api", "pdf", "rss", "oai")
RSS_TYPE = "application/rss+xml"
XML_TYPE = "text/xml"
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
    return Reply(status, error_feed_xml(message), ATOM_TYPE)


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


class ArxivServer:
    """Serve `entries` (API, RSS, OAI-PMH) and PDFs from `pdf_factory` on 127.0.0.1.

    `rss_day` is the label of the batch the RSS feed carries (None: an empty feed);
    `oai_page_size` is how many records each OAI-PMH ListRecords page holds.
    """

    def __init__(
        self,
        entries: Iterable[Entry] = (),
        pdf_factory: PdfFactory | None = None,
        rss_day: date | None = None,
        oai_page_size: int = 100,
        port: int = 0,
    ):
        self.entries = list(entries)
        self.pdf_factory = pdf_factory
        self.rss_day = rss_day
        self.oai = OaiRepository(self.entries, oai_page_size)
        self.requests: list[Request] = []
        self._faults: dict[str, deque[Reply]] = {}
        self._replays: list[tuple[dict[str, str], int, bytes]] = []
        self._lock = threading.Lock()
        self._httpd = _Server(self, port)

        # A short poll keeps `shutdown` (and so each test) fast.
        def serve():
            return self._httpd.serve_forever(poll_interval=0.02)

        self._thread = threading.Thread(target=serve, daemon=True)

    def __enter__(self) -> ArxivServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        # An AF_INET server's address is (host, port), its host a str.
        host, port = cast("tuple[str, int]", self._httpd.server_address[:2])
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/query"

    @property
    def pdf_url(self) -> str:
        return f"{self.url}/pdf/"

    @property
    def rss_url(self) -> str:
        return f"{self.url}/rss/"

    @property
    def oai_url(self) -> str:
        return f"{self.url}/oai"

    def env(self) -> dict[str, str]:
        """Return the settings that point arxiv-digest at this server for all of arXiv."""
        return {
            "DIGEST_ARXIV_API_URL": self.api_url,
            "DIGEST_ARXIV_PDF_URL": self.pdf_url,
            "DIGEST_ARXIV_RSS_URL": self.rss_url,
            "DIGEST_ARXIV_OAI_URL": self.oai_url,
        }

    @property
    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def count(self, kind: str) -> int:
        """Return how many requests of `kind` (api, pdf, rss, oai, other) arrived."""
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
        kind = urlsplit(path).path.split("/")[1]
        kind = kind if kind in KINDS else "other"
        with self._lock:
            self.requests.append(Request(path, kind, at, user_agent))
            fault = next(
                (q.popleft() for p, q in self._faults.items() if path.startswith(p) and q), None
            )
        parts = urlsplit(path)
        if parts.path == "/api/query":
            return self._query(_params(parts.query)), fault
        if match := _PDF_PATH.match(parts.path):
            return self._pdf(match["id"], int(match["version"])), fault
        if parts.path.startswith("/rss/"):
            cats = unquote(parts.path.removeprefix("/rss/"))
            return Reply(200, rss_feed(self.entries, cats, self.rss_day), RSS_TYPE), fault
        if parts.path == "/oai":
            return Reply(200, self.oai.answer(_params(parts.query)), XML_TYPE), fault
        return Reply(404, b"not found"), fault

    def _query(self, params: dict[str, str]) -> Reply:
        for wanted, status, body in self._replays:
            if all(params.get(k, "") == v for k, v in wanted.items()):
                return Reply(status, body, ATOM_TYPE)
        status, body = answer_query(self.entries, params)
        return Reply(status, body, ATOM_TYPE)

    def _pdf(self, arxiv_id: str, version: int) -> Reply:
        data = self.pdf_factory(arxiv_id, version) if self.pdf_factory else None
        if data is None:
            return Reply(404, b"<html><body>Not found</body></html>", "text/html")
        return Reply(200, data, "application/pdf")


def _params(query: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(query).items()}


class _Server(ThreadingHTTPServer):
    def __init__(self, app: ArxivServer, port: int = 0):
        super().__init__(("127.0.0.1", port), _Handler)
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
