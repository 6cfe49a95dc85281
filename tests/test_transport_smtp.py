"""SmtpTransport against a real aiosmtpd server: what arrives, and how failures are classified."""

from __future__ import annotations

import asyncio
import email
import email.policy
import gc
import logging
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from commhub.domain import Format, OutgoingMessage, message_id_for
from commhub.errors import MaybeSentError, PermanentError, TransientError
from commhub.settings import SmtpSettings
from commhub.transports.smtp import SmtpTransport
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.real

SENDER = "outreach@evergreen-health.example"


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as running:
        yield running


def make_message(
    i: int, to: str = "member@example.net", body: str = "Your refill is ready."
) -> OutgoingMessage:
    mid = message_id_for(i, "commhub.example.org")
    raw = (
        f"From: Evergreen <{SENDER}>\r\nTo: {to}\r\nSubject: Refill {i}\r\n"
        f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
        f"{body}\r\n.leading dot survives dot-stuffing\r\n"
    ).encode()
    return OutgoingMessage(
        delivery_id=i,
        message_id=mid,
        sender=SENDER,
        recipients=(to,),
        raw=raw,
        format=Format.LARGE_PRINT_EMAIL,
        language="en",
        subject=f"Refill {i}",
    )


def settings_for(server: SmtpTestServer, **kw: Any) -> SmtpSettings:
    values: dict[str, Any] = {"host": server.host, "port": server.port, "timeout_seconds": 5.0}
    values.update(kw)
    return SmtpSettings(**values)


async def test_pool_sends_the_exact_bytes_to_every_recipient(server: SmtpTestServer) -> None:
    transport = SmtpTransport(settings_for(server, pool_size=4))
    await transport.start()
    messages = [make_message(i, to=f"member{i}@example.net") for i in range(40)]
    try:
        await asyncio.gather(*(transport.send(m) for m in messages))
    finally:
        await transport.close()

    received = {r.rcpt_tos: r for r in server.wait_for(40)}
    assert len(received) == 40
    for m in messages:
        got = received[m.recipients]
        assert got.mail_from == SENDER
        assert got.content == m.raw
        parsed = email.message_from_bytes(got.content, policy=email.policy.default)
        assert parsed["Message-ID"] == m.message_id


async def test_non_ascii_body_arrives_unchanged(server: SmtpTestServer) -> None:
    transport = SmtpTransport(settings_for(server))
    message = make_message(1, body="Su receta está lista. 您的处方已备好。")
    try:
        await transport.send(message)
    finally:
        await transport.close()
    assert server.wait_for(1)[0].content == message.raw


async def test_pool_size_bounds_open_connections(server: SmtpTestServer) -> None:
    transport = SmtpTransport(settings_for(server, pool_size=3))
    try:
        await asyncio.gather(*(transport.send(make_message(i)) for i in range(30)))
        assert sum(c.is_connected for c in transport._clients) <= 3
    finally:
        await transport.close()
    assert not any(c.is_connected for c in transport._clients)


@pytest.mark.parametrize(
    ("stage", "status", "error"),
    [
        ("data", "451 4.3.0 try again later", TransientError),
        ("data", "552 5.3.4 message too big", PermanentError),
        ("rcpt", "450 4.2.1 <member@example.net> mailbox busy", TransientError),
        ("rcpt", "550 5.1.1 <member@example.net>: no such user", PermanentError),
        ("mail", "451 4.7.1 greylisted", TransientError),
        ("mail", "553 5.7.1 sender not allowed", PermanentError),
    ],
)
async def test_smtp_answers_map_to_transient_or_permanent(
    server: SmtpTestServer, stage: str, status: str, error: type[Exception]
) -> None:
    transport = SmtpTransport(settings_for(server))
    server.script(status, stage=stage)
    try:
        with pytest.raises(error) as info:
            await transport.send(make_message(1))
        reason = str(info.value)
        assert status.split()[0] in reason  # the code
        assert "@" not in reason and "member" not in reason  # never the address
        assert not isinstance(
            info.value, PermanentError if error is TransientError else TransientError
        )
        # The connection stays usable: the next message goes through.
        await transport.send(make_message(2))
    finally:
        await transport.close()
    assert len(server.wait_for(1)) == 1


async def test_stopped_server_is_transient_and_pool_recovers(server: SmtpTestServer) -> None:
    transport = SmtpTransport(settings_for(server, pool_size=2))
    try:
        await transport.send(make_message(1))
        server.stop()
        await asyncio.sleep(0.05)
        for i in range(3):
            with pytest.raises(TransientError):
                await transport.send(make_message(10 + i))
        server.start()
        await asyncio.gather(*(transport.send(make_message(20 + i)) for i in range(4)))
    finally:
        await transport.close()
    assert len(server.wait_for(5)) == 5


