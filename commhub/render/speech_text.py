"""The spoken text of an audio message (ACCESSIBILITY.md TS-1..8).

Who is calling and why comes first (TS-4), then the message, the key facts, the action and
the number to call (read digit by digit in groups, TS-2), then the number again and goodbye.
No LA-3 footer: the audio speaks one language with that language's voice (TS-7); the footer
goes in the email that carries the audio. The same text is the transcript (TS-6).
"""

from __future__ import annotations

from commhub.content import strings
from commhub.render.message_parts import Parts, Prepared, fill_template

_TERMINALS = frozenset(".!?。！？…:;؟")
# About a minute at 145 words a minute (TS-8); facts repeat the paragraphs, so they go first
# when a message runs long.
MAX_WORDS = 150


def _sentence(text: str, cjk: bool) -> str:
    text = text.strip()
    if text and text[-1] not in _TERMINALS:
        text += "。" if cjk else "."
    return text


def speech_segments(prepared: Prepared, parts: Parts, name: str) -> tuple[str, ...]:
    """The sentences to speak, in order; `parts` were filled for the `speech` kind."""
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
    facts = [f"{f.label}: {f.value}" for f in parts.facts]
    tail = [parts.action, parts.contact.call_line, parts.contact.hours_line, repeat, goodbye]
    body = [*notices, *head, *facts, *tail]
    if sum(len(s.split()) for s in body) > MAX_WORDS and not parts.cjk:
        body = [*notices, *head, *tail]
    return tuple(_sentence(s, parts.cjk) for s in body if s.strip())


def speech_text(segments: tuple[str, ...]) -> str:
    """The text handed to the speech engine and printed as the transcript."""
    return "\n".join(segments)
