"""What mail servers check on every message: DKIM (verified by dkimpy, an independent
implementation, with a DNS stub), List-Unsubscribe, Feedback-ID, Auto-Submitted, the Date
zone and the VERP envelope sender; end to end through a worker and a real SMTP server."""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import hashlib
import re
import subprocess
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import dkim
import pytest

from commhub.content.i18n import Catalogs
from commhub.content.topics import load_topics
from commhub.delivery_tokens import DeliveryTokens, Purpose
from commhub.dkim.signer import DkimSigner, body_hash, relaxed_body
from commhub.domain import Format, Member, OutgoingMessage
from commhub.errors import SigningFailed
from commhub.render.pipeline import Renderer
from commhub.settings import DkimSettings, Settings, load
from tests.a11y.harness import A11yBrowser, axe_violations, browser, describe  # noqa: F401
from tests.hub_harness import HubEnv, hub_env, write_config
from tests.smtp_server import SmtpTestServer

REFILL = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}
SECRET = "x" * 40
DOMAIN = "evergreen-health.example"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An RSA-2048 and an Ed25519 key made with the openssl command line."""
    folder = tmp_path_factory.mktemp("dkim")
    rsa, ed = folder / "rsa.pem", folder / "ed25519.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(rsa)],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(ed)],
        check=True, capture_output=True,
    )  # fmt: skip
    return rsa, ed


def dkim_settings(keys: tuple[Path, Path], *, ed25519: bool = True) -> DkimSettings:
    return DkimSettings(
        domain=DOMAIN,
        selector="rsa1",
        private_key_file=str(keys[0]),
        ed25519_selector="ed1" if ed25519 else "",
        ed25519_private_key_file=str(keys[1]) if ed25519 else "",
    )


def dns_stub(signer: DkimSigner) -> Callable[..., bytes]:
    """dkimpy's DNS lookup, answered from the records the README tells operators to publish."""
    records = {f"{name}.": value for name, value in signer.dns_records().items()}

    def lookup(name: bytes, timeout: int = 5) -> bytes:
        return records.get(name.decode(), "").encode()

    return lookup


def verify_all(raw: bytes, lookup: Callable[..., bytes]) -> list[bool]:
    """dkimpy's verdict on each DKIM-Signature of `raw`, top first."""
    count = len(re.findall(rb"^DKIM-Signature:", raw, flags=re.MULTILINE))
    checker = dkim.DKIM(raw)
    verdicts = []
    for i in range(count):
        try:
            verdicts.append(bool(checker.verify(idx=i, dnsfunc=lookup)))
        except dkim.DKIMException:
            verdicts.append(False)
    return verdicts


def renderer(settings: Settings) -> Renderer:
    return Renderer(
        settings,
        load_topics(settings.templates_dir / "topics"),
        Catalogs.load(settings.templates_dir / "i18n"),
        None,
        templates_dir=settings.templates_dir,
    )


def member(fmt: Format = Format.LARGE_PRINT_EMAIL, lang: str = "es") -> Member:
    return Member(
        member_id="M-1",
        given_name="Ana",
        family_name="García",
        language=lang,
        format=fmt,
        email="ana@example.net",
        timezone="America/Los_Angeles",
    )


@pytest.fixture
def configured(tmp_path: Path) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[server]\npublic_url = "https://hub.example.org/"\n'
        f'[unsubscribe]\nsecret = "{SECRET}"\nmailto = "unsubscribe@{DOMAIN}"\n'
        f'[bounces]\ndomain = "bounces.{DOMAIN}"\n'
        f'[plan]\nreply_to = "help@{DOMAIN}"\nfeedback_id = "evergreen"\n',
        encoding="utf-8",
    )
    return load(path, env={})


@pytest.mark.parametrize("lang", ["en", "es", "ar", "zh-Hans"])
def test_rsa_and_ed25519_signatures_verify_with_dkimpy(
    keys: tuple[Path, Path], configured: Settings, lang: str
) -> None:
    signer = DkimSigner.from_settings(dkim_settings(keys), Path("/"))
    assert signer is not None
    raw = renderer(configured).render_sync("refill_reminder", member(lang=lang), REFILL, 7, "cmp_1")
    signed = signer.sign(raw.message.raw)
    assert verify_all(signed, dns_stub(signer)) == [True, True]
    head = signed.split(b"\r\n\r\n", 1)[0].decode()
    assert "a=rsa-sha256; c=relaxed/relaxed" in head
    assert "a=ed25519-sha256; c=relaxed/relaxed" in head
    signed_names = re.search(r"h=([a-z:\s-]+);", head)
    assert signed_names is not None
    assert re.sub(r"\s", "", signed_names.group(1)).split(":") == [
        "from", "to", "subject", "date", "message-id", "mime-version", "content-type",
        "reply-to", "feedback-id", "list-unsubscribe", "list-unsubscribe-post",
    ]  # fmt: skip
    assert all(len(line) <= 78 for line in head.split("\r\n"))


