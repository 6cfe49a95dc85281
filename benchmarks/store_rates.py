"""Store rates: member import, campaign intake, and claim+record of 100,000 deliveries.

    .venv/bin/python benchmarks/store_rates.py [--n 100000] [--batch 100] [--workers 1 4]
        [--sqlite-only | --postgres-only] [--postgres-url URL]

SQLite runs on a temporary file; PostgreSQL in a throwaway schema of the `test` database
(COMMHUB_TEST_POSTGRES_URL overrides the URL). Each worker is its own store (its own SQLite
connection, or its own asyncpg pool), as separate processes would be.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from commhub.domain import DeliveryOutcome, Format, Member, Recipient, State
from commhub.store.base import NewCampaign, Store
from commhub.store.factory import open_store

PG_URL = os.environ.get("COMMHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def members(n: int, prefix: str) -> list[Member]:
    return [
        Member(
            member_id=f"{prefix}{i}",
            given_name="Ana",
            family_name="Pérez",
            language=("es", "vi", "zh-Hans", "en")[i % 4],
            format=(Format.LARGE_PRINT_EMAIL, Format.AUDIO, Format.RELAY_TEXT)[i % 3],
            email=f"{prefix}{i}@example.org",
            timezone="America/Los_Angeles",
        )
        for i in range(n)
    ]


async def drain(store: Store, worker: str, batch: int) -> int:
    done = 0
    now = datetime.now(UTC)
    while claimed := await store.claim(worker, batch, 60.0, now):
        await store.record(
            worker,
            [DeliveryOutcome(c.id, State.SENT, message_id=f"<d{c.id}@x>") for c in claimed],
            now,
        )
        done += len(claimed)
    return done


async def run(url: str, label: str, n: int, batch: int, worker_counts: list[int]) -> None:
    store = open_store(url)
    await store.migrate()
    try:
        for round_no, workers in enumerate(worker_counts):
            prefix = f"r{round_no}m"
            people = members(n, prefix)
            t0 = time.perf_counter()
            await store.upsert_members(people)
            t_members = time.perf_counter() - t0
            t0 = time.perf_counter()
            await store.create_campaign(
                NewCampaign(
                    name="bench",
                    template="refill_reminder",
                    send_at=None,
                    recipients=[
                        Recipient(m.member_id, {"drug": "Lisinopril", "refill_date": "2030-01-01"})
                        for m in people
                    ],
                )
            )
            t_intake = time.perf_counter() - t0
            stores = [store] + [open_store(url) for _ in range(workers - 1)]
            t0 = time.perf_counter()
            counts = await asyncio.gather(*(drain(s, f"w{i}", batch) for i, s in enumerate(stores)))
            t_claim = time.perf_counter() - t0
            for s in stores[1:]:
                await s.close()
            assert sum(counts) == n, counts
            print(
                f"{label:10} workers={workers}  members {n / t_members:9,.0f}/s"
                f"  intake {n / t_intake:9,.0f}/s  claim+record {n / t_claim:9,.0f}/s"
                f"  (batch {batch}, {t_claim:.2f} s)"
            )
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--postgres-url", default=PG_URL)
    args = parser.parse_args()
    if not args.postgres_only:
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite:///{tmp}/bench.db", "sqlite", args.n, args.batch, args.workers)
    if not args.sqlite_only:
        schema = "bench_" + secrets.token_hex(4)
        admin = await asyncpg.connect(args.postgres_url)
        await admin.execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in args.postgres_url else "?"
        try:
            await run(
                f"{args.postgres_url}{sep}search_path={schema}",
                "postgresql",
                args.n,
                args.batch,
                args.workers,
            )
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
            await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
