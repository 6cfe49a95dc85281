"""The speech service: the member's language in, a tagged MP3 out.

It picks the voices for the language from the voice book (TS-7: never another language's
voice; an engine whose voice is not installed is skipped), makes phone numbers speakable for
the engine (TS-2), falls back from one engine to the next when one fails (and says so), and
caches: an identical message (engine, voice, rate, text) is made once, and concurrent
identical requests share one synthesis.

Offline engines (Piper, espeak-ng) speak a message sentence by sentence (one sentence per
line of the text, as the renderer writes it): each sentence's audio is cached under
(engine, voice, language, text), so the sentences every member of a campaign hears are
synthesized once and only the member's own (name, date, place) are spoken per message; the
pieces are joined with even pauses and encoded once. Synthesis and encoding run in a thread
pool with one thread per core, never on the event loop; the engines release the GIL while
they work (onnxruntime) or serialise themselves (espeak-ng's one library per process).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from commhub.errors import ConfigError, PolicyHold, SpeechError
from commhub.languages import LANGUAGES
from commhub.settings import SpeechSettings
from commhub.speech import joining, mp3
from commhub.speech.engine import Pcm, PcmEngine, Speech, SpeechEngine
from commhub.speech.espeak import EspeakEngine
from commhub.speech.gtts_engine import GTTSEngine
from commhub.speech.piper_engine import PiperEngine
from commhub.speech.sentence_cache import SentenceCache, SentenceKey
from commhub.speech.spoken import speakable
from commhub.speech.voices import ESPEAK, GTTS, PIPER, EngineVoice, VoiceBook, VoiceChoice

log = logging.getLogger(__name__)

_CacheKey = tuple[str, str, int, str]  # engine, voice, rate, spoken text
_T = TypeVar("_T")

_POOL_LOCK = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def synthesis_pool() -> ThreadPoolExecutor:
    """The process's speech threads: one per core (the engines' state is per process too)."""
    global _pool
    with _POOL_LOCK:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="speech")
        return _pool


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
    hits: int = 0  # messages answered from the cache or by an identical one in flight
    misses: int = 0
    syntheses: int = 0  # engine calls actually made (successful or not)
    sentence_hits: int = 0  # sentences answered from the sentence cache or one in flight
    sentence_misses: int = 0


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
                PIPER: PiperEngine(settings.mp3_bitrate_kbps),
                ESPEAK: EspeakEngine(settings.mp3_bitrate_kbps),
                GTTS: GTTSEngine(settings.gtts_timeout_seconds, settings.gtts_tld, gtts_base_url),
            }
        )
        self.stats = CacheStats()
        self._cache: OrderedDict[_CacheKey, Speech] = OrderedDict()
        self._cache_bytes = 0
        self._cache_max_bytes = cache_max_bytes
        self._inflight: dict[_CacheKey, asyncio.Future[Speech]] = {}
        self.sentences = SentenceCache(settings.cache_entries, cache_max_bytes)
        self._sentences_inflight: dict[SentenceKey, asyncio.Future[Pcm]] = {}
        self._available: dict[tuple[str, str], bool] = {}

    def check(self) -> None:
        """Verify that every declared voice loads in its engine; ConfigError otherwise."""
        for language, entry in sorted(self.book.languages.items()):
            for ev in entry.engines:
                engine = self.engines.get(ev.engine)
                if engine is None or not engine.has_voice(ev.voice):
                    raise ConfigError(
                        f"voices/{language}.toml: {ev.engine}.voice: {ev.voice!r} does not load"
                    )

    def warm_up(self) -> None:
        """Start loading the neural voices in the background (a first audio message or
        preview otherwise waits ~1.5 s for its voice); returns at once."""
        voices = {
            ev.voice
            for entry in self.book.languages.values()
            for ev in entry.engines
            if ev.engine == PIPER and self._installed(ev)
        }
        engine = self.engines.get(PIPER)
        if not isinstance(engine, PiperEngine):
            return
        for voice in sorted(voices):
            synthesis_pool().submit(_load_quietly, engine, voice)

    def voice_for(self, language: str) -> VoiceChoice | None:
        """The voices that would speak `language` with the current settings and the engines
        installed (a Piper voice whose package is missing is skipped), or None."""
        choice = self.book.voice_for(language, self.settings.gtts_enabled)
        if choice is None:
            return None
        usable = tuple(ev for ev in choice.candidates if self._installed(ev))
        return replace(choice, candidates=usable) if usable else None

    def _installed(self, ev: EngineVoice) -> bool:
        key = (ev.engine, ev.voice)
        known = self._available.get(key)
        if known is None:
            engine = self.engines.get(ev.engine)
            known = engine is not None and engine.has_voice(ev.voice)
            self._available[key] = known
        return known

    def describe(self, language: str) -> str | None:
        """The voice that would speak `language` first, as "engine:voice" (e.g.
        "piper:en_US-joe-medium", "espeak-ng:es-419"), or None."""
        choice = self.voice_for(language)
        return choice.primary.describe() if choice else None

    async def speak(self, text: str, language: str, title: str) -> SpokenAudio:
        """Speak `text` in `language`; the MP3 carries `title` and the language in ID3.

        Raises NoVoice when the language has no usable voice, SpeechError when every
        engine for it failed.
        """
        return (await self.speak_fitting([text], language, title, None))[1]

    async def speak_fitting(
        self, texts: Sequence[str], language: str, title: str, max_seconds: float | None
    ) -> tuple[int, SpokenAudio]:
        """Speak the first of `texts` (longest first) whose speech lasts at most
        `max_seconds`, else the last; returns its index and the audio.

        With a sentence-by-sentence engine each candidate's length is known from its
        sentences' audio before anything is encoded: only the text chosen is encoded.
        Raises NoVoice / SpeechError like `speak`.
        """
        if not texts:
            raise SpeechError("nothing to speak: no text given")
        choice = self.voice_for(language)
        if choice is None:
            raise NoVoice(language)
        failures: list[str] = []
        for ev in choice.candidates:
            try:
                index, speech = await self._fitting(ev, language, texts, max_seconds)
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
            return index, SpokenAudio(
                mp3=mp3.tag(speech.mp3, title, choice.iso639_2, speech.software),
                engine=speech.engine,
                voice=speech.voice,
                duration_s=speech.duration_s,
                fell_back=bool(failures),
                fallback_reason="; ".join(failures) or None,
            )
        raise SpeechError(f"no engine could speak {language!r}: " + "; ".join(failures))

    async def _fitting(
        self, ev: EngineVoice, language: str, texts: Sequence[str], max_seconds: float | None
    ) -> tuple[int, Speech]:
        last = len(texts) - 1
        engine = self.engines.get(ev.engine)
        if max_seconds is not None and last and isinstance(engine, PcmEngine):
            # Each candidate is measured from its sentences' audio; a sentence is looked up
            # once per message (the variants share most of them: looking one up again would
            # count as a second use and keep a member's name in the protected segment), and
            # the candidate chosen is encoded from the pieces already measured.
            memo: dict[str, Pcm] = {}
            for index, text in enumerate(texts):
                cached = self._cached(ev, text)
                if cached is not None and (cached.duration_s <= max_seconds or index == last):
                    return index, cached
                if cached is not None:
                    continue
                pieces = await self._pieces(ev, language, text, memo)
                if index == last or await self._in_pool(_joined_seconds, pieces) <= max_seconds:
                    return index, await self._synthesize(ev, language, text, pieces)
        for index, text in enumerate(texts):
            speech = await self._synthesize(ev, language, text)
            if max_seconds is None or speech.duration_s <= max_seconds or index == last:
                return index, speech
        raise AssertionError("unreachable: the last text is always returned")

    def _spoken(self, ev: EngineVoice, text: str) -> tuple[str, int]:
        """The text as the engine is given it (TS-2 numbers, the voice's rules), and rate."""
        return ev.apply_rules(speakable(text, ev.style)), ev.rate_wpm or self.settings.rate_wpm

    async def _pieces(
        self, ev: EngineVoice, language: str, text: str, memo: dict[str, Pcm]
    ) -> list[Pcm]:
        spoken, rate = self._spoken(ev, text)
        return await self._sentences_of(ev.engine, ev.voice, rate, language, spoken, memo)

    def _cached(self, ev: EngineVoice, text: str) -> Speech | None:
        """The message cache's audio of `text`, counted as a hit, or None."""
        spoken, rate = self._spoken(ev, text)
        key: _CacheKey = (ev.engine, ev.voice, rate, spoken)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.stats.hits += 1
        return cached

    async def _synthesize(
        self, ev: EngineVoice, language: str, text: str, pieces: list[Pcm] | None = None
    ) -> Speech:
        """`text` spoken and encoded (`pieces`: its sentences' audio, already fetched)."""
        spoken, rate = self._spoken(ev, text)
        key: _CacheKey = (ev.engine, ev.voice, rate, spoken)
        cached = self._cache.get(key)
        if cached is None:
            future, started = _join_or_start(
                self._inflight, key, lambda: self._run(key, language, pieces), self._finish
            )
            self.stats.misses += started
            self.stats.hits += not started
            # shield: one caller being cancelled must not cancel what others wait for.
            return await asyncio.shield(future)
        self._cache.move_to_end(key)
        self.stats.hits += 1
        return cached

    async def _in_pool(self, fn: Callable[..., _T], *args: object) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(synthesis_pool(), functools.partial(fn, *args))

    async def _run(self, key: _CacheKey, language: str, pieces: list[Pcm] | None) -> Speech:
        engine_name, voice, rate, spoken = key
        engine = self.engines.get(engine_name)
        if engine is None:
            raise SpeechError(f"speech engine {engine_name!r} is not available")
        if isinstance(engine, PcmEngine):
            if pieces is None:
                pieces = await self._sentences_of(engine.name, voice, rate, language, spoken, {})
            bitrate = self.settings.mp3_bitrate_kbps
            audio, duration = await self._in_pool(_join_and_encode, pieces, bitrate)
            return Speech(audio, engine.name, voice, duration, mp3.ENCODER)
        self.stats.syntheses += 1
        call = self._in_pool(engine.synthesize, spoken, voice, rate)
        if engine_name != GTTS:
            return await call
        # gTTS has its own per-request timeout; this bounds the whole call (all pieces).
        limit = self.settings.gtts_timeout_seconds
        try:
            return await asyncio.wait_for(call, limit + 1.0)
        except TimeoutError:
            raise SpeechError(f"gTTS took longer than {limit:g} s") from None

    async def _sentences_of(
        self, engine: str, voice: str, rate: int, language: str, spoken: str, memo: dict[str, Pcm]
    ) -> list[Pcm]:
        """The audio of each line of `spoken`: from `memo` (this message's lines already
        fetched), else the sentence cache or the engine."""
        lines = [line.strip() for line in spoken.split("\n") if line.strip()]
        if not lines:
            raise SpeechError("nothing to speak: the text is empty")
        new = [line for line in dict.fromkeys(lines) if line not in memo]
        fetched = await asyncio.gather(
            *(self._sentence((engine, voice, language, line), rate) for line in new)
        )
        memo.update(zip(new, fetched, strict=True))
        return [memo[line] for line in lines]

    async def _sentence(self, key: SentenceKey, rate: int) -> Pcm:
        cached = self.sentences.get(key)
        if cached is None:
            future, started = _join_or_start(
                self._sentences_inflight,
                key,
                lambda: self._synthesize_sentence(key, rate),
                self._sentence_done,
            )
            self.stats.sentence_misses += started
            self.stats.sentence_hits += not started
            return await asyncio.shield(future)
        self.stats.sentence_hits += 1
        return cached

    async def _synthesize_sentence(self, key: SentenceKey, rate: int) -> Pcm:
        engine_name, voice, _, text = key
        engine = self.engines[engine_name]
        assert isinstance(engine, PcmEngine)
        self.stats.syntheses += 1
        return await self._in_pool(engine.synthesize_pcm, text, voice, rate)

    def _sentence_done(self, key: SentenceKey, future: asyncio.Future[Pcm]) -> None:
        self._sentences_inflight.pop(key, None)
        if not future.cancelled() and future.exception() is None:
            self.sentences.put(key, future.result())

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


_K = TypeVar("_K")


def _join_or_start(
    inflight: dict[_K, asyncio.Future[_T]],
    key: _K,
    start: Callable[[], Coroutine[object, object, _T]],
    done: Callable[[_K, asyncio.Future[_T]], None],
) -> tuple[asyncio.Future[_T], bool]:
    """The work in flight for `key`, or new work started (True) with `done` called when it
    ends: concurrent identical requests share one synthesis."""
    future = inflight.get(key)
    if future is not None:
        return future, False
    future = asyncio.ensure_future(start())
    inflight[key] = future
    future.add_done_callback(lambda f: done(key, f))
    return future, True


def _load_quietly(engine: PiperEngine, voice: str) -> None:
    try:
        engine.load(voice)
    except SpeechError as exc:  # the first message that needs it reports it (and falls back)
        log.warning("piper voice %s did not load: %s", voice, exc)


def _joined_seconds(pieces: list[Pcm]) -> float:
    return joining.join(pieces).duration_s


def _join_and_encode(pieces: list[Pcm], bitrate_kbps: int) -> tuple[bytes, float]:
    joined = joining.join(pieces)
    return mp3.encode_pcm(joined.samples, bitrate_kbps, joined.sample_rate), joined.duration_s
