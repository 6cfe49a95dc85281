"""Leaks and stalls found by an attacker's and a fault injector's tests (issue 12, item 11).

Real components: `commhub serve` as a subprocess on a free port, raw sockets, a real
aiosmtpd server, a real Maildir outbox made read-only (immutable) under the running hub.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from commhub.domain import Format, OutgoingMessage, message_id_for
from commhub.errors import PermanentError
from commhub.settings import SmtpSettings
from commhub.transports.smtp import SmtpTransport
from tests.hub_harness import write_config
from tests.serve_process import exchange
from tests.smtp_server import SmtpTestServer, free_port
from tests.test_serve import _serve, _stop, _wait_listening

pytestmark = pytest.mark.real

HEADER_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """`commhub serve` with the outbox for every format; (port, outbox folder)."""
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    config = write_config(
        folder,
        "sqlite:///var/commhub.db",
        25,
        server={"port": port, "header_timeout_seconds": HEADER_TIMEOUT},
        delivery={"large_print_email": "outbox", "audio": "outbox", "relay_text": "outbox"},
    )
    log = folder / "serve.log"
    proc = _serve(config, log)
    try:
        _wait_listening(proc, log)
        yield port, folder / "outbox"
    finally:
        _stop([proc])


def head_lines(response: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The status line and every header (lowercase name, value), repeats included."""
    status, *lines = response.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    pairs = (line.partition(":") for line in lines)
    return status, [(name.strip().lower(), value.strip()) for name, _, value in pairs]


def head(response: bytes) -> dict[str, str]:
    status, headers = head_lines(response)
    return {"status": status, **dict(headers)}


def header_values(response: bytes, name: str) -> list[str]:
    """Every value of header `name` in the response head, repeats included."""
    return [value for n, value in head_lines(response)[1] if n == name]


@pytest.mark.parametrize(
    ("status", "request_head"),
    [
        (200, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"),
        (401, b"GET /v1/templates HTTP/1.1\r\nHost: x\r\n"),
        (404, b"GET /nothing HTTP/1.1\r\nHost: x\r\n"),
        (405, b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n"),
        # The public unsubscribe route refuses a body over its 4 KB before reading it.
        (413, b"POST /u/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"),
        # Not HTTP: answered before the application sees it (commhub/api/protocol.py).
        (400, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad\x01Name: y\r\n"),
    ],
)
def test_every_answer_names_the_server_once_and_not_the_framework(
    hub: tuple[int, Path], status: int, request_head: bytes
) -> None:
    port, _ = hub
    body = b"x" * 5000 if b"Content-Length: 5000" in request_head else b""
    answer = exchange(port, request_head + b"Connection: close\r\n\r\n" + body)
    headers = head(answer)
    assert f" {status} " in headers["status"], headers
    assert header_values(answer, "server") == ["commhub"]
    assert "aiohttp" not in str(headers).lower() and "python" not in str(headers).lower()


def test_slow_headers_are_disconnected(hub: tuple[int, Path]) -> None:
    """One header byte every 0.2 s: the server closes the connection after the timeout."""
    port, _ = hub
    started = time.monotonic()
    closed_after = None
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        s.settimeout(0.2)
        for byte in b"X-Slow: " + b"a" * 100:
            try:
                s.sendall(bytes([byte]))
                if s.recv(1) == b"":  # the server closed the connection
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
    assert closed_after is not None, "still open after 20 s of slow headers"
    assert closed_after < HEADER_TIMEOUT + 1.5


def get_health(port: int) -> tuple[int, dict[str, str]]:
    raw = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status = int(raw.split(b" ", 2)[1])
    return status, json.loads(raw.split(b"\r\n\r\n", 1)[1])


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` read-only even for root: the immutable attribute (chattr +i); on a file
    system without it, the folder is swapped for a file (a write fails there too)."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0:
            try:
                yield
            finally:
                subprocess.run(["chattr", "-i", str(folder)], check=True)
            return
        aside = folder.with_name(folder.name + ".aside")
        folder.rename(aside)
        folder.write_bytes(b"")
        try:
            yield
        finally:
            folder.unlink()
            aside.rename(folder)
    else:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)


def test_healthz_is_not_ok_while_the_outbox_is_read_only(hub: tuple[int, Path]) -> None:
    port, outbox = hub
    assert get_health(port) == (200, {"status": "ok", "store": "ok", "outbox": "ok"})
    with read_only(outbox / "new"):
        status, body = get_health(port)
    assert status == 503
    assert body == {"status": "unavailable", "store": "ok", "outbox": "not writable"}
    assert get_health(port)[0] == 200


async def test_smtp_refusal_text_keeps_no_part_of_the_address() -> None:
    """Servers echo the local part alone; it is the member's mailbox name."""
    to = "r5500@example.org"
    mid = message_id_for(1, "commhub.example.org")
    message = OutgoingMessage(
        delivery_id=1,
        message_id=mid,
        sender="outreach@evergreen-health.example",
        recipients=(to,),
        raw=f"To: {to}\r\nMessage-ID: {mid}\r\nSubject: x\r\n\r\nhello\r\n".encode(),
        format=Format.LARGE_PRINT_EMAIL,
        language="en",
        subject="x",
    )
    with SmtpTestServer() as server:
        server.script("550 5.1.1 <r5500@example.org>: unknown in table for r5500", stage="rcpt")
        server.script("554 5.7.1 R5500... message refused for R5500, call 503-555-0199")
        transport = SmtpTransport(
            SmtpSettings(host=server.host, port=server.port, timeout_seconds=5.0)
        )
        try:
            reasons = []
            for _ in range(2):
                with pytest.raises(PermanentError) as info:
                    await transport.send(message)
                reasons.append(str(info.value))
        finally:
            await transport.close()
    assert reasons[0].startswith("smtp 550 5.1.1") and "unknown in table" in reasons[0]
    assert reasons[1].startswith("smtp 554 5.7.1")
    for reason in reasons:
        assert "5500" not in reason and "503-555" not in reason, reason


SCRIPT = """
import logging
from commhub.cli import configure_logging
configure_logging()
logging.getLogger("aiohttp.server").error(
    "bad header line: Authorization: Bearer chub_q2Wc9eYt1bX0mK4rN7sPzA8vL3dF6gH5jU2iO0pQwE")
try:
    raise ValueError("cannot render for Quillonia <quillonia.v@example.org>, 503-555-0199")
except ValueError:
    logging.getLogger("commhub.worker").exception("rendering delivery %d failed", 7)
logging.getLogger("commhub.api").warning("member %s at %s", "m-1", "(503) 555-0199")
"""


def test_one_log_filter_scrubs_every_record() -> None:
    """The CLI's logging: every logger's records, and exceptions lose their messages."""
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    ).stderr
    assert "rendering delivery 7 failed" in out and "ValueError" in out  # type and frames
    assert "bad header line" in out and "member m-1 at <phone>" in out
    for secret in ("chub_q2Wc", "quillonia", "Quillonia", "503", "555-0199"):
        assert secret not in out, out
