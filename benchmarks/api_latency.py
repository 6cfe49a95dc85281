"""API under load: `GET /v1/campaigns/{id}` with 200 requests in flight while the campaign sends.

    .venv/bin/python -m benchmarks.api_latency [--n 20000] [--concurrency 200] [--seconds 10]
        [--stores sqlite postgres] [--servers 1 2]

One `commhub serve` process (API and workers together, as on a single node) sends a campaign
of N large-print emails to `smtp-sink` while 200 keep-alive connections (a lean HTTP/1.1
client on uvloop, in this process) each repeat GET /v1/campaigns/{id} back to back; then
two serve processes sharing the port (server.reuse_port), as a node using both cores.
Printed: p50/p90/p99/max latency, requests/s, and the messages the workers sent during the
window (the load they had to keep up with). The client shares the 2 cores with the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

from benchmarks.common import (
    counts,
    database,
    enqueue,
    free_port,
    header,
    machine,
    make_members,
    run,
    serve,
    smtp_section,
    usable_stores,
    workdir,
    write_config,
)
from benchmarks.smtp_raw import smtp_sink


class _Client(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection sending the same GET back to back (closed loop).

    A load generator must not be the bottleneck it measures: aiohttp's client spent ~80 us
    of CPU per request, more than the server (~60 us), so on 2 shared cores the client's own
    queue set the latency. This one writes pre-built request bytes and reads a response by
    its Content-Length (~15 us per request)."""

    def __init__(self, request: bytes, done: Callable[[float, bool], bool]) -> None:
        self.request = request
        self.done = done  # (latency, ok) -> whether to send another
        self.buffer = b""
        self.sent_at = 0.0
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.send()

    def send(self) -> None:
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        ok = self.buffer.startswith(b"HTTP/1.1 200")
        self.buffer = self.buffer[end + 4 + length :]
        if self.done(time.perf_counter() - self.sent_at, ok):
            self.send()
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def hammer(
    url: str, headers: dict[str, str], concurrency: int, seconds: float, warmup: float = 1.0
) -> tuple[list[float], int]:
    """Closed loop: `concurrency` connections, each sending its next request when one answers.
    Returns the latencies (seconds) after the warm-up and the number of errors."""
    parts = urlsplit(url)
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    measure_from = started + warmup
    end = measure_from + seconds

    def done(latency: float, ok: bool) -> bool:
        nonlocal errors
        now = time.perf_counter()
        if now - latency >= measure_from:
            if ok:
                latencies.append(latency)
            else:
                errors += 1
        return now < end

    loop = asyncio.get_running_loop()
    clients = []
    for _ in range(concurrency):
        _, client = await loop.create_connection(
            lambda: _Client(request, done), parts.hostname, parts.port
        )
        clients.append(client)
    await asyncio.gather(*(c.closed for c in clients))
    return latencies, errors


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def measure(
    kind: str, n: int, concurrency: int, seconds: float, smtp: tuple[str, int], servers: int = 1
) -> dict[str, float]:
    with workdir(f"api-{kind}") as folder, database(kind, folder) as url:
        port = free_port()
        server_section = {"port": port, "reuse_port": servers > 1}
        config = write_config(folder, url, server=server_section, **smtp_section(*smtp), workers={})
        campaign_id = run(enqueue(url, make_members(n)))
        with serve(config, port, log=folder / "serve.log", processes=servers) as server:
            time.sleep(0.5)  # let the worker get going
            sent_before = run(counts(url, campaign_id)).get("sent", 0)
            latencies, errors = run(
                hammer(
                    f"{server.base}/v1/campaigns/{campaign_id}",
                    server.headers(),
                    concurrency,
                    seconds,
                )
            )
            after = run(counts(url, campaign_id))
    sent = after.get("sent", 0) - sent_before
    still_sending = after.get("sent", 0) < n
    ms = [v * 1000 for v in latencies]
    result = {
        "p50": statistics.median(ms),
        "p90": pct(ms, 90),
        "p99": pct(ms, 99),
        "max": max(ms),
        "rps": len(ms) / seconds,
    }
    label = f"{kind}, {servers} serve{'s' if servers > 1 else ''}"
    print(
        f"{label:18}: {len(ms):,} requests, {result['rps']:,.0f}/s, p50 {result['p50']:.1f} ms, "
        f"p90 {result['p90']:.1f} ms, p99 {result['p99']:.1f} ms, max {result['max']:.0f} ms, "
        f"{errors} errors; worker{'s' if servers > 1 else ''} sent {sent:,} messages meanwhile "
        f"({'still sending at the end' if still_sending else 'campaign finished during the run'})"
    )
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="campaign size")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument(
        "--servers",
        nargs="+",
        type=int,
        default=[1, 2],
        help="serve process counts (more than 1 share the port: server.reuse_port)",
    )
    args = parser.parse_args(argv)
    header(
        f"API under load: GET /v1/campaigns/{{id}}, {args.concurrency} in flight, while a "
        f"{args.n:,}-member campaign sends; {machine()}"
    )
    results: dict[str, Any] = {}
    with smtp_sink() as smtp:
        for kind in usable_stores(args.stores):
            for servers in args.servers:
                results[f"{kind}-{servers}"] = measure(
                    kind, args.n, args.concurrency, args.seconds, smtp, servers
                )
    print("target: p99 < 50 ms")
    return results


if __name__ == "__main__":
    main()
