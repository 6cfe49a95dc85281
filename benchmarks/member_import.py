"""Member import: a 1,000,000-row CSV streamed to `POST /v1/members/import` of `commhub serve`.

    .venv/bin/python -m benchmarks.member_import [--rows 1000000] [--stores sqlite postgres]

The client generates the CSV on the fly and streams it (chunked upload), so neither side
holds the whole file. Printed: rows/s for the whole request (upload, validation of every row,
spool, upsert in batches) and the server's peak RSS during it (the kernel's high-water mark,
reset just before the request). Target: streaming, peak RSS < 250 MB.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from benchmarks.common import (
    FAMILY,
    GIVEN,
    database,
    free_port,
    header,
    machine,
    reset_peak_rss,
    rss_mb,
    run,
    serve,
    usable_stores,
    workdir,
    write_config,
)

COLUMNS = "member_id,given_name,family_name,language,format,email,timezone,opted_out\n"
LANGS = ("en", "es", "vi", "zh-Hans", "ru", "ko")
FORMATS = ("large_print_email", "large_print_email", "audio", "relay_text")


async def csv_chunks(rows: int, rows_per_chunk: int = 2000) -> AsyncIterator[bytes]:
    """The CSV, a few thousand rows at a time."""
    yield COLUMNS.encode()
    for start in range(0, rows, rows_per_chunk):
        lines = []
        for i in range(start, min(rows, start + rows_per_chunk)):
            lines.append(
                f"I-{i},{GIVEN[i % 10]},{FAMILY[i % 9]},{LANGS[i % 6]},{FORMATS[i % 4]},"
                f"member{i}@example.org,America/Los_Angeles,false\n"
            )
        yield "".join(lines).encode()


async def upload(url: str, rows: int, headers: dict[str, str]) -> tuple[int, float, Any]:
    timeout = aiohttp.ClientTimeout(total=1800)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.perf_counter()
        async with session.post(url, data=csv_chunks(rows), headers=headers) as resp:
            answer = await resp.json()
        return resp.status, time.perf_counter() - started, answer


def measure(kind: str, rows: int) -> dict[str, float]:
    with workdir(f"import-{kind}") as folder, database(kind, folder) as url:
        port = free_port()
        config = write_config(folder, url, server={"port": port, "max_body_mb": 1024})
        with serve(config, port, log=folder / "serve.log") as server:
            before = rss_mb(server.pid)
            reset = reset_peak_rss(server.pid)
            status, seconds, answer = run(
                upload(
                    server.base + "/v1/members/import",
                    rows,
                    server.headers(**{"Content-Type": "text/csv"}),
                )
            )
            peak = rss_mb(server.pid, "VmHWM")
    if status != 200:
        print(f"{kind}: HTTP {status}: {str(answer)[:300]}")
        return {}
    print(
        f"{kind:8}: {answer.get('imported', 0):,} rows in {seconds:.1f} s = "
        f"{rows / seconds:,.0f} rows/s; server RSS {before:.0f} MB before, peak "
        f"{'during' if reset else 'since start'} {peak:.0f} MB"
    )
    return {"rate": rows / seconds, "peak_mb": peak}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stores", nargs="+", default=["sqlite"])
    args = parser.parse_args(argv)
    header(f"Member import: {args.rows:,}-row CSV streamed to POST /v1/members/import; {machine()}")
    results: dict[str, Any] = {}
    for kind in usable_stores(args.stores):
        results[kind] = measure(kind, args.rows)
    print("target: streaming, server peak RSS < 250 MB")
    return results


if __name__ == "__main__":
    main()
