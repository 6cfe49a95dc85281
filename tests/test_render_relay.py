"""Relay text for TTY users (TT-1..9), checked on the message as sent."""

from __future__ import annotations

import re

import pytest

from commhub.checks import check_relay
from commhub.domain import Format
from commhub.languages import LANGUAGES
from commhub.render import Renderer, RenderResult
from commhub.render.relay_text import TTY_SAFE, to_tty
from tests import baudot
from tests.test_render_support import (
    FAKE_LANGS,
    TOPICS,
    fake_renderer,
    member,
    parse_email,
    real_renderer,
    settings,
)

REAL_RENDERER = real_renderer()
REAL = REAL_RENDERER.catalogs
FAKE_RENDERER = fake_renderer()


def relay(renderer: Renderer, topic: str, lang: str, **kw: str | None) -> RenderResult:
    m = member(lang, Format.RELAY_TEXT, **kw)  # type: ignore[arg-type]
    return renderer.render_sync(topic, m, TOPICS[topic].sample, delivery_id=21)


def test_to_tty_transliterates_and_replaces_what_a_tty_cannot_print() -> None:
    assert to_tty("¡Mañana & más! #5, 100% — Straße Đặng Łódź") == (
        "MANANA AND MAS! NO. 5, 100 PERCENT - STRASSE DANG LODZ"
    )
    assert to_tty("a@b [x] {y} <z> _ * = + ~ | \\") == "A AT B (X) (Y) (Z) EQUALS PLUS - /"
    assert set(to_tty("Crème brûlée «très» “bon” … ¿sí?")) <= TTY_SAFE


CASES = [(REAL_RENDERER, t, lang) for t in TOPICS for lang in REAL.languages()] + [
    (FAKE_RENDERER, t, lang) for t in TOPICS for lang in FAKE_LANGS
]


@pytest.mark.parametrize(
    ("renderer", "topic", "lang"), CASES, ids=[f"{t}-{lang}" for _, t, lang in CASES]
)
def test_relay_text_meets_the_tt_rules(renderer: Renderer, topic: str, lang: str) -> None:
    result = relay(renderer, topic, lang)
    text = result.text
    msg = parse_email(result.message.raw)
    body = msg.get_payload(decode=True)
    assert isinstance(body, bytes)
    tty = LANGUAGES[result.lang].tty_encodable
    assert result.message.tty_encodable is tty
    assert msg["X-Commhub-TTY-Encodable"] == ("yes" if tty else "no")
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == ("us-ascii" if tty else "utf-8")
    assert body.decode(msg.get_content_charset() or "") == text
    assert check_relay(text, tty_encodable=tty, lang=result.lang) == []
    # TT-4: CRLF only; TT-8: ends with SK.
    assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[-2:] == ["SK", ""]
    if tty:
        # TT-1: a US TTY prints every character of it (Baudot round trip).
        assert baudot.decode(baudot.encode(text)) == text
        assert text == text.upper()
    # TT-7: the message before the LA-3 footer fits in 300 characters where the content
    # allows: when the required lines alone are longer, nothing optional was added.
    assert result.core_chars is not None
    assert result.core_chars <= 300 or result.optional_lines == 0
    # TT-5: no URLs or email addresses; TT-6: the number, then TTY 711, and the hours.
    assert not re.search(r"https?://|www\.|@", text)
    line = renderer.settings.plan.phones[TOPICS[topic].phone_line]
    assert f"{line.number} TTY 711" in text
    # TT-4: one fact per line.
    sample = TOPICS[topic].sample
    for value in sample.values():
        if isinstance(value, str) and value[:1].isalpha():
            shown = to_tty(value) if tty else value
            assert sum(shown in x for x in lines) >= 1


def test_english_relay_text_reads_as_expected() -> None:
    text = relay(REAL_RENDERER, "appointment_reminder", "en").text
    lines = text.split("\r\n")
    assert lines[0] == "REMINDER: YOU HAVE AN APPOINTMENT"
    assert "DATE: TUESDAY DECEMBER 8" in lines
    assert "TIME: 10:30 AM" in lines
    assert "ADDRESS: 1200 RIVER ROAD, PORTLAND, OR 97201" in lines
    assert "CALL MEMBER SERVICES AT 1-800-555-0100 TTY 711." in lines
    assert "WE ARE OPEN MONDAY TO FRIDAY, 8 AM TO 8 PM." in lines


def test_spanish_relay_is_tty_safe_and_keeps_only_tty_footer_lines() -> None:
    result = relay(FAKE_RENDERER, "refill_reminder", "es")
    assert result.message.tty_encodable
    assert "ATENCION, MANANA! SENAL:" in result.text  # ¡ ñ dropped/transliterated
    assert "JUEVES 3 DE DICIEMBRE DE 2026" in result.text
    assert "INTERPRETER" in result.text  # the LA-3 line in English and Spanish
    assert not any(ord(c) > 127 for c in result.text)  # no Arabic/Chinese footer lines


def test_russian_relay_is_utf8_and_marked_not_tty_encodable() -> None:
    result = relay(FAKE_RENDERER, "coverage_change", "ru")
    assert not result.message.tty_encodable
    assert "Напоминание" in result.text  # not uppercased, not transliterated
    assert "1-800-555-0100 TTY 711" in result.text
    assert result.text.endswith("\r\nSK\r\n")


def test_relay_goes_to_the_relay_address_when_there_is_one() -> None:
    with_relay = relay(REAL_RENDERER, "refill_reminder", "en", relay="ana@relay.example.org")
    assert with_relay.message.recipients == ("ana@relay.example.org",)
    assert parse_email(with_relay.message.raw)["To"] == "ana@relay.example.org"
    without = relay(REAL_RENDERER, "refill_reminder", "en")
    assert without.message.recipients == ("ana@example.org",)


def test_member_text_with_symbols_stays_tty_safe() -> None:
    m = member("en", Format.RELAY_TEXT)
    data = {**TOPICS["refill_reminder"].sample, "pharmacy_name": "Smith & Sons #2 (www.x.com)"}
    result = REAL_RENDERER.render_sync("refill_reminder", m, data, 1)
    assert "PHARMACY: SMITH AND SONS NO. 2 (" in result.text
    assert "WWW" not in result.text and "X.COM" not in result.text  # TT-5
    assert baudot.decode(baudot.encode(result.text)) == result.text


@pytest.mark.parametrize("lang", ["es", "en", "ru"])
def test_short_relay_footer_keeps_the_members_language_and_english(lang: str) -> None:
    short_footer = Renderer(settings(relay_footer="short"), TOPICS, REAL)
    full = relay(REAL_RENDERER, "refill_reminder", lang, relay="r@relay.example.org")
    short = relay(short_footer, "refill_reminder", lang, relay="r@relay.example.org")
    tty = LANGUAGES[lang].tty_encodable
    assert check_relay(short.text, tty_encodable=tty, lang=lang) == []
    footer_lines = short.text[short.core_chars or 0 :].strip().split("\r\n")[:-1]  # before SK
    assert 1 <= len([line for line in footer_lines if "711" in line]) <= 2
    assert len(short.text) < len(full.text)
    assert short.text[: short.core_chars] == full.text[: full.core_chars]  # same message
