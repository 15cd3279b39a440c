from datetime import UTC, datetime

import pymupdf
import pytest

from config.settings import user_agent
from replay.arxiv_server import ArxivServer, html_page, rate_limited, slow, unavailable
from tasks.domain import Paper
from tasks.errors import ExtractError, TransientError, is_transient
from tasks.pdf.validate import check_pdf
from tasks.source.client import PoliteSession
from tasks.source.download import download_pdf
from tasks.source.limiter import Limiter

WHEN = datetime(2024, 10, 4, 17, 59, tzinfo=UTC)
UA = user_agent("tests <tests@example.org>")
MAX = 1_000_000


def tiny_pdf(text: str = "hello") -> bytes:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), text)
    return doc.tobytes()


PDF = tiny_pdf()


def paper(arxiv_id: str = "2410.03665", version: int = 1) -> Paper:
    return Paper(arxiv_id, version, "A title", ("A. Author",), "An abstract.", WHEN, WHEN)


def session(timeout: float = 5.0) -> PoliteSession:
    return PoliteSession(Limiter(0), timeout, UA)


@pytest.fixture
def server():
    with ArxivServer(pdf_factory=lambda arxiv_id, version: PDF) as running:
        yield running


def test_downloads_and_writes_a_valid_pdf(server, tmp_path):
    path = download_pdf(paper(), server.pdf_url, tmp_path, session(), MAX)
    assert path == tmp_path / "2410.03665v1.pdf"
    assert path.read_bytes() == PDF
    assert server.paths == ["/pdf/2410.03665v1"]
    assert server.requests[0].user_agent == UA
    assert [p.name for p in tmp_path.iterdir()] == ["2410.03665v1.pdf"]  # no temp file left


def test_old_style_id_keeps_its_slash_in_the_url_but_not_the_file_name(server, tmp_path):
    path = download_pdf(paper("hep-th/9901001", 2), server.pdf_url, tmp_path, session(), MAX)
    assert path.name == "hep-th_9901001v2.pdf"
    assert server.paths == ["/pdf/hep-th/9901001v2"]


def test_a_valid_cached_file_is_returned_without_a_request(server, tmp_path):
    (tmp_path / "2410.03665v1.pdf").write_bytes(PDF)
    path = download_pdf(paper(), server.pdf_url, tmp_path, session(), MAX)
    assert path.read_bytes() == PDF
    assert server.count("pdf") == 0


def test_a_broken_cached_file_is_downloaded_again(server, tmp_path):
    (tmp_path / "2410.03665v1.pdf").write_bytes(PDF[:100])
    path = download_pdf(paper(), server.pdf_url, tmp_path, session(), MAX)
    assert path.read_bytes() == PDF
    assert server.count("pdf") == 1


def test_an_html_page_instead_of_a_pdf_is_a_permanent_extract_error(server, tmp_path):
    server.inject("/pdf", html_page())
    with pytest.raises(ExtractError, match="HTML page") as caught:
        download_pdf(paper(), server.pdf_url, tmp_path, session(), MAX)
    assert not is_transient(caught.value)
    assert caught.value.paper == "2410.03665v1"
    assert list(tmp_path.iterdir()) == []


def test_a_missing_pdf_is_an_extract_error(tmp_path):
    with ArxivServer(pdf_factory=lambda arxiv_id, version: None) as server:
        with pytest.raises(ExtractError, match="HTTP 404"):
            download_pdf(paper(), server.pdf_url, tmp_path, session(), MAX)


def test_a_truncated_pdf_is_rejected(tmp_path):
    with ArxivServer(pdf_factory=lambda arxiv_id, version: PDF[: len(PDF) // 2]) as server:
        with pytest.raises(ExtractError, match="truncated"):
            download_pdf(paper(), server.pdf_url, tmp_path, session(), MAX)
    assert list(tmp_path.iterdir()) == []


def test_an_oversize_pdf_is_rejected(server, tmp_path):
    with pytest.raises(ExtractError, match="larger than"):
        download_pdf(paper(), server.pdf_url, tmp_path, session(), max_bytes=len(PDF) - 1)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [(rate_limited("0"), "HTTP 429"), (unavailable(), "HTTP 503"), (slow(1.0), "within")],
)
def test_throttling_and_timeouts_are_transient(server, tmp_path, fault, message):
    server.inject("/pdf", fault)
    with pytest.raises(TransientError, match=message):
        download_pdf(paper(), server.pdf_url, tmp_path, session(timeout=0.3), MAX)
    assert list(tmp_path.iterdir()) == []


def test_validate_accepts_a_pdf_and_names_what_is_wrong_otherwise():
    check_pdf(PDF, max_bytes=MAX)
    with pytest.raises(ExtractError, match="not a PDF"):
        check_pdf(b"GIF89a" + PDF, max_bytes=MAX)
    with pytest.raises(ExtractError, match="HTML page"):
        check_pdf(b"\n<!DOCTYPE html><html><body>hi</body></html>", max_bytes=MAX)
    with pytest.raises(ExtractError, match="truncated"):
        check_pdf(PDF.replace(b"%%EOF", b"%%XXX"), max_bytes=MAX)
    with pytest.raises(ExtractError, match="larger than"):
        check_pdf(PDF, max_bytes=len(PDF) - 1)


def test_eof_marker_may_be_followed_by_a_little_trailing_data():
    check_pdf(PDF + b"\n" * 200, max_bytes=MAX)
