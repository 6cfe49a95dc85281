"""Relay text for TTY users (TT-1..9), checked on the message as sent."""

from __future__ import annotations

import re

import pytest

from commhub.checks import check_relay
from commhub.checks.parity import check_parity
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
    tty = LANGUAGES[result.lang].tty_encodable
    assert result.message.tty_encodable is tty
    if result.tty_text is None:
        assert msg["X-Commhub-TTY-Encodable"] == ("yes" if tty else "no")
        parts = [msg]
    else:  # TT-9: Cyrillic goes romanised (TTY-safe) first, then as UTF-8
        assert result.lang in ("ru", "uk") and not tty
        assert msg["X-Commhub-TTY-Encodable"] == "romanized"
        assert msg.get_content_type() == "multipart/alternative"
        parts = list(msg.iter_parts())
        assert [p.get_content_charset() for p in parts] == ["us-ascii", "utf-8"]
        assert parts[0].get_payload(decode=True).decode("ascii") == result.tty_text
        check_tty_safe(result.tty_text, max_chars=None)  # romanised Cyrillic runs longer
        assert check_relay(result.tty_text, tty_encodable=True, lang="ru-Latn") == []
    body = parts[-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    assert parts[-1].get_content_type() == "text/plain"
    assert parts[-1].get_content_charset() == ("us-ascii" if tty else "utf-8")
    assert body.decode(parts[-1].get_content_charset() or "") == text
    assert check_relay(text, tty_encodable=tty, lang=result.lang) == []
    # TT-4: CRLF only; TT-8: ends with SK.
    assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    lines = text.split("\r\n")
    assert lines[-2:] == ["SK", ""]
    if tty:  # (the fake catalogs mark every string, so their texts run longer)
        check_tty_safe(text, max_chars=600 if renderer is REAL_RENDERER else None)
    # TT-7: the message before CP-3's line and the LA-3 lines fits in 300 characters where the
    # content allows: when the required lines alone are longer, nothing optional was added.
    assert result.core_chars is not None
    assert result.core_chars <= 300 or result.optional_lines == 0
    # TT-5: no URLs or email addresses; TT-6: the number, then TTY 711, and the hours.
    assert not re.search(r"https?://|www\.|@", text)
    line = renderer.settings.plan.phones[TOPICS[topic].phone_line]
    assert f"{line.number} TTY 711" in text
    # CP-1..4 with the sample data (other data: tests/test_checks_parity.py).
    parity = check_parity(
        result,
        TOPICS[topic],
        TOPICS[topic].sample,
        catalogs=renderer.catalogs,
        plan=renderer.settings.plan,
    )
    assert parity == []


def check_tty_safe(text: str, max_chars: int | None) -> None:
    """TT-1: a US TTY prints every character (Baudot round trip); TT-7: short lines and, in
    all, at most 600 characters (~100 s at 45.45 baud)."""
    assert baudot.decode(baudot.encode(text)) == text
    assert text == text.upper()
    assert max(len(x) for x in text.split("\r\n")) <= 72
    assert max_chars is None or len(text) <= max_chars


def test_english_relay_text_reads_as_expected() -> None:
    text = relay(REAL_RENDERER, "appointment_reminder", "en").text
    assert text.split("\r\n") == [
        "REMINDER: YOU HAVE AN APPOINTMENT",  # no greeting: it would pass 300 characters
        "DATE: TUESDAY DECEMBER 8 2026",  # CP-2: the year
        "TIME: 10:30 AM",
        "PLACE: RIVERSIDE FAMILY CLINIC",
        "ADDRESS: 1200 RIVER ROAD, PORTLAND, OR 97201",
        "IF YOU NEED TO CHANGE OR CANCEL IT, CALL MEMBER SERVICES.",
        "MEMBER SERVICES: 1-800-555-0100 TTY 711",
        "WE ARE OPEN MONDAY TO FRIDAY, 8 AM TO 8 PM.",
        "CHANGE LANGUAGE OR FORMAT, OR STOP MESSAGES: 1-800-555-0100 TTY 711",  # CP-3
        "FREE INTERPRETER: CALL 1-800-555-0100 TTY 711",  # LA-3, TTY-sized
        "SK",
        "",
    ]


def test_refill_relay_keeps_the_meaning_and_gives_member_services_for_help() -> None:
    text = relay(REAL_RENDERER, "refill_reminder", "en").text
    lines = text.split("\r\n")
    # TT-6: a label that replaces "You can refill … on or after" keeps its meaning.
    assert "REFILL ON OR AFTER: THURSDAY DECEMBER 3 2026" in lines
    assert "YOU HAVE 2 REFILLS LEFT." in lines  # a count no fact line says (CP-1)
    assert "OUR PHARMACY LINE: 1-800-555-0101 TTY 711" in lines
    # Interpreters and changes are Member Services, never the pharmacy; its hours too (TT-6).
    assert lines[-4:-2] == [
        "WE ARE OPEN MONDAY TO FRIDAY, 8 AM TO 8 PM.",
        "FREE INTERPRETER: CALL 1-800-555-0100 TTY 711",
    ]
    assert "CHANGE LANGUAGE OR FORMAT, OR STOP MESSAGES: 1-800-555-0100 TTY 711" in lines


def test_spanish_relay_is_tty_safe_and_keeps_only_tty_footer_lines() -> None:
    result = relay(FAKE_RENDERER, "refill_reminder", "es")
    assert result.message.tty_encodable
    assert "ATENCION, MANANA! SENAL:" in result.text  # ¡ ñ dropped/transliterated
    assert "JUEVES 3 DE DICIEMBRE DE 2026" in " ".join(result.text.split())  # wrapped at 72
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
    full_footer = Renderer(settings(relay_footer="full"), TOPICS, REAL)
    full = relay(full_footer, "refill_reminder", lang, relay="r@relay.example.org")
    short = relay(REAL_RENDERER, "refill_reminder", lang, relay="r@relay.example.org")  # default
    tty = LANGUAGES[lang].tty_encodable
    assert check_relay(short.text, tty_encodable=tty, lang=lang) == []
    footer_lines = short.text.strip().split("\r\n")[-3:-1]  # the two lines before SK
    assert footer_lines[-1].upper() == "FREE INTERPRETER: CALL 1-800-555-0100 TTY 711"
    if lang != "en":
        assert "1-800-555-0100 TTY 711" in footer_lines[0] and footer_lines[0] != footer_lines[1]
    assert len(short.text) < len(full.text)
    assert short.text[: short.core_chars] == full.text[: full.core_chars]  # same message


def test_relay_text_of_every_latin_language_fits_600_characters() -> None:
    """TT-7 with the sample data: en/es/vi/tl/so within 600 characters (~100 s at 45.45 baud)."""
    for topic in TOPICS:
        for lang in ("en", "es", "vi", "tl", "so"):
            result = relay(REAL_RENDERER, topic, lang)
            assert result.lang == lang
            assert len(result.text) <= 600, (topic, lang, len(result.text))
