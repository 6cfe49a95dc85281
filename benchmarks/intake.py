"""Campaign intake: POST a campaign of 100,000 recipients (JSON, then CSV) to `commhub serve`.

    .venv/bin/python -m benchmarks.intake [--n 100000] [--stores sqlite postgres]
        [--line-mb 5 10 20 40]

The members exist beforehand (stored directly). The campaign is scheduled for later, so the
server's workers leave it alone and the request measures validation + enqueue only. Printed:
recipients/s for the whole request (upload, parse, validate, one transaction that inserts
every delivery, response) and the server's peak RSS during the request (the kernel's
high-water mark, reset just before it), next to its RSS before.

Then one long import line (issue 12): an NDJSON body of N MB with no line break until its
end. Printed: how long the record splitter takes for it with no record limit (linear: twice
the size, twice the time), and over HTTP how long the server takes to refuse it (413 at the
per-record limit) and the slowest /healthz answer while it reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from benchmarks.common import (
    DATA,
    TEMPLATE,
    add_members,
    database,
    free_port,
    header,
    machine,
    make_members,
    reset_peak_rss,
    rss_mb,
    run,
    serve,
    usable_stores,
    workdir,
    write_config,
)

SEND_AT = "2099-01-01T09:00:00Z"


def json_body(n: int) -> bytes:
    return json.dumps(
        {
            "template": TEMPLATE,
            "name": "intake benchmark",
            "send_at": SEND_AT,
            "recipients": [{"member_id": f"M-{i}", "data": DATA} for i in range(n)],
        }
    ).encode()


def csv_body(n: int) -> bytes:
    lines = ["member_id,refill_date,pharmacy_name,refills_left"]
    row = f"{DATA['refill_date']},{DATA['pharmacy_name']},{DATA['refills_left']}"
    lines += [f"M-{i},{row}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float, Any]:
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as resp:
            answer = await resp.json()
        return resp.status, time.perf_counter() - started, answer


def measure(kind: str, n: int) -> dict[str, float]:
    results: dict[str, float] = {}
    with workdir(f"intake-{kind}") as folder, database(kind, folder) as url:
        port = free_port()
        config = write_config(
            folder, url, server={"port": port, "max_json_body_mb": 256}, workers={}
        )
        run(add_members(url, make_members(n)))
        with serve(config, port, log=folder / "serve.log") as server:
            for fmt, body, ctype, query in (
                ("JSON", json_body(n), "application/json", ""),
                (
                    "CSV",
                    csv_body(n),
                    "text/csv",
                    f"?template={TEMPLATE}&name=intake&send_at={SEND_AT}",
                ),
            ):
                before = rss_mb(server.pid)
                reset = reset_peak_rss(server.pid)
                status, seconds, answer = run(
                    post(
                        server.base + "/v1/campaigns" + query,
                        body,
                        server.headers(**{"Content-Type": ctype}),
                    )
                )
                peak = rss_mb(server.pid, "VmHWM")
                if status != 201:
                    print(f"  {kind} {fmt}: HTTP {status}: {str(answer)[:300]}")
                    continue
                results[f"{fmt}_rate"] = n / seconds
                results[f"{fmt}_peak_mb"] = peak
                print(
                    f"{kind:8} {fmt:4}: {n:,} recipients ({len(body) / 1e6:.1f} MB) in "
                    f"{seconds:.2f} s = {n / seconds:,.0f} recipients/s; server RSS "
                    f"{before:.0f} MB before, peak {'during' if reset else 'since start'} "
                    f"{peak:.0f} MB"
                )
    return results


_PIECE = 64 * 1024


def splitter_seconds(megabytes: int) -> float:
    """Seconds `RecordSplitter` takes for one line of `megabytes` MB, fed in 64 KiB pieces."""
    from commhub.api.bodies import RecordSplitter

    piece = "x" * _PIECE
    splitter = RecordSplitter(quoted=False, max_chars=2**62)
    started = time.perf_counter()
    for _ in range(megabytes * 16):
        splitter.feed(piece)
    records = splitter.feed("\n")
    elapsed = time.perf_counter() - started
    assert len(records) == 1 and len(records[0][1]) == megabytes * 16 * _PIECE
    return elapsed


async def _long_line(server: Any, megabytes: int) -> tuple[int, float, float]:
    """POST one line of `megabytes` MB; (status, seconds, slowest /healthz in seconds)."""

    async def body() -> AsyncIterator[bytes]:
        yield b'{"member_id": "L1", "given_name": "'
        for _ in range(megabytes * 16):
            yield b"x" * _PIECE

    slowest = 0.0
    done = asyncio.Event()
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def health() -> None:
            nonlocal slowest
            while not done.is_set():
                started = time.perf_counter()
                async with session.get(server.base + "/healthz") as resp:
                    await resp.read()
                slowest = max(slowest, time.perf_counter() - started)
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(health())
        started = time.perf_counter()
        headers = server.headers(**{"Content-Type": "application/x-ndjson"})
        try:
            async with session.post(
                server.base + "/v1/members/import", data=body(), headers=headers
            ) as resp:
                status = resp.status
                await resp.read()
        except aiohttp.ClientError:
            status = 0  # the server answered and closed before the upload ended
        seconds = time.perf_counter() - started
        done.set()
        await watcher
    return status, seconds, slowest


def long_lines(sizes: list[int]) -> dict[str, float]:
    results: dict[str, float] = {}
    for mb in sizes:
        seconds = splitter_seconds(mb)
        results[f"splitter_{mb}mb_s"] = seconds
        print(f"splitter: one {mb} MB line in 64 KiB pieces: {seconds:.3f} s")
    with workdir("intake-lines") as folder, database("sqlite", folder) as url:
        port = free_port()
        config = write_config(folder, url, server={"port": port}, workers={})
        with serve(config, port, log=folder / "serve.log") as server:
            for mb in sizes:
                status, seconds, slowest = run(_long_line(server, mb))
                results[f"http_{mb}mb_s"] = seconds
                results[f"http_{mb}mb_healthz_max_s"] = slowest
                print(
                    f"import of one {mb} MB NDJSON line: HTTP {status or 'closed'} after "
                    f"{seconds:.2f} s; slowest /healthz meanwhile {slowest * 1000:.0f} ms"
                )
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--line-mb", nargs="+", type=int, default=[5, 10, 20, 40])
    args = parser.parse_args(argv)
    header(f"Campaign intake: POST /v1/campaigns with {args.n:,} recipients; {machine()}")
    results: dict[str, Any] = {}
    for kind in usable_stores(args.stores):
        results[kind] = measure(kind, args.n)
    print("target: >= 20,000 recipients/s")
    header("One long import line: linear splitting, refused at the record limit")
    results["long_lines"] = long_lines(args.line_mb)
    print("target: splitting linear in the size; the line refused in < 1 s; /healthz < 50 ms")
    return results


if __name__ == "__main__":
    main()
