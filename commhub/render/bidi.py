"""Bidirectional text: isolate inserted values so they keep their own direction (EM-2, EM-3).

In an Arabic paragraph, a Latin address such as `1200 River Road, Portland, OR 97201` is
reordered by the Unicode bidi algorithm (the leading street number jumps to the end) unless
it is isolated. `isolate()` wraps each inserted value in Unicode isolates (LRI/FSI ... PDI),
which the text part keeps (plain-text readers apply them too) and `inline_html()` turns into
`<bdi>` elements for the HTML part. Printed phone numbers also get `white-space:nowrap`, so
`1-800-555-0100` never breaks after `1-` at a line end, whichever the language.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
_ISOLATES = LRI + RLI + FSI + PDI
_STRIP = str.maketrans("", "", _ISOLATES)
# Letters of the right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, NKo, presentation forms).
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
# A printed phone number (Phone.printed: 1-800-555-0100), optionally an isolated value.
_NUMBER = r"\d{1,3}-\d{3}-\d{3}-\d{4}"
_PHONE = re.compile(f"[{LRI}{FSI}]({_NUMBER}){PDI}|(?<![\\d-])({_NUMBER})(?![\\d-])")
_NEEDS_MARKUP = re.compile(f"[{_ISOLATES}]|\\d-\\d")
_SPLIT = re.compile(f"([{_ISOLATES}])")
_OPEN = {LRI: '<bdi dir="ltr">', RLI: '<bdi dir="rtl">', FSI: "<bdi>"}
PHONE_OPEN = '<bdi dir="ltr" style="white-space:nowrap;">'


def has_rtl(text: str) -> bool:
    """Whether `text` has a letter of a right-to-left script."""
    return _RTL.search(text) is not None


def isolate(value: str, rtl_message: bool) -> str:
    """`value` between isolates when it could be reordered by the text around it.

    In a right-to-left message every value is isolated: left-to-right (LRI) unless it has
    right-to-left letters, then first-strong (FSI). In a left-to-right message only values
    with right-to-left letters are (FSI). Isolates already in the value are dropped, so the
    HTML conversion always sees balanced pairs from here.
    """
    if value.isascii():  # most values: no isolates to drop, no right-to-left letters
        return LRI + value + PDI if rtl_message and value else value
    value = value.translate(_STRIP)
    if not value:
        return value
    if has_rtl(value):
        return FSI + value + PDI
    return LRI + value + PDI if rtl_message else value


def _phone(m: re.Match[str]) -> str:
    return PHONE_OPEN + (m[1] or m[2]) + "</bdi>"


def inline_html(text: str) -> Markup:
    """Escaped HTML of a line of plain text: isolates become `<bdi>`, phone numbers nowrap.

    Unbalanced isolates (say, from a translation) are dropped or closed, so the markup is
    always well formed.
    """
    escaped = str(escape(text))
    if _NEEDS_MARKUP.search(escaped) is None:
        return Markup(escaped)
    escaped = _PHONE.sub(_phone, escaped)
    out: list[str] = []
    depth = 0
    for piece in _SPLIT.split(escaped):
        if piece in _OPEN:
            out.append(_OPEN[piece])
            depth += 1
        elif piece == PDI:
            if depth:
                out.append("</bdi>")
                depth -= 1
        else:
            out.append(piece)
    out.append("</bdi>" * depth)
    return Markup("".join(out))
