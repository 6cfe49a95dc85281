"""Checks of relay text (TT rules) and of the text an audio message is spoken from (TS rules).

Relay text goes to TTY users through 711 relay: 5-bit Baudot, uppercase, a tiny character set,
about six characters a second. Speech text is what the speech engine reads aloud.
"""

from __future__ import annotations

import re

from babel.core import Locale

from commhub.checks.base import Collector, Violation, excerpt
from commhub.languages import LANGUAGES

# TT-1: exactly what a US TTY prints (Baudot letters and figures minus & and #, TT-2).
TTY_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \r\n-?:$!'().,;/\"")
_TT3_NAMED = frozenset("@_%=+*[]{}<>|\\~")

_URL = re.compile(
    r"(https?://|www\.|\b[a-z0-9-]+\.(com|org|net|gov|edu|us|io|info|health)\b)", re.IGNORECASE
)
_EMAIL = re.compile(r"[\w.+-]+(@|\s+AT\s+)[\w-]+\.[a-z]{2,}", re.IGNORECASE)
# TT-6: the one phone format a TTY user can dial back from: 1-800-555-0100.
_PHONE_OK = re.compile(r"(?<![\d-])(?:1-)?\d{3}-\d{3}-\d{4}(?![\d-])")
_PHONE_ANY = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.]?\d{3}[\s.-]?\d{4}(?!\d)")
# "TTY 711" followed by a Korean, Japanese or Chinese word: a particle cut from its number.
_TTY_RUN_ON = re.compile(r"TTY\s*711 ?([\uac00-\ud7af\u3040-\u30ff\u4e00-\u9fff]+)")
_TTY_AFTER = re.compile(r"^[\s,.;:(-]*\(?TTY:?\s*711\b", re.IGNORECASE)


def _day_periods() -> str:
    """Every known language's AM/PM markers (Babel), as a regex alternation: relay text
    writes `8 AM`, `8 A.M.`, `8 GH` (Somali), `8 ص` (Arabic) on the hour."""
    marks = {"AM", "PM", "A.M.", "P.M."}
    for language in LANGUAGES.values():
        periods = Locale.parse(language.locale).day_periods["format"]["abbreviated"]
        marks.update(str(periods[k]) for k in ("am", "pm") if k in periods)
    return "|".join(re.escape(m) for m in sorted(marks, key=len, reverse=True))


_HOURS = re.compile(
    rf"\d{{1,2}}(:\d{{2}})?\s*({_day_periods()})(?!\w)|\d{{1,2}}:\d{{2}}|\d{{1,2}}\s*H\b|24/7|24 HOURS",
    re.IGNORECASE,
)
# TT-6 / TS-3: numeric dates: 12/03/2026, 2026-12-03, 3.12.2026, 12-03-26. (A bare "12/3"
# is left alone: it cannot be told from "24/7".)
NUMERIC_DATE = re.compile(
    r"(?<![\d/.-])(\d{1,2}[/.-]\d{1,2}[/.-](\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2})(?![\d/.-])"
)

# TS-8: about a minute of speech.
SPEECH_SECONDS = 65.0
DEFAULT_WPM = 150
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def check_relay(
    text: str,
    *,
    tty_encodable: bool,
    lang: str,
    max_chars: int | None = None,
    expects_reply: bool = False,
) -> list[Violation]:
    """Check relay-friendly text against TT-1…TT-9.

    `tty_encodable` says the text claims to be TTY-safe (Latin-script languages); `lang` is the
    BCP 47 tag (TT-9 checks the claim against the language). `max_chars`, when given, reports
    TT-7 if the text is longer (the renderer decides when shortness is possible). The last line
    must be `SK`, or `GA` when `expects_reply` (TT-8).
    """
    out = Collector()
    _check_language_claim(tty_encodable, lang, out)
    if tty_encodable:
        _check_charset(text, out)
    _check_lines(text, out)
    for m in _URL.finditer(text):
        out.add("TT-5", f"URL-like {m.group(0)!r}: give a phone number instead")
    for m in _EMAIL.finditer(text):
        out.add("TT-5", f"email address {excerpt(m.group(0))!r}: give a phone number instead")
    _check_phones(text, out)
    for m in NUMERIC_DATE.finditer(text):
        out.add("TT-6", f"numeric date {m.group(0)!r}: spell it out (MONDAY DECEMBER 3)")
    if max_chars is not None and len(text) > max_chars:
        out.add("TT-7", f"{len(text)} characters; keep it to {max_chars} where possible")
    last = text.rstrip(" \r\n").rsplit("\n", 1)[-1].strip()
    want = "GA" if expects_reply else "SK"
    if not (last == want or last.endswith(" " + want)):
        reason = "a reply is expected" if expects_reply else "no reply is expected"
        out.add("TT-8", f"the last line is {excerpt(last)!r}; end with {want} ({reason})")
    return out.items


