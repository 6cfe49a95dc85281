"""The SMTP pool adapts to a server that limits us, like postfix's
`smtpd_client_connection_count_limit` and `smtpd_timeout`: refused connections and
connections the server closed while idle are never charged to a message."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from commhub.transports.smtp import AdaptivePool, SmtpTransport
from tests.hub_harness import HubEnv, hub_env, write_config
from tests.smtp_server import SmtpTestServer
from tests.test_transport_smtp import make_message, settings_for

pytestmark = pytest.mark.real

REFILL = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}


@pytest.fixture
def strict_server() -> AsyncIterator[SmtpTestServer]:
    """Two connections at a time; an idle one is closed after 1 s with a 421."""
    with SmtpTestServer(max_connections=2, idle_timeout=1.0) as server:
        yield server


def message_ids(server: SmtpTestServer) -> Counter[str]:
    return Counter(
        str(email.message_from_bytes(r.content, policy=email.policy.default)["Message-ID"])
        for r in server.messages
    )


async def test_pool_of_8_against_a_server_allowing_2(strict_server: SmtpTestServer) -> None:
    transport = SmtpTransport(settings_for(strict_server, pool_size=8))
    failures: list[Exception] = []
    try:

        async def wave(first: int, count: int) -> None:
            numbers = iter(range(first, first + count))

            async def sender() -> None:
                for i in numbers:
                    try:
                        await transport.send(make_message(i, to=f"m{i}@example.net"))
                    except Exception as exc:
                        failures.append(exc)

            await asyncio.gather(*(sender() for _ in range(16)))

        await wave(0, 300)
        assert transport.pool.width <= 2
        await asyncio.sleep(1.4)  # the server closes both idle connections (421 timeout)
        await wave(300, 300)
    finally:
        await transport.close()
    assert failures == []
    ids = message_ids(strict_server)
    assert len(strict_server.messages) == 600
    assert len(ids) == 600 and max(ids.values()) == 1  # every message once, none twice
    limits = strict_server.limits
    assert limits.peak <= 2
    assert limits.refused >= 1  # the pool asked for more, was refused, and adapted
    assert limits.idle_closed >= 1


async def test_nothing_open_and_refused_is_transient_after_retries() -> None:
    server = SmtpTestServer(max_connections=0)
    server.start()
    before = server.limits.refused  # the controller's own check that the server is up
    transport = SmtpTransport(settings_for(server))
    try:
        start = time.monotonic()
        with pytest.raises(Exception, match="refused"):
            await transport.send(make_message(1))
        assert time.monotonic() - start < 3
    finally:
        await transport.close()
        server.stop()
    assert server.limits.refused - before == 1 + SmtpTransport.CONNECT_RETRIES


async def test_too_much_mail_halves_the_pool_and_it_grows_back(server: SmtpTestServer) -> None:
    transport = SmtpTransport(settings_for(server, pool_size=8))
    transport.pool = AdaptivePool(8, base_backoff=0.05)
    try:
        await asyncio.gather(*(transport.send(make_message(i)) for i in range(16)))
        assert transport.pool.width == 8
        server.script("451 4.7.1 too much mail from your IP, slow down")
        with pytest.raises(Exception, match="451"):
            await transport.send(make_message(100))
        assert transport.pool.width == 4
        # A 451 for one mailbox (greylisting) is no reason to slow the pool.
        server.script("451 4.2.0 mailbox busy, try again", stage="rcpt")
        with pytest.raises(Exception, match="451"):
            await transport.send(make_message(101))
        assert transport.pool.width == 4
        await asyncio.sleep(0.1)  # past the back-off: successes widen it again, one by one
        for i in range(200, 260):
            await transport.send(make_message(i))
        assert transport.pool.width == 8
    finally:
        await transport.close()


@pytest.fixture
def server() -> AsyncIterator[SmtpTestServer]:
    with SmtpTestServer() as running:
        yield running


async def test_helo_name_is_the_configured_one(server: SmtpTestServer) -> None:
    seen: list[str] = []
    original = server.handler.handle_MAIL

    async def handle_mail(srv, session, envelope, address, options):  # type: ignore[no-untyped-def]
        seen.append(session.host_name)
        return await original(srv, session, envelope, address, options)

    server.handler.handle_MAIL = handle_mail  # type: ignore[method-assign]
    transport = SmtpTransport(settings_for(server, helo_name="mail.evergreen-health.example"))
    try:
        await transport.send(make_message(1))
    finally:
        await transport.close()
    assert seen == ["mail.evergreen-health.example"]


@pytest.fixture
async def limited_hub(tmp_path: Path, strict_server: SmtpTestServer) -> AsyncIterator[HubEnv]:
    config = write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'hub.db'}",
        strict_server.port,
        transports__smtp={"pool_size": 8},
        workers={"batch_size": 64, "max_attempts": 8},
    )
    async for e in hub_env(config):
        yield e


async def test_campaign_of_2000_to_a_server_allowing_2_connections(
    limited_hub: HubEnv, strict_server: SmtpTestServer
) -> None:
    env = limited_hub
    lines = [
        json.dumps(
            {
                "member_id": f"M{i}",
                "given_name": "Alex",
                "language": "en",
                "format": "large_print_email",
                "email": f"m{i}@example.org",
                "timezone": "America/Los_Angeles",
            }
        )
        for i in range(2000)
    ]
    status, body = await env.call(
        "POST",
        "/v1/members/import",
        data="\n".join(lines),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert status == 200, body
    recipients = [{"member_id": f"M{i}", "data": REFILL} for i in range(2000)]
    worker = env.worker()
    first = await env.campaign("refill_reminder", recipients[:1000])
    assert await env.drain(first, worker) == {"sent": 1000}
    await asyncio.sleep(1.4)  # the server closes the idle pooled connections
    second = await env.campaign("refill_reminder", recipients[1000:])
    assert await env.drain(second, worker) == {"sent": 1000}

    attempts: Counter[int] = Counter()
    for cid in (first, second):
        after = 0
        while True:
            status, page = await env.call(
                "GET", f"/v1/campaigns/{cid}/deliveries?limit=500&after={after}"
            )
            assert status == 200, page
            rows = page["deliveries"]
            if not rows:
                break
            attempts.update(r["attempts"] for r in rows)
            after = rows[-1]["id"]
    assert attempts == {1: 2000}  # no refusal or idle close was charged to a message
    ids = message_ids(strict_server)
    assert len(strict_server.messages) == 2000 and len(ids) == 2000  # no duplicates
    assert strict_server.limits.peak <= 2
    assert strict_server.limits.refused >= 1
    assert strict_server.limits.idle_closed >= 1
