"""The spoken text of an audio message (ACCESSIBILITY.md TS-1..8).

Who is calling and why comes first (TS-4), then the message, the key facts, the action and
the number to call (read digit by digit in groups, TS-2), then the number again and goodbye.
No LA-3 footer: the audio speaks one language with that language's voice (TS-7); the footer
goes in the email that carries the audio. The same text is the transcript (TS-6).
"""

from __future__ import annotations

from commhub.content import strings
from commhub.render.message_parts import Parts, Prepared, fill_template
from commhub.speech.spoken import count_words, speakable

_TERMINALS = frozenset(".!?。！？…:;؟")
# About a minute (TS-8). Measured with espeak-ng at 145 wpm: pauses at commas and sentence
# ends and the digit-by-digit numbers bring the pace to ~110 spoken words a minute.
MAX_WORDS = 105
# Word counts mislead across languages (a Korean or Arabic word is longer to say): the audio
# renderer measures the synthesized length and takes the next shorter variant above this.
MAX_SECONDS = 65.0


def _sentence(text: str, lang: str) -> str:
    text = text.strip()
    if text and text[-1] not in _TERMINALS:
        # Chinese and Japanese end a sentence with 。; Korean, like Latin scripts, with a period.
        text += "。" if lang.startswith(("zh", "ja")) else "."
    return text


def speech_variants(prepared: Prepared, parts: Parts, name: str) -> list[tuple[str, ...]]:
    """The sentences to speak, longest acceptable variant first, then shorter ones;
    `parts` were filled for the `speech` kind."""
    tr = prepared.translator
    plan = prepared.builtins["plan"]
    intro = fill_template(
        tr.gettext(strings.SPEECH_INTRO), {"plan": plan, "name": name}, "SPEECH_INTRO"
    )
    repeat = fill_template(
        tr.gettext(strings.SPEECH_REPEAT), {"phone": parts.contact.number}, "SPEECH_REPEAT"
    )
    goodbye = tr.gettext(strings.SPEECH_GOODBYE)
    # A notice in the message's own language (LA-2 machine translation) is spoken; a fallback
    # tagline is in another language and this voice must not read it (TS-7).
    notices = [n.text for n in parts.notices if n.lang == parts.lang]
    head = [intro, parts.subject, *parts.paragraphs]
    # A fact whose value the paragraphs already say is not worth a second hearing.
    facts = [
        f"{f.label}: {f.value}"
        for f in parts.facts
        if not any(f.value in p for p in parts.paragraphs)
    ]
    hours = [parts.contact.hours_line]
    call = [parts.action, parts.contact.call_line]
    end = [repeat, goodbye]
    # Over a minute: leave out the hours (they are in the transcript email), then the facts.
    variants = [
        [*notices, *head, *facts, *call, *hours, *end],
        [*notices, *head, *facts, *call, *end],
        [*notices, *head, *call, *end],
    ]
    first = next(
        (i for i, body in enumerate(variants) if _spoken_words(body) <= MAX_WORDS),
        len(variants) - 1,
    )
    return [tuple(_sentence(s, parts.lang) for s in body if s.strip()) for body in variants[first:]]


def _spoken_words(sentences: list[str]) -> int:
    """Words as heard: a phone number read digit by digit is eleven of them."""
    return sum(count_words(speakable(s, "espeak")) for s in sentences)


def speech_text(segments: tuple[str, ...]) -> str:
    """The text handed to the speech engine and printed as the transcript."""
    return "\n".join(segments)
