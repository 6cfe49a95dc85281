"""Unsubscribe and bounces end to end: a real hub (SQLite and PostgreSQL), its HTTP API, a real
SMTP server for outgoing mail, the bounce listener (aiosmtpd) and a Maildir for reports, and
the unsubscribe page checked by axe-core in real Chromium."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from commhub.bounces import BounceIntake, parse_report
from commhub.domain import DeliveryOutcome, State, message_id_for
from commhub.service import bounce_intake
from commhub.settings import BounceSettings
from commhub.store.base import Store
from tests.a11y.harness import A11yBrowser, axe_violations, browser, describe  # noqa: F401
from tests.hub_harness import HubEnv, hub_env, write_config
from tests.smtp_server import SmtpTestServer, free_port
from tests.store_fixtures import store, store_url  # noqa: F401
from tests.test_store import campaign_of, claim, record

pytestmark = pytest.mark.real

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
REFILL = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}
SECRET = "s" * 40


def report(name: str, verp: str, rcpt: str, message_id: str) -> bytes:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    text = text.replace("{verp}", verp).replace("{rcpt}", rcpt)
    return text.replace("{message_id}", message_id).replace("\n", "\r\n").encode()


@pytest.mark.parametrize(
    ("name", "kind", "status"),
    [
        ("postfix_user_unknown.eml", "hard", "5.1.1"),
        ("gmail_no_such_user.eml", "hard", "5.1.1"),
        ("microsoft_recipient_not_found.eml", "hard", "5.1.10"),
        ("exim_mailbox_full_gave_up.eml", "soft", "4.2.2"),
        ("arf_complaint.eml", "complaint", ""),
    ],
)
def test_report_shapes_are_read(name: str, kind: str, status: str) -> None:
    verp = "bounces+" + "a" * 31 + "@bounces.example.org"
    raw = report(name, verp, "ana@example.net", "<delivery-12.cmp_00ff@commhub.example.org>")
    (found,) = parse_report(raw)
    assert (found.kind, found.status) == (kind, status)
    assert found.message_ref == (12, "cmp_00ff")
    assert "@" not in found.diagnostic and "ana" not in found.diagnostic
    if kind != "complaint":
        assert found.recipient == "ana@example.net"
        assert found.token == "a" * 31


def test_delay_notices_change_nothing() -> None:
    raw = report("postfix_delayed.eml", "x@y.org", "ana@example.net", "<delivery-1.cmp_1@x>")
    assert parse_report(raw) == []


def test_anything_but_a_report_is_dropped() -> None:
    # An auto-reply to the VERP address quoting the original names a delivery: not a bounce.
    verp = "bounces+" + "a" * 31 + "@bounces.example.org"
    raw = (
        f"To: {verp}\r\nSubject: Out of office\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nAway until Monday.\r\n"
        "--b\r\nContent-Type: message/rfc822\r\n\r\n"
        "Message-ID: <delivery-12.cmp_00ff@commhub.example.org>\r\n\r\nHello\r\n--b--\r\n"
    ).encode()
    assert parse_report(raw) == []


async def test_maildir_reports_flagged_seen_are_not_read_again(
    tmp_path: Path,
    store: Store,  # noqa: F811
) -> None:
    campaign_id = await campaign_of(store, 2)
    a, b = await claim(store, "w1")
    ids = {d.id: message_id_for(d.id, "commhub.example.org", campaign_id) for d in (a, b)}
    await record(
        store,
        "w1",
        [
            outcome
            for i, m in ids.items()
            for outcome in (
                DeliveryOutcome(i, State.SENDING, message_id=m),
                DeliveryOutcome(i, State.SENT),
            )
        ],
    )
    folder = tmp_path / "bounces"
    (folder / "new").mkdir(parents=True)
    (folder / "cur").mkdir()

    def dsn(delivery_id: int) -> bytes:
        return report("postfix_user_unknown.eml", "x@y.org", "ana@example.net", ids[delivery_id])

    # Read before, then replied to in a mail client: seen among other flags (ASCII order).
    (folder / "cur" / "1.M1P1.host:2,RS").write_bytes(dsn(a.id))
    (folder / "new" / "2.M2P1.host").write_bytes(dsn(b.id))
    # Replied to but never marked seen: read, and its flag kept.
    (folder / "cur" / "3.M3P1.host:2,R").write_bytes(b"Subject: not a report\r\n\r\nHi\r\n")
    intake = BounceIntake(store, None, BounceSettings())
    assert await intake.read_maildir(folder) == 2
    states = {r.id: r.state for r in await store.list_deliveries(campaign_id)}
    assert states == {a.id: "sent", b.id: "bounced"}
    assert sorted(os.listdir(folder / "cur")) == [
        "1.M1P1.host:2,RS",
        "2.M2P1.host:2,S",
        "3.M3P1.host:2,RS",
    ]
    assert await intake.read_maildir(folder) == 0


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
        unsubscribe={"secret": SECRET},
        bounces={
            "domain": "bounces.evergreen-health.example",
            "listen": f"127.0.0.1:{free_port()}",
            "maildir": str(tmp_path / "bounces"),
            "poll_seconds": 0.1,
        },
        server={"public_url": "https://hub.example.org"},
    )
    async for e in hub_env(config):
        yield e


async def sent_campaign(env: HubEnv, members: list[str]) -> str:
    cid = await env.campaign("refill_reminder", [{"member_id": m, "data": REFILL} for m in members])
    await env.drain(cid)
    return cid


async def fresh_counts(env: HubEnv, campaign_id: str) -> dict[str, int]:
    """Counts from the store itself: the API keeps a done campaign's view a few seconds."""
    counts = await env.hub.store.campaign_counts(campaign_id)
    return {state: n for state, n in counts.by_state.items() if n}


