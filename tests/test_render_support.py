"""Shared helpers for the render tests: settings, topics, members and made-up catalogs.

The made-up catalogs put a word of each script in front of every English string (keeping
every placeholder), so RTL, CJK, Cyrillic and accented Latin text go through the whole
pipeline before real translations exist. Real catalogs under templates/i18n are tested too.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog

from commhub.content import strings
from commhub.content.i18n import Catalogs
from commhub.content.topics import Plural, Topic, load_topics
from commhub.domain import Format, Member
from commhub.languages import LANGUAGES
from commhub.render import Renderer
from commhub.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TOPICS: dict[str, Topic] = load_topics(ROOT / "templates" / "topics")
FORMATS = [f.value for f in Format]

# A word in each script; es adds the accents and marks a TTY must transliterate.
PREFIX = {
    "es": "¡Atención, mañana! Señal:",
    "vi": "Nhắc nhở Đặng:",
    "ar": "تذكير:",
    "zh-Hans": "提醒：",
    "ru": "Напоминание:",
    "ja": "お知らせ：",
    "tl": "Paalala:",
}


def all_msgids() -> list[tuple[str, str | None]]:
    """Every (msgid, plural) a message can use."""
    out: list[tuple[str, str | None]] = []
    for topic in TOPICS.values():
        for msg in topic.content.messages():
            if isinstance(msg, Plural):
                out.append((msg.singular, msg.plural))
            else:
                out.append((msg.msgid, None))
    out += [(s, None) for s in (*strings.SHARED, *strings.LANGUAGE_ACCESS)]
    return list(dict.fromkeys(out))


def fake_catalog(lang: str, *, fuzzy: bool = False, only: tuple[str, ...] = ()) -> Catalog:
    """A catalog translating every string (or `only` these) as PREFIX + English."""
    catalog = Catalog(locale=LANGUAGES[lang].locale)
    prefix = PREFIX[lang]
    for msgid, plural in all_msgids():
        if only and msgid not in only:
            continue
        flags = ["fuzzy"] if fuzzy else []
        if plural is None:
            text = LANGUAGES[lang].native_name if msgid == strings.LANGUAGE_NAME else msgid
            catalog.add(msgid, f"{prefix} {text}", flags=flags)
        else:
            forms = tuple(f"{prefix} {plural}" for _ in range(catalog.num_plurals))
            catalog.add((msgid, plural), forms, flags=flags)
    return catalog


def fake_catalogs(*langs: str) -> Catalogs:
    return Catalogs({lang: fake_catalog(lang) for lang in langs})


FAKE_LANGS = ("es", "vi", "ar", "zh-Hans", "ru", "ja")


def real_catalogs() -> Catalogs:
    return Catalogs.load(ROOT / "templates" / "i18n")


@cache
def real_renderer() -> Renderer:
    """One renderer per test process on the default settings and the real catalogs."""
    return Renderer(settings(), TOPICS, real_catalogs())


@cache
def fake_renderer(*langs: str) -> Renderer:
    """One renderer per test process with made-up catalogs for `langs` (default FAKE_LANGS)."""
    return Renderer(settings(), TOPICS, fake_catalogs(*(langs or FAKE_LANGS)))


def parse_email(raw: bytes) -> EmailMessage:
    """The message as a mail client reads it; no part of it may have a defect."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    for part in msg.walk():
        assert part.defects == []
    return msg


def settings(**language: object) -> Settings:
    from dataclasses import replace

    s = Settings(root=ROOT)
    if language:
        s = replace(s, language=replace(s.language, **language))  # type: ignore[arg-type]
    return s


def member(
    lang: str = "en",
    fmt: Format | str = Format.LARGE_PRINT_EMAIL,
    *,
    given: str = "Ana",
    family: str = "García",
    email: str | None = "ana@example.org",
    relay: str | None = None,
) -> Member:
    return Member(
        member_id="m-1",
        given_name=given,
        family_name=family,
        language=lang,
        format=Format(fmt),
        email=email,
        timezone="America/Los_Angeles",
        relay_address=relay,
    )