def test_a_changed_message_fails_verification(
    keys: tuple[Path, Path], configured: Settings
) -> None:
    signer = DkimSigner.from_settings(dkim_settings(keys, ed25519=False), Path("/"))
    assert signer is not None
    raw = renderer(configured).render_sync("refill_reminder", member(), REFILL, 8, "cmp_1")
    signed = signer.sign(raw.message.raw)
    lookup = dns_stub(signer)
    assert verify_all(signed, lookup) == [True]
    # A changed body, a changed subject, a changed unsubscribe link: each fails.
    assert verify_all(
        signed.replace(b"--=_commhub-8-alt--", b"--=_commhub-8-alt--\r\nx"), lookup
    ) == [False]
    assert verify_all(signed.replace(b"Subject: ", b"Subject: Re: "), lookup) == [False]
    assert verify_all(signed.replace(b"/u/", b"/u/x"), lookup) == [False]
    # A key the DNS does not publish: fails.
    other = DkimSigner.from_settings(dkim_settings(keys, ed25519=False), Path("/"))
    assert other is not None
    assert verify_all(signed, lambda name, timeout=5: b"") == [False]


def test_a_message_signed_where_it_lies_in_a_buffer_is_signed_as_if_alone(
    keys: tuple[Path, Path], configured: Settings
) -> None:
    """The signing child signs each message inside its read buffer, between other bytes:
    tabs, blank runs and CRLFs around it must change nothing (RSA and Ed25519 signatures
    are deterministic, so the fields are equal byte for byte)."""
    base = DkimSigner.from_settings(dkim_settings(keys), Path("/"))
    assert base is not None
    signer = DkimSigner(base.domain, base._keys, clock=1_796_000_000)
    raw = renderer(configured).render_sync("refill_reminder", member(), REFILL, 9, "cmp_1")
    alone = raw.message.raw
    noise = b"\t  \r\n\r\nX: y \r\n\t\r\n"
    buffer = bytearray(noise + alone + noise)
    fields = signer.signature_fields(buffer, len(noise), len(noise) + len(alone))
    assert fields == signer.signature_fields(alone)
    assert verify_all(fields + alone, dns_stub(signer)) == [True, True]


def test_signatures_verify_whichever_fields_a_message_has_and_whenever_signed(
    keys: tuple[Path, Path], configured: Settings
) -> None:
    """The signature field's folded layout is worked out once per list of signed fields
    and reused: messages with and without Reply-To, in turn, and a signing time of another
    length, all verify."""
    base = DkimSigner.from_settings(dkim_settings(keys), Path("/"))
    assert base is not None
    plain = renderer(replace(configured, plan=replace(configured.plan, reply_to="")))
    full = renderer(configured)
    for clock in (1_796_000_000.0, 86_400.0):
        signer = DkimSigner(base.domain, base._keys, clock=clock)
        for i, r in enumerate([full, plain, full, plain]):
            raw = r.render_sync("refill_reminder", member(), REFILL, 20 + i, "cmp_1").message.raw
            assert (b"Reply-To:" in raw) == (r is full)
            signed = signer.sign(raw)
            assert verify_all(signed, dns_stub(signer)) == [True, True], (clock, i)
            assert f"t={int(clock)};".encode() in signed


def test_relaxed_body_matches_dkimpy() -> None:
    """Bodies with runs of blanks, tabs, trailing blanks and empty lines (the slow path)."""
    from dkim.canonicalization import Relaxed

    for body in (
        b"",
        b"\r\n\r\n",
        b"plain\r\n",
        b"a  b\t\tc \r\n\r\n\r\n",
        b"x \t\r\n y\r\n\r\nz",
        b"=20 trailing\r\nend   ",
        b"ordinary\r\nlines\r\n\r\n",
        b"\r\n\r\n\r\n",
    ):
        assert relaxed_body(body) == Relaxed.canonicalize_body(body), body
        assert body_hash(body) == hashlib.sha256(Relaxed.canonicalize_body(body)).digest()


