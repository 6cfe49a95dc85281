"""The localized semantic parts of one message, shared by the three format writers.

`prepare()` does the per-(topic, language, output kind) work once: it translates every string
of the topic and the contact block (phone line, TTY, hours), and takes the notices and LA-3
footer lines. `Prepared.fill()` then does the per-member work only: it puts the member's name
and the typed values (already written for the output kind) into the translated strings.

Parts are plain text. The HTML layout escapes them (jinja2 autoescape), so member data such as
`<script>` in a text variable arrives as text, never as markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from functools import lru_cache

from babel.dates import format_time
from markupsafe import escape

from commhub.content import strings
from commhub.content.i18n import Translator
from commhub.content.topics import Plural, Text, Topic
from commhub.content.variables import Phone
from commhub.errors import RenderError
from commhub.languages import LANGUAGES
from commhub.render.bidi import inline_html, isolate
from commhub.render.values import Kind, locale_for, write_time
from commhub.settings import PhoneLine, PlanSettings
from commhub.speech.spoken import SpeechStyle, phone_for_speech


class _Directed:
    """Writing direction from the `lang` of the dataclass that inherits it (EM-2, EM-3)."""

    lang: str

    @property
    def rtl(self) -> bool:
        language = LANGUAGES.get(self.lang)
        return bool(language and language.rtl)

    @property
    def dir(self) -> str:
        return "rtl" if self.rtl else "ltr"


@dataclass(frozen=True)
class Passage(_Directed):
    """A line in its own language (EM-2): a notice, a tagline or an LA-3 footer line."""

    lang: str
    text: str

    @property
    def align(self) -> str:
        # `start` follows the passage's own dir: right for an Arabic line inside an English
        # message, left for an English line inside an Arabic one (EM-2, EM-3).
        return "start"


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Contact:
    """The plan's phone line: `before` + number + `after` is the translated CALL_LINE."""

    before: str
    number: str  # written for the output kind (digit groups for speech)
    after: str
    printed: str  # 1-800-555-0100
    tel: str  # +18005550100, for tel: links
    tty: str  # 711
    tty_line: str
    hours_line: str
    name: str = ""  # the line's translated name ("our pharmacy line")

    @property
    def call_line(self) -> str:
        return f"{self.before}{self.number}{self.after}"


@dataclass(frozen=True)
class Parts(_Directed):
    """Everything one message says, localized and filled, for one output kind."""

    lang: str
    subject: str
    heading: str
    greeting: str
    paragraphs: tuple[str, ...]
    facts: tuple[Fact, ...]
    action: str
    contact: Contact
    thanks: str
    notices: tuple[Passage, ...]  # fallback tagline or machine-translation notice
    footer: tuple[Passage, ...]  # LA-3 language-help lines
    # CP-3: how to change the language or format, or stop (Member Services), and that line's
    # hours when it is not the topic's line (relay text gives every number its hours, TT-6).
    change_line: str = ""
    change_hours: str = ""
    # Email: the link to the member's unsubscribe page after `change_line` (CP-3), and its
    # text in the message's language ("" = no link: unsubscribe links are off).
    stop_url: str = ""
    stop_label: str = ""
    # Every variable's value as inserted (CP-1: each must reach the member in every format).
    values: tuple[str, ...] = ()
    # Print only: the HTML of each per-message string, in `large_print.slotted_head` order,
    # as the layout's `bidi` filter writes it (None: not computed; `replace()` must reset it).
    html: tuple[str, ...] | None = None

    @property
    def align(self) -> str:
        return "right" if self.rtl else "left"

    @property
    def cjk(self) -> bool:
        language = LANGUAGES.get(self.lang)
        return bool(language and language.cjk)

    @property
    def colon(self) -> str:
        """What joins a fact's label and value: Chinese and Japanese take the full-width
        colon with no space (日期：), every other language `: `."""
        return "：" if self.lang.startswith(("zh", "ja")) else ": "

    def fact_line(self, fact: Fact) -> str:
        """`Label: value` (`标签：值`) as plain text."""
        return f"{fact.label}{self.colon}{fact.value}"


