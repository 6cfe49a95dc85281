"""Pure helpers that make text speakable (TS-2): phone numbers digit by digit.

`1-800-555-0100` read as a number comes out as "one, eight hundred, five hundred fifty-five…"
in every espeak-ng voice. Read digit by digit in groups it is clear; each engine has its
style (`SpeechStyle`):
- espeak-ng: `1, 8 0 0, 5 5 5, 0 1 0 0` (the commas make pauses, in every voice). This is
  the TS-2 form the renderer writes and the transcript shows;
- gTTS: `1 8 0 0 5 5 5 0 1 0 0`: gTTS splits text at commas into separate requests,
  so commas would cut the number into pieces;
- Piper: `1. 8, 0, 0. 5, 5, 5. 0, 1, 0, 0.`: the espeak-ng form runs its digits together
  in this voice ("one" was heard as "want"); a comma after every digit gives each its own
  beat and a full stop ends each group (Piper pauses there as between sentences). Piper is
  given the text the renderer wrote, so this style also re-says numbers already in the
  TS-2 form; only the audio changes, the transcript keeps the TS-2 form.
The N11 service codes (711 relay, 211, 911 …) are read digit by digit too.
"""

from __future__ import annotations

import re
from typing import Literal

SpeechStyle = Literal["espeak", "gtts", "piper"]

# North-American style numbers as printed: 1-800-555-0100, (503) 555-0100, 503.555.0100,
# +1 503 555 0100. At least seven digits in separated groups.
_PHONE = re.compile(
    r"(?<![\w$€£.,])"
    r"(?:\+?\d{1,3}[-. ])?"
    r"(?:\(\d{3}\)\s?|\d{3}[-. ])"
    r"\d{3}[-. ]\d{4}"
    r"(?![\w%])"
)
_N11 = re.compile(r"(?<![\w$€£.,-])([2-9]11)(?![\w%.,]\d|[\w%-])")
_GROUP = re.compile(r"\d+")
# A number already written in the TS-2 form (single digits separated by spaces, groups by
# ", "), or an N11 code written `7 1 1`: what Piper is given after the renderer.
_WRITTEN = re.compile(r"(?<![\w,])\d(?: \d)*(?:, \d(?: \d)*)+(?![\w])|(?<!\w)\d(?: \d)+(?!\w)")
_PUNCTUATION = ".,;:!?"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"\w", re.UNICODE)


def _say(groups: list[str], style: SpeechStyle) -> str:
    """Digit groups (`["1", "800"]`) said digit by digit in `style`."""
    if style == "piper":
        return ". ".join(", ".join(g) for g in groups) + "."
    return (", " if style == "espeak" else " ").join(" ".join(g) for g in groups)


def phone_for_speech(number: str, style: SpeechStyle = "espeak") -> str:
    """`1-800-555-0100` → `1, 8 0 0, 5 5 5, 0 1 0 0` (espeak), `1 8 0 0 5 5 5 0 1 0 0`
    (gtts) or `1. 8, 0, 0. 5, 5, 5. 0, 1, 0, 0.` (piper)."""
    groups = _GROUP.findall(number)
    if not groups:
        raise ValueError("a phone number needs digits")
    return _say(groups, style)


def speakable(text: str, style: SpeechStyle) -> str:
    """`text` with every phone number and N11 code rewritten to be read digit by digit."""
    if style == "piper":
        return _WRITTEN.sub(_piper_number, speakable(text, "espeak"))  # TS-2 form, re-said
    text = _PHONE.sub(lambda m: phone_for_speech(m.group(0), style), text)
    return _N11.sub(lambda m: _say([m.group(1)], style), text)


def _piper_number(m: re.Match[str]) -> str:
    said = _say(m.group(0).replace(" ", "").split(","), "piper")
    # Its full stop gives way to punctuation that follows: "0, 1, 0, 0," not "0, 1, 0, 0.,".
    after = m.string[m.end() : m.end() + 1]
    return said[:-1] if after and after in _PUNCTUATION else said


def cjk_characters(text: str) -> int:
    """Han and kana characters: Chinese and Japanese words are about two of them."""
    return len(_CJK.findall(text))


def count_words(text: str) -> int:
    """Words for a speech-rate estimate: space-separated tokens with a letter or digit.

    Chinese and Japanese are written without spaces: each Han or kana character counts as
    one (a rough "word"; report their rate as characters, not words per minute).
    """
    count = 0
    for token in text.split():
        cjk = len(_CJK.findall(token))
        if cjk:
            rest = _CJK.sub(" ", token).split()
            count += cjk + sum(1 for t in rest if _WORD.search(t))
        elif _WORD.search(token):
            count += 1
    return count