def test_headers_every_email_carries(configured: Settings) -> None:
    r = renderer(configured)
    result = r.render_sync("refill_reminder", member(), REFILL, 9, "cmp_abc")
    msg = email.message_from_bytes(result.message.raw, policy=email.policy.default)
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Feedback-ID"] == "cmp_abc:refill_reminder:evergreen"
    assert msg["Reply-To"] == f"help@{DOMAIN}"
    assert re.fullmatch(
        r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000", msg["Date"]
    )
    assert email.utils.parsedate_to_datetime(msg["Date"]).utcoffset() is not None
    link, mailto = (v.strip(" <>") for v in msg["List-Unsubscribe"].split(","))
    assert link.startswith("https://hub.example.org/u/")
    assert mailto == f"mailto:unsubscribe@{DOMAIN}?subject=unsubscribe"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = link.rsplit("/", 1)[1]
    tokens = DeliveryTokens(SECRET)
    assert tokens.verify(Purpose.UNSUBSCRIBE, token, "cmp_abc")
    assert "M-1" not in token and "m-1" not in token
    # The envelope sender names the delivery with a token of its own (VERP).
    local, _, domain = result.message.sender.partition("@")
    assert domain == f"bounces.{DOMAIN}"
    assert local.startswith("bounces+") and len(local) <= 64
    assert tokens.verify(Purpose.BOUNCE, local.removeprefix("bounces+"), "cmp_abc")
    assert not tokens.verify(Purpose.UNSUBSCRIBE, local.removeprefix("bounces+"), "cmp_abc")
    # Relay text goes to relay services and SMS gateways: no unsubscribe button there.
    relay = member(Format.RELAY_TEXT)
    relay_msg = email.message_from_bytes(
        r.render_sync("refill_reminder", relay, REFILL, 10, "cmp_abc").message.raw,
        policy=email.policy.default,
    )
    assert relay_msg["List-Unsubscribe"] is None
    assert relay_msg["Feedback-ID"] == "cmp_abc:refill_reminder:evergreen"


def test_without_secret_or_bounce_domain_no_links_and_from_is_the_sender() -> None:
    settings = Settings()
    result = renderer(settings).render_sync("refill_reminder", member(), REFILL, 9, "cmp_abc")
    msg = email.message_from_bytes(result.message.raw, policy=email.policy.default)
    assert msg["List-Unsubscribe"] is None
    assert result.message.sender == settings.plan.from_address


@pytest.fixture
async def signing_env(
    tmp_path: Path, keys: tuple[Path, Path], smtp_server: SmtpTestServer
) -> AsyncIterator[HubEnv]:
    config = write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'hub.db'}",
        smtp_server.port,
        dkim={
            "domain": DOMAIN,
            "selector": "rsa1",
            "private_key_file": str(keys[0]),
            "ed25519_selector": "ed1",
            "ed25519_private_key_file": str(keys[1]),
        },
        unsubscribe={"secret": SECRET},
        bounces={"domain": f"bounces.{DOMAIN}"},
    )
    async for e in hub_env(config):
        yield e


@pytest.mark.real
async def test_worker_sends_signed_mail_with_verp_sender(
    signing_env: HubEnv, smtp_server: SmtpTestServer
) -> None:
    env = signing_env
    for i in range(3):
        await env.add_member(f"M-{i}")
    await env.add_member("M-r", format="relay_text", relay_address="r@relay.example.org")
    cid = await env.campaign(
        "refill_reminder", [{"member_id": m, "data": REFILL} for m in ("M-0", "M-1", "M-2", "M-r")]
    )
    assert await env.drain(cid) == {"sent": 4}
    assert env.hub.signing is not None
    signer = env.hub.signing.signer
    lookup = dns_stub(signer)
    received = smtp_server.wait_for(4)
    senders = set()
    for r in received:
        assert verify_all(r.content, lookup) == [True, True], r.rcpt_tos
        assert r.mail_from.startswith("bounces+") and r.mail_from.endswith(f"@bounces.{DOMAIN}")
        senders.add(r.mail_from)
    assert len(senders) == 4  # one envelope sender per delivery


