"""gTTS against a local server speaking Google's batchexecute protocol (tests/fake_gtts.py).

Nothing here leaves 127.0.0.1: gTTS reads proxy variables itself, so they are cleared.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import gtts.tts
import pytest

from commhub.errors import SpeechError
from commhub.settings import SpeechSettings
from commhub.speech import SpeechService
from commhub.speech.gtts_engine import GTTSEngine
from tests.fake_gtts import FakeGTTS, id3, mp3_info

VOICES = Path(__file__).resolve().parent.parent / "voices"
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
async def google(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeGTTS]:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    server = await FakeGTTS(slow_seconds=2.0).start()
    yield server
    await server.stop()


def service_for(google: FakeGTTS, timeout: float = 5.0) -> SpeechService:
    settings = SpeechSettings(gtts_enabled=True, gtts_timeout_seconds=timeout)
    return SpeechService(settings, VOICES, gtts_base_url=google.url)


async def test_engine_returns_googles_mp3(google: FakeGTTS) -> None:
    engine = GTTSEngine(timeout_seconds=5, base_url=google.url)
    speech = await asyncio.to_thread(engine.synthesize, "Su receta está lista.", "es", 145)
    assert google.requests == [("Su receta está lista.", "es")]
    info = mp3_info(speech.mp3)
    assert (info.channels, info.sample_rate, info.bitrate) == (1, 24000, 32000)
    assert speech.duration_s == pytest.approx(info.length, abs=0.05)
    assert (speech.engine, speech.voice) == ("gtts", "es")


async def test_long_text_is_sent_in_pieces_and_joined(google: FakeGTTS) -> None:
    text = " ".join(["Please call Member Services if you have questions about your plan."] * 4)
    engine = GTTSEngine(timeout_seconds=5, base_url=google.url)
    speech = await asyncio.to_thread(engine.synthesize, text, "en", 145)
    assert len(google.requests) >= 3
    total_chars = sum(len(t) for t, _ in google.requests)
    assert speech.duration_s == pytest.approx(total_chars * 0.06, rel=0.1)


def test_base_url_does_not_leak_into_gtts_itself() -> None:
    GTTSEngine(base_url="http://127.0.0.1:9")
    assert gtts.tts._translate_url(tld="com", path="x") == "https://translate.google.com/x"


def test_unknown_language_is_refused_without_a_request() -> None:
    with pytest.raises(SpeechError, match="no language 'so'"):
        GTTSEngine(base_url="http://127.0.0.1:9").synthesize("Salaan", "so", 145)


@pytest.mark.real
async def test_service_prefers_gtts_and_sends_phone_numbers_without_commas(
    google: FakeGTTS,
) -> None:
    service = service_for(google)
    assert service.describe("es") == "gtts:es"
    audio = await service.speak("Llame al 1-800-555-0100, TTY 711.", "es", "Recordatorio")
    assert (audio.engine, audio.voice, audio.fell_back) == ("gtts", "es", False)
    assert google.requests == [("Llame al 1 8 0 0 5 5 5 0 1 0 0, TTY 7 1 1.", "es")]
    tags = id3(audio.mp3)
    assert (str(tags["TIT2"]), str(tags["TLAN"])) == ("Recordatorio", "spa")
    # Google's MP3 is sent as it came: the tag names the voice, not an encoder of ours.
    assert str(tags["TSSE"]) == "gtts:es"
    assert mp3_info(audio.mp3).sample_rate == 24000


@pytest.mark.real
@pytest.mark.parametrize(
    ("mode", "reason"),
    [("http500", "500"), ("null_audio", "No audio stream"), ("slow", "timed out after 0.5 s")],
)
async def test_gtts_failure_falls_back_to_espeak(google: FakeGTTS, mode: str, reason: str) -> None:
    google.mode = mode  # type: ignore[assignment]
    service = service_for(google, timeout=0.5)
    audio = await service.speak("Su receta está lista.", "es", "Recordatorio")
    assert (audio.engine, audio.voice) == ("espeak-ng", "es-419")
    assert audio.fell_back
    assert audio.fallback_reason is not None and reason in audio.fallback_reason
    assert len(google.requests) == 1
    assert mp3_info(audio.mp3).sample_rate == 22050  # espeak-ng's MP3
    assert str(id3(audio.mp3)["TSSE"]) == "espeak-ng:es-419 + LAME"  # encoded by us


async def test_failures_are_not_cached(google: FakeGTTS) -> None:
    google.mode = "http500"
    service = service_for(google)
    await service.speak("Hola.", "es", "t")
    google.mode = "ok"
    audio = await service.speak("Hola.", "es", "t")
    assert audio.engine == "gtts" and not audio.fell_back


async def test_gtts_only_language_fails_loudly_when_google_fails(google: FakeGTTS) -> None:
    google.mode = "http500"
    service = service_for(google)
    with pytest.raises(SpeechError, match="no engine could speak 'tl'"):
        await service.speak("Handa na ang inyong reseta.", "tl", "t")
    google.mode = "ok"
    audio = await service.speak("Handa na ang inyong reseta.", "tl", "t")
    assert (audio.engine, audio.voice) == ("gtts", "tl")
    assert str(id3(audio.mp3)["TLAN"]) == "tgl"
