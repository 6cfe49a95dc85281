"""Scale-out: three `commhub worker` processes share one database; one is killed mid-campaign.

What a plan's operator relies on: after a worker process dies (SIGKILL: no cleanup), every
member still gets the message; a member gets it twice only if it was in flight in the dead
worker (sent, but not yet recorded), and then both copies carry the same Message-ID so mail
systems can drop the copy; nothing stays unsent. The deliveries the dead worker held are
taken over by the others once their short lease expires.

Runs on PostgreSQL (the scale-out store; an isolated schema per test) and, smaller, on SQLite
(several processes on one file).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import inspect
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from commhub.domain import Format, Member, Recipient
from commhub.store.base import NewCampaign, Store
from commhub.store.factory import open_store
from commhub.worker import Worker
from tests.smtp_server import SmtpTestServer
from tests.store_fixtures import POSTGRES_URL, _admin, with_search_path

pytestmark = pytest.mark.real

WORKERS = 3
BATCH = 16
LEASE_SECONDS = 3
# A worker holds at most one claimed batch per lane: the most it can have sent but not recorded.
IN_FLIGHT_BOUND = inspect.signature(Worker).parameters["lanes"].default * BATCH
DATA = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}


@pytest.fixture(
    params=[
        pytest.param(("postgres", 5000), id="postgres-5000"),
        pytest.param(("sqlite", 1500), id="sqlite-1500"),
    ]
)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, int]]:
    """(database URL, number of members): an empty PostgreSQL schema or SQLite file."""
    kind, n = request.param
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'commhub.db'}", n
        return
    schema = "scale_" + secrets.token_hex(6)
    conn = await _admin()
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    try:
        yield with_search_path(POSTGRES_URL, schema), n
    finally:
        conn = await _admin()
        try:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await conn.close()


def write_config(folder: Path, url: str, smtp_port: int) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"""
[database]
url = "{url}"
[delivery]
large_print_email = "smtp"
audio = "smtp"
relay_text = "smtp"
[transports.smtp]
host = "127.0.0.1"
port = {smtp_port}
pool_size = 4
timeout_seconds = 10
[quiet_hours]
enabled = false
[workers]
batch_size = {BATCH}
concurrency = {BATCH}
lease_seconds = {LEASE_SECONDS}
poll_seconds = 0.05
backoff_base_seconds = 0.1
backoff_max_seconds = 0.5
""",
        encoding="utf-8",
    )
    return path


async def enqueue_campaign(store: Store, n: int) -> str:
    members = [
        Member(
            member_id=f"M-{i}",
            given_name="Alex",
            family_name="Rivera",
            language="en",
            format=Format.LARGE_PRINT_EMAIL,
            email=f"m{i}@example.org",
            timezone="America/Los_Angeles",
        )
        for i in range(n)
    ]
    await store.upsert_members(members)
    campaign, _ = await store.create_campaign(
        NewCampaign(
            name="scale-out",
            template="refill_reminder",
            send_at=None,
            recipients=[Recipient(m.member_id, dict(DATA)) for m in members],
        )
    )
    return campaign.id


def start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMHUB_")}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "commhub", "--config", str(config), "worker"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=config.parent,
        )


def message_id(raw: bytes) -> str:
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    return str(parsed["Message-ID"])


async def test_killed_worker_loses_nothing_and_duplicates_only_in_flight(
    database: tuple[str, int], tmp_path: Path
) -> None:
    url, n = database
    store = open_store(url)
    await store.migrate()
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / f"worker-{i}.log" for i in range(WORKERS)]
    try:
        campaign_id = await enqueue_campaign(store, n)
        with SmtpTestServer() as server:
            config = write_config(tmp_path, url, server.port)
            procs = [start_worker(config, log) for log in logs]

            # Kill one worker midway: after some members got the message, before all did.
            deadline = time.monotonic() + 30
            while len(server.messages) < n // 5:
                assert time.monotonic() < deadline, "workers did not start sending"
                assert all(p.poll() is None for p in procs), "a worker exited early"
                await asyncio.sleep(0.01)
            victim = procs[0]
            assert victim.poll() is None
            victim.send_signal(signal.SIGKILL)
            at_kill = len(server.messages)
            victim.wait(timeout=5)
            assert at_kill < n, "the campaign finished before the kill: make it bigger"

            # The survivors take over the dead worker's leases and finish the campaign.
            deadline = time.monotonic() + 45
            while True:
                counts = (await store.campaign_counts(campaign_id)).by_state
                if counts["sent"] == n:
                    break
                assert time.monotonic() < deadline, f"campaign not finished: {counts}"
                assert all(p.poll() is None for p in procs[1:]), "a surviving worker exited"
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.3)  # a late duplicate would arrive now
            received = server.messages
        stored_ids: dict[str, str | None] = {}
        after = 0
        while page := await store.list_deliveries(campaign_id, limit=1000, after_id=after):
            stored_ids.update((d.member_id, d.message_id) for d in page)
            after = page[-1].id
    except BaseException:
        for log in logs:
            sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}\n")
        raise
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        await store.close()

    # Nothing left unclaimed or unsent: every delivery is sent.
    assert counts["sent"] == n and sum(counts.values()) == n, counts

    # Every member received the message, with the Message-ID the store recorded for it.
    copies: dict[str, list[str]] = defaultdict(list)
    for r in received:
        assert len(r.rcpt_tos) == 1
        copies[r.rcpt_tos[0]].append(message_id(r.content))
    assert set(copies) == {f"m{i}@example.org" for i in range(n)}
    for i in range(n):
        ids = copies[f"m{i}@example.org"]
        assert ids[0] == stored_ids[f"M-{i}"], f"M-{i}: received {ids[0]}, stored another id"

    # Duplicates: only what the killed worker had in flight, each a copy with the same id.
    duplicated = {to: ids for to, ids in copies.items() if len(ids) > 1}
    extra = sum(len(ids) - 1 for ids in duplicated.values())
    assert all(len(set(ids)) == 1 for ids in duplicated.values()), duplicated
    assert extra <= IN_FLIGHT_BOUND, f"{extra} duplicates > in-flight bound {IN_FLIGHT_BOUND}"
    assert len(received) == n + extra
