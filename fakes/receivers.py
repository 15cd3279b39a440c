"""Local notification receivers: what Apprise's json:// and mailto:// deliver, recorded.

with JsonReceiver() as hook:          # json://127.0.0.1:PORT/ posts here
    hook.status = 500                 # every later POST is refused
    ...hook.messages[0]["title"]...
with SmtpReceiver() as smtp:          # plain SMTP with AUTH on 127.0.0.1, no TLS
    ...smtp.messages[0]["Subject"]...
"""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from fakes.local_server import LocalServer, QuietHandler


class _JsonHandler(QuietHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}")
        receiver = self.server.receiver  # type: ignore[attr-defined]
        with receiver._lock:
            receiver.requests.append({"path": self.path, "json": data, "status": receiver.status})
        self.reply(receiver.status, b"{}", {"Content-Type": "application/json"})


class JsonReceiver(LocalServer):
    """An HTTP endpoint recording the JSON Apprise's json:// posts; answers `status`."""

    def __init__(self) -> None:
        super().__init__(_JsonHandler)
        self.status = 200
        self._server.receiver = self  # type: ignore[attr-defined]

    @property
    def apprise_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"json://{host}:{port}/"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Return the messages this receiver accepted (answered 2xx)."""
        return [r["json"] for r in self.requests if r["status"] < 300]


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.logins.append(auth_data.login.decode())
        return AuthResult(success=True)


class _Controller(Controller):
    """aiosmtpd's Controller on port 0: learn the port the system chose before testing it."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpReceiver:
    """An SMTP server on 127.0.0.1 (free port) that accepts any login and records mail."""

    def __init__(self) -> None:
        self.recorder = _Recorder()
        self.controller = _Controller(
            self.recorder,
            hostname="127.0.0.1",
            port=0,
            authenticator=self.recorder.authenticate,
            auth_require_tls=False,
        )

    @property
    def port(self) -> int:
        return self.controller.port

    def apprise_url(self, user: str, password: str, to: str = "reader@example.org") -> str:
        return (
            f"mailto://{user}:{password}@127.0.0.1:{self.port}"
            f"?mode=insecure&from=digest@example.org&to={to}"
        )

    @property
    def messages(self) -> list[EmailMessage]:
        return self.recorder.messages

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.controller.stop()