def _check_language_claim(tty_encodable: bool, lang: str, out: Collector) -> None:
    known = LANGUAGES.get(lang)
    if known is None:
        return
    if tty_encodable and not known.tty_encodable:
        out.add("TT-9", f"{lang!r} cannot be shown on a TTY; mark its relay text not TTY-encodable")
    if not tty_encodable and known.tty_encodable:
        out.add("TT-9", f"{lang!r} can be transliterated for a TTY; relay text must be TTY-safe")


def _check_charset(text: str, out: Collector) -> None:
    """TT-1/2/3: one violation per kind of bad character, naming them and the first place."""
    found: dict[tuple[str, str], tuple[int, list[str]]] = {}
    for i, ch in enumerate(text):
        if ch in TTY_SAFE:
            continue
        if ch in "&#":
            key = ("TT-2", "many TTYs cannot print")
        elif ch.islower():
            key = ("TT-3", "lowercase letters (uppercase only)")
        elif ch.isalpha():
            key = ("TT-3", "letters a TTY lacks (transliterate: MAÑANA → MANANA)")
        elif ch in _TT3_NAMED:
            key = ("TT-3", "symbols a TTY lacks")
        else:
            key = ("TT-1", "characters outside the TTY set")
        _, chars = found.setdefault(key, (i, []))
        if ch not in chars:
            chars.append(ch)
    for (rule, what), (i, chars) in found.items():
        shown = "".join(chars[:12]) + ("…" if len(chars) > 12 else "")
        near = excerpt(text[max(0, i - 10) : i + 10], 30)
        out.add(rule, f"{what}: {shown!r}, first at {i} (…{near}…)")


def _check_lines(text: str, out: Collector) -> None:
    if re.search(r"(?<!\r)\n", text) or re.search(r"\r(?!\n)", text):
        out.add("TT-4", "line endings must be CRLF")
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if "\t" in line:
            out.add("TT-4", f"line {n} has a tab: no tables or columns")
        if line[:1] in (" ", "\u3000"):
            out.add("TT-4", f"line {n} is indented")
        if re.search(r"\S {3,}\S", line):
            out.add("TT-4", f"line {n} lines text up in columns: {excerpt(line)!r}")
        if "|" in line:
            out.add("TT-4", f"line {n} looks like a table: {excerpt(line)!r}")


