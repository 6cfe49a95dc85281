"""gTTS: Google Translate's speech endpoint (online, opt-in: it sends the text to Google).

Things to know about gTTS 2.5 (why this wrapper looks the way it does):
- it is synchronous (`requests`): run `synthesize` in a thread;
- its default timeout is none: we always pass one, and also enforce an overall deadline
  across the pieces of a long text (gTTS sends one request per ~100 characters);
- it reads the proxy environment variables itself (`urllib.request.getproxies()`, which
  ignores NO_PROXY in the way it is used) and turns TLS verification off (`verify=False`);
  neither can be changed from outside, so deployments that enable it should know this;
- it has no rate control: `rate_wpm` is ignored (Google speaks at its own pace).

`base_url` points the engine at another server speaking the same protocol (tests use a
local one). It is applied per request by a subclass, not by patching gTTS's module-level
`_translate_url`, so it never leaks into other users of gTTS in the process.
"""

from __future__ import annotations

import binascii
import io
import time
from typing import Any

import requests
from gtts import gTTS, gTTSError
from gtts.lang import tts_langs

from commhub.errors import SpeechError
from commhub.speech import mp3
from commhub.speech.engine import Speech, UnknownVoice

ENGINE_NAME = "gtts"
_RPC_PATH = "_/TranslateWebserverUi/data/batchexecute"


class _PointedGTTS(gTTS):  # type: ignore[misc]  # gTTS is untyped
    """gTTS whose requests go to `base_url` instead of translate.google.<tld>."""

    def __init__(self, *args: Any, base_url: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._base_url = base_url

    def _prepare_requests(self) -> list[Any]:
        prepared: list[Any] = super()._prepare_requests()
        if self._base_url is not None:
            url = self._base_url.rstrip("/") + "/" + _RPC_PATH
            for request in prepared:
                request.prepare_url(url, None)
        return prepared


class GTTSEngine:
    """The online engine; returns Google's MP3 (24 kHz, 32 kbps, mono) unchanged."""

    name = ENGINE_NAME

    def __init__(
        self, timeout_seconds: float = 15.0, tld: str = "com", base_url: str | None = None
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self.timeout_seconds = timeout_seconds
        self.tld = tld
        self.base_url = base_url

    def has_voice(self, voice: str) -> bool:
        """Whether gTTS knows the language code (a static table: no network)."""
        return voice in tts_langs()

    def synthesize(self, text: str, voice: str, rate_wpm: int) -> Speech:
        """Fetch Google's speech for `text` in language `voice`; raises SpeechError."""
        del rate_wpm  # Google has no rate control (only "slow", which is far too slow)
        if not self.has_voice(voice):
            raise UnknownVoice(f"gTTS has no language {voice!r}")
        if not text.strip():
            raise SpeechError("nothing to speak: the text is empty")
        deadline = time.monotonic() + self.timeout_seconds
        tts = _PointedGTTS(
            text,
            tld=self.tld,
            lang=voice,
            lang_check=False,  # checked above, without gTTS's logging side path
            timeout=self.timeout_seconds,
            base_url=self.base_url,
        )
        out = io.BytesIO()
        try:
            for piece in tts.stream():
                out.write(piece)
                if time.monotonic() > deadline:
                    raise SpeechError(f"gTTS took longer than {self.timeout_seconds:g} s")
        except gTTSError as exc:
            # gTTS hides the requests error it caught; a timeout deserves its own words.
            if isinstance(exc.__context__, requests.Timeout):
                raise SpeechError(f"gTTS timed out after {self.timeout_seconds:g} s") from exc
            raise SpeechError(f"gTTS failed: {exc}") from exc
        except (requests.RequestException, binascii.Error, ValueError) as exc:
            raise SpeechError(f"gTTS failed: {type(exc).__name__}: {exc}") from exc
        audio = out.getvalue()
        try:
            duration = mp3.duration_seconds(audio)
        except ValueError:
            raise SpeechError("gTTS answered with no MP3 audio") from None
        return Speech(audio, ENGINE_NAME, voice, duration, encoder=None)  # Google's MP3 as is