async def test_connection_dropped_while_idle_reconnects_in_place(
    server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    transport = SmtpTransport(settings_for(server, pool_size=1))
    try:
        await transport.send(make_message(1))
        # Restart without yielding to the loop: the client has not yet seen the EOF, so the
        # send finds a dead connection, must reconnect once and succeed.
        server.restart()
        with caplog.at_level(logging.INFO, logger="commhub.transports.smtp"):
            await transport.send(make_message(2))
    finally:
        await transport.close()
    assert len(server.wait_for(2)) == 2
    assert "reconnecting" in caplog.text


async def test_connection_refused_is_transient() -> None:
    server = SmtpTestServer()
    server.start()
    server.stop()  # a port nobody listens on
    transport = SmtpTransport(settings_for(server))
    with pytest.raises(TransientError, match="connect"):
        await transport.send(make_message(1))
    await transport.close()


async def test_silent_server_times_out_as_transient() -> None:
    writers: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)  # accept, then never greet

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, timeout_seconds=0.3))
    try:
        start = time.monotonic()
        with pytest.raises(TransientError):
            await transport.send(make_message(1))
        assert time.monotonic() - start < 3
    finally:
        await transport.close()
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_no_answer_after_data_is_maybe_sent_not_an_ordinary_timeout(
    server: SmtpTestServer,
) -> None:
    """The server has the whole message but answers after the final reply's timeout:
    "maybe sent"."""
    server.handler.data_delay = 1.0
    transport = SmtpTransport(
        settings_for(server, timeout_seconds=0.3, final_reply_timeout_seconds=0.3)
    )
    try:
        with pytest.raises(MaybeSentError, match="may have been delivered"):
            await transport.send(make_message(1))
        server.handler.data_delay = 0.0
        server.script("451 4.3.0 try again", stage="rcpt")  # before DATA: an ordinary retry
        with pytest.raises(TransientError) as info:
            await transport.send(make_message(2))
        assert not isinstance(info.value, MaybeSentError)
    finally:
        await transport.close()
    assert len(server.wait_for(1)) == 1  # the first one did arrive


async def test_the_answer_after_the_message_may_take_longer_than_other_commands(
    server: SmtpTestServer,
) -> None:
    """A server slow to answer the final dot (it has the message) is waited for up to
    final_reply_timeout_seconds: one copy, no "maybe sent" and no second copy."""
    server.handler.data_delay = 1.0
    transport = SmtpTransport(
        settings_for(server, timeout_seconds=0.3, final_reply_timeout_seconds=5.0)
    )
    try:
        start = time.monotonic()
        await transport.send(make_message(1))
        assert time.monotonic() - start >= 1.0
    finally:
        await transport.close()
    assert len(server.messages) == 1


async def test_rate_limit_spaces_sends(server: SmtpTestServer) -> None:
    transport = SmtpTransport(settings_for(server, pool_size=4, rate_limit_per_second=20))
    try:
        await transport.send(make_message(0))  # connection opened, first slot used
        start = time.monotonic()
        await asyncio.gather(*(transport.send(make_message(i)) for i in range(1, 11)))
        elapsed = time.monotonic() - start
    finally:
        await transport.close()
    # 10 more messages at 20/s need ~0.5 s; without the limit this takes a few ms.
    assert 0.4 <= elapsed < 2.0
    assert len(server.wait_for(11)) == 11


async def test_closed_transport_refuses_to_send(server: SmtpTestServer) -> None:
    transport = SmtpTransport(settings_for(server))
    await transport.send(make_message(1))
    await transport.close()
    with pytest.raises(TransientError, match="closed"):
        await transport.send(make_message(2))


# --- TLS and AUTH -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cert_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 made with the openssl command line."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_context(cert_pair: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert_pair)
    return ctx


@pytest.fixture
def starttls_server(cert_pair: tuple[Path, Path]) -> Iterator[SmtpTestServer]:
    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login == b"commhub" and auth_data.password == b"s3cret"
        )
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535

    server = SmtpTestServer(
        tls_context=server_context(cert_pair),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    server.start()
    yield server
    server.stop()


async def test_starttls_and_auth(starttls_server: SmtpTestServer) -> None:
    transport = SmtpTransport(
        settings_for(
            starttls_server,
            starttls=True,
            validate_certs=False,
            username="commhub",
            password="s3cret",
        )
    )
    message = make_message(1)
    try:
        await transport.send(message)
    finally:
        await transport.close()
    assert starttls_server.wait_for(1)[0].content == message.raw


def sockets_open_to(server: SmtpTestServer) -> list[socket.socket]:
    """This process's open sockets connected to `server` (the client side of connections)."""
    found = []
    for obj in gc.get_objects():
        if isinstance(obj, socket.socket) and obj.family == socket.AF_INET and obj.fileno() != -1:
            try:
                if obj.getpeername()[1] == server.port:
                    found.append(obj)
            except OSError:  # not connected
                pass
    return found


async def test_wrong_password_is_transient_not_permanent(starttls_server: SmtpTestServer) -> None:
    transport = SmtpTransport(
        settings_for(
            starttls_server, starttls=True, validate_certs=False, username="commhub", password="no"
        )
    )
    try:
        with pytest.raises(TransientError, match="authentication"):
            await transport.send(make_message(1))
    finally:
        await transport.close()
    assert starttls_server.messages == []
    # The failed TLS connection is gone once close() returns, not after a TLS goodbye.
    assert sockets_open_to(starttls_server) == []


async def test_without_starttls_the_server_refuses(starttls_server: SmtpTestServer) -> None:
    transport = SmtpTransport(settings_for(starttls_server))
    try:
        # 530 "Must issue a STARTTLS command first" is our configuration, not the message.
        with pytest.raises(TransientError, match="530"):
            await transport.send(make_message(1))
    finally:
        await transport.close()


async def test_self_signed_certificate_fails_when_validated(
    starttls_server: SmtpTestServer,
) -> None:
    transport = SmtpTransport(
        settings_for(starttls_server, starttls=True, username="commhub", password="s3cret")
    )
    try:
        with pytest.raises(TransientError, match="connect"):
            await transport.send(make_message(1))
    finally:
        await transport.close()
    assert sockets_open_to(starttls_server) == []


async def test_implicit_tls(cert_pair: tuple[Path, Path]) -> None:
    server = SmtpTestServer(ssl_context=server_context(cert_pair))
    server.start()
    transport = SmtpTransport(settings_for(server, tls=True, validate_certs=False))
    message = make_message(7)
    try:
        await transport.send(message)
    finally:
        await transport.close()
        server.stop()
    assert server.wait_for(1)[0].content == message.raw
