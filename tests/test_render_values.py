"""Typed values written per output kind and locale (Babel), TS-2/TS-3/TT-6."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from commhub.content.variables import Money, Phone
from commhub.errors import RenderError
from commhub.render.values import write_values

DEC3 = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("lang", "kind", "expected"),
    [
        ("en", "print", "Thursday, December 3, 2026"),
        ("en", "speech", "December 3, 2026"),
        ("en", "relay", "Thursday December 3 2026"),  # CP-2: the year, always
        ("es", "print", "jueves, 3 de diciembre de 2026"),
        ("es", "speech", "3 de diciembre de 2026"),
        ("vi", "print", "Thứ Năm, 3 tháng 12, 2026"),
        ("ja", "print", "2026年12月3日木曜日"),
        ("ja", "speech", "2026年12月3日"),
        ("ru", "speech", "3 декабря 2026 г."),
        # ru/uk: genitive day and month first, so sentences can say "с …", "до …".
        ("ru", "print", "3 декабря 2026 г. (четверг)"),
        ("uk", "relay", "3 грудня 2026 р. (четвер)"),
        ("de", "relay", "Donnerstag 3. Dezember 2026"),
    ],
)
def test_dates_per_locale(lang: str, kind: str, expected: str) -> None:
    assert write_values({"d": DEC3}, lang, kind)["d"] == expected  # type: ignore[arg-type]


def test_dates_are_never_numeric() -> None:
    for lang in ("en", "es", "vi", "fr", "pt", "tl"):
        for kind in ("print", "speech", "relay"):
            text = write_values({"d": DEC3}, lang, kind)["d"]  # type: ignore[arg-type]
            assert "12/3" not in text and "3/12" not in text and "2026-12" not in text


def test_times_on_the_hour_read_as_10_am_in_english_speech_and_relay() -> None:
    values = {"a": time(10, 0), "b": time(14, 30)}
    assert write_values(values, "en", "relay") == {"a": "10 AM", "b": "2:30 PM"}
    assert write_values(values, "en", "speech") == {"a": "10 AM", "b": "2:30 PM"}
    # Print keeps Babel's short form; its narrow no-break space becomes a plain space.
    assert write_values(values, "en", "print") == {"a": "10:00 AM", "b": "2:30 PM"}
    assert write_values(values, "fr", "print") == {"a": "10:00", "b": "14:30"}


def test_money_per_locale_and_whole_dollars_in_speech() -> None:
    values = {"m": Money(Decimal("35.00")), "c": Money(Decimal("10.50"))}
    assert write_values(values, "en", "print") == {"m": "$35.00", "c": "$10.50"}
    assert write_values(values, "en", "relay") == {"m": "$35.00", "c": "$10.50"}
    # CP-4: as the bill shows it, in every language (not "35,00 US$").
    for lang in ("vi", "ru", "es", "ar", "zh-Hans"):
        assert write_values(values, lang, "print") == {"m": "$35.00", "c": "$10.50"}
    # Speech says the currency's name in the language: some voices read "$35" as "35".
    assert write_values(values, "en", "speech") == {"m": "35 US dollars", "c": "10.50 US dollars"}
    assert write_values(values, "es", "speech")["m"] == "35 dólares estadounidenses"
    assert write_values(values, "ko", "speech")["m"] == "35 미국 달러"


def test_phone_printed_for_print_and_relay_digit_groups_for_speech() -> None:
    values = {"p": Phone("18005550100")}
    assert write_values(values, "en", "print")["p"] == "1-800-555-0100"
    assert write_values(values, "en", "relay")["p"] == "1-800-555-0100"
    assert write_values(values, "en", "speech")["p"] == "1, 8 0 0, 5 5 5, 0 1 0 0"
    assert write_values(values, "en", "speech", "gtts")["p"] == "1 8 0 0 5 5 5 0 1 0 0"


def test_integers_use_locale_grouping_and_text_is_kept() -> None:
    values = {"n": 1234, "t": "Main Street Pharmacy"}
    assert write_values(values, "en", "print") == {"n": "1,234", "t": "Main Street Pharmacy"}
    assert write_values(values, "de", "print")["n"] == "1.234"


def test_unknown_language_is_a_render_error() -> None:
    with pytest.raises(RenderError):
        write_values({"d": DEC3}, "xx", "print")
