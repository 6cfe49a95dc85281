"""DKIM signing in its own process (commhub.dkim.process): a real child process signs
real rendered messages, dkimpy verifies them; the child dying, failing on one message, or
being closed never loses a message nor lets one out unsigned."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from commhub.dkim.process import SigningProcess, serve
from commhub.dkim.signer import DkimSigner
from commhub.domain import OutgoingMessage
from commhub.errors import ConfigError, TransientError
from commhub.settings import DkimSettings, Settings
from commhub.worker import RenderFn, RenderResult
from tests.hub_harness import HubEnv, hub_env, write_config
from tests.smtp_server import SmtpTestServer
from tests.test_deliverability_headers import (  # the same keys, members and verifier
    DOMAIN,
    REFILL,
    configured,  # noqa: F401
    dkim_settings,
    dns_stub,
    keys,  # noqa: F401
    member,
    renderer,
    verify_all,
)


def messages(settings: Settings, count: int) -> list[OutgoingMessage]:
    r = renderer(settings)
    langs = ["en", "es", "ar", "zh-Hans", "vi"]
    return [
        r.render_sync("refill_reminder", member(lang=langs[i % 5]), REFILL, i + 1, "cmp_1").message
        for i in range(count)
    ]


async def signed_campaign(
    tmp_path: Path, smtp_server: SmtpTestServer, rsa_key: Path, count: int
) -> AsyncIterator[tuple[HubEnv, str, SigningProcess]]:
    """A hub that signs with the RSA key and sends to `smtp_server`, with a refill campaign
    to `count` new members queued: (the hub, the campaign id, its signing process)."""
    dkim = {"domain": DOMAIN, "selector": "rsa1", "private_key_file": str(rsa_key)}
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", smtp_server.port, dkim=dkim)
    async for env in hub_env(config):
        ids = [f"M-{i}" for i in range(count)]
        for m in ids:
            await env.add_member(m)
        cid = await env.campaign("refill_reminder", [{"member_id": m, "data": REFILL} for m in ids])
        assert env.hub.signing is not None
        yield env, cid, env.hub.signing


def pid_of(signing: SigningProcess) -> int:
    transport = signing._transport  # the child's pid: only the tests need it
    assert transport is not None
    pid = transport.get_pid()
    assert pid is not None
    return pid


@pytest.mark.real
async def test_the_child_signs_every_message_in_order_and_dkimpy_verifies_them(
    keys: tuple[Path, Path],  # noqa: F811
    configured: Settings,  # noqa: F811
) -> None:
    settings = dkim_settings(keys)
    lookup = dns_stub(DkimSigner.from_settings(settings, Path("/")))  # type: ignore[arg-type]
    batch = messages(configured, 40)
    signing = SigningProcess(settings, Path("/"))
    await signing.start()
    try:
        futures = signing.submit(batch[:25]) + signing.submit(batch[25:])
        signed = [await f for f in futures]
    finally:
        await signing.close()
    for before, after in zip(batch, signed, strict=True):
        assert after.delivery_id == before.delivery_id and after.message_id == before.message_id
        assert after.raw.endswith(before.raw)  # the fields go on top; the message is untouched
        assert verify_all(after.raw, lookup) == [True, True]


@pytest.mark.real
async def test_a_killed_child_fails_waiting_messages_as_transient_and_the_next_batch_restarts_it(
    keys: tuple[Path, Path],  # noqa: F811
    configured: Settings,  # noqa: F811
) -> None:
    settings = dkim_settings(keys, ed25519=False)
    lookup = dns_stub(DkimSigner.from_settings(settings, Path("/")))  # type: ignore[arg-type]
    batch = messages(configured, 200)
    signing = SigningProcess(settings, Path("/"))
    await signing.start()
    try:
        first = pid_of(signing)
        futures = signing.submit(batch)
        os.kill(first, signal.SIGKILL)
        outcomes = await asyncio.wait_for(
            asyncio.gather(*futures, return_exceptions=True), timeout=30
        )
        unsigned = [o for o in outcomes if isinstance(o, BaseException)]
        assert unsigned, "the child signed 200 RSA messages before SIGKILL reached it"
        assert all(isinstance(o, TransientError) for o in unsigned)  # retried, not failed
        for o in outcomes:
            if isinstance(o, OutgoingMessage):
                assert verify_all(o.raw, lookup) == [True]
        dead = signing._protocol  # what a restart racing the death would be handed
        assert dead is not None and dead.closed
        with pytest.raises(TransientError):  # answered at once, never left waiting
            await asyncio.wait_for(dead.sign(batch[:1])[0], timeout=5)
        again = await asyncio.wait_for(asyncio.gather(*signing.submit(batch[:5])), timeout=30)
        assert pid_of(signing) != first
        assert all(verify_all(m.raw, lookup) == [True] for m in again)
    finally:
        await signing.close()


def test_a_message_the_child_cannot_sign_is_answered_with_the_error_and_the_next_is_signed(
    keys: tuple[Path, Path],  # noqa: F811
) -> None:
    """The child's loop (run here in-process on real pipes' worth of bytes): one failure is
    one answer, and the stream stays in step."""

    class Fussy(DkimSigner):
        def signature_fields(
            self, raw: bytes | bytearray, start: int = 0, end: int | None = None
        ) -> bytes:
            if b"boom" in raw[start:end]:
                raise UnicodeError("cannot")
            return super().signature_fields(raw, start, end)

    base = DkimSigner.from_settings(dkim_settings(keys, ed25519=False), Path("/"))
    assert base is not None
    fussy = Fussy(base.domain, base._keys)
    good = b"From: a@b.example\r\nSubject: hi\r\n\r\nbody\r\n"
    frames = b"".join(len(m).to_bytes(4, "big") + m for m in (good, b"boom", good))
    trickle = io.BytesIO(frames)  # a pipe may give a frame in pieces: 7 bytes at a time
    out, pieces = io.BytesIO(), io.BytesIO()
    serve(fussy, io.BytesIO(frames).readinto, out.write)
    serve(fussy, lambda view: trickle.readinto(view[:7]), pieces.write)
    answers, data = [], out.getvalue()
    assert pieces.getvalue().count(b"DKIM-Signature:") == 2
    assert len(pieces.getvalue()) == len(data)  # the same answers, whatever the reads
    while data:
        size = int.from_bytes(data[1:5], "big")
        answers.append((data[0], data[5 : 5 + size]))
        data = data[5 + size :]
    assert [status for status, _ in answers] == [0, 1, 0]
    assert answers[1][1] == b"UnicodeError"
    assert answers[0][1].startswith(b"DKIM-Signature: v=1; a=rsa-sha256;")


def test_the_child_signs_a_message_larger_than_its_read_buffer_and_those_around_it(
    keys: tuple[Path, Path],  # noqa: F811
    configured: Settings,  # noqa: F811
) -> None:
    """The child's loop reads into one buffer of a pipe's size (1 MiB); an audio email can
    be larger. A 2.4 MB message between two ordinary ones, read in pipe-sized pieces that
    cut frames anywhere: each answer verifies with dkimpy, in order."""
    signer = DkimSigner.from_settings(dkim_settings(keys), Path("/"))
    assert signer is not None
    small = [m.raw for m in messages(configured, 2)]
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n"
    large = small[0] + line * 32_000  # after the closing boundary: the MIME epilogue
    assert len(large) > 2 * 1024 * 1024
    sent = [small[0], large, small[1]]
    stream = io.BytesIO(b"".join(len(m).to_bytes(4, "big") + m for m in sent))
    out = io.BytesIO()
    serve(signer, lambda view: stream.readinto(view[: 65_536 + 7]), out.write)
    data, answers = out.getvalue(), []
    while data:
        size = int.from_bytes(data[1:5], "big")
        assert data[0] == 0  # signed
        answers.append(data[5 : 5 + size])
        data = data[5 + size :]
    assert len(answers) == 3
    lookup = dns_stub(signer)
    for fields, raw in zip(answers, sent, strict=True):
        assert verify_all(fields + raw, lookup) == [True, True]
    assert verify_all(answers[0] + large, lookup) == [False, False]  # each is its own


def test_an_unreadable_key_is_a_config_error_naming_the_setting(tmp_path: Path) -> None:
    bad = tmp_path / "key.pem"
    bad.write_text("not a key")
    settings = DkimSettings(domain=DOMAIN, selector="s1", private_key_file=str(bad))
    with pytest.raises(ConfigError, match=r"dkim\.private_key_file"):
        SigningProcess(settings, Path("/"))


@pytest.mark.real
async def test_closing_ends_the_child(keys: tuple[Path, Path]) -> None:  # noqa: F811
    signing = SigningProcess(dkim_settings(keys), Path("/"))
    await signing.start()
    pid = pid_of(signing)
    await signing.close()
    with pytest.raises(ProcessLookupError):  # gone and reaped, not a zombie
        os.kill(pid, 0)


@pytest.mark.real
async def test_the_worker_retries_what_a_dead_signer_left_and_sends_it_signed(
    tmp_path: Path,
    smtp_server: SmtpTestServer,
    keys: tuple[Path, Path],  # noqa: F811
) -> None:
    """End to end: the signing process is killed with a batch waiting on it; every member
    still gets exactly one message, signed, and nothing unsigned goes out."""
    from commhub.worker import Worker

    async for env, cid, signing in signed_campaign(tmp_path, smtp_server, keys[0], 30):
        hub = env.hub
        signer = signing.signer
        killed: list[int] = []

        def submit_then_kill(
            batch: list[OutgoingMessage],
            signing: SigningProcess = signing,
            killed: list[int] = killed,
        ) -> list[asyncio.Future[OutgoingMessage]]:
            futures = signing.submit(batch)
            if not killed:  # the first batch is in the pipe: the child dies under it
                killed.append(pid_of(signing))
                os.kill(killed[0], signal.SIGKILL)
            return futures

        worker = Worker(
            hub.settings, hub.store, hub.renderer.render, hub.transports, sign=submit_then_kill
        )
        assert await env.drain(cid, worker) == {"sent": 30}
        assert killed and pid_of(signing) != killed[0]  # a new child signed the rest
        _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
        assert max(d["attempts"] for d in body["deliveries"]) >= 2  # some waited for the retry
        received = smtp_server.wait_for(30)
        assert len(received) == 30 and len({r.rcpt_tos[0] for r in received}) == 30
        lookup = dns_stub(signer)
        assert all(verify_all(r.content, lookup) == [True] for r in received)


@pytest.mark.real
async def test_a_child_that_answers_nothing_is_stopped_and_its_messages_retried(
    keys: tuple[Path, Path],  # noqa: F811
    configured: Settings,  # noqa: F811
) -> None:
    """A stuck child (here one that reads and never answers) must not hold a worker's batch
    for ever: after `stall_seconds` without an answer it is killed and the waiting messages
    fail as transient (retried later), and the next batch gets a new child."""
    signing = SigningProcess(dkim_settings(keys), Path("/"), stall_seconds=0.5)
    signing._argv = [sys.executable, "-c", "import sys\nwhile sys.stdin.buffer.read(65536): pass"]
    await signing.start()
    try:
        stuck = pid_of(signing)
        futures = signing.submit(messages(configured, 3))
        outcomes = await asyncio.wait_for(
            asyncio.gather(*futures, return_exceptions=True), timeout=10
        )
        assert all(isinstance(o, TransientError) for o in outcomes)
        await asyncio.sleep(0)
        with pytest.raises(TransientError):  # the same stuck child again, after a restart
            await asyncio.wait_for(signing.submit(messages(configured, 1))[0], timeout=10)
        assert pid_of(signing) != stuck
    finally:
        await signing.close()


@pytest.mark.real
async def test_a_batch_starts_signing_while_the_rest_of_it_renders(
    tmp_path: Path,
    smtp_server: SmtpTestServer,
    keys: tuple[Path, Path],  # noqa: F811
) -> None:
    """The signing process gets each group of rendered messages at once, so it signs the
    first while the worker renders the rest (benchmarks/dkim_cost.py: waiting for the whole
    batch left the child idle and cost a quarter of the campaign rate); every message is
    still signed exactly once and verifies."""
    from commhub.worker import YIELD_EVERY, Worker

    count = 2 * YIELD_EVERY + 3
    async for env, cid, signing in signed_campaign(tmp_path, smtp_server, keys[0], count):
        hub = env.hub
        watch = _RenderAndSign(hub.renderer.render, signing)
        worker = Worker(hub.settings, hub.store, watch.render, hub.transports, sign=watch.submit)
        assert await env.drain(cid, worker) == {"sent": count}
        # (messages handed over, messages rendered by then): before the rest had rendered
        assert watch.calls[0] == (YIELD_EVERY, YIELD_EVERY)
        assert sum(n for n, _ in watch.calls) == count
        received = smtp_server.wait_for(count)
        assert len({r.rcpt_tos[0] for r in received}) == count
        lookup = dns_stub(signing.signer)
        assert all(verify_all(r.content, lookup) == [True] for r in received)


class _RenderAndSign:
    """The hub's render and signing process, counting what was rendered when each group
    of messages was handed to the signer."""

    def __init__(self, render: RenderFn, signing: SigningProcess) -> None:
        self._render, self._signing = render, signing
        self.rendered = 0
        self.calls: list[tuple[int, int]] = []

    async def render(self, *args: Any) -> RenderResult:
        result = await self._render(*args)
        self.rendered += 1
        return result

    def submit(self, batch: list[OutgoingMessage]) -> list[asyncio.Future[OutgoingMessage]]:
        self.calls.append((len(batch), self.rendered))
        return self._signing.submit(batch)