def _check_phones(text: str, out: Collector) -> None:
    ok = list(_PHONE_OK.finditer(text))
    ok_spans = [m.span() for m in ok]
    for m in _PHONE_ANY.finditer(text):
        if not any(a <= m.start() < b for a, b in ok_spans):
            out.add("TT-6", f"phone number {m.group(0).strip()!r}: write it as 1-800-555-0100")
    with_hours: dict[str, bool] = {}
    for m in _TTY_RUN_ON.finditer(text):
        # Korean and Japanese attach particles to the number (번으로, に): "TTY 711" put
        # between them splits the particle from its noun. Write the number before punctuation.
        out.add("TT-6", f"TTY 711 runs into {m.group(1)!r}: a particle split from its number")
    for i, m in enumerate(ok):
        rest = text[m.end() :]
        if not _TTY_AFTER.match(rest):
            out.add("TT-6", f"phone number {m.group(0)!r} is not followed by TTY 711")
        # The hours belong with the number: look up to the next number or three lines on (a
        # long hours line wraps at 72 characters, TT-7). A number repeated later (the LA-3
        # notice) need not repeat its hours.
        end = ok[i + 1].start() if i + 1 < len(ok) else len(text)
        window = "\n".join(rest[: end - m.end()].replace("\r\n", "\n").split("\n")[:4])
        digits = re.sub(r"\D", "", m.group(0))[-10:]
        with_hours[digits] = with_hours.get(digits, False) or bool(_HOURS.search(window))
    for digits, ok_hours in with_hours.items():
        if not ok_hours:
            number = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
            out.add("TT-6", f"phone number {number} is never given with its hours")


# TS-2: a phone number the speech engine would read as "eight hundred…".
_SPOKEN_PHONE_BAD = re.compile(
    r"\d{3}-\d{3}-\d{4}|\(\d{3}\)\s*\d{3}|\d{3}\.\d{3}\.\d{4}|(?<!\d)\d{7,}(?!\d)"
)
# A digit-by-digit number as spoken: single digits separated by spaces, commas or dashes.
_SPOKEN_DIGITS = re.compile(r"(?<!\d)\d(?:[\s,.-]{1,3}\d)+(?!\d)")


def check_speech_text(
    text: str,
    *,
    lang: str,
    callback_number: str | None = None,
    wpm: int = DEFAULT_WPM,
    max_seconds: float = SPEECH_SECONDS,
) -> list[Violation]:
    """Check the text an audio message is spoken from against TS-2, TS-3, TS-4 and TS-8.

    `callback_number` in any spelling ("1-800-555-0100"); without it, some number spoken digit
    by digit must be heard twice. `wpm` is the speech rate the engine is set to (TS-1) and
    `max_seconds` the length to stay under (TS-8). `lang` decides how words are counted
    (CJK characters count as part-words).
    """
    out = Collector()
    for m in _SPOKEN_PHONE_BAD.finditer(text):
        out.add(
            "TS-2",
            f"phone number {m.group(0)!r} would be read as a quantity: "
            "say it digit by digit in groups (1, 8 0 0, 5 5 5, 0 1 0 0)",
        )
    for m in NUMERIC_DATE.finditer(text):
        out.add("TS-3", f"numeric date {m.group(0)!r}: say the full date")

    spoken = [re.sub(r"\D", "", m.group(0)) for m in _SPOKEN_DIGITS.finditer(text)]
    spoken = [d for d in spoken if len(d) >= 7]
    if callback_number is not None:
        want = re.sub(r"\D", "", callback_number)
        short = want[1:] if len(want) == 11 and want.startswith("1") else want
        heard = sum(1 for d in spoken if d in (want, short, "1" + short))
        if heard < 2:
            out.add(
                "TS-4",
                f"the callback number is heard {heard} time(s), digit by digit; say it twice "
                "(once more at the end)",
            )
    elif not any(spoken.count(d) >= 2 for d in spoken):
        out.add("TS-4", "no phone number is spoken twice, digit by digit")

    words = _word_count(text, lang)
    seconds = words / max(wpm, 1) * 60.0
    if seconds > max_seconds:
        out.add(
            "TS-8",
            f"about {words:.0f} words, ~{seconds:.0f} s at {wpm} wpm; keep it under "
            f"{max_seconds:.0f} s",
        )
    return out.items


def _word_count(text: str, lang: str) -> float:
    """Words as a speech engine paces them; a CJK character is counted as 0.6 of a word."""
    cjk_chars = len(_CJK.findall(text))
    rest = _CJK.sub(" ", text)
    words = len(re.findall(r"[^\W_]+", rest))
    return words + 0.6 * cjk_chars
