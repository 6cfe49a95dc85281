"""API under load: `GET /v1/campaigns/{id}` with 200 requests in flight while the campaign sends.

    .venv/bin/python -m benchmarks.api_latency [--n 20000] [--concurrency 200] [--seconds 10]
        [--stores sqlite postgres]

One `commhub serve` process (API and workers together, as on a single node) sends a campaign
of N large-print emails to `smtp-sink` while 200 clients (one aiohttp session, uvloop, in
this process) each repeat GET /v1/campaigns/{id} back to back. Printed: p50/p90/p99/max
latency, requests/s, and the messages the worker sent during the window (the load it had to
keep up with). The client shares the 2 cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import aiohttp

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


async def hammer(
    url: str, headers: dict[str, str], concurrency: int, seconds: float, warmup: float = 1.0
) -> tuple[list[float], int]:
    """Closed loop: `concurrency` clients, each sending its next request when one answers.
    Returns the latencies (seconds) after the warm-up and the number of errors."""
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        started = time.perf_counter()
        measure_from = started + warmup
        end = measure_from + seconds

        async def client() -> None:
            nonlocal errors
            while True:
                t0 = time.perf_counter()
                if t0 >= end:
                    return
                async with session.get(url) as resp:
                    await resp.read()
                    ok = resp.status == 200
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    if ok:
                        latencies.append(t1 - t0)
                    else:
                        errors += 1

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, errors


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def measure(
    kind: str, n: int, concurrency: int, seconds: float, smtp: tuple[str, int]
) -> dict[str, float]:
    with workdir(f"api-{kind}") as folder, database(kind, folder) as url:
        port = free_port()
        config = write_config(folder, url, server={"port": port}, **smtp_section(*smtp), workers={})
        campaign_id = run(enqueue(url, make_members(n)))
        with serve(config, port, log=folder / "serve.log") as server:
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
    print(
        f"{kind:8}: {len(ms):,} requests, {result['rps']:,.0f}/s, p50 {result['p50']:.1f} ms, "
        f"p90 {result['p90']:.1f} ms, p99 {result['p99']:.1f} ms, max {result['max']:.0f} ms, "
        f"{errors} errors; worker sent {sent:,} messages meanwhile "
        f"({'still sending at the end' if still_sending else 'campaign finished during the run'})"
    )
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="campaign size")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args(argv)
    header(
        f"API under load: GET /v1/campaigns/{{id}}, {args.concurrency} in flight, while a "
        f"{args.n:,}-member campaign sends; {machine()}"
    )
    results: dict[str, Any] = {}
    with smtp_sink() as smtp:
        for kind in usable_stores(args.stores):
            results[kind] = measure(kind, args.n, args.concurrency, args.seconds, smtp)
    print("target: p99 < 50 ms")
    return results


if __name__ == "__main__":
    main()