def says(text: str, value: str) -> bool:
    """Whether `text` says `value`: a number only as a whole number (2 is not in 2026)."""
    if not value:
        return False
    if value.isdigit():
        return re.search(rf"(?<!\d){value}(?!\d)", text) is not None
    return value in text


def fill_template(template: str, values: Mapping[str, str], where: str) -> str:
    try:
        return template % values
    except (KeyError, ValueError, TypeError) as exc:
        raise RenderError(f"cannot fill {where}: {exc!r}") from None


def _fill_all(templates: list[str], values: Mapping[str, str]) -> list[str]:
    """The heading, greeting, paragraphs, action and thanks templates filled with `values`:
    one `%` each, and fill_template's error naming the string only when one fails."""
    try:
        return [t % values for t in templates]
    except (KeyError, ValueError, TypeError):
        paragraphs = ["a paragraph"] * (len(templates) - 4)
        names = ["the heading", "the greeting", *paragraphs, "the action", "the thanks line"]
        for t, where in zip(templates, names, strict=True):
            fill_template(t, values, where)
        raise


_DAYS = {
    "mon-fri": strings.DAYS_MON_FRI,
    "mon-sat": strings.DAYS_MON_SAT,
    "mon-sun": strings.DAYS_EVERY_DAY,
}


def hours_text(line: PhoneLine, tr: Translator, lang: str, kind: Kind) -> str:
    """`We are open Monday to Friday, 8:00 AM to 8:00 PM.` in the message's language."""
    days_msgid = _DAYS.get(line.days)
    if days_msgid is None:
        raise RenderError(f"phone line {line.label!r}: unknown days {line.days!r}")
    if line.opens == time(0, 0) and line.closes >= time(23, 59):
        hours = tr.gettext(strings.ALL_DAY)
    else:
        locale = locale_for(lang)
        if kind == "print":
            opens = format_time(line.opens, "short", locale=locale)
            closes = format_time(line.closes, "short", locale=locale)
        else:
            opens = write_time(line.opens, locale, kind)
            closes = write_time(line.closes, locale, kind)
        hours = fill_template(
            tr.gettext(strings.OPEN_HOURS), {"opens": opens, "closes": closes}, "OPEN_HOURS"
        )
    return fill_template(
        tr.gettext(strings.HOURS_LINE),
        {"days": tr.gettext(days_msgid), "hours": hours},
        "HOURS_LINE",
    )


