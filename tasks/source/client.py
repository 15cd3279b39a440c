"""Polite HTTP to arXiv: one limiter turn per request, a timeout, a named agent, our errors.

arXiv's terms cover the API, RSS and PDFs alike, so every request to arXiv goes through a
`PoliteSession` sharing the process's limiter.
"""

from __future__ import annotations

from typing import Any

import requests
from lxml import etree

from tasks.errors import TransientError
from tasks.retry_after import MAX_RETRY_AFTER, retry_after_seconds
from tasks.source.limiter import Limiter


class PoliteSession(requests.Session):
    """A session that takes limiter turns, times out, names itself and raises our errors.

    Transport errors, timeouts, 429 and 5xx raise TransientError (a Retry-After also pushes
    the limiter); other statuses are returned for the caller to judge.
    """

    def __init__(self, limiter: Limiter, timeout: float, user_agent: str):
        super().__init__()
        self.limiter = limiter
        self.timeout = timeout
        self.user_agent = user_agent

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any):
        """Send one request in its own limiter turn, body included."""
        with self.limiter.slot():
            return self._send(str(method), str(url), *args, **kwargs)

    def get_capped(self, url: str, max_bytes: int) -> tuple[requests.Response, bytes]:
        """GET `url` in one limiter turn, reading at most `max_bytes + 1` bytes of the body."""
        with self.limiter.slot(), self._send("GET", url, stream=True) as response:
            body = bytearray()
            try:
                for chunk in response.iter_content(chunk_size=64 * 1024):
                    body += chunk
                    if len(body) > max_bytes:
                        break
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                raise TransientError(f"download interrupted ({type(exc).__name__}): {url}") from exc
            return response, bytes(body)

    def _send(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        # Replace the arxiv package's own "arxiv.py/x" agent: arXiv asks callers to identify.
        given = kwargs.pop("headers", None) or {}
        headers = {k: v for k, v in given.items() if k.lower() != "user-agent"}
        headers["User-Agent"] = self.user_agent
        kwargs.update(headers=headers, timeout=self.timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.Timeout as exc:
            raise TransientError(f"arXiv did not answer within {self.timeout:g} s: {url}") from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientError(f"cannot reach arXiv ({type(exc).__name__}): {url}") from exc
        self._raise_if_transient(response)
        return response

    def _raise_if_transient(self, response: requests.Response) -> None:
        status = response.status_code
        if status != 429 and status < 500:
            return
        delay = min(retry_after_seconds(response.headers.get("Retry-After")), MAX_RETRY_AFTER)
        if delay:
            self.limiter.wait(delay)
        response.close()
        hint = f"; Retry-After {delay:g} s" if delay else ""
        raise TransientError(
            f"arXiv answered HTTP {status}{hint}: {response.url}", retry_after=delay
        )


def xml_root(content: bytes) -> Any:
    """Return the parsed XML document, or None when `content` is not XML (e.g. "Rate exceeded.")."""
    # A parser per call: lxml parser objects must not be shared between threads.
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return etree.fromstring(content, parser=parser)
    except etree.XMLSyntaxError:
        return None
