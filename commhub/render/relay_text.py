"""Relay text for TTY/relay users (ACCESSIBILITY.md TT-1..9).

Latin-script languages are written in the TTY-safe character set: uppercase, accents
transliterated, every other character replaced by words or dropped. Other scripts cannot be
TTY-safe (TT-9): their relay text is UTF-8 with the same conventions and is marked as not
TTY-encodable. One fact per line, CRLF, no URLs or email addresses, the phone line followed by
`TTY 711` and the hours, `SK` at the end, and the core message within 300 characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from commhub.render.message_parts import Parts

# TT-1: A-Z 0-9 space CR LF - ? : $ ! ' ( ) . , ; / "
TTY_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \r\n-?:$!'().,;/\"")
MAX_CHARS = 300
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
_RUN_ON_711 = re.compile(r"(TTY 711)(?=\w)")
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
    # Scripts without spaces run `711` into the next word (`711にお電話`); a space keeps the
    # relay number a word of its own for relay operators and checks.
    text = _RUN_ON_711.sub(r"\1 ", text)
    return _SPACE_RUNS.sub(" ", text).strip()


@dataclass(frozen=True)
class RelayText:
    text: str  # CRLF lines, ends with SK
    tty_encodable: bool
    core_chars: int  # length of the message before the LA-3 footer (TT-7 asks for <= 300)
    optional_lines: int  # greeting/paragraph lines that fitted in beside the required ones


def relay_text(parts: Parts, tty: bool) -> RelayText:
    """Relay text from parts filled for the `relay` kind; `tty` = the language is Latin-script.

    The core (notices, subject, facts, action, phone line with TTY 711 and hours) always goes
    in; the greeting and then paragraphs are added while the core stays within 300 characters.
    The LA-3 footer lines follow the core, then `SK` (TT-8).
    """
    c = parts.contact
    call = f"{c.before}{c.number} TTY {c.tty}{c.after}"
    notices = [_clean(n.text, tty) for n in parts.notices]
    head = [_clean(parts.subject, tty)]
    facts = [_clean(f"{f.label}: {f.value}", tty) for f in parts.facts]
    tail = [_clean(parts.action, tty), _clean(call, tty), _clean(c.hours_line, tty)]
    optional = [_clean(parts.greeting, tty), *(_clean(p, tty) for p in parts.paragraphs)]

    def size(lines: list[str]) -> int:
        return sum(len(x) + 2 for x in lines) + 2  # + CRLF each, + "SK"

    extra: list[str] = []
    for line in optional:
        if size([*notices, *head, *extra, line, *facts, *tail]) <= MAX_CHARS:
            extra.append(line)
    core = [x for x in (*notices, *head, *extra, *facts, *tail) if x]
    footer = [x for x in (_clean(f.text, tty) for f in parts.footer) if x]
    lines = [*core, *footer, "SK"]
    return RelayText(
        text=CRLF.join(lines) + CRLF,
        tty_encodable=tty,
        core_chars=size(core),
        optional_lines=len(extra),
    )
