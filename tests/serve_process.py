"""`commhub serve` as a user runs it, for tests that talk to it over a real socket.

with serve_process(tmp_path) as hub:      # SQLite file and outbox under tmp_path
    hub.port, hub.token, hub.log, hub.pid # an admin token made by `commhub token create`
exchange(hub.port, raw_request_bytes)     # everything it answers, as sent on the wire
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.smtp_server import free_port
from tests.test_serve import _serve, _stop, _wait_listening


@dataclass(frozen=True)
class ServeProcess:
    port: int
    token: str
    log: Path  # the server's stdout and stderr
    pid: int


def _commhub(config: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "commhub", "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout


@contextlib.contextmanager
def serve_process(folder: Path) -> Iterator[ServeProcess]:
    """A migrated SQLite hub served on a free port until the block ends."""
    port = free_port()
    config = folder / "config.toml"
    config.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[database]\nurl = "sqlite:///{folder / "hub.db"}"\n'
        f'[transports.outbox]\npath = "{folder / "outbox"}"\n',
        encoding="utf-8",
    )
    _commhub(config, "migrate")
    token = _commhub(config, "token", "create", "--role", "admin").strip().splitlines()[-1]
    log = folder / "serve.log"
    server = _serve(config, log)
    try:
        _wait_listening(server, log)
        yield ServeProcess(port, token, log, server.pid)
    finally:
        _stop([server])


def exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send `request` on a fresh connection; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
