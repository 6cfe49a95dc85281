"""The raw SMTP send rate: "the limit" the campaign benchmark compares the hub against.

Sends N pre-built ~3.6 KB messages through commhub's SmtpTransport pool to postfix's C
`smtp-sink` (started here on a free port; aiosmtpd would be the bottleneck at ~1,000/s).
Nothing is built per message, so this measures the transport alone.

    .venv/bin/python benchmarks/smtp_raw.py [--n 20000] [--pool 8] [--client smtplib]

`--client smtplib` measures the alternative considered: a thread pool of blocking stdlib
smtplib connections (see the comment in commhub/transports/smtp.py for the decision).
The campaign benchmark imports `raw_send_rate` and `smtp_sink`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commhub.domain import Format, OutgoingMessage
from commhub.settings import SmtpSettings
from commhub.transports.smtp import SmtpTransport

SENDER = "outreach@evergreen-health.example"


def sample_message(i: int, size: int = 3680) -> OutgoingMessage:
    """A pre-built multipart message of about `size` bytes with CRLF line endings."""
    message_id = f"<delivery-{i}@commhub.example.org>"
    to = f"member{i}@example.net"
    head = (
        f"From: Evergreen <{SENDER}>\r\nTo: {to}\r\nSubject: Your refill is ready\r\n"
        f"Message-ID: {message_id}\r\nDate: Thu, 01 Jan 2025 09:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
    )
    line = "Your prescription refill is ready to pick up at your pharmacy today.\r\n"
    body_len = max(0, size - len(head) - 200)
    part = (line * (body_len // (2 * len(line)) + 1))[: body_len // 2]
    raw = (
        head
        + '--b1\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n'
        + part
        + '\r\n--b1\r\nContent-Type: text/html; charset="utf-8"\r\n\r\n<p>'
        + part
        + "</p>\r\n--b1--\r\n"
    ).encode()
    return OutgoingMessage(
        delivery_id=i,
        message_id=message_id,
        sender=SENDER,
        recipients=(to,),
        raw=raw,
        format=Format.LARGE_PRINT_EMAIL,
        language="en",
        subject="Your refill is ready",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The process behind each running sink, by port: benchmarks that count the sink's CPU.
SINK_PIDS: dict[int, int] = {}


@contextlib.contextmanager
def smtp_sink() -> Iterator[tuple[str, int]]:
    """Run an SMTP sink in another process on a free loopback port; yields (host, port)
    (its pid: SINK_PIDS[port]).

    postfix's C `smtp-sink` when installed (`make bench` installs it); otherwise aiosmtpd's
    Sink, with a warning: in Python it is slower than the hub's SMTP pool (~1,000-3,000
    messages/s on a core), so the rates and ratios then measure the sink, not the hub.
    """
    exe = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    port = _free_port()
    if os.access(exe, os.X_OK):
        command = [exe, "-u", "nobody", f"127.0.0.1:{port}", "1024"]
    else:
        print(
            "warning: postfix's smtp-sink is not installed (apt-get install postfix): using "
            "aiosmtpd, slower than the hub: the email rates below measure the sink"
        )
        command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
        command += ["-c", "aiosmtpd.handlers.Sink"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the SMTP sink did not start: {command[0]}") from None
                time.sleep(0.05)
        SINK_PIDS[port] = proc.pid
        yield "127.0.0.1", port
    finally:
        SINK_PIDS.pop(port, None)
        proc.terminate()
        proc.wait(timeout=5)


async def raw_send_rate(
    host: str, port: int, n: int = 20_000, pool_size: int = 8, *, warmup: int = 200
) -> float:
    """Messages per second sent by SmtpTransport (pool of `pool_size`) to host:port."""
    messages = [sample_message(i) for i in range(256)]
    transport = SmtpTransport(SmtpSettings(host=host, port=port, pool_size=pool_size))
    await transport.start()

    async def run(count: int) -> None:
        it = iter(range(count))

        async def sender() -> None:
            for i in it:
                await transport.send(messages[i & 255])

        await asyncio.gather(*(sender() for _ in range(pool_size * 2)))

    try:
        await run(warmup)  # open the connections before the clock starts
        start = time.perf_counter()
        await run(n)
        elapsed = time.perf_counter() - start
    finally:
        await transport.close()
    return n / elapsed


def smtplib_send_rate(host: str, port: int, n: int = 20_000, threads: int = 4) -> float:
    """The alternative: `threads` blocking stdlib smtplib connections, one per thread."""
    messages = [sample_message(i) for i in range(256)]
    counter = iter(range(n))
    lock = threading.Lock()

    def work() -> None:
        conn = smtplib.SMTP(host, port, local_hostname="bench.local")
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                m = messages[i & 255]
                conn.sendmail(m.sender, list(m.recipients), m.raw)
        finally:
            conn.quit()

    start = time.perf_counter()
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--pool", type=int, default=8)
    parser.add_argument("--client", choices=("aiosmtplib", "smtplib"), default="aiosmtplib")
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args()
    print(f"message size: {len(sample_message(0).raw)} bytes")
    with smtp_sink() as (host, port):
        if args.client == "smtplib":
            rate = smtplib_send_rate(host, port, args.n, args.pool)
            label = f"smtplib, {args.pool} threads"
        else:
            coro = raw_send_rate(host, port, args.n, args.pool)
            if args.no_uvloop:
                rate = asyncio.run(coro)
                label = f"SmtpTransport (aiosmtplib), pool {args.pool}, asyncio loop"
            else:
                import uvloop

                rate = uvloop.run(coro)
                label = f"SmtpTransport (aiosmtplib), pool {args.pool}, uvloop"
    print(f"{label}: {args.n} messages, {rate:,.0f} messages/s")


if __name__ == "__main__":
    main()
