"""What the fake LLM services share: an HTTP server on 127.0.0.1 in a thread, with the
requests it received and the faults queued for the next ones."""

from __future__ import annotations

import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class QuietHandler(BaseHTTPRequestHandler):
    """A keep-alive request handler that answers in one call and logs nothing."""

    protocol_version = "HTTP/1.1"

    def reply(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        """Send `data` with `headers`; a client that already gave up is not an error."""
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test); nothing left to tell it

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean; requests are recorded on the fake instead


class LocalServer:
    """Serve `handler` on a free port of 127.0.0.1; use as a context manager, read `.url`."""

    path = ""  # what the service's base URL adds after host and port

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.requests: list[Any] = []
        self._faults: deque[Any] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        # A short poll interval: shutdown() waits up to one interval before returning.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget recorded requests and pending faults, so one server can serve many tests."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()

    def inject(self, *faults: Any) -> None:
        """Queue faults; each request consumes the next one."""
        with self._lock:
            self._faults.extend(faults)

    @property
    def pending(self) -> int:
        """Return how many injected faults no request has consumed yet."""
        return len(self._faults)
