"""A slow SMTP server and the worker: leases renewed, "maybe sent" retried once.

Real components: a SQLite file and a PostgreSQL schema (tests/store_fixtures.py), a real
aiosmtpd server on 127.0.0.1 that takes each message and answers late, real workers.

- Lease renewal: the server answers only after more than a lease, and two workers, each
  with its own store connection and SMTP pool (as two processes would have), share the
  campaign. Without renewal the second worker takes every lease over while the first is
  still waiting for the server, and every member gets two copies.
- "Maybe sent": no answer after the message went out in full gets one careful retry; the
  mark is kept by the store, so an ordinary failure in between does not reset it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from commhub.domain import Format
from commhub.errors import StoreUnavailable
from commhub.store.factory import open_store
from commhub.transports.factory import build_transports
from commhub.transports.smtp import SmtpTransport
from commhub.worker import Worker
from tests.hub_harness import HubEnv, hub_env, write_config
from tests.smtp_server import SmtpTestServer
from tests.store_fixtures import store_url  # noqa: F401

LEASE = 1.0  # the shortest lease the settings allow
SLOW = 1.6  # seconds the server takes to answer each message: more than a lease
REFILL = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}


@pytest.fixture
async def env(
    tmp_path: Path,
    store_url: str,  # noqa: F811
    smtp_server: SmtpTestServer,
) -> AsyncIterator[HubEnv]:
    config = write_config(
        tmp_path,
        store_url,
        smtp_server.port,
        # Two messages at a time per lane, four per batch: a batch takes two slow answers,
        # more than three leases. The SMTP timeout is well above the server's delay (this is
        # not the "maybe sent" case).
        workers={"lease_seconds": LEASE, "batch_size": 4, "concurrency": 2},
        **{"transports.smtp": {"pool_size": 4, "timeout_seconds": 10}},
    )
    async for e in hub_env(config):
        yield e


def copies(server: SmtpTestServer) -> Counter[bytes]:
    """How many copies of each Message-ID the server received."""
    return Counter(
        line.split(b":", 1)[1].strip()
        for r in server.messages
        for line in r.content.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        if line.lower().startswith(b"message-id:")
    )


async def import_members(env: HubEnv, n: int) -> list[str]:
    """Members M-000.. (large print email), imported through the API; their ids."""
    members = [f"M-{i:03d}" for i in range(n)]
    await env.import_members(members)
    return members


async def test_two_workers_and_a_server_slower_than_the_lease_send_each_message_once(
    env: HubEnv, smtp_server: SmtpTestServer
) -> None:
    n = 16
    members = await import_members(env, n)
    cid = await env.campaign("refill_reminder", [{"member_id": m, "data": REFILL} for m in members])
    smtp_server.handler.data_delay = SLOW

    # The second worker has a store connection and an SMTP pool of its own.
    store2 = open_store(env.settings.database_url)
    transports2 = build_transports(env.settings)
    first = env.worker()
    second = Worker(env.settings, store2, env.hub.renderer.render, transports2)
    stop = asyncio.Event()
    started = time.monotonic()
    running = [asyncio.create_task(w.run(stop)) for w in (first, second)]
    try:
        deadline = started + 60
        while (counts := await env.counts(cid)) != {"sent": n}:
            assert time.monotonic() < deadline, f"campaign not finished: {counts}"
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        await asyncio.gather(*running)  # sends in flight finish first
        for t in {id(t): t for t in transports2.values()}.values():
            await t.close()
        await store2.close()

    received = copies(smtp_server)
    assert len(received) == n  # nobody lost
    second_copies = sum(received.values()) - n
    assert second_copies == 0, f"{second_copies} members got a second copy"
    # The work did outlast the leases (the test would prove nothing otherwise).
    assert elapsed > 2 * LEASE


async def test_a_failing_renewal_is_logged_and_the_work_goes_on(
    env: HubEnv, smtp_server: SmtpTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The store does not take renewals (an outage): the batch is still sent and recorded,
    with one renewal attempt per third of a lease, not more."""
    await import_members(env, 4)
    cid = await env.campaign(
        "refill_reminder", [{"member_id": f"M-{i:03d}", "data": REFILL} for i in range(4)]
    )
    smtp_server.handler.data_delay = SLOW
    calls: list[float] = []

    class NoRenewals:
        def __init__(self, store: Any) -> None:
            self._store = store

        def __getattr__(self, name: str) -> Any:
            return getattr(self._store, name)

        async def renew_leases(self, *args: Any) -> list[int]:
            calls.append(time.monotonic())
            raise StoreUnavailable("connection refused")

    worker = Worker(
        env.settings, NoRenewals(env.hub.store), env.hub.renderer.render, env.hub.transports
    )
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="commhub.worker"):
        assert await worker.run_until_idle() == 4
    elapsed = time.monotonic() - started
    assert await env.counts(cid) == {"sent": 4}
    assert len(smtp_server.messages) == 4
    assert calls and len(calls) <= elapsed / (LEASE / 3) + 1
    assert "lease renewal failed (StoreUnavailable)" in caplog.text
    # Nothing keeps renewing once the work is done.
    await asyncio.sleep(LEASE)
    assert len(calls) <= elapsed / (LEASE / 3) + 1


async def test_maybe_sent_twice_ends_the_delivery_even_with_a_failure_in_between(
    env: HubEnv, smtp_server: SmtpTestServer
) -> None:
    """maybe sent → an ordinary refusal (451 at RCPT: nothing reached the server) → maybe
    sent again: failed after two copies, not retried up to max_attempts (5) as when the
    worker read the mark back from the last error (the 451 had replaced it)."""
    (member,) = await import_members(env, 1)
    cid = await env.campaign("refill_reminder", [{"member_id": member, "data": REFILL}])
    smtp = replace(
        env.settings.transports.smtp, timeout_seconds=0.3, final_reply_timeout_seconds=0.3
    )
    transport = SmtpTransport(smtp)
    worker = Worker(
        env.settings, env.hub.store, env.hub.renderer.render, dict.fromkeys(Format, transport)
    )

    async def attempt() -> list[dict[str, Any]]:
        deadline = time.monotonic() + 10
        while await worker.run_once() == 0:  # waits out the retry's backoff (< 0.2 s)
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
        return [{k: d[k] for k in ("state", "attempts", "last_error")} for d in body["deliveries"]]

    try:
        smtp_server.handler.data_delay = 1.0  # the answer comes after final_reply_timeout
        (row,) = await attempt()
        assert (row["state"], row["last_error"][:11]) == ("retry_wait", "maybe sent:")
        smtp_server.handler.data_delay = 0.0
        smtp_server.script("451 4.3.0 try again", stage="rcpt")
        (row,) = await attempt()
        assert (row["state"], row["last_error"]) == ("retry_wait", "smtp: smtp 451 4.3.0 try again")
        smtp_server.handler.data_delay = 1.0
        (row,) = await attempt()
        assert row["state"] == "failed" and row["attempts"] == 3
        assert row["last_error"].startswith("maybe sent, not tried again: smtp: no answer")
    finally:
        await transport.close()
    assert len(copies(smtp_server)) == 1
    assert len(smtp_server.messages) == 2  # the two "maybe" attempts; the 451 sent nothing