@dataclass(frozen=True)
class Prepared(_Directed):
    """The translated strings of one topic for one language and output kind (built once)."""

    lang: str
    kind: Kind
    translator: Translator
    subject: str
    heading: str
    greeting: str
    paragraphs: tuple[str | tuple[str, str, str], ...]  # text, or (singular, plural, count)
    fact_labels: tuple[tuple[str, str], ...]  # (translated label, variable)
    action: str
    thanks: str
    builtins: Mapping[str, str]  # plan, line, phone
    contact: Contact
    notices: tuple[Passage, ...]
    footer: tuple[Passage, ...]
    change_line: str = ""
    change_hours: str = ""
    speech_style: SpeechStyle = "espeak"
    # Print: the builtins (plan, line, phone) isolated, and as HTML (the same for everyone).
    isolated_builtins: Mapping[str, str] = field(init=False)
    html_builtins: Mapping[str, str] = field(init=False)

    def __post_init__(self) -> None:
        isolated = {k: isolate(x, self.rtl) for k, x in self.builtins.items()}
        object.__setattr__(self, "isolated_builtins", isolated)
        object.__setattr__(self, "html_builtins", {k: html_value(x) for k, x in isolated.items()})

    def fill(
        self, name: str, values: Mapping[str, str], counts: Mapping[str, int] | None = None
    ) -> Parts:
        """The parts for one member: `values` are the variables written for this kind.

        In print, each inserted value is isolated (bidi.isolate) in everything but the
        subject, so an address or a name keeps its own direction in a right-to-left message;
        and each string is also written as HTML (`Parts.html`) by filling the template's HTML
        with each value's HTML: escaping a short value beats escaping the filled paragraph
        (the template's own HTML is cached), and the result is the same string.
        """
        plain = {**values, **self.builtins, "name": name}
        if self.kind != "print":
            return self._parts(plain, plain, values, counts, html=False)
        rtl = self.rtl
        own = {k: isolate(x, rtl) for k, x in values.items()}
        isolated = {**own, **self.isolated_builtins, "name": isolate(name, rtl)}
        return self._parts(plain, isolated, own, counts, html=True)

    def _parts(
        self,
        plain: dict[str, str],
        v: dict[str, str],
        values: Mapping[str, str],
        counts: Mapping[str, int] | None,
        *,
        html: bool,
    ) -> Parts:
        """Fill every string: the subject from `plain`, the others from `v`; fact lines show
        the member's own `values` (as given: isolated in print)."""
        paragraph_templates: list[str] = []
        for p in self.paragraphs:
            if isinstance(p, str):
                paragraph_templates.append(p)
            else:
                singular, plural, count = p
                n = (counts or {}).get(count)
                if n is None:
                    raise RenderError(f"missing count {count!r} for a plural paragraph")
                paragraph_templates.append(self.translator.ngettext(singular, plural, n))
        facts = [
            (label, values[var])
            for label, var in self.fact_labels
            if var in values  # an optional variable with no value: no fact line
        ]
        subject = fill_template(self.subject, plain, "the subject")
        templates = [self.heading, self.greeting, *paragraph_templates, self.action, self.thanks]
        texts = _fill_all(templates, v)
        heading, greeting, *paragraphs, action, thanks = texts
        head_html: tuple[str, ...] | None = None
        if html:
            # Values repeat across a campaign (cached); a name hardly does, and member names
            # are not kept in a process-wide cache.
            h = {k: html_value(x) for k, x in v.items() if k not in self.builtins and k != "name"}
            h.update(self.html_builtins)
            h["name"] = str(inline_html(v["name"]))
            # In `slotted_head` order: subject, heading, greeting?, paragraphs, facts,
            # action?, thanks? (empty strings are left out, as there).
            filled = _fill_all([html_template(t) for t in templates], h)
            head_html = (
                str(escape(subject)),
                filled[0],
                *([filled[1]] if greeting else []),
                *filled[2:-2],
                *(html_value(value) for _, value in facts),
                *([filled[-2]] if action else []),
                *([filled[-1]] if thanks else []),
            )
        return Parts(
            lang=self.lang,
            subject=subject,
            heading=heading,
            greeting=greeting,
            paragraphs=tuple(paragraphs),
            facts=tuple(Fact(label, value) for label, value in facts),
            action=action,
            contact=self.contact,
            thanks=thanks,
            notices=self.notices,
            footer=self.footer,
            change_line=self.change_line,
            change_hours=self.change_hours,
            values=tuple(values.values()),
            html=head_html,
        )


@lru_cache(maxsize=4096)
def html_template(text: str) -> str:
    """A translated string's HTML, placeholders kept: `%(name)s` has nothing to escape, and
    `%%` stays `%%`. Cached: a process has a few hundred templates."""
    return str(inline_html(text))


@lru_cache(maxsize=16384)
def html_value(value: str) -> str:
    """An (isolated) value's HTML, as the layout's `bidi` filter writes it. Dates, pharmacy
    names and the plan's builtins repeat across a campaign; the cache is bounded."""
    return str(inline_html(value))


def line_name(key: str, line: PhoneLine, tr: Translator) -> str:
    """The translated name of a phone line (its config label if it has no shared msgid)."""
    msgid = strings.LINE_NAMES.get(key)
    return tr.gettext(msgid) if msgid else line.label


