"""The languages commhub knows: BCP 47 tag, Babel locale, names, script direction.

A member's `language` must be one of these. Whether a language is *ready* for a template
(reviewed translations) and *speakable* (a voice) is decided elsewhere: this is only the
static knowledge about the language itself.
"""

from __future__ import annotations

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
        Language("ru", "ru", "Russian", "Русский", tty_encodable=False),
        Language(
            "ko", "ko", "Korean", "한국어", tty_encodable=False, cjk=True, family_name_first=True
        ),
        Language("uk", "uk", "Ukrainian", "Українська", tty_encodable=False),
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
    """The member's name in the order their language uses."""
    lang = LANGUAGES.get(tag)
    if lang and lang.family_name_first and family:
        # 陈伟 runs together, but a name written in Latin letters keeps its space: "Chen Wei".
        joined = lang.cjk and tag != "ko" and _is_cjk(family) and _is_cjk(given)
        return f"{family}{'' if joined else ' '}{given}"
    return f"{given} {family}".strip()


def _is_cjk(text: str) -> bool:
    return all(
        "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text if not ch.isspace()
    )
