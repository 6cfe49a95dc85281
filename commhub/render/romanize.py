"""Cyrillic in Latin letters, for relay members whose TTY cannot print Russian or Ukrainian.

A TTY prints 5-bit Baudot: A-Z, digits and a little punctuation (ACCESSIBILITY.md TT-1, TT-9).
A Russian- or Ukrainian-speaking relay member can still read their own language written in
Latin letters, so their relay message carries a romanised, TTY-safe version beside the UTF-8
text. Each language uses its standard romanisation:
- Russian: ICAO Doc 9303 (the table on Russian passports since 2013): Ж ZH, Х KH, Ц TS, Щ SHCH,
  Ы Y, Ъ IE, Ь dropped, Ю IU, Я IA.
- Ukrainian: the national system of the Cabinet of Ministers (resolution 55, 2010), also
  used on Ukrainian passports: Г H, Ґ G, И Y, І I, and Є Ї Й Ю Я written YE YI Y YU YA at the
  start of a word and IE I I IU IA elsewhere; Ь and the apostrophe in a word dropped.
The output is mixed case; the relay writer uppercases it (commhub.render.relay_text.to_tty).
"""

from __future__ import annotations

from commhub.languages import LANGUAGES

_RU = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip
_UK = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh",
    "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "’": "", "'": "", "ʼ": "",
}  # fmt: skip
# The apostrophe in a Ukrainian word (Знам'янка) is dropped; one in a Latin-script value,
# such as a place or a member's name, is kept: a TTY prints it, and it is part of the name.
_APOSTROPHES = "’'ʼ"
# Ukrainian letters written differently at the start of a word.
_UK_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
# Ukrainian: зг is written zgh, so that it is not read as the digraph zh.
_UK_ZGH = ("з", "г")

TABLES = {"ru": _RU, "uk": _UK}


def _inside_word(text: str, i: int, table: dict[str, str]) -> bool:
    """Whether text[i] has a letter of `table`'s alphabet on both sides."""
    before, after = text[i - 1 : i].lower(), text[i + 1 : i + 2].lower()
    return all(c in table and c not in _APOSTROPHES for c in (before, after))


def can_romanize(lang: str) -> bool:
    """Whether `lang` has a romanisation (commhub.languages names it: Russian, Ukrainian)."""
    language = LANGUAGES.get(lang)
    return bool(language and language.romanization) and lang in TABLES


def romanize(text: str, lang: str) -> str:
    """`text` in Latin letters by the standard romanisation of `lang` (see the module doc).

    Characters the table does not know (digits, punctuation, Latin letters) pass through.
    """
    table = TABLES[lang]
    out: list[str] = []
    prev = ""
    for i, ch in enumerate(text):
        low = ch.lower()
        latin = table.get(low)
        if latin == "" and low in _APOSTROPHES and not _inside_word(text, i, table):
            latin = None  # a Latin name's (St. Mary's, O'Brien) or a quotation mark: kept
        if latin is None:
            out.append(ch)
            prev = low
            continue
        if lang == "uk":
            if not prev.isalpha() and low in _UK_INITIAL:
                latin = _UK_INITIAL[low]
            elif (prev, low) == _UK_ZGH:
                latin = "gh"
        if ch != low and latin:
            latin = latin[0].upper() + latin[1:]
        out.append(latin)
        # After an apostrophe a letter is inside the word (Знам'янка -> Znamianka).
        prev = "ь" if low in _APOSTROPHES else low
    return "".join(out)
