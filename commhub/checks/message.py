"""Checks of a whole large-print (or audio) email as sent: MIME structure, then its HTML.

Large print: `multipart/alternative` with `text/plain` first and `text/html` second (EM-12).
Audio: `multipart/mixed` holding that `multipart/alternative` (the transcript) and an
`audio/mpeg` attachment (TS-6). Parsing uses the stdlib `email` package: this runs in
previews and tests, not on the sending path.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from commhub.checks.base import Collector, Violation, excerpt
from commhub.checks.large_print import Analysis, check_analysis
from commhub.languages import LANGUAGES

_CJK_PRIMARY = frozenset({"zh", "ja", "ko"})
_RTL_PRIMARY = frozenset({"ar", "fa", "he", "ur"})
# Phone numbers in any of the usual US spellings; compared as digits.
_PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?!\d)")
# Facts the text part must repeat: numbers (times, amounts, ZIP codes, street numbers) and
# words; CJK characters are compared one by one since the script has no spaces.
_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_CJK_CHAR = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _digits(s: str) -> str:
    d = re.sub(r"\D", "", s)
    return d[1:] if len(d) == 11 and d.startswith("1") else d


def _tokens(text: str) -> set[str]:
    out: set[str] = set()
    for tok in _TOKEN.findall(text.casefold()):
        if _CJK_CHAR.search(tok):
            out.update(_CJK_CHAR.findall(tok))
            rest = _CJK_CHAR.sub(" ", tok).split()
            out.update(rest)
        else:
            out.add(tok)
    return out


def _language_flags(tag: str) -> tuple[bool, bool]:
    """(rtl, cjk) for a BCP 47 tag: from commhub.languages when known, else by primary tag."""
    lang = LANGUAGES.get(tag)
    if lang is None:
        lang = next((x for x in LANGUAGES.values() if x.tag.lower() == tag.lower()), None)
    if lang is not None:
        return lang.rtl, lang.cjk
    primary = tag.split("-")[0].lower()
    return primary in _RTL_PRIMARY, primary in _CJK_PRIMARY


def _decoded(value: str | None) -> str:
    if not value:
        return ""
    return str(make_header(decode_header(value)))


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(part.get_content_charset() or "us-ascii", errors="replace")


def check_message(raw: bytes) -> list[Violation]:
    """Check a complete large-print or audio email (RFC 5322 bytes).

    EM-12 (structure, and the text part repeats every phone number, number and word of the
    HTML), EM-14 (UTF-8 parts), EM-4 (`<title>` equals the decoded Subject), TS-6 (an audio
    attachment goes with its transcript), then every `check_html` rule on the HTML part with
    lang and dir read from its `<html>` element.
    """
    out = Collector()
    # compat32 parsing: the structure is all we need, and it is several times faster than
    # policy.default's header objects.
    msg = BytesParser(policy=compat32).parsebytes(raw)
    subject = _decoded(msg.get("Subject"))
    ctype = msg.get_content_type()

    alternative: Message | None = None
    if ctype == "multipart/alternative":
        alternative = msg
    elif ctype == "multipart/mixed":
        parts = _subparts(msg)
        if not parts or parts[0].get_content_type() != "multipart/alternative":
            out.add("EM-12", "multipart/mixed whose first part is not multipart/alternative")
        else:
            alternative = parts[0]
        for part in parts[1:]:
            if part.get_content_type() != "audio/mpeg":
                out.add("EM-12", f"unexpected {part.get_content_type()} part in multipart/mixed")
                continue
            if not part.get_payload(decode=True):
                out.add("TS-6", "the audio/mpeg attachment is empty")
            if not part.get_filename():
                out.add("TS-6", "the audio/mpeg attachment has no filename")
    else:
        out.add("EM-12", f"message is {ctype}, not multipart/alternative")

    if alternative is None:
        return out.items
    alt_parts = _subparts(alternative)
    types = [p.get_content_type() for p in alt_parts]
    if types != ["text/plain", "text/html"]:
        out.add("EM-12", f"alternative parts are {types}; need text/plain then text/html")
    plain = next((p for p in alt_parts if p.get_content_type() == "text/plain"), None)
    html_part = next((p for p in alt_parts if p.get_content_type() == "text/html"), None)
    for p in (plain, html_part):
        if p is not None and (p.get_content_charset() or "").lower() not in ("utf-8", "utf8"):
            out.add("EM-14", f"{p.get_content_type()} part charset is {p.get_content_charset()!r}")
    if html_part is None:
        return out.items
    html = _text(html_part)
    text = _text(plain) if plain is not None else ""

    try:
        analysis = Analysis(html)
    except ValueError as exc:
        out.add("EM-12", f"HTML part: {exc}")
        return out.items
    _compare_parts(analysis.visible_text(), text, out)

    root = analysis.root
    tag = (root.get("lang") or "").strip() or "und"
    rtl_flag, cjk = _language_flags(tag)
    rtl = (root.get("dir") or "").strip().lower() == "rtl" or rtl_flag
    for v in check_analysis(analysis, subject=subject, lang=tag, rtl=rtl, cjk=cjk):
        out.add(v.rule, v.message)
    return out.items


def _subparts(msg: Message) -> list[Message]:
    payload = msg.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _compare_parts(html_text: str, plain: str, out: Collector) -> None:
    """EM-12: the text part holds all content: phone numbers, numbers and words."""
    if not plain.strip():
        out.add("EM-12", "the text/plain part is empty")
        return
    plain_phones = {_digits(m) for m in _PHONE.findall(plain)}
    for m in _PHONE.findall(html_text):
        if _digits(m) not in plain_phones:
            out.add("EM-12", f"phone number {m.strip()!r} is in the HTML but not the text part")
    missing = sorted(_tokens(html_text) - _tokens(plain))
    numbers = [t for t in missing if t.isdigit()]
    words = [t for t in missing if not t.isdigit()]
    if numbers:
        out.add("EM-12", f"numbers missing from the text part: {', '.join(numbers[:10])}")
    if words:
        out.add(
            "EM-12",
            f"words missing from the text part: {excerpt(', '.join(words[:10]), 120)}",
        )
