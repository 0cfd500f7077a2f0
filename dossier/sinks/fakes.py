"""Real local peers for the sinks, for tests and the demo: each listens on 127.0.0.1 on a
port of its own, in a thread, and records what it received.

- :class:`LoopbackReceiver`: any HTTP endpoint (a webhook receiver); it answers what it is
  told (a status, a delay, or a function of the request).
- :class:`FakePortal`: the national portal's sync endpoint as :class:`~dossier.sinks.portal.
  HttpPortalClient` speaks to it (bearer token, ``{"service", "data": [records]}``).
- :class:`FakeSmtpServer`: an SMTP server (``aiosmtpd``) keeping every message.

Use them as context managers::

    with LoopbackReceiver() as hook:
        sink = WebhookSink(hook.url, secret)
        ...
        assert hook.requests[0].headers["webhook-id"] == message.id
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from dossier.sinks.portal import DEFAULT_FIELDS

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, kw_only=True)
class ReceivedRequest:
    """One request a :class:`LoopbackReceiver` got; header names lower-cased."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


#: What a receiver answers: status and body.
Answer = tuple[int, bytes]


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping (a timeout test) must not block stop()
    owner: LoopbackReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = ReceivedRequest(method="POST", path=self.path,
                                  headers={k.lower(): v for k, v in self.headers.items()},
                                  body=self.rfile.read(length))
        status, body = self.server.owner._receive(request)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up waiting (timeout tests): nothing to answer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


class LoopbackReceiver:
    """An HTTP server on 127.0.0.1 that records each request and answers ``status``
    (after ``delay`` seconds), or what ``respond(request)`` returns."""

    def __init__(self, *, status: int = 200, delay: float = 0.0, path: str = "/hook",
                 respond: Callable[[ReceivedRequest], Answer] | None = None) -> None:
        self.status = status
        self.delay = delay
        self.path = path
        self.respond = respond
        self.requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the receiver is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}{self.path}"

    def answer(self, request: ReceivedRequest) -> Answer:
        """The answer to ``request`` (override, or pass ``respond=``)."""
        if self.respond is not None:
            return self.respond(request)
        return self.status, b'{"ok":true}' if self.status < 300 else b'{"ok":false}'

    def _receive(self, request: ReceivedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
        if self.delay:
            time.sleep(self.delay)
        return self.answer(request)

    def start(self) -> Self:
        server = _Server((LOOPBACK, 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="loopback-http",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


class FakePortal(LoopbackReceiver):
    """The portal's sync endpoint: checks ``Authorization: Bearer <token>`` (when a token is
    set), takes ``{"service": …, "data": [record, …]}`` and keeps each record.

    It answers ``{"error_code": 0}``; set ``error_code`` to make it refuse (HTTP 200 with a
    non-zero code, as the integrations we know of do), or ``status`` for an HTTP failure.
    """

    def __init__(self, *, token: str | None = "portal-token", status: int = 200,
                 path: str = "/sync") -> None:
        super().__init__(status=status, path=path)
        self.token = token
        self.error_code = 0
        self.records: list[dict[str, Any]] = []

    def answer(self, request: ReceivedRequest) -> Answer:
        if self.token is not None and \
                request.headers.get("authorization") != f"Bearer {self.token}":
            return 401, b'{"error_code":401,"message":"bad token"}'
        if self.status != 200:
            return self.status, b'{"error_code":-1}'
        try:
            envelope = request.json()
            records = envelope["data"]
            if not isinstance(envelope.get("service"), str) or not isinstance(records, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return 400, b'{"error_code":400,"message":"expected {service, data: [...]}"}'
        if self.error_code == 0:
            self.records.extend(records)
        return 200, json.dumps({"error_code": self.error_code}).encode()

    def latest(self, code: str, *, field: str = DEFAULT_FIELDS["code"]) -> dict[str, Any]:
        """The last record received for the dossier ``code``."""
        found = [r for r in self.records if r.get(field) == code]
        if not found:
            raise KeyError(f"the portal has no record of {code}")
        return found[-1]


@dataclass
class FakeSmtpServer:
    """An SMTP server on 127.0.0.1 (``aiosmtpd``) that keeps every message it accepts.

    ``messages`` are parsed (``email.policy.default``: decoded headers, ``get_content()``);
    ``envelopes`` are the ``(MAIL FROM, RCPT TO list)`` of each; ``raw`` the bytes as
    received. Recipients in ``refused`` get ``550`` (no such mailbox).
    """

    host: str = LOOPBACK
    port: int = 0
    refused: set[str] = field(default_factory=set)
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    _controller: Any = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.raw.append(content)
        self.messages.append(message_from_bytes(content, policy=policy.default))
        return "250 Message accepted"

    def start(self) -> Self:
        # imported here: only a test or the demo starts a mail server
        from aiosmtpd.controller import Controller

        if not self.port:
            self.port = _free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def _free_port() -> int:
    """A port nobody listens on now (aiosmtpd needs the number before it binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])