def header(raw: bytes, name: str) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)[name])


async def deliveries(env: HubEnv, cid: str) -> dict[str, dict[str, object]]:
    status, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
    assert status == 200
    return {d["member_id"]: d for d in body["deliveries"]}


async def test_bounces_by_smtp_and_maildir(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    for m in ("M-hard", "M-soft", "M-ok", "M-maildir"):
        await env.add_member(m)
    first = await sent_campaign(env, ["M-hard", "M-soft", "M-ok", "M-maildir"])
    by_rcpt = {r.rcpt_tos[0]: r for r in smtp_server.messages}
    stop = asyncio.Event()
    host, _, port = env.settings.bounces.listen.rpartition(":")

    def dsn(member: str, name: str) -> tuple[str, bytes]:
        sent = by_rcpt[f"{member.lower()}@example.org"]
        raw = report(
            name,
            sent.mail_from,
            f"{member.lower()}@example.org",
            header(sent.content, "Message-ID"),
        )
        return sent.mail_from, raw

    async with bounce_intake(env.hub, stop):
        for member, name in (
            ("M-hard", "postfix_user_unknown.eml"),
            ("M-soft", "exim_mailbox_full_gave_up.eml"),
        ):
            verp, raw = dsn(member, name)
            await asyncio.to_thread(_smtp_send, host, int(port), verp, raw)
        verp, raw = dsn("M-maildir", "gmail_no_such_user.eml")
        folder = env.settings.path(env.settings.bounces.maildir)
        (folder / "new").mkdir(parents=True, exist_ok=True)
        (folder / "new" / "1764663271.M1P1.host").write_bytes(raw)
        for _ in range(100):
            if (await fresh_counts(env, first)).get("bounced") == 3:
                break
            await asyncio.sleep(0.05)
        stop.set()
    assert await fresh_counts(env, first) == {"bounced": 3, "sent": 1}
    rows = await deliveries(env, first)
    assert rows["M-hard"]["state"] == "bounced"
    assert "5.1.1" in str(rows["M-hard"]["last_error"]) and "@" not in str(
        rows["M-hard"]["last_error"]
    )
    assert "4.2.2" in str(rows["M-soft"]["last_error"])
    _, metrics = await env.call("GET", "/metrics")
    assert 'commhub_deliveries{state="bounced"} 3' in metrics
    # The next campaign skips the hard-bounced addresses; one soft bounce is not enough.
    second = await sent_campaign(env, ["M-hard", "M-soft", "M-ok", "M-maildir"])
    rows = await deliveries(env, second)
    assert {m: r["state"] for m, r in rows.items()} == {
        "M-hard": "skipped", "M-soft": "sent", "M-ok": "sent", "M-maildir": "skipped",
    }  # fmt: skip
    assert rows["M-hard"]["last_error"] == "address bounced"
    # A new address is tried again.
    await env.add_member("M-hard", email="new-address@example.org")
    third = await sent_campaign(env, ["M-hard"])
    assert await env.counts(third) == {"sent": 1}


def _smtp_send(host: str, port: int, to: str, raw: bytes) -> None:
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.sendmail("", [to], raw)


async def test_three_soft_bounces_in_a_row_make_the_address_undeliverable(
    env: HubEnv, smtp_server: SmtpTestServer
) -> None:
    await env.add_member("M-1")
    intake = BounceIntake(env.hub.store, env.hub.renderer.tokens, env.settings.bounces)
    for round_ in range(3):
        cid = await sent_campaign(env, ["M-1"])
        assert await env.counts(cid) == {"sent": 1}
        sent = smtp_server.messages[-1]
        raw = report(
            "exim_mailbox_full_gave_up.eml",
            sent.mail_from,
            "m-1@example.org",
            header(sent.content, "Message-ID"),
        )
        assert await intake.handle(raw) == 1
        assert await intake.handle(raw) == 0  # the same report read twice counts once
        assert await fresh_counts(env, cid) == {"bounced": 1}, round_
    cid = await sent_campaign(env, ["M-1"])
    assert await env.counts(cid) == {"skipped": 1}


async def test_complaint_opts_the_member_out(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    await env.add_member("M-1")
    cid = await sent_campaign(env, ["M-1"])
    sent = smtp_server.messages[-1]
    raw = report(
        "arf_complaint.eml", sent.mail_from, "m-1@example.org", header(sent.content, "Message-ID")
    )
    intake = BounceIntake(env.hub.store, env.hub.renderer.tokens, env.settings.bounces)
    assert await intake.handle(raw) == 1
    assert await env.counts(cid) == {"sent": 1}  # it was delivered; the member objected
    _, member = await env.call("GET", "/v1/members/M-1")
    assert member["opted_out"] is True
    _, audit = await env.call("GET", "/v1/audit?action=unsubscribe.all")
    assert [(e["actor"], e["object_id"]) for e in audit["entries"]] == [("bounces", "M-1")]


async def test_forged_reports_change_nothing(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    await env.add_member("M-1")
    cid = await sent_campaign(env, ["M-1"])
    sent = smtp_server.messages[-1]
    delivery_id = header(sent.content, "Message-ID").split("-")[1].split(".")[0]
    forged_id = f"<delivery-{delivery_id}.cmp_0000000000@commhub.example.org>"
    forged_verp = "bounces+" + "b" * 31 + "@bounces.evergreen-health.example"
    raw = report("postfix_user_unknown.eml", forged_verp, "m-1@example.org", forged_id)
    intake = BounceIntake(env.hub.store, env.hub.renderer.tokens, env.settings.bounces)
    assert await intake.handle(raw) == 0
    assert await env.counts(cid) == {"sent": 1}


async def test_one_click_unsubscribe(env: HubEnv, smtp_server: SmtpTestServer) -> None:
    await env.add_member("M-1", language="es")
    await env.add_member("M-2")
    cid = await sent_campaign(env, ["M-1", "M-2"])
    sent = {r.rcpt_tos[0]: r for r in smtp_server.messages}
    link = header(sent["m-1@example.org"].content, "List-Unsubscribe").strip("<>")
    assert link.startswith("https://hub.example.org/u/")
    path = link.removeprefix("https://hub.example.org")
    # A queued campaign for both, then the member's mail program POSTs the one click.
    later = await env.campaign(
        "refill_reminder", [{"member_id": m, "data": REFILL} for m in ("M-1", "M-2")]
    )
    other = await env.campaign(
        "screening_reminder",
        [{"member_id": "M-1", "data": env.hub.topics["screening_reminder"].sample}],
    )
    resp = await env.client.post(
        path,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status == 200
    rows = await deliveries(env, later)
    assert rows["M-1"]["state"] == "skipped" and rows["M-1"]["last_error"] == "opted out"
    assert rows["M-2"]["state"] == "queued"
    assert await env.counts(other) == {"queued": 1}  # another topic goes on
    _, member = await env.call("GET", "/v1/members/M-1")
    assert member["opted_out"] == ["refill_reminder"]
    # "All outreach" from the page's second button.
    resp = await env.client.post(
        path,
        data={"List-Unsubscribe": "One-Click", "scope": "all"},
        headers={"Accept": "text/html"},
    )
    done = await resp.text()
    assert resp.status == 200 and '<html lang="es" dir="ltr">' in done
    assert "Ya no recibirá más mensajes de Evergreen Community Health Plan." in done
    assert await env.counts(other) == {"skipped": 1}
    # Forged, altered or missing tokens do nothing; a wrong body is refused.
    bad = path[:-1] + ("a" if path[-1] != "a" else "b")
    for wrong in (bad, "/u/" + "a" * 31, "/u/M-2"):
        resp = await env.client.post(
            wrong,
            data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert resp.status == 404, wrong
    resp = await env.client.post(
        path, data="x=y", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert resp.status == 400
    assert await env.counts(cid) == {"sent": 2}
    assert "M-1" not in path
    _, audit = await env.call("GET", "/v1/audit?actor=member")
    assert [(e["action"], e["object_id"]) for e in audit["entries"]] == [
        ("unsubscribe", "M-1"),
        ("unsubscribe.all", "M-1"),
    ]


@pytest.mark.parametrize(
    ("lang", "html_lang", "expected"),
    [
        ("ar", '<html lang="ar" dir="rtl">', "إيقاف الرسائل المشابهة لهذه الرسالة"),
        ("zh-Hans", '<html lang="zh-Hans" dir="ltr">', "不再接收此类信息"),
        # German has no reviewed page strings: English, with the tagline in German.
        ("de", '<html lang="en" dir="ltr">', 'lang="de" dir="ltr"'),
        ("en", '<html lang="en" dir="ltr">', "Stop messages like this one"),
    ],
)
async def test_unsubscribe_page_in_the_members_language_is_accessible(
    env: HubEnv,
    smtp_server: SmtpTestServer,
    browser: A11yBrowser,  # noqa: F811
    lang: str,
    html_lang: str,
    expected: str,
) -> None:
    await env.add_member("M-1", language=lang)
    await sent_campaign(env, ["M-1"])
    link = header(smtp_server.messages[-1].content, "List-Unsubscribe").strip("<>")
    path = link.removeprefix("https://hub.example.org")
    resp = await env.client.get(path)
    assert resp.status == 200
    page = await resp.text()
    assert html_lang in page and expected in page
    assert 'name="List-Unsubscribe" value="One-Click"' in page and 'value="all"' in page
    assert "M-1" not in page and "m-1@example.org" not in page and "Alex" not in page
    violations = await axe_violations(browser, page)
    assert violations == [], describe(violations)
    # The page's own button: a form POST from the browser, then the confirmation page.
    resp = await env.client.post(
        path, data={"List-Unsubscribe": "One-Click"}, headers={"Accept": "text/html"}
    )
    done = await resp.text()
    assert resp.status == 200 and html_lang in done
    violations = await axe_violations(browser, done)
    assert violations == [], describe(violations)


async def test_a_broken_link_says_so(env: HubEnv, browser: A11yBrowser) -> None:  # noqa: F811
    resp = await env.client.get("/u/" + "a" * 31)
    assert resp.status == 404
    page = await resp.text()
    assert "not valid" in page
    assert await axe_violations(browser, page) == []


class _Remote:
    """The recipients' mail server behind Postfix: a user who does not exist, a full
    mailbox, and everyone else accepted."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]
        if address.startswith("m-gone@"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("m-full@"):
            return "452 4.2.2 Mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        return "250 2.0.0 delivered"


async def test_real_postfix_dsns_mark_deliveries_bounced(tmp_path: Path) -> None:
    """Debian's Postfix relays the hub's mail, meets a 550 and a 452 at the recipients'
    server, and sends its own DSNs to the VERP addresses, routed to the bounce listener."""
    from aiosmtpd.controller import Controller

    from tests.postfix_mta import BOUNCE_DOMAIN, REMOTE_DOMAIN, missing_reason, postfix

    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    remote = Controller(_Remote(), hostname="127.0.0.1", port=free_port(), ready_timeout=5.0)
    remote.start()
    listen_port = free_port()
    try:
        with postfix(remote.port, listen_port) as mta_port:
            config = write_config(
                tmp_path,
                f"sqlite:///{tmp_path / 'hub.db'}",
                mta_port,
                unsubscribe={"secret": SECRET},
                bounces={"domain": BOUNCE_DOMAIN, "listen": f"127.0.0.1:{listen_port}"},
            )
            async for env in hub_env(config):
                for m in ("M-gone", "M-full", "M-ok"):
                    await env.add_member(m, email=f"{m.lower()}@{REMOTE_DOMAIN}")
                stop = asyncio.Event()
                async with bounce_intake(env.hub, stop):
                    cid = await sent_campaign(env, ["M-gone", "M-full", "M-ok"])
                    for _ in range(200):
                        if (await fresh_counts(env, cid)).get("bounced") == 2:
                            break
                        await asyncio.sleep(0.05)
                    stop.set()
                rows = await deliveries(env, cid)
                assert await fresh_counts(env, cid) == {"bounced": 2, "sent": 1}, [
                    r["last_error"] for r in rows.values()
                ]
                assert str(rows["M-gone"]["last_error"]).startswith("hard bounce 5.1.1")
                assert str(rows["M-full"]["last_error"]).startswith("soft bounce 4.2.2")
                assert "@" not in str(rows["M-gone"]["last_error"])
                # The hard bounce stops later campaigns; one soft bounce does not.
                again = await sent_campaign(env, ["M-gone", "M-full", "M-ok"])
                states = {m: r["state"] for m, r in (await deliveries(env, again)).items()}
                assert states == {"M-gone": "skipped", "M-full": "sent", "M-ok": "sent"}
    finally:
        remote.stop()
