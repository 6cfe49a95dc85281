"""The hub end to end: a campaign queued over HTTP reaches every member's inbox.

Real store (SQLite file, and PostgreSQL where it runs), the real HTTP API, real workers and a
real aiosmtpd SMTP server; assertions are on what the server actually received.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import inspect
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from commhub.worker import Worker
from tests.hub_harness import HubEnv, hub_env, write_config
from tests.smtp_server import SmtpTestServer
from tests.store_fixtures import store_url  # noqa: F401  (parametrized: sqlite, postgres)

REFILL = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}


@pytest.fixture
async def env(tmp_path: Path, store_url: str, smtp_server: SmtpTestServer) -> AsyncIterator[HubEnv]:  # noqa: F811
    config = write_config(tmp_path, store_url, smtp_server.port)
    async for e in hub_env(config):
        yield e


def parse(raw: bytes) -> email.message.EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


async def test_campaign_reaches_every_inbox(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    for i in range(5):
        await env.add_member(f"M-{i}")
    await env.add_member("M-relay", format="relay_text", relay_address="relay-5@relay.example.org")
    await env.add_member("M-out", opted_out=True)
    await env.add_member("M-gone")
    status, _ = await env.call("DELETE", "/v1/members/M-gone")
    assert status in (200, 204)
    ids = [f"M-{i}" for i in range(5)] + ["M-relay", "M-out"]
    cid = await env.campaign("refill_reminder", [{"member_id": m, "data": REFILL} for m in ids])

    observed: Counter[str] = Counter()
    worker = env.hub.worker(on_outcome=lambda outcome, _: observed.update([outcome.state]))
    counts = await env.drain(cid, worker)
    assert counts == {"sent": 6, "skipped": 1}
    assert observed == counts  # the metrics hook hears of skips too, not only sends

    received = smtp_server.messages
    assert len(received) == 6
    by_rcpt = {r.rcpt_tos: r for r in received}
    assert set(by_rcpt) == {(f"m-{i}@example.org",) for i in range(5)} | {
        ("relay-5@relay.example.org",)
    }
    message_ids = [parse(r.content)["Message-ID"] for r in received]
    assert len(set(message_ids)) == 6, "every delivery has its own Message-ID"
    # The campaign's random id in each one keeps them unique beyond this database, whose
    # delivery ids another database (a reset, a move to PostgreSQL) would use again.
    assert all(m.endswith(f".{cid}@commhub.example.org>") for m in message_ids), message_ids

    msg = parse(by_rcpt[("m-0@example.org",)].content)
    assert msg["Subject"] == "Time to refill your prescription"
    assert msg["To"] == "m-0@example.org"
    assert "Evergreen Community Health Plan" in msg["From"]
    assert msg.get_content_type() == "multipart/alternative"
    text_part, html_part = msg.get_payload()  # type: ignore[misc]
    assert text_part.get_content_type() == "text/plain"  # EM-12: text first
    assert html_part.get_content_type() == "text/html"
    assert "December 3, 2026" in text_part.get_content()
    assert "1-800-555-0101" in text_part.get_content()
    assert "<title>Time to refill your prescription</title>" in html_part.get_content()

    relay = parse(by_rcpt[("relay-5@relay.example.org",)].content)
    assert relay.get_content_type() == "text/plain"
    assert relay.get_content().rstrip().endswith("SK")

    # The recorded states: per-member rows carry the Message-ID that went out.
    status, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries?state=sent")
    assert status == 200
    rows = body["deliveries"]
    assert {row["member_id"] for row in rows} == {f"M-{i}" for i in range(5)} | {"M-relay"}
    assert {row["message_id"] for row in rows} == set(message_ids)
    # Every state change is recorded, in order, with its time.
    history = await env.hub.store.delivery_history(rows[0]["id"])
    assert [h.state for h in history] == ["queued", "rendering", "sending", "sent"]
    assert all(a.at <= b.at for a, b in itertools.pairwise(history))
    status, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries?state=skipped")
    assert [row["member_id"] for row in body["deliveries"]] == ["M-out"]
    assert "opted out" in body["deliveries"][0]["last_error"]


async def test_erased_member_is_skipped(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    await env.add_member("M-1")
    await env.add_member("M-2")
    cid = await env.campaign(
        "screening_reminder",
        [
            {"member_id": m, "data": {"due_date": "2027-01-15", "clinic_name": "Riverside"}}
            for m in ("M-1", "M-2")
        ],
    )
    status, _ = await env.call("DELETE", "/v1/members/M-2")
    assert status in (200, 204)
    assert await env.drain(cid) == {"sent": 1, "skipped": 1}
    assert [r.rcpt_tos for r in smtp_server.messages] == [("m-1@example.org",)]


async def test_451_is_retried_and_sent_once(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    await env.add_member("M-1")
    smtp_server.script("451 4.3.0 Try again later")
    cid = await env.campaign("refill_reminder", [{"member_id": "M-1", "data": REFILL}])
    worker = env.worker()
    await worker.run_once()
    assert await env.counts(cid) == {"retry_wait": 1}
    _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
    assert "451" in body["deliveries"][0]["last_error"]
    assert await env.drain(cid, worker) == {"sent": 1}
    assert len(smtp_server.messages) == 1
    _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
    assert body["deliveries"][0]["attempts"] == 2


async def test_550_fails_with_the_reason(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    await env.add_member("M-1")
    await env.add_member("M-2")
    smtp_server.script("550 5.1.1 Mailbox unavailable", stage="rcpt")
    cid = await env.campaign("refill_reminder", [{"member_id": "M-1", "data": REFILL}])
    assert await env.drain(cid) == {"failed": 1}
    _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries?state=failed")
    (row,) = body["deliveries"]
    assert "550" in row["last_error"]
    assert "example.org" not in row["last_error"], "no member address in recorded errors"
    assert smtp_server.messages == []


async def test_server_going_away_mid_campaign(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    members = [f"M-{i}" for i in range(20)]
    for m in members:
        await env.add_member(m)
    cid = await env.campaign("refill_reminder", [{"member_id": m, "data": REFILL} for m in members])
    worker = env.worker()
    await worker.run_once()  # the first batch goes out
    sent_before = len(smtp_server.messages)
    assert 0 < sent_before < 20
    smtp_server.stop()
    await worker.run_once()  # the rest of the campaign meets a closed port
    assert await env.counts(cid) == {"sent": sent_before, "retry_wait": 20 - sent_before}
    smtp_server.start()
    assert await env.drain(cid, worker) == {"sent": 20}
    rcpts = Counter(r.rcpt_tos for r in smtp_server.messages)
    assert len(rcpts) == 20 and set(rcpts.values()) == {1}


async def test_attempts_are_bounded(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    await env.add_member("M-1")
    smtp_server.script("421 4.7.0 Too busy", count=10)
    cid = await env.campaign("refill_reminder", [{"member_id": "M-1", "data": REFILL}])
    assert await env.drain(cid) == {"failed": 1}
    _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
    (row,) = body["deliveries"]
    assert row["attempts"] == env.settings.workers.max_attempts
    assert "gave up after" in row["last_error"]


async def test_send_at_waits(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    await env.add_member("M-1")
    cid = await env.campaign(
        "refill_reminder",
        [{"member_id": "M-1", "data": REFILL}],
        send_at="2099-01-01T09:00:00-08:00",
    )
    await env.worker().run_until_idle()
    assert await env.counts(cid) == {"queued": 1}
    status, body = await env.call("GET", f"/v1/campaigns/{cid}")
    assert body["status"] == "scheduled"
    status, body = await env.call("POST", f"/v1/campaigns/{cid}/cancel")
    assert status == 200
    assert await env.counts(cid) == {"cancelled": 1}
    assert smtp_server.messages == []


async def test_quiet_hours_defer_never_drop(
    tmp_path: Path,
    store_url: str,  # noqa: F811
    smtp_server: SmtpTestServer,
) -> None:
    # Quiet all day long except one minute: the delivery is held with a retry time.
    config = write_config(
        tmp_path,
        store_url,
        smtp_server.port,
        quiet_hours={"enabled": True, "start": "00:01", "end": "00:00"},
    )
    async for env in hub_env(config):
        await env.add_member("M-1", timezone="Pacific/Auckland")
        cid = await env.campaign("refill_reminder", [{"member_id": "M-1", "data": REFILL}])
        await env.worker().run_until_idle()
        assert await env.counts(cid) == {"held": 1}
        _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
        assert "quiet hours" in body["deliveries"][0]["last_error"]
        assert smtp_server.messages == []


async def test_killed_worker_loses_no_member(
    tmp_path: Path,
    store_url: str,  # noqa: F811
    smtp_server: SmtpTestServer,
) -> None:
    """A `commhub worker` process killed mid-campaign: its leases expire, another takes over."""
    n = 300
    config = write_config(
        tmp_path,
        store_url,
        smtp_server.port,
        workers={
            "lease_seconds": 1.5,
            "batch_size": 8,
            "concurrency": 4,
            "poll_seconds": 0.05,
            "backoff_base_seconds": 0.05,
            "backoff_max_seconds": 0.2,
            "max_attempts": 5,
        },
    )
    async for env in hub_env(config):
        members = [f"M-{i}" for i in range(n)]
        await env.import_members(members)
        cid = await env.campaign(
            "refill_reminder", [{"member_id": m, "data": REFILL} for m in members]
        )

        log = tmp_path / "worker.log"
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "commhub", "--config", str(config), "worker"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            deadline = time.monotonic() + 60
            while len(smtp_server.messages) < 40:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the worker process sent nothing"
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        sent_by_killed = len(smtp_server.messages)
        assert sent_by_killed < n, "the kill came too late to test anything"

        await env.drain(cid, timeout=60)  # waits out the dead worker's leases
        assert await env.counts(cid) == {"sent": n}
        received = smtp_server.messages
        per_rcpt = Counter(r.rcpt_tos[0] for r in received)
        assert set(per_rcpt) == {f"{m.lower()}@example.org" for m in members}, "nobody lost"
        duplicates = {rcpt for rcpt, count in per_rcpt.items() if count > 1}
        # A duplicate can only be a message that was in flight at the kill: same Message-ID.
        # Outcomes are recorded as they happen; at most every lane's current batch was in
        # flight (tests/test_duplicates_under_faults.py measures how many actually are).
        lanes = inspect.signature(Worker).parameters["lanes"].default
        assert len(duplicates) <= lanes * 8
        for rcpt in duplicates:
            ids = {parse(r.content)["Message-ID"] for r in received if r.rcpt_tos[0] == rcpt}
            assert len(ids) == 1


async def test_a_render_bug_fails_one_delivery_and_speech_outages_retry(
    env: HubEnv, smtp_server: SmtpTestServer
) -> None:
    from commhub.errors import SpeechError

    for m in ("M-bug", "M-speech", "M-ok"):
        await env.add_member(m)
    cid = await env.campaign(
        "refill_reminder", [{"member_id": m, "data": REFILL} for m in ("M-bug", "M-speech", "M-ok")]
    )
    real = env.hub.renderer.render
    speech_down = [True]

    async def render(
        topic: str, member: Any, data: dict[str, Any], delivery_id: int, campaign_id: str
    ) -> Any:
        if member.member_id == "M-bug":
            raise KeyError("a bug in a renderer")
        if member.member_id == "M-speech" and speech_down[0]:
            raise SpeechError("every engine failed")
        return await real(topic, member, data, delivery_id, campaign_id)

    worker = Worker(env.settings, env.hub.store, render, env.hub.transports)
    await worker.run_once()
    assert await env.counts(cid) == {"failed": 1, "retry_wait": 1, "sent": 1}
    speech_down[0] = False
    assert await env.drain(cid, worker) == {"failed": 1, "sent": 2}
    _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries?state=failed")
    assert body["deliveries"][0]["last_error"] == "render: internal error (KeyError)"


async def test_a_worker_stops_within_a_lease_while_the_store_is_away(env: HubEnv) -> None:
    """Outcomes are kept while the store does not answer, but stopping does not wait for it
    forever: after a lease the outcomes' leases have expired anyway (docs/duplicates.md)."""
    from dataclasses import replace

    from commhub.errors import StoreUnavailable

    class Away:
        def __init__(self, store: Any) -> None:
            self._store = store

        def __getattr__(self, name: str) -> Any:
            return getattr(self._store, name)

        async def record(self, *args: Any, **kwargs: Any) -> None:
            raise StoreUnavailable("connection refused")

        async def ping(self) -> bool:
            return False

    s = env.settings
    settings = replace(s, workers=replace(s.workers, lease_seconds=1.0))
    worker = Worker(settings, Away(env.hub.store), env.hub.renderer.render, env.hub.transports)  # type: ignore[arg-type]
    stop = asyncio.Event()
    stop.set()
    worker.recorder.add([object()])  # type: ignore[list-item]  # an outcome the store never takes
    started = time.monotonic()
    await asyncio.wait_for(worker.run(stop), timeout=10)
    assert time.monotonic() - started < 5
