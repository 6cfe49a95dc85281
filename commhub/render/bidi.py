"""Bidirectional text: isolate inserted values so they keep their own direction (EM-2, EM-3).

In an Arabic paragraph, a Latin address such as `1200 River Road, Portland, OR 97201` is
reordered by the Unicode bidi algorithm (the leading street number jumps to the end) unless
it is isolated. `isolate()` wraps each inserted value in Unicode isolates (LRI/FSI ... PDI).
Both parts keep those characters in the text itself: every client's text engine that
implements Unicode 6.3 bidi applies them (docs/email-clients.md), while the `<bdi>` element
they replaced is dropped by Gmail, Outlook and Yahoo, and isolation with it.

`inline_html()` escapes a line for the HTML part and keeps printed phone numbers on one line
without `white-space:nowrap` (not supported by Outlook for Windows or Samsung Email): a word
joiner (U+2060, invisible, ignored by the bidi algorithm) follows each hyphen, so
`1-800-555-0100` never breaks after `1-`, and the number is isolated left to right.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
WJ = "\u2060"  # WORD JOINER: no line break here; invisible; bidi class BN (ignored)
OPENERS = LRI + RLI + FSI
_ISOLATES = OPENERS + PDI
_STRIP = str.maketrans("", "", _ISOLATES)
# What a reader's copy of the HTML text drops: the isolates and the phone word joiners.
_INVISIBLE = str.maketrans("", "", _ISOLATES + WJ)
# Letters of the right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, NKo, presentation forms).
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
# Embeddings and overrides (LRE, RLE, PDF, LRO, RLO) a value may carry, say a name with
# U+202E: left alone they reorder the text after the value too; inside an isolate the PDI
# ends them (Unicode bidi rule X6a).
_EMBEDDING = re.compile("[\u202a-\u202e]")
# A printed phone number (Phone.printed: 1-800-555-0100), optionally an isolated value.
_NUMBER = r"\d{1,3}-\d{3}-\d{3}-\d{4}"
_PHONE = re.compile(f"[{LRI}{FSI}]({_NUMBER}){PDI}|(?<![\\d-])({_NUMBER})(?![\\d-])")
_NEEDS_WORK = re.compile(f"[{_ISOLATES}]|\\d-\\d")
_PIECES = re.compile(f"[{_ISOLATES}]|[^{_ISOLATES}]+")


def has_rtl(text: str) -> bool:
    """Whether `text` has a letter of a right-to-left script."""
    return _RTL.search(text) is not None


def visible(text: str) -> str:
    """`text` without the isolates and word joiners this module writes (what a reader copies)."""
    return text.translate(_INVISIBLE)


def isolate(value: str, rtl_message: bool) -> str:
    """`value` between isolates when it could be reordered by the text around it.

    In a right-to-left message every value is isolated: left-to-right (LRI) unless it has
    right-to-left letters or an embedding or override, then first-strong (FSI). In a
    left-to-right message only values with either are (FSI). Isolates already in the value are dropped, so the
    HTML conversion always sees balanced pairs from here.
    """
    if value.isascii():  # most values: no isolates to drop, no right-to-left letters
        return LRI + value + PDI if rtl_message and value else value
    value = value.translate(_STRIP)
    if not value:
        return value
    if has_rtl(value) or _EMBEDDING.search(value) is not None:
        return FSI + value + PDI
    return LRI + value + PDI if rtl_message else value


def _phone(m: re.Match[str]) -> str:
    return LRI + (m[1] or m[2]).replace("-", "-" + WJ) + PDI


def inline_html(text: str) -> Markup:
    """Escaped HTML of a line of plain text: isolates kept and balanced, phone numbers kept
    on one line and isolated left to right.

    Unbalanced isolates (say, from a translation) are dropped or closed, so an isolate never
    reaches past its own value into the markup around it.
    """
    escaped = str(escape(text))
    if _NEEDS_WORK.search(escaped) is None:
        return Markup(escaped)
    escaped = _PHONE.sub(_phone, escaped)
    out: list[str] = []
    depth = 0
    for piece in _PIECES.findall(escaped):
        if piece in OPENERS:
            out.append(piece)
            depth += 1
        elif piece == PDI:
            if depth:
                out.append(piece)
                depth -= 1
        else:
            out.append(piece)
    out.append(PDI * depth)
    return Markup("".join(out))
