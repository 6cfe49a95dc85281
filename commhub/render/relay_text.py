"""Relay text for TTY/relay users (ACCESSIBILITY.md TT-1..9, CP-1).

Written for a TTY first: 5-bit Baudot at 45.45 baud prints about six characters a second, so
every character costs the reader time. Latin-script languages are written in the TTY-safe
character set: uppercase, accents transliterated, every other character replaced by words or
dropped. Other scripts cannot be TTY-safe (TT-9): their relay text is UTF-8 with the same
conventions and is marked as not TTY-encodable; Cyrillic also gets a romanised TTY-safe
version (commhub.render.romanize).

One fact per line, lines of at most 72 characters, CRLF, no URLs or email addresses, every
phone number followed by `TTY 711` and its hours, `SK` at the end. Every fact goes in (CP-1);
the greeting and the paragraphs that carry no fact of their own fill in while the message
itself stays within 300 characters; then how to change or stop (CP-3) and two short
language-help lines, for about 600 characters (~100 s) in all.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from dataclasses import dataclass, replace

from commhub.render.message_parts import Fact, Parts, Passage, says
from commhub.render.romanize import romanize

# TT-1: A-Z 0-9 space CR LF - ? : $ ! ' ( ) . , ; / "
TTY_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \r\n-?:$!'().,;/\"")
MAX_CHARS = 300  # the message itself, where the facts allow (TT-7)
MAX_TOTAL = 600  # the whole relay text, language help included (TT-7): ~100 s at 45.45 baud
MAX_LINE = 72  # TT-7
CRLF = "\r\n"

# Letters NFKD does not decompose, and symbols a TTY cannot print (TT-2, TT-3).
_SPECIAL = {
    "ß": "SS",
    "ẞ": "SS",
    "Đ": "D",
    "đ": "D",
    "Ð": "D",
    "ð": "D",
    "Ł": "L",
    "ł": "L",
    "Ø": "O",
    "ø": "O",
    "Æ": "AE",
    "æ": "AE",
    "Œ": "OE",
    "œ": "OE",
    "Þ": "TH",
    "þ": "TH",
    "ı": "I",
    "&": " AND ",
    "#": " NO. ",
    "%": " PERCENT",
    "@": " AT ",
    "+": " PLUS ",
    "=": " EQUALS ",
    "€": " EUR ",
    "£": " GBP ",
    "_": " ",
    "*": "",
    "|": " ",
    "\\": "/",
    "~": "-",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
    "<": "(",
    ">": ")",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "«": '"',
    "»": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2010": "-",
    "\u2011": "-",
    "…": "...",
    "¿": "",
    "¡": "",
    "\t": " ",
}
_SPACE_RUNS = re.compile(r" {2,}")
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")
_KEEP_TOGETHER = re.compile(r"\S+,? \(?TTY \d+\)?")
_URL_OR_EMAIL = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\S+@\S+\.\S+")


def to_tty(text: str) -> str:
    """Uppercase TTY-safe text (TT-1..3): `Mañana & más` -> `MANANA AND MAS`."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            continue
        ch = _SPECIAL.get(ch, ch).upper()
        for c in ch:
            out.append(c if c in TTY_SAFE else "")
    return _SPACE_RUNS.sub(" ", "".join(out)).strip(" ")


def _clean(text: str, tty: bool) -> str:
    """One relay line: no line breaks inside, no URLs/emails (TT-5), TTY-safe when asked."""
    text = _URL_OR_EMAIL.sub("", text.replace("\r", " ").replace("\n", " "))
    text = unicodedata.normalize("NFC", text).replace("\u202f", " ").replace("\xa0", " ")
    # Babel's `p.m.` at the end of a sentence would otherwise give `P.M..`.
    text = _DOUBLE_STOP.sub(".", text)
    if tty:
        return to_tty(text)
    return _SPACE_RUNS.sub(" ", text).strip()


@dataclass(frozen=True)
class RelayText:
    text: str  # CRLF lines, ends with SK
    tty_encodable: bool
    core_chars: int  # length of the message before CP-3's line and the LA-3 footer (TT-7)
    optional_lines: int  # greeting/paragraph lines that fitted in beside the required ones
    # The length with only what must go in (facts, contact, CP-3, language help): when it
    # is over MAX_TOTAL the facts win over TT-7's length (CP-1).
    required_chars: int = 0


def wrap(line: str) -> list[str]:
    """A relay line cut at spaces into lines of at most MAX_LINE characters (TT-7); `TTY 711`
    stays on the line of its number."""
    if len(line) <= MAX_LINE:
        return [line]
    bound = _KEEP_TOGETHER.sub(lambda m: m.group(0).replace(" ", "\xa0"), line)
    cut = textwrap.wrap(bound, MAX_LINE, break_on_hyphens=False) or [bound]
    return [x.replace("\xa0", " ") for x in cut]


