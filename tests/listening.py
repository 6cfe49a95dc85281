"""A listener for tests: pocketsphinx (its own en-US model, from its PyPI wheel) hears an MP3.

Word error rate is counted on words as spoken: both sides lower case, punctuation dropped,
numbers written out the way the voices read them ("December 8, 2026" → "december eighth
twenty twenty six", "10:30 AM" → "ten thirty a m", "$35.00" → "thirty five dollars"), and
the recogniser's "oh" counted as zero. pocketsphinx is a weak recogniser even on natural
speech: use it to compare voices and to catch a voice nobody can follow, with a tolerance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import miniaudio
from pocketsphinx import Config, Decoder, Endpointer

RATE = 16000
_ONES = tuple(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ]
)
_TENS = tuple(
    ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
)
_ORDINAL = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_MONTHS = tuple(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
DIGIT_WORDS = {w: str(i) for i, w in enumerate(_ONES[:10])} | {"oh": "0"}


def cardinal(n: int) -> str:
    """0-99999 in words as the voices read them ("2027": "two thousand twenty seven",
    "1200": "twelve hundred", "97301": "ninety seven thousand three hundred one")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    if 1100 <= n <= 9999 and n % 100 == 0 and n // 100 % 10:
        return f"{cardinal(n // 100)} hundred"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    if rest == 0:
        return f"{cardinal(thousands)} thousand"
    return f"{cardinal(thousands)} thousand {cardinal(rest)}"


def ordinal(n: int) -> str:
    words = cardinal(n).split()
    last = words[-1]
    if last in _ORDINAL:
        words[-1] = _ORDINAL[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _numbers(text: str) -> str:
    text = re.sub(r"\$(\d+)(?:\.00)?(?!\.\d|\d)", lambda m: f"{cardinal(int(m[1]))} dollars", text)
    text = re.sub(
        r"\$(\d+)\.(\d\d)\b",
        lambda m: f"{cardinal(int(m[1]))} dollars and {cardinal(int(m[2]))} cents",
        text,
    )
    text = re.sub(
        r"\b(\d{1,2}):(\d\d)\b",
        lambda m: cardinal(int(m[1])) + ("" if m[2] == "00" else f" {cardinal(int(m[2]))}"),
        text,
    )
    text = re.sub(r"\b(AM|PM)\b", lambda m: " ".join(m[1].lower()), text)
    months = "|".join(_MONTHS)
    text = re.sub(
        rf"\b({months}) (\d{{1,2}})\b",
        lambda m: f"{m[1]} {ordinal(int(m[2]))}",
        text,
        flags=re.IGNORECASE,
    )
    return re.sub(r"\d+", lambda m: cardinal(int(m[0])), text)


def words(text: str) -> list[str]:
    """`text` as the words a listener hears (see the module docstring)."""
    text = _numbers(text).lower().replace("-", " ")
    text = re.sub(r"\b([a-z])\.", r"\1", text)  # "OR" stays, "a.m." → "a m"
    found = re.findall(r"[a-z']+", text)
    return ["zero" if w == "oh" else w for w in found]


def edit_distance(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def word_error_rate(reference: str, heard: str) -> float:
    ref = words(reference)
    return edit_distance(ref, words(heard)) / len(ref)


def digits_missed(number: str, heard: str) -> int:
    """Fewest digit errors with which `number` (e.g. "1-800-555-0101") appears, in order,
    somewhere in what was heard (substitutions, drops and extra digits each count one)."""
    want = [d for d in number if d.isdigit()]
    got = [DIGIT_WORDS[w] for w in heard.lower().split() if w in DIGIT_WORDS]
    # Edit distance of `want` against the best-matching stretch of `got` (Sellers).
    prev = [0] * (len(got) + 1)
    for i, x in enumerate(want, 1):
        cur = [i]
        for j, y in enumerate(got, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return min(prev)


@cache
def _config() -> Config:
    return Config(samprate=RATE, loglevel="FATAL")


def pcm_16k(mp3: bytes) -> bytes:
    """The MP3 as 16 kHz 16-bit mono PCM (what the recogniser's model was trained on)."""
    decoded = miniaudio.decode(
        mp3, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=RATE
    )
    return decoded.samples.tobytes()


@dataclass(frozen=True)
class Heard:
    text: str
    wer: float
    number_errors: int


def transcribe(mp3: bytes) -> str:
    """What pocketsphinx hears in the MP3: one hypothesis per stretch of speech, joined."""
    pcm = pcm_16k(mp3)
    endpointer = Endpointer(sample_rate=RATE)
    decoder = Decoder(_config())
    size = endpointer.frame_bytes
    heard: list[str] = []
    for start in range(0, len(pcm), size):
        frame = pcm[start : start + size]
        was_speaking = endpointer.in_speech
        last = len(frame) < size
        speech = endpointer.end_stream(frame) if last else endpointer.process(frame)
        if speech is None:
            continue
        if not was_speaking:
            decoder.start_utt()
        decoder.process_raw(speech, full_utt=False)
        if not endpointer.in_speech:
            decoder.end_utt()
            heard.append(decoder.hyp().hypstr if decoder.hyp() else "")
    if endpointer.in_speech:
        decoder.end_utt()
        heard.append(decoder.hyp().hypstr if decoder.hyp() else "")
    return " ".join(h for h in heard if h)


def listen(mp3: bytes, reference: str, number: str) -> Heard:
    """Transcribe `mp3` and score it against the text that was spoken."""
    text = transcribe(mp3)
    return Heard(text, word_error_rate(reference, text), digits_missed(number, text))
