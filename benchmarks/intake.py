"""Campaign intake: POST a campaign of 100,000 recipients (JSON, then CSV) to `commhub serve`.

    .venv/bin/python -m benchmarks.intake [--n 100000] [--stores sqlite postgres]

The members exist beforehand (stored directly). The campaign is scheduled for later, so the
server's workers leave it alone and the request measures validation + enqueue only. Printed:
recipients/s for the whole request (upload, parse, validate, one transaction that inserts
every delivery, response) and the server's peak RSS during the request (the kernel's
high-water mark, reset just before it), next to its RSS before.
"""

from __future__ import annotations

import argparse
import json
import time
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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args(argv)
    header(f"Campaign intake: POST /v1/campaigns with {args.n:,} recipients; {machine()}")
    results: dict[str, Any] = {}
    for kind in usable_stores(args.stores):
        results[kind] = measure(kind, args.n)
    print("target: >= 20,000 recipients/s")
    return results


if __name__ == "__main__":
    main()