@pytest.mark.parametrize("lang", ["en", "es", "ar", "ja"])
def test_change_or_stop_sentence_links_to_the_unsubscribe_page(
    configured: Settings, lang: str
) -> None:
    """CP-3: in email, the "how to change or stop" sentence is followed by a link to the
    member's own unsubscribe page, in the message's language; the chunked body equals the
    layout rendered whole with that link."""
    from dataclasses import replace

    from commhub.content import strings
    from commhub.render.large_print import text_part

    r = renderer(configured)
    for delivery_id in (11, 12):  # two members through the same cached chunks
        result = r.render_sync("refill_reminder", member(lang=lang), REFILL, delivery_id, "cmp_q")
        msg = email.message_from_bytes(result.message.raw, policy=email.policy.default)
        link = msg["List-Unsubscribe"].split(",")[0].strip(" <>")
        t = r.topics["refill_reminder"]
        plan = r.plan(t, lang)
        prepared = r._prepare(t, plan, "print", False)
        values, _ = t.parse_data(REFILL)
        label = plan.translator.gettext(strings.STOP_ONLINE)
        whole = replace(
            r._fill(prepared, member(lang=lang), values, "print"), stop_url=link, stop_label=label
        )
        assert result.html == r.layout.html(whole)
        assert result.text == text_part(whole)
        plain, html = msg.iter_parts()
        assert f'<a href="{link}"' in str(html.get_content())
        assert f"{label}: {link}" in str(plain.get_content())
        change = plan.translator.gettext(strings.CHANGE_OR_STOP).split("%(")[0]
        html_text = str(html.get_content())
        assert html_text.index(change) < html_text.index(link)  # right after the sentence
        if lang != "en":
            assert label != strings.STOP_ONLINE  # translated


@pytest.mark.real
@pytest.mark.parametrize("lang", ["en", "ar"])
async def test_email_with_the_unsubscribe_link_is_axe_clean(
    configured: Settings,
    browser: A11yBrowser,  # noqa: F811
    lang: str,
) -> None:
    result = renderer(configured).render_sync(
        "refill_reminder", member(lang=lang), REFILL, 5, "cmp_a"
    )
    assert result.html is not None and "/u/" in result.html
    violations = await axe_violations(browser, result.html)
    assert violations == [], describe(violations)


def _sign_raises(messages: list[OutgoingMessage]) -> list[asyncio.Future[OutgoingMessage]]:
    raise RuntimeError("a bug")  # in the worker's own call: every message of the group fails


def _child_cannot_sign(messages: list[OutgoingMessage]) -> list[asyncio.Future[OutgoingMessage]]:
    """As the signing process answers a message it could not sign: the error's type name."""
    futures: list[asyncio.Future[OutgoingMessage]] = []
    for _ in messages:
        futures.append(asyncio.get_running_loop().create_future())
        futures[-1].set_exception(SigningFailed("UnicodeError"))
    return futures


@pytest.mark.real
@pytest.mark.parametrize(
    ("sign", "reason"),
    [
        (_sign_raises, "dkim: internal error (RuntimeError)"),
        (_child_cannot_sign, "dkim: internal error (UnicodeError)"),
    ],
)
async def test_a_signing_failure_fails_its_messages_not_the_worker(
    tmp_path: Path,
    smtp_server: SmtpTestServer,
    sign: Callable[[list[OutgoingMessage]], list[asyncio.Future[OutgoingMessage]]],
    reason: str,
) -> None:
    from commhub.worker import Worker

    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", smtp_server.port)
    async for env in hub_env(config):
        for m in ("M-1", "M-2"):
            await env.add_member(m)
        cid = await env.campaign(
            "refill_reminder", [{"member_id": m, "data": REFILL} for m in ("M-1", "M-2")]
        )
        hub = env.hub
        worker = Worker(hub.settings, hub.store, hub.renderer.render, hub.transports, sign=sign)
        assert await env.drain(cid, worker) == {"failed": 2}
        _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
        assert [d["last_error"] for d in body["deliveries"]] == [reason, reason]
    assert smtp_server.messages == []  # nothing unsigned went out


@pytest.mark.real
async def test_audio_email_carries_the_unsubscribe_headers_and_link(configured: Settings) -> None:
    """Audio emails (real espeak-ng) get List-Unsubscribe and the transcript's link too."""
    from commhub.speech.service import SpeechService

    speech = SpeechService(configured.speech, configured.voices_dir)
    r = Renderer(
        configured,
        load_topics(configured.templates_dir / "topics"),
        Catalogs.load(configured.templates_dir / "i18n"),
        speech,
        templates_dir=configured.templates_dir,
    )
    result = await r.render("refill_reminder", member(Format.AUDIO), REFILL, 21, "cmp_au")
    msg = email.message_from_bytes(result.message.raw, policy=email.policy.default)
    link = msg["List-Unsubscribe"].split(",")[0].strip(" <>")
    assert link.startswith("https://hub.example.org/u/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert result.html is not None and f'href="{link}"' in result.html
    assert link in result.text
