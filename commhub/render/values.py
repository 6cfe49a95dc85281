"""Typed template values written for one output kind and one locale.

The same parsed value (a date, a time, a Phone, Money, an integer, text) is written three ways:
``print`` (large-print HTML and the text part), ``speech`` (what the voice reads: TS-2, TS-3)
and ``relay`` (TTY/relay text: TT-6). Babel does the locale work; everything here is pure.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from babel.core import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

from commhub.content.variables import Money, Phone
from commhub.errors import RenderError
from commhub.languages import LANGUAGES
from commhub.speech.spoken import SpeechStyle, phone_for_speech

Kind = Literal["print", "speech", "relay"]

# Babel puts narrow/no-break spaces inside times and amounts; speech engines and TTYs want a
# plain space (NFKD would do it for relay text, but speech text is not normalized).
_SPACES = str.maketrans({"\u202f": " ", "\xa0": " ", "\u2009": " ", "\u200f": "", "\u200e": ""})


@lru_cache(maxsize=64)
def locale_for(lang: str) -> Locale:
    """The Babel locale of a commhub language tag (parsed once)."""
    language = LANGUAGES.get(lang)
    if language is None:
        raise RenderError(f"unknown language {lang!r}")
    return Locale.parse(language.locale)


def _is_english(locale: Locale) -> bool:
    return bool(locale.language == "en")


# Languages whose dates put the weekday after the date, in brackets (see write_date).
_WEEKDAY_AFTER = frozenset({"ru", "uk"})


def write_date(d: date, locale: Locale, kind: Kind) -> str:
    """A date, always with its year (CP-2): full in print, long in speech (TS-3), weekday +
    month + day + year in relay (TT-6)."""
    if locale.language in _WEEKDAY_AFTER and kind != "speech":
        # Russian and Ukrainian: "1 января 2027 г. (пятница)". The day and month are already
        # genitive, so a sentence can say "с %(date)s", "до %(date)s"; Babel's full date
        # starts with a nominative weekday ("пятница, 1 января") that no sentence can take.
        long = format_date(d, "long", locale=locale).translate(_SPACES)
        return f"{long} ({format_date(d, 'EEEE', locale=locale)})"
    if kind == "print":
        return format_date(d, "full", locale=locale).translate(_SPACES)
    if kind == "speech":
        return format_date(d, "long", locale=locale).translate(_SPACES)
    if _is_english(locale):
        # TT-6's own example: MONDAY DECEMBER 3 2026 (the relay writer uppercases).
        return format_date(d, "EEEE MMMM d y", locale=locale)
    return format_date(d, "full", locale=locale).translate(_SPACES).replace(",", "")


def write_time(t: time, locale: Locale, kind: Kind) -> str:
    """A clock time; on the hour, speech and relay text in a 12-hour locale that writes the
    day period after the hour say `10 AM` (TT-6): shorter on a TTY and clearer read aloud.
    Others keep Babel's short time (`08:00`, `오전 8:00`: `오전 8` would read oddly)."""
    if kind != "print" and t.minute == 0:
        pattern = locale.time_formats["short"].pattern
        if pattern.endswith("a"):  # "8 AM", "8 a.m.", "8 GH": the marker after the hour
            hour = pattern.replace(":mm", "").replace(".mm", "").replace("hh", "h")
            return format_time(t, hour, locale=locale).translate(_SPACES)
    return format_time(t, "short", locale=locale).translate(_SPACES)


def write_money(m: Money, locale: Locale, kind: Kind) -> str:
    """An amount as the member's bill shows it (CP-4): `$35.00` in print and relay text in
    every language (a Vietnamese bill from a US plan does not say `35,00 US$`).

    Speech says the currency's name in the member's language (`35 US dollars`, `35 미국 달러`):
    several voices read `$35` as a bare number (ko, zh) or as "dollar thirty-five" (es, ru).
    Whole amounts drop `.00` so they are heard as dollars, not "point zero zero".
    """
    if kind == "speech":
        whole = m.amount == m.amount.to_integral_value()
        amount = m.amount.to_integral_value() if whole else m.amount
        text = format_currency(
            amount, m.currency, locale=locale, format_type="name", currency_digits=not whole
        )
        return str(text).translate(_SPACES)
    if m.currency == "USD":
        return f"${m.amount:,.2f}"
    return str(format_currency(m.amount, m.currency, locale="en_US")).translate(_SPACES)


def write_value(
    value: Any, locale: Locale, kind: Kind, speech_style: SpeechStyle = "espeak"
) -> str:
    """Write one parsed variable value for `kind` in `locale`.

    Phone numbers are printed `1-800-555-0100` (TT-6) except in speech, where they are read
    digit by digit in the groups the engine needs (TS-2).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # pragma: no cover - never a variable type
        raise RenderError("boolean values are not template variables")
    if isinstance(value, int):
        return str(format_decimal(value, locale=locale))
    if isinstance(value, Money):
        return write_money(value, locale, kind)
    if isinstance(value, Phone):
        printed = value.printed()
        return phone_for_speech(printed, speech_style) if kind == "speech" else printed
    if isinstance(value, date):
        return write_date(value, locale, kind)
    if isinstance(value, time):
        return write_time(value, locale, kind)
    if isinstance(value, Decimal):
        return str(format_decimal(value, locale=locale))
    raise RenderError(f"cannot write a value of type {type(value).__name__}")


@lru_cache(maxsize=8192, typed=True)
def _written(value: Any, lang: str, kind: Kind, speech_style: SpeechStyle) -> str:
    # A campaign repeats the same dates, times and amounts for thousands of members: Babel's
    # formatting (~10 us a value) runs once per distinct (value, language, kind). `typed`
    # keeps 1 and Decimal("1") apart; every value type here is immutable and hashable.
    return write_value(value, locale_for(lang), kind, speech_style)


def write_values(
    values: dict[str, Any], lang: str, kind: Kind, speech_style: SpeechStyle = "espeak"
) -> dict[str, str]:
    """Every variable of a message written for `kind` in the language `lang`."""
    out: dict[str, str] = {}
    for name, v in values.items():
        if isinstance(v, str):
            out[name] = v
        else:
            try:
                out[name] = _written(v, lang, kind, speech_style)
            except TypeError:  # pragma: no cover - an unhashable value: write it directly
                out[name] = write_value(v, locale_for(lang), kind, speech_style)
    return out
