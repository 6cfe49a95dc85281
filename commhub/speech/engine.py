"""The speech engine interface and its result types.

An engine turns text into an MP3 in one voice. Engines are blocking (a C library, a neural
network or an HTTP request): callers run them in a thread, never on the event loop.
Failures are raised as `commhub.errors.SpeechError`, never as library exceptions.

Offline engines also give raw PCM (`PcmEngine`): the speech service then speaks a message
sentence by sentence, caches the audio of sentences every member hears, and joins them
itself (commhub/speech/joining.py) before encoding one MP3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from commhub.errors import SpeechError
from commhub.speech import mp3


@dataclass(frozen=True)
class Speech:
    """A synthesized MP3 (untagged) and what made it."""

    mp3: bytes
    engine: str  # "piper" | "espeak-ng" | "gtts"
    voice: str  # the engine's own voice name, e.g. "es-419" or "es"
    duration_s: float
    # What we encoded the MP3 with (mp3.ENCODER); None when the engine's own MP3 is kept as
    # it came (gTTS: Google encodes it, with an encoder it does not name).
    encoder: str | None

    @property
    def software(self) -> str:
        """For the ID3 TSSE frame: "engine:voice", and " + encoder" when we encoded it."""
        made = f"{self.engine}:{self.voice}"
        return f"{made} + {self.encoder}" if self.encoder else made


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


@dataclass(frozen=True)
class Pcm:
    """Raw speech: 16-bit little-endian mono samples at `sample_rate` Hz."""

    samples: bytes
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / 2 / self.sample_rate


@runtime_checkable
class PcmEngine(SpeechEngine, Protocol):
    """An engine that can hand back raw PCM (so sentences can be cached and joined)."""

    def synthesize_pcm(self, text: str, voice: str, rate_wpm: int) -> Pcm:
        """Speak `text` in `voice` as PCM, blocking."""
        ...


class Mp3FromPcm:
    """What the offline engines share: a checked bitrate, and `synthesize` as their
    `synthesize_pcm` encoded with LAME."""

    name: str

    def __init__(self, bitrate_kbps: int = 48) -> None:
        if bitrate_kbps not in mp3.ALLOWED_BITRATES:
            raise ValueError(f"bitrate must be one of {mp3.ALLOWED_BITRATES}")
        self.bitrate_kbps = bitrate_kbps

    def synthesize_pcm(self, text: str, voice: str, rate_wpm: int) -> Pcm:
        raise NotImplementedError

    def synthesize(self, text: str, voice: str, rate_wpm: int) -> Speech:
        """Speak `text` and encode it; raises UnknownVoice or SpeechError."""
        pcm = self.synthesize_pcm(text, voice, rate_wpm)
        audio = mp3.encode_pcm(pcm.samples, self.bitrate_kbps, pcm.sample_rate)
        return Speech(audio, self.name, voice, pcm.duration_s, mp3.ENCODER)
