"""The speech engine interface and its one result type.

An engine turns text into an MP3 in one voice. Engines are blocking (a C library or an
HTTP request): callers run them in a thread (`asyncio.to_thread`), never on the event loop.
Failures are raised as `commhub.errors.SpeechError`, never as library exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from commhub.errors import SpeechError


@dataclass(frozen=True)
class Speech:
    """A synthesized MP3 (untagged) and what made it."""

    mp3: bytes
    engine: str  # "espeak-ng" | "gtts"
    voice: str  # the engine's own voice name, e.g. "es-419" or "es"
    duration_s: float


class UnknownVoice(SpeechError):
    """The engine does not have the voice it was asked for (a configuration error)."""


@runtime_checkable
class SpeechEngine(Protocol):
    """One text-to-speech engine."""

    name: str

    def has_voice(self, voice: str) -> bool:
        """Whether `voice` (the engine's own name for it) can be used."""
        ...

    def synthesize(self, text: str, voice: str, rate_wpm: int) -> Speech:
        """Speak `text` in `voice`, blocking; `rate_wpm` is a hint some engines ignore."""
        ...
