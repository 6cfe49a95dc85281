"""The languages commhub knows: BCP 47 tag, Babel locale, names, script direction.

A member's `language` must be one of these. Whether a language is *ready* for a template
(reviewed translations) and *speakable* (a voice) is decided elsewhere: this is only the
static knowledge about the language itself.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    tag: str  # BCP 47, as members and the API use it
    locale: str  # Babel locale for dates, numbers, plural rules
    english_name: str
    native_name: str
    rtl: bool = False
    # Latin-script languages can be transliterated to the TTY (Baudot) character set.
    tty_encodable: bool = True
    # CJK text has no spaces and wider glyphs: shorter lines (LP-15).
    cjk: bool = False
    # Family name first when addressing the member.
    family_name_first: bool = False
    # A script a TTY cannot print, with a standard romanisation (commhub.render.romanize):
    # relay text then carries a TTY-safe Latin version too (TT-9).
    romanization: str = ""

    @property
    def reaches_a_tty(self) -> bool:
        """Relay text in this language can be printed on a TTY (as is, or romanised)."""
        return self.tty_encodable or bool(self.romanization)


LANGUAGES: dict[str, Language] = {
    lang.tag: lang
    for lang in (
        Language("en", "en_US", "English", "English"),
        Language("es", "es_US", "Spanish", "Español"),
        Language("vi", "vi", "Vietnamese", "Tiếng Việt", family_name_first=True),
        Language(
            "zh-Hans",
            "zh_Hans_CN",
            "Chinese (Simplified)",
            "简体中文",
            tty_encodable=False,
            cjk=True,
            family_name_first=True,
        ),
        Language(
            "zh-Hant",
            "zh_Hant_HK",
            "Chinese (Traditional, Cantonese)",
            "繁體中文（粵語）",
            tty_encodable=False,
            cjk=True,
            family_name_first=True,
        ),
        Language("ru", "ru", "Russian", "Русский", tty_encodable=False, romanization="ICAO 9303"),
        Language(
            "ko", "ko", "Korean", "한국어", tty_encodable=False, cjk=True, family_name_first=True
        ),
        Language(
            "uk", "uk", "Ukrainian", "Українська", tty_encodable=False, romanization="KMU 55 (2010)"
        ),
        Language("ar", "ar", "Arabic", "العربية", rtl=True, tty_encodable=False),
        Language("tl", "fil", "Tagalog", "Tagalog"),
        Language("so", "so", "Somali", "Soomaali"),
        Language(
            "ja", "ja", "Japanese", "日本語", tty_encodable=False, cjk=True, family_name_first=True
        ),
        Language("fr", "fr", "French", "Français"),
        Language("pt", "pt_BR", "Portuguese", "Português"),
        Language("de", "de", "German", "Deutsch"),
        Language("it", "it", "Italian", "Italiano"),
        Language("pl", "pl", "Polish", "Polski"),
        Language("hi", "hi", "Hindi", "हिन्दी", tty_encodable=False),
        Language("ht", "ht", "Haitian Creole", "Kreyòl Ayisyen"),
    )
}

DEFAULT_LANGUAGE = "en"


def display_name(given: str, family: str, tag: str) -> str:
    """The member's name in the order that suits both the name and the message's language.

    Members' names are stored as given + family. Vietnamese, Chinese, Korean and Japanese put
    the family name first, but only for names of those cultures: "Alex Rivera" in a Korean
    message stays "Alex Rivera" (reversing it reads as a different person). The rule:
    - zh, ja, ko: family name first when both parts are written in the language's own script
      (陈伟, 김민준, 山田太郎); a name in Latin letters keeps the stored order.
    - vi: family name first when it is one of the common Vietnamese family names (Nguyễn,
      Trần, Lê, … with or without diacritics: about nine in ten Vietnamese people); any other
      name keeps the stored order.
    """
    lang = LANGUAGES.get(tag)
    if not (lang and lang.family_name_first and family and given):
        return f"{given} {family}".strip()
    if lang.cjk:
        native = _is_hangul if tag == "ko" else _is_cjk
        if not (native(family) and native(given)):
            return f"{given} {family}"
        # 陈伟 runs together; Korean keeps a space (김 민준 is written 김민준 or with a space,
        # and a space is never wrong).
        return f"{family}{' ' if tag == 'ko' else ''}{given}"
    if _plain(family) in _VIETNAMESE_FAMILY_NAMES:
        return f"{family} {given}"
    return f"{given} {family}"


# The most common Vietnamese family names, without diacritics (compared after stripping them).
_VIETNAMESE_FAMILY_NAMES = frozenset(
    [
        "nguyen",
        "tran",
        "le",
        "pham",
        "hoang",
        "huynh",
        "phan",
        "vu",
        "vo",
        "dang",
        "bui",
        "do",
        "ho",
        "ngo",
        "duong",
        "ly",
        "dao",
        "dinh",
        "mai",
        "trinh",
        "truong",
        "lam",
        "luong",
        "ha",
        "cao",
        "quach",
        "thai",
        "ta",
        "tang",
        "chau",
        "la",
        "luu",
    ]
)


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _is_hangul(text: str) -> bool:
    return all("가" <= ch <= "힯" or "ᄀ" <= ch <= "ᇿ" for ch in text if not ch.isspace())


def _is_cjk(text: str) -> bool:
    return all(
        "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text if not ch.isspace()
    )
