"""Language access end to end: every shipped language × format × topic through the hub, and
the three not-ready policies, asserted on what the SMTP server received."""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import mutagen.mp3
import pytest
from babel.messages.pofile import write_po

from commhub.checks import check_message, check_relay
from commhub.content import strings
from commhub.languages import LANGUAGES
from commhub.settings import SHIPPED_ROOT
from tests.hub_harness import HubEnv, hub_env, write_config
from tests.smtp_server import SmtpTestServer
from tests.test_render_support import TOPICS, parse_email
from tests.tiny_argos import read_po_file

READY_LANGUAGES = ["en", "es", "vi", "zh-Hans", "zh-Hant", "ru", "ko", "uk", "ar", "tl", "so", "ja"]
NO_OFFLINE_VOICE = {"ja", "tl", "so"}  # gTTS only (off by default) or no voice at all
FORMATS = ["large_print_email", "audio", "relay_text"]
SAMPLES = {name: topic.sample for name, topic in TOPICS.items()}


@pytest.fixture
async def env(tmp_path: Path, smtp_server: SmtpTestServer) -> AsyncIterator[HubEnv]:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", smtp_server.port)
    async for e in hub_env(config):
        yield e


@pytest.mark.real  # the real espeak-ng speaks every audio message
@pytest.mark.parametrize("topic", sorted(SAMPLES))
async def test_every_language_and_format_reaches_the_member(
    env: HubEnv, smtp_server: SmtpTestServer, topic: str
) -> None:
    members = {}
    for lang in READY_LANGUAGES:
        for fmt in FORMATS:
            member_id = f"M-{lang}-{fmt}"
            address = f"{lang.lower()}-{fmt.replace('_', '-')}@example.org"
            extra = (
                {"relay_address": address, "email": None}
                if fmt == "relay_text"
                else {"email": address}
            )
            await env.add_member(
                member_id,
                language=lang,
                format=fmt,
                given_name="Alex",
                family_name="Rivera",
                **extra,
            )
            members[address] = (lang, fmt)
    cid = await env.campaign(
        topic,
        [
            {"member_id": m, "data": SAMPLES[topic]}
            for m in (f"M-{lang}-{fmt}" for lang, fmt in members.values())
        ],
    )
    counts = await env.drain(cid, timeout=120)
    held = len(NO_OFFLINE_VOICE)
    assert counts == {"sent": len(members) - held, "held": held}

    _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries?state=held")
    assert {row["member_id"] for row in body["deliveries"]} == {
        f"M-{lang}-audio" for lang in NO_OFFLINE_VOICE
    }
    assert all("voice" in row["last_error"] for row in body["deliveries"])

    # TT-9: relay members whose script a TTY cannot print (not even romanised) are counted,
    # so staff can arrange a 711 call with an interpreter.
    _, status = await env.call("GET", f"/v1/campaigns/{cid}")
    unprintable = [lang for lang in READY_LANGUAGES if not LANGUAGES[lang].reaches_a_tty]
    assert sorted(unprintable) == ["ar", "ja", "ko", "zh-Hans", "zh-Hant"]
    assert status["counts"]["tty_unencodable"] == len(unprintable)

    received = {r.rcpt_tos[0]: r.content for r in smtp_server.messages}
    assert len(received) == len(members) - held
    for address, raw in received.items():
        lang, fmt = members[address]
        msg = parse_email(raw)
        where = f"{topic} {lang} {fmt}"
        assert msg["Content-Language"] == lang, where  # never an English message in disguise
        if fmt == "relay_text":
            tty = LANGUAGES[lang].tty_encodable
            romanized = lang in ("ru", "uk")  # TT-9: a romanised TTY-safe part goes first
            header = "yes" if tty else "romanized" if romanized else "no"
            assert msg["X-Commhub-TTY-Encodable"] == header, where
            parts = list(msg.iter_parts()) if romanized else [msg]
            text = parts[-1].get_content()
            assert check_relay(text, tty_encodable=tty, lang=lang) == [], where
            if romanized:
                tty_text = parts[0].get_content()
                assert check_relay(tty_text, tty_encodable=True, lang=f"{lang}-Latn") == []
            continue
        assert check_message(raw) == [], where  # every LP/EM rule on the real MIME message
        html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_content()
        assert f'lang="{lang}"' in html, where
        if LANGUAGES[lang].rtl:
            assert 'dir="rtl"' in html, where
        if fmt == "audio":
            (mp3,) = [p for p in msg.walk() if p.get_content_type() == "audio/mpeg"]
            audio = mutagen.mp3.MP3(io.BytesIO(mp3.get_content()))
            # TS-8 "around 60 s or less" yields to CP-1: every fact and the CP-3 line are
            # spoken, so ko, uk and ar (slower voices) run to ~85 s with the sample data.
            assert 5 < audio.info.length < 90, where


