"""Content parity (ACCESSIBILITY.md CP-1…CP-4): every fact reaches the member in every format.

The other checks ask whether a message is readable; this one asks whether it says everything.
Length limits once dropped the place from Korean audio and the pharmacy from Vietnamese audio,
and every other rule still passed. So this check does not trust the renderer's own idea of the
facts: it parses the recipient's data against the topic, writes each value the way the format
writes it (commhub.render.values, the one place values are formatted), and looks for it in
each thing the member gets:
- large print: the text/plain part and the visible text of the HTML part;
- audio: the script the voice speaks and the transcript email (its text and HTML parts);
- relay: the relay text, and the romanised TTY-safe alternative where there is one.

CP-1 each variable's value (dates, times, amounts, counts, names of places) is there;
CP-2 each date is written with its year; CP-3 the "how to change the language or format, or
stop" sentence is there with the Member Services number and TTY 711 (and, in email, a link
when the renderer was given one); CP-4 amounts in US dollars are written `$35.00` in print and
relay text in every language (never `35,00 US$`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from typing import TYPE_CHECKING, Any

from commhub.checks.base import Collector, Violation, excerpt
from commhub.checks.large_print import Analysis
from commhub.content import strings
from commhub.content.i18n import Catalogs
from commhub.content.topics import Topic
from commhub.content.variables import Money
from commhub.render.message_parts import MEMBER_SERVICES, says
from commhub.render.relay_text import to_tty
from commhub.render.romanize import can_romanize, romanize
from commhub.render.values import Kind, write_values
from commhub.settings import PlanSettings

if TYPE_CHECKING:  # the renderer imports nothing from checks; only types flow this way
    from commhub.render.pipeline import RenderResult

# Bidi isolates and marks (added around values in print) and spaces Babel writes.
_INVISIBLE = dict.fromkeys(map(ord, "\u2066\u2067\u2068\u2069\u200e\u200f\u202a\u202b\u202c"))
_SPACE = re.compile(r"\s+")
# Digits as a voice reads a phone number ("1, 8 0 0, 5 5 5") or as printed ("1-800-555").
_DIGIT_RUN = re.compile(r"\d(?:[\s,.\-()]{0,3}\d)*")


def _norm(text: str) -> str:
    """Compare text as a reader would: no invisible marks, any run of spaces or line breaks
    (a wrapped relay line) one space, case folded."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return _SPACE.sub(" ", text).casefold().strip()


def _has_number(text: str, number: str) -> bool:
    """The phone number is in `text` in any spelling (printed, or digit by digit)."""
    want = re.sub(r"\D", "", number)
    short = want[1:] if len(want) == 11 and want.startswith("1") else want
    found = {re.sub(r"\D", "", m.group(0)) for m in _DIGIT_RUN.finditer(text)}
    return any(d.endswith(short) for d in found)


class _Artefact:
    """One thing the member gets, with the kind its values were written for."""

    def __init__(self, name: str, text: str, kind: Kind, *, tty: bool = False, lang: str = ""):
        self.name = name
        self.kind = kind
        self.tty = tty  # TTY-safe: values are compared as the relay writer spells them
        self.romanized = lang if tty and can_romanize(lang) else ""
        self.text = _norm(text)

    def spell(self, value: str) -> str:
        if self.romanized:
            value = romanize(value, self.romanized)
        return _norm(to_tty(value) if self.tty else value)

    def says(self, value: str) -> bool:
        return says(self.text, self.spell(value))


def _email_parts(raw: bytes) -> list[tuple[str, str]]:
    """(content type, decoded text) of each text part of an email."""
    msg = BytesParser(policy=compat32).parsebytes(raw)
    out: list[tuple[str, str]] = []
    for part in msg.walk():
        if isinstance(part, Message) and part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                charset = part.get_content_charset() or "us-ascii"
                out.append((part.get_content_type(), payload.decode(charset, "replace")))
    return out


