"""A real aiosmtpd SMTP server for tests: records what it receives and answers as scripted.

Usage as a pytest fixture (tests/conftest.py imports it)::

    from tests.smtp_server import smtp_server  # noqa: F401  (re-exported fixture)

    def test_x(smtp_server):
        smtp_server.script("451 4.3.0 try again")        # next DATA answered 451, then 250
        smtp_server.script("550 5.1.1 no such user", stage="rcpt", count=2)
        ...
        assert smtp_server.wait_for(1)[0].content == raw_bytes

Or directly, e.g. with TLS: ``with SmtpTestServer(tls_context=ctx, require_starttls=True) as s:``.
The server runs in aiosmtpd's own thread and event loop, so it works from sync and async tests
alike. `stop()` / `start()` restart it on the same port, to simulate a server going away.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes  # the raw message bytes as received (dot-unstuffed, CRLF line endings)


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class RecordingHandler:
    """Records accepted envelopes; answers scripted statuses for the next N commands."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._scripts: dict[str, deque[str]] = {"mail": deque(), "rcpt": deque(), "data": deque()}
        self._lock = threading.Lock()
        self.received = threading.Condition(self._lock)

    def script(self, status: str, *, count: int = 1, stage: str = "data") -> None:
        """Answer `status` (e.g. "451 4.3.0 try again") to the next `count` commands of `stage`
        ("mail", "rcpt" or "data"); afterwards the server accepts again."""
        with self._lock:
            self._scripts[stage].extend([status] * count)

    def _scripted(self, stage: str) -> str | None:
        with self._lock:
            queue = self._scripts[stage]
            return queue.popleft() if queue else None

    async def handle_MAIL(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        status = self._scripted("mail")
        if status is not None:
            return status
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        status = self._scripted("rcpt")
        if status is not None:
            return status
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        status = self._scripted("data")
        if status is not None:
            return status
        content = envelope.original_content or b""
        with self._lock:
            self.messages.append(
                Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(content))
            )
            self.received.notify_all()
        return "250 2.0.0 Message accepted"


class _Limits:
    """Connection limits a test server enforces, like a real MTA's (postfix's
    smtpd_client_connection_count_limit and smtpd_timeout)."""

    def __init__(self, max_connections: int | None, idle_timeout: float | None) -> None:
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.open = 0
        self.refused = 0
        self.idle_closed = 0
        self.peak = 0


class _LimitedSMTP(SMTPServer):
    """aiosmtpd's server answering `421 too many connections` beyond the limit, and closing
    an idle connection with `421 timeout exceeded` (what postfix says) after the timeout."""

    limits: _Limits

    async def _handle_client(self) -> None:
        limits = self.limits
        if limits.max_connections is not None and limits.open >= limits.max_connections:
            limits.refused += 1
            await self.push("421 4.7.0 smtp.test Error: too many connections")
            if self.transport is not None:
                self.transport.close()
            return
        limits.open += 1
        limits.peak = max(limits.peak, limits.open)
        try:
            await super()._handle_client()
        finally:
            limits.open -= 1

    def _timeout_cb(self) -> None:
        self.limits.idle_closed += 1
        if self.transport is not None:
            self.transport.write(b"421 4.4.2 smtp.test Error: timeout exceeded\r\n")
        super()._timeout_cb()


class _LimitedController(Controller):
    def __init__(self, *args: Any, limits: _Limits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits

    def factory(self) -> SMTPServer:
        server = _LimitedSMTP(self.handler, **self.SMTP_kwargs)
        server.limits = self.limits
        return server


class SmtpTestServer:
    """A real aiosmtpd server on a free loopback port that can be stopped and restarted.

    `tls_context` offers STARTTLS (required when `require_starttls`), `ssl_context` makes it an
    implicit-TLS server, `authenticator` enables AUTH (aiosmtpd's authenticator callable).
    """

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        authenticator: Callable[..., Any] | None = None,
        auth_required: bool = False,
        auth_require_tls: bool = True,
        max_connections: int | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        self.handler = RecordingHandler()
        # `max_connections` at once (more get 421 at the greeting); idle ones closed after
        # `idle_timeout` seconds with a 421.
        self.limits = _Limits(max_connections, idle_timeout)
        self.host = HOST
        self.port = 0
        self._options: dict[str, Any] = {
            "tls_context": tls_context,
            "require_starttls": require_starttls,
            "authenticator": authenticator,
            "auth_required": auth_required,
            "auth_require_tls": auth_require_tls,
        }
        self._ssl_context = ssl_context
        self._controller: Controller | None = None

    # What the tests read and script.
    @property
    def messages(self) -> list[Received]:
        with self.handler._lock:
            return list(self.handler.messages)

    def script(self, status: str, *, count: int = 1, stage: str = "data") -> None:
        """See `RecordingHandler.script`."""
        self.handler.script(status, count=count, stage=stage)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        """Block until at least `n` messages were received (or fail the test)."""
        with self.handler.received:
            ok = self.handler.received.wait_for(lambda: len(self.handler.messages) >= n, timeout)
            if not ok:
                raise AssertionError(f"expected {n} messages, got {len(self.handler.messages)}")
            return list(self.handler.messages)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        """Start on a fresh free port, or on the same port again after `stop()`."""
        if self._controller is not None:
            return
        attempts = 1 if self.port else 10
        last: Exception | None = None
        for _ in range(attempts):
            port = self.port or free_port(self.host)
            limited = self.limits.max_connections is not None or self.limits.idle_timeout
            extra: dict[str, Any] = {}
            if self.limits.idle_timeout is not None:
                extra["timeout"] = self.limits.idle_timeout
            controller_class: Any = _LimitedController if limited else Controller
            if limited:
                extra["limits"] = self.limits
            controller = controller_class(
                self.handler,
                hostname=self.host,
                port=port,
                ssl_context=self._ssl_context,
                # A fixed server name: otherwise aiosmtpd calls getfqdn() per connection.
                server_hostname="smtp.test",
                ready_timeout=5.0,
                **extra,
                **{k: v for k, v in self._options.items() if v is not None},
            )
            try:
                controller.start()
            except (OSError, RuntimeError) as exc:  # the port was taken in between: try another
                last = exc
                continue
            self.port = port
            self._controller = controller
            return
        raise RuntimeError(f"could not start the test SMTP server: {last}")

    def stop(self) -> None:
        """Stop the server and drop its connections; the port is kept for `start()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> SmtpTestServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A running plain-SMTP test server, stopped after the test."""
    with SmtpTestServer() as server:
        yield server
