"""Join separately spoken sentences into one message without clicks or uneven pauses.

Each engine leaves its own silence around a sentence (espeak-ng an end pause, Piper a few
milliseconds), so joined as they come the gaps would vary from sentence to sentence, and a
piece that starts or stops mid-wave clicks. So every piece is trimmed to its sound (keeping
a short margin for soft consonants), faded in and out over a few milliseconds, and joined
with the same silence between every two sentences: the pause a listener hears is the same
whichever sentences came from the cache.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from commhub.errors import SpeechError
from commhub.speech.engine import Pcm

SENTENCE_PAUSE_S = 0.55  # between two sentences: a clear stop for older listeners (TS-2/4)
LEAD_IN_S = 0.25  # before the first word: players clip the very start of a file
TAIL_S = 0.5
_SILENCE = 180  # |sample| at or below this is silence (about -45 dBFS)
_MARGIN_S = 0.03  # kept around the sound: the soft start of "h", the tail of "s"
_FADE_S = 0.006


def _trimmed(samples: np.ndarray, rate: int) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > _SILENCE)
    if loud.size == 0:
        return samples[:0]
    margin = int(_MARGIN_S * rate)
    start = max(0, int(loud[0]) - margin)
    end = min(samples.size, int(loud[-1]) + 1 + margin)
    piece = samples[start:end].astype(np.float32)
    fade = min(int(_FADE_S * rate), piece.size // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        piece[:fade] *= ramp
        piece[-fade:] *= ramp[::-1]
    return piece


def join(
    pieces: Sequence[Pcm],
    *,
    pause_s: float = SENTENCE_PAUSE_S,
    lead_in_s: float = LEAD_IN_S,
    tail_s: float = TAIL_S,
) -> Pcm:
    """One PCM of `pieces` in order, each trimmed and faded, `pause_s` of silence between."""
    if not pieces:
        raise SpeechError("nothing to join: no sentences")
    rate = pieces[0].sample_rate
    if any(p.sample_rate != rate for p in pieces):
        raise SpeechError("cannot join sentences spoken at different sample rates")
    sounds = [_trimmed(np.frombuffer(p.samples, dtype="<i2"), rate) for p in pieces]
    sounds = [s for s in sounds if s.size]
    if not sounds:
        raise SpeechError("the engine produced only silence")
    pause = np.zeros(int(pause_s * rate), dtype=np.float32)
    parts: list[np.ndarray] = [np.zeros(int(lead_in_s * rate), dtype=np.float32)]
    for i, sound in enumerate(sounds):
        if i:
            parts.append(pause)
        parts.append(sound)
    parts.append(np.zeros(int(tail_s * rate), dtype=np.float32))
    joined = np.concatenate(parts)
    return Pcm(np.clip(joined, -32768, 32767).astype("<i2").tobytes(), rate)
