"""The speech service: the member's language in, a tagged MP3 out.

It picks the voices for the language from the voice book (TS-7: never another language's
voice), makes phone numbers speakable for the engine (TS-2), runs the blocking engines in a
thread, falls back from gTTS to espeak-ng when Google fails or is slow (and says so), and
caches results: identical (engine, voice, rate, text) is synthesized once, and concurrent
identical requests share one synthesis.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from commhub.errors import ConfigError, PolicyHold, SpeechError
from commhub.languages import LANGUAGES
from commhub.settings import SpeechSettings
from commhub.speech import mp3
from commhub.speech.engine import Speech, SpeechEngine
from commhub.speech.espeak import EspeakEngine
from commhub.speech.gtts_engine import GTTSEngine
from commhub.speech.spoken import SpeechStyle, speakable
from commhub.speech.voices import ESPEAK, GTTS, EngineVoice, VoiceBook, VoiceChoice

log = logging.getLogger(__name__)

_CacheKey = tuple[str, str, int, str]  # engine, voice, rate, spoken text


class NoVoice(SpeechError, PolicyHold):
    """The language has no usable voice (TS-7): hold the message or fall back by policy.

    It is a PolicyHold too, so a worker that holds on PolicyHold does the right thing.
    """

    def __init__(self, language: str, reason: str | None = None) -> None:
        PolicyHold.__init__(self, reason or f"no voice for language {language!r}")
        self.language = language


@dataclass(frozen=True)
class SpokenAudio:
    """A message spoken as an MP3 with ID3 title and language, and how it was made."""

    mp3: bytes
    engine: str
    voice: str
    duration_s: float
    fell_back: bool = False  # an earlier engine in the language's order failed
    fallback_reason: str | None = None


@dataclass
class CacheStats:
    hits: int = 0  # answered from the cache or by joining an identical synthesis in flight
    misses: int = 0
    syntheses: int = 0  # engine calls actually made (successful or not)


class SpeechService:
    """Speaks text in a member's language; one per process (the espeak-ng library is)."""

    def __init__(
        self,
        settings: SpeechSettings,
        voices_dir: Path,
        *,
        engines: Mapping[str, SpeechEngine] | None = None,
        gtts_base_url: str | None = None,
        cache_max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.settings = settings
        self.book = VoiceBook.load(voices_dir, set(LANGUAGES))
        self.engines: dict[str, SpeechEngine] = dict(
            engines
            or {
                ESPEAK: EspeakEngine(settings.mp3_bitrate_kbps),
                GTTS: GTTSEngine(settings.gtts_timeout_seconds, settings.gtts_tld, gtts_base_url),
            }
        )
        self.stats = CacheStats()
        self._cache: OrderedDict[_CacheKey, Speech] = OrderedDict()
        self._cache_bytes = 0
        self._cache_max_bytes = cache_max_bytes
        self._inflight: dict[_CacheKey, asyncio.Future[Speech]] = {}

    def check(self) -> None:
        """Verify that every declared voice loads in its engine; ConfigError otherwise."""
        for language, entry in sorted(self.book.languages.items()):
            for ev in entry.engines:
                engine = self.engines.get(ev.engine)
                if engine is None or not engine.has_voice(ev.voice):
                    raise ConfigError(
                        f"voices/{language}.toml: {ev.engine}.voice: {ev.voice!r} does not load"
                    )

    def voice_for(self, language: str) -> VoiceChoice | None:
        """The voices that would speak `language` with the current settings, or None."""
        return self.book.voice_for(language, self.settings.gtts_enabled)

    def describe(self, language: str) -> str | None:
        """The primary voice as "engine:voice" (e.g. "espeak-ng:es-419"), or None."""
        return self.book.describe(language, self.settings.gtts_enabled)

    async def speak(self, text: str, language: str, title: str) -> SpokenAudio:
        """Speak `text` in `language`; the MP3 carries `title` and the language in ID3.

        Raises NoVoice when the language has no usable voice, SpeechError when every
        engine for it failed.
        """
        choice = self.voice_for(language)
        if choice is None:
            raise NoVoice(language)
        failures: list[str] = []
        for ev in choice.candidates:
            try:
                speech = await self._synthesize(ev, text)
            except SpeechError as exc:
                # Ids and error types only: the message text never goes to the log.
                log.warning(
                    "speech engine failed: language=%s engine=%s voice=%s error=%s",
                    language,
                    ev.engine,
                    ev.voice,
                    type(exc).__name__,
                )
                failures.append(f"{ev.describe()} failed: {exc}")
                continue
            return SpokenAudio(
                mp3=mp3.tag(speech.mp3, title, choice.iso639_2),
                engine=speech.engine,
                voice=speech.voice,
                duration_s=speech.duration_s,
                fell_back=bool(failures),
                fallback_reason="; ".join(failures) or None,
            )
        raise SpeechError(f"no engine could speak {language!r}: " + "; ".join(failures))

    async def _synthesize(self, ev: EngineVoice, text: str) -> Speech:
        style: SpeechStyle = "gtts" if ev.engine == GTTS else "espeak"
        spoken = ev.apply_rules(speakable(text, style))
        rate = ev.rate_wpm or self.settings.rate_wpm
        key: _CacheKey = (ev.engine, ev.voice, rate, spoken)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.stats.hits += 1
            return cached
        future = self._inflight.get(key)
        if future is not None:
            self.stats.hits += 1
        else:
            self.stats.misses += 1
            future = asyncio.ensure_future(self._run(key))
            self._inflight[key] = future
            future.add_done_callback(lambda f: self._finish(key, f))
        # shield: one caller being cancelled must not cancel the synthesis others wait for.
        return await asyncio.shield(future)

    async def _run(self, key: _CacheKey) -> Speech:
        engine_name, voice, rate, spoken = key
        engine = self.engines.get(engine_name)
        if engine is None:
            raise SpeechError(f"speech engine {engine_name!r} is not available")
        self.stats.syntheses += 1
        call = asyncio.to_thread(engine.synthesize, spoken, voice, rate)
        if engine_name != GTTS:
            return await call
        # gTTS has its own per-request timeout; this bounds the whole call (all pieces).
        limit = self.settings.gtts_timeout_seconds
        try:
            return await asyncio.wait_for(call, limit + 1.0)
        except TimeoutError:
            raise SpeechError(f"gTTS took longer than {limit:g} s") from None

    def _finish(self, key: _CacheKey, future: asyncio.Future[Speech]) -> None:
        self._inflight.pop(key, None)
        if future.cancelled() or future.exception() is not None:
            return  # failures are not cached: the next request tries again
        self._store(key, future.result())

    def _store(self, key: _CacheKey, speech: Speech) -> None:
        limit = self.settings.cache_entries
        if limit <= 0 or len(speech.mp3) > self._cache_max_bytes:
            return
        self._cache[key] = speech
        self._cache_bytes += len(speech.mp3)
        while len(self._cache) > limit or self._cache_bytes > self._cache_max_bytes:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= len(old.mp3)

    @property
    def cache_size(self) -> int:
        """Entries in the cache now."""
        return len(self._cache)