def prepare(
    topic: Topic,
    tr: Translator,
    lang: str,
    kind: Kind,
    plan: PlanSettings,
    *,
    notices: tuple[Passage, ...] = (),
    footer: tuple[Passage, ...] = (),
    speech_style: SpeechStyle = "espeak",
) -> Prepared:
    """Translate the topic and its contact block once for (language, output kind)."""
    line = plan.phones.get(topic.phone_line)
    if line is None:
        raise RenderError(f"{topic.name}: phone line {topic.phone_line!r} is not configured")
    try:
        phone = Phone.parse(line.number)
    except ValueError as exc:
        raise RenderError(f"phone line {topic.phone_line!r}: {exc}") from None
    # TS-2: speech reads the number digit by digit, in the groups the engine needs.
    printed = phone.printed()
    number = phone_for_speech(printed, speech_style) if kind == "speech" else printed
    name_of_line = line_name(topic.phone_line, line, tr)
    call = tr.gettext(strings.CALL_LINE)
    if call.count("%(phone)s") != 1:
        raise RenderError(f"CALL_LINE in {lang!r} must contain %(phone)s once")
    before, after = call.split("%(phone)s")
    contact = Contact(
        before=fill_template(before, {"line": name_of_line}, "CALL_LINE"),
        number=number,
        after=fill_template(after, {"line": name_of_line}, "CALL_LINE"),
        printed=printed,
        tel="+" + phone.digits,
        tty=line.tty,
        tty_line=fill_template(tr.gettext(strings.TTY_LINE), {"tty": line.tty}, "TTY_LINE"),
        hours_line=hours_text(line, tr, lang, kind),
        name=name_of_line,
    )
    change_line, change_hours = _change_or_stop(line, plan, tr, lang, kind, speech_style)
    content = topic.content
    paragraphs: list[str | tuple[str, str, str]] = []
    for p in content.paragraphs:
        if isinstance(p, Plural):
            paragraphs.append((p.singular, p.plural, p.count))
        else:
            paragraphs.append(tr.gettext(p.msgid))
    labels = tuple((tr.gettext(f.label.msgid), f.var) for f in content.facts)

    def t(text: Text) -> str:
        return tr.gettext(text.msgid)

    return Prepared(
        lang=lang,
        kind=kind,
        translator=tr,
        subject=t(content.subject),
        heading=t(content.heading),
        greeting=tr.gettext(strings.GREETING),
        paragraphs=tuple(paragraphs),
        fact_labels=labels,
        action=t(content.action),
        thanks=tr.gettext(strings.THANKS),
        builtins={"plan": plan.name, "line": name_of_line, "phone": number},
        contact=contact,
        notices=notices,
        footer=footer,
        change_line=change_line,
        change_hours=change_hours,
        speech_style=speech_style,
    )


# The [plan.phones] key of Member Services: the line for interpreters (LA-3 lines and taglines)
# and for changing a member's language, format or consent (CP-3), whatever the topic's line.
MEMBER_SERVICES = "member_services"


def _change_or_stop(
    topic_line: PhoneLine,
    plan: PlanSettings,
    tr: Translator,
    lang: str,
    kind: Kind,
    speech_style: SpeechStyle,
) -> tuple[str, str]:
    """CP-3's sentence in `lang`, and Member Services' hours when the topic gives another line
    (in relay text every number comes with its hours, TT-6)."""
    line = plan.phones.get(MEMBER_SERVICES) or topic_line
    try:
        printed = Phone.parse(line.number).printed()
    except ValueError as exc:
        raise RenderError(f"phone line {MEMBER_SERVICES!r}: {exc}") from None
    speech = kind == "speech"
    values = {
        "phone": phone_for_speech(printed, speech_style) if speech else printed,
        # A listener hears "T T Y 7 1 1", not "seven hundred eleven".
        "tty": " ".join(line.tty) if speech else line.tty,
    }
    msgid = strings.RELAY_CHANGE_OR_STOP if kind == "relay" else strings.CHANGE_OR_STOP
    sentence = fill_template(tr.gettext(msgid), values, "CHANGE_OR_STOP")
    other_line = line is not topic_line and line.number != topic_line.number
    hours = hours_text(line, tr, lang, kind) if other_line and kind == "relay" else ""
    return sentence, hours