async def _policy_env(
    tmp_path: Path, smtp_port: int, policy: str, templates: Path | None = None
) -> AsyncIterator[HubEnv]:
    content = {"templates_dir": str(templates)} if templates else {}
    config = write_config(
        tmp_path,
        f"sqlite:///{tmp_path / 'hub.db'}",
        smtp_port,
        language={"policy": policy},
        content=content,
    )
    async for e in hub_env(config):
        yield e


REFILL = SAMPLES["refill_reminder"]


async def test_fallback_policy_sends_english_with_a_tagline(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    async for env in _policy_env(tmp_path, smtp_server.port, "fallback"):
        await env.add_member("M-fr", language="fr")  # French ships the footer strings only
        cid = await env.campaign("refill_reminder", [{"member_id": "M-fr", "data": REFILL}])
        assert await env.drain(cid) == {"sent": 1}
        msg = parse_email(smtp_server.messages[0].content)
        assert msg["Content-Language"] == "en"
        assert msg["Subject"] == "Time to refill your prescription"
        html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_content()
        assert '<html lang="en"' in html
        assert 'lang="fr"' in html and "français" in html  # the tagline, in French, tagged
        _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
        assert body["deliveries"][0]["language_fallback"] is True
        _, status = await env.call("GET", f"/v1/campaigns/{cid}")
        assert status["counts"]["language_fallback"] == 1


async def test_block_policy_holds_with_the_reason(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    async for env in _policy_env(tmp_path, smtp_server.port, "block"):
        await env.add_member("M-fr", language="fr")
        await env.add_member("M-vi", language="vi")
        cid = await env.campaign(
            "refill_reminder", [{"member_id": m, "data": REFILL} for m in ("M-fr", "M-vi")]
        )
        await env.worker().run_until_idle()
        assert await env.counts(cid) == {"held": 1, "sent": 1}
        _, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries?state=held")
        (row,) = body["deliveries"]
        assert row["member_id"] == "M-fr" and "not ready" in row["last_error"]
        assert [parse_email(r.content)["Content-Language"] for r in smtp_server.messages] == ["vi"]


def _catalog_with_drafts(tmp_path: Path) -> Path:
    """A copy of the shipped templates whose fr.po has a fuzzy machine draft for every string."""
    templates = tmp_path / "templates"
    shutil.copytree(SHIPPED_ROOT / "templates", templates)
    pot = read_po_file(templates / "messages.pot")
    po_path = templates / "i18n" / "fr.po"
    catalog = read_po_file(po_path)
    for entry in pot:
        if not entry.id or catalog.get(entry.id) is not None:
            continue
        if isinstance(entry.id, tuple):
            draft: str | tuple[str, ...] = tuple(
                f"[brouillon] {s}" for s in (entry.id[0], entry.id[1], entry.id[1])
            )
        else:
            draft = f"[brouillon] {entry.id}"
        catalog.add(
            entry.id,
            draft,
            flags={"fuzzy", "python-format"} if "%(" in str(entry.id) else {"fuzzy"},
            user_comments=["machine draft: test engine 1.0"],
        )
    with po_path.open("wb") as f:
        write_po(f, catalog)
    return templates


async def test_machine_with_notice_sends_drafts_with_the_la2_notice(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    templates = _catalog_with_drafts(tmp_path)
    async for env in _policy_env(tmp_path, smtp_server.port, "machine_with_notice", templates):
        await env.add_member("M-fr", language="fr")
        await env.add_member("M-es", language="es")
        cid = await env.campaign(
            "refill_reminder", [{"member_id": m, "data": REFILL} for m in ("M-fr", "M-es")]
        )
        assert await env.drain(cid) == {"sent": 2}
        received = [parse_email(r.content) for r in smtp_server.messages]
        by_lang = {msg["Content-Language"]: msg for msg in received}
        assert set(by_lang) == {"fr", "es"}
        fr_text = by_lang["fr"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "[brouillon] Time to refill your prescription" in by_lang["fr"]["Subject"]
        assert "traduit" in fr_text.lower() or "ordinateur" in fr_text.lower(), (
            "LA-2 notice in French"
        )
        es_text = by_lang["es"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "[brouillon]" not in es_text  # a ready language uses only reviewed strings
        assert strings.MACHINE_NOTICE not in es_text