def _size(lines: list[str]) -> int:
    """Characters on the wire: each line wrapped, + CRLF each, + "SK" CRLF."""
    return sum(len(w) + 2 for x in lines for w in wrap(x)) + 4


def carries_own_value(text: str, parts: Parts) -> bool:
    """Whether `text` says a variable's value that no fact line says (CP-1: it must go in)."""
    return any(
        says(text, v) and not any(says(f.value, v) for f in parts.facts) for v in parts.values
    )


def _in_order(parts: Parts, own: set[str], chosen: set[str], tty: bool) -> list[str]:
    """The greeting and paragraphs that go in (`own` always, `chosen` by room), in order."""
    keep = own | chosen
    return [_clean(p, tty) for p in (parts.greeting, *parts.paragraphs) if p and p in keep]


def relay_text(parts: Parts, tty: bool) -> RelayText:
    """Relay text from parts filled for the `relay` kind; `tty` = the language is Latin-script.

    Required, in order: notices, subject, paragraphs that carry a value no fact line shows,
    facts, action, the phone line with TTY 711, its hours. The greeting and the other
    paragraphs go in while the message stays within 300 characters. Then CP-3's line (with
    Member Services' hours when that is another number), the LA-3 lines and `SK` (TT-8).
    """
    c = parts.contact
    # TTY style: the line's name as a label (OUR PHARMACY LINE: 1-800-555-0101 TTY 711); the
    # action just before says what to call it for, so "Call … at …" would say it twice.
    name = c.name[:1].upper() + c.name[1:]
    call = _clean(f"{name}{parts.colon}{c.number} TTY {c.tty}", tty)
    notices = [_clean(n.text, tty) for n in parts.notices]
    head = [_clean(parts.subject, tty)]
    own = {p for p in parts.paragraphs if carries_own_value(p, parts)}
    facts = [_clean(parts.fact_line(f), tty) for f in parts.facts]
    tail = [_clean(parts.action, tty), call, _clean(c.hours_line, tty)]
    # What fills in while there is room: advice that says no value ("This visit costs you
    # nothing"), then the greeting, then sentences that repeat a fact line's value.
    advice = [p for p in parts.paragraphs if not any(says(p, v) for v in parts.values)]
    repeats = [p for p in parts.paragraphs if p not in advice and not carries_own_value(p, parts)]
    optional = [*advice, parts.greeting, *repeats]
    chosen: set[str] = set()
    for line in optional:
        lines = _in_order(parts, own, chosen | {line}, tty)
        if line and _size([*notices, *head, *lines, *facts, *tail]) <= MAX_CHARS:
            chosen.add(line)
    body = _in_order(parts, own, chosen, tty)
    core = [x for x in (*notices, *head, *body, *facts, *tail) if x]
    change = [_clean(parts.change_line, tty), _clean(parts.change_hours, tty)]
    footer = [_clean(f.text, tty) for f in parts.footer]
    after = [x for x in (*change, *footer) if x]
    required = [x for x in (*notices, *head, *_in_order(parts, own, set(), tty), *facts, *tail)]
    required = [x for x in (*required, *after) if x]
    lines = [w for x in (*core, *after) for w in wrap(x)]
    return RelayText(
        text=CRLF.join([*lines, "SK"]) + CRLF,
        tty_encodable=tty,
        core_chars=_size(core) - 4,
        optional_lines=len(chosen),
        required_chars=_size(required),
    )


def romanized(parts: Parts, lang: str) -> Parts:
    """`parts` with every Cyrillic string romanised (commhub.render.romanize), for the TTY-safe
    alternative of a Russian or Ukrainian relay message (TT-9)."""

    def r(text: str) -> str:
        return romanize(text, lang)

    c = parts.contact
    return replace(
        parts,
        subject=r(parts.subject),
        heading=r(parts.heading),
        greeting=r(parts.greeting),
        paragraphs=tuple(r(p) for p in parts.paragraphs),
        facts=tuple(Fact(r(f.label), r(f.value)) for f in parts.facts),
        action=r(parts.action),
        contact=replace(
            c,
            before=r(c.before),
            after=r(c.after),
            tty_line=r(c.tty_line),
            hours_line=r(c.hours_line),
            name=r(c.name),
        ),
        thanks=r(parts.thanks),
        notices=tuple(Passage(n.lang, r(n.text)) for n in parts.notices),
        footer=tuple(Passage(f.lang, r(f.text)) for f in parts.footer),
        change_line=r(parts.change_line),
        change_hours=r(parts.change_hours),
        values=tuple(r(v) for v in parts.values),
        html=None,
    )