def _artefacts(result: RenderResult) -> list[_Artefact]:
    message = result.message
    lang = result.lang
    fmt = message.format.value
    if fmt == "relay_text":
        out = [_Artefact("relay text", result.text, "relay", tty=message.tty_encodable)]
        if result.tty_text is not None:
            out.append(
                _Artefact("romanised relay text", result.tty_text, "relay", tty=True, lang=lang)
            )
        return out
    spoken = result.spoken is not None
    kind: Kind = "speech" if spoken else "print"
    where = "transcript" if spoken else "large print"
    out = []
    if spoken:
        out.append(_Artefact("spoken script", result.spoken or "", "speech"))
    for ctype, text in _email_parts(message.raw):
        if ctype == "text/plain":
            out.append(_Artefact(f"{where} text part", text, kind))
        elif ctype == "text/html":
            out.append(_Artefact(f"{where} HTML", Analysis(text).visible_text(), kind))
    return out


def check_parity(
    result: RenderResult,
    topic: Topic,
    data: Mapping[str, Any],
    *,
    catalogs: Catalogs,
    plan: PlanSettings,
    link: str | None = None,
) -> list[Violation]:
    """Check one rendered message (any format) against CP-1…CP-4.

    `data` is the recipient's data as given to the renderer; `link`, when the renderer puts a
    change-or-stop link in email (CP-3), is its address.
    """
    out = Collector(per_rule=20)
    values, problems = topic.parse_data(data)
    if problems:
        out.add("CP-1", f"the data cannot be parsed: {problems[0].field} {problems[0].reason}")
        return out.items
    lang = result.lang
    written: dict[Kind, dict[str, str]] = {}
    tr = catalogs.translator(lang)
    phone = plan.phones.get(MEMBER_SERVICES) or plan.phones.get(topic.phone_line)
    for art in _artefacts(result):
        w = written.setdefault(art.kind, write_values(values, lang, art.kind))
        for var, value in values.items():
            text = w[var]
            if not art.says(text):
                out.add("CP-1", f"{art.name}: {var} ({excerpt(text)!r}) is missing")
            if isinstance(value, date) and str(value.year) not in text:
                out.add("CP-2", f"{art.name}: {var} is written without its year ({text!r})")
            if isinstance(value, Money) and art.kind != "speech":
                bill = f"${value.amount:,.2f}"
                if not art.says(bill):
                    out.add("CP-4", f"{art.name}: {var} is not written {bill!r}")
        if art.kind != "speech" and "us$" in art.text:
            out.add("CP-4", f"{art.name}: an amount is written with 'US$'; write $35.00")
        _check_change_or_stop(art, tr.gettext, phone.number if phone else None, out)
        if link and art.kind != "relay" and _norm(link) not in art.text and "html" in art.name:
            out.add("CP-3", f"{art.name}: no link to change or stop ({link})")
    return out.items


def _check_change_or_stop(art: _Artefact, gettext: Any, number: str | None, out: Collector) -> None:
    """CP-3: the sentence (its words before the number), the Member Services number, TTY 711."""
    msgid = strings.RELAY_CHANGE_OR_STOP if art.kind == "relay" else strings.CHANGE_OR_STOP
    lead = str(gettext(msgid)).split("%(", 1)[0].strip(" :：,，")
    if lead and art.spell(lead) not in art.text:
        out.add("CP-3", f"{art.name}: no 'how to change or stop' sentence ({excerpt(lead)!r})")
        return
    tail = art.text.split(art.spell(lead), 1)[-1] if lead else art.text
    if number is not None and not _has_number(tail, number):
        out.add("CP-3", f"{art.name}: the change-or-stop sentence lacks {number}")
    if not re.search(r"7\D{0,3}1\D{0,3}1", tail[:200]):
        out.add("CP-3", f"{art.name}: the change-or-stop sentence lacks TTY 711")
