"""espeak-ng 1.52 (from the `espeakng-loader` wheel) in process, through ctypes.

The library keeps one global state per process (current voice, parameters, the callback),
so every call goes through `_LOCK`, and the library is initialised once, lazily, on first
use. Synthesis is synchronous: call it from a thread, never from the event loop.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from commhub.errors import SpeechError
from commhub.speech.engine import Mp3FromPcm, Pcm, UnknownVoice

ENGINE_NAME = "espeak-ng"

# espeak_lib.h constants
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # return an error instead of exit() on missing data
_CHARS_UTF8 = 0x1
_ENDPAUSE = 0x1000  # a short pause at the end of the text
_SSML = 0x10
_PARAM_RATE = 1
_EE_OK = 0

_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_LOCK = threading.Lock()


class _Library:
    """The loaded library and the PCM buffer its callback fills (one per process)."""

    def __init__(self) -> None:
        import espeakng_loader  # imported here: the wheel is only touched on first use

        try:
            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = espeakng_loader.get_data_path()
        except (OSError, RuntimeError) as exc:
            raise SpeechError(f"espeak-ng library cannot be loaded: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_TextToPhonemes.argtypes = [
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise SpeechError(f"espeak-ng failed to initialise (code {rate})")
        self.lib: Any = lib
        self.sample_rate: int = rate
        self.pcm = bytearray()
        # The C side holds only a raw pointer: keep the ctypes callback alive with the library.
        self._callback = _CALLBACK(self._collect)
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav: Any, numsamples: int, _events: Any) -> int:
        if numsamples > 0:
            self.pcm.extend(ctypes.string_at(wav, numsamples * 2))
        return 0  # 0 = continue

    def set_voice(self, voice: str) -> None:
        code = self.lib.espeak_SetVoiceByName(voice.encode())
        if code != _EE_OK:
            raise UnknownVoice(f"espeak-ng has no voice {voice!r} (code {code})")


_library: _Library | None = None


def _lib() -> _Library:
    """The process-wide library, initialised on first use. Call with `_LOCK` held."""
    global _library
    if _library is None:
        _library = _Library()
    return _library


def has_voice(voice: str) -> bool:
    """Whether espeak-ng loads `voice` in process (e.g. "fr" does, "fr-fr" does not)."""
    with _LOCK:
        lib = _lib()
        try:
            lib.set_voice(voice)
        except UnknownVoice:
            return False
        return True


def synthesize_pcm(text: str, voice: str, rate_wpm: int, ssml: bool = False) -> bytes:
    """16-bit mono PCM at 22050 Hz for `text` spoken by `voice` at espeak rate `rate_wpm`.

    With `ssml`, markup such as `<break time="500ms"/>` is honoured (and `<`/`&` must
    be escaped in the text).
    """
    if not text.strip():
        raise SpeechError("nothing to speak: the text is empty")
    flags = _CHARS_UTF8 | _ENDPAUSE | (_SSML if ssml else 0)
    data = text.encode("utf-8") + b"\x00"
    with _LOCK:
        lib = _lib()
        lib.set_voice(voice)
        lib.lib.espeak_SetParameter(_PARAM_RATE, rate_wpm, 0)
        lib.pcm.clear()
        code = lib.lib.espeak_Synth(data, len(data), 0, 0, 0, flags, None, None)
        if code == _EE_OK:
            code = lib.lib.espeak_Synchronize()
        pcm = bytes(lib.pcm)
        lib.pcm.clear()
    if code != _EE_OK:
        raise SpeechError(f"espeak-ng synthesis failed (code {code})")
    return pcm


def phonemes(text: str, voice: str, ipa: bool = False) -> str:
    """espeak-ng's phonemes for `text` (ASCII names like `espeak-ng -x`, or IPA).

    Clauses are joined with " | ".
    """
    buf = ctypes.create_string_buffer(text.encode("utf-8"))
    ptr = ctypes.c_void_p(ctypes.addressof(buf))
    clauses: list[str] = []
    with _LOCK:
        lib = _lib()
        lib.set_voice(voice)
        # espeak_TextToPhonemes translates one clause per call and advances the pointer,
        # setting it to NULL at the end of the text.
        while ptr.value:
            out = lib.lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, 0x02 if ipa else 0)
            clauses.append((out or b"").decode("utf-8", "replace").strip())
    return " | ".join(c for c in clauses if c)


def sample_rate() -> int:
    """The library's output sample rate (22050 Hz for espeak-ng 1.52)."""
    with _LOCK:
        return _lib().sample_rate


class EspeakEngine(Mp3FromPcm):
    """The offline engine: espeak-ng speech encoded to MP3 with LAME."""

    name = ENGINE_NAME

    def has_voice(self, voice: str) -> bool:
        """Whether espeak-ng loads `voice`."""
        return has_voice(voice)

    def synthesize_pcm(self, text: str, voice: str, rate_wpm: int) -> Pcm:
        """Speak `text` as PCM; raises UnknownVoice or SpeechError."""
        pcm = synthesize_pcm(text, voice, rate_wpm)
        if not pcm:
            raise SpeechError("espeak-ng produced no audio")
        return Pcm(pcm, sample_rate())
