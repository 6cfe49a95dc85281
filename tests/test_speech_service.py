"""SpeechService with the real espeak-ng: tagged MP3s, no-voice holds, cache, rates."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from commhub.errors import ConfigError, PolicyHold
from commhub.settings import SpeechSettings
from commhub.speech import NoVoice, SpeechService
from tests.fake_gtts import id3, mp3_info

pytestmark = pytest.mark.real

VOICES = Path(__file__).resolve().parent.parent / "voices"
MESSAGE = "Su receta está lista. Llame al 1-800-555-0100, TTY 711."


@pytest.fixture
def service() -> SpeechService:
    return SpeechService(SpeechSettings(mp3_bitrate_kbps=40), VOICES)


def test_shipped_voices_all_load(service: SpeechService) -> None:
    service.check()


async def test_speaks_spanish_as_a_tagged_mono_mp3(service: SpeechService) -> None:
    audio = await service.speak(MESSAGE, "es", "Recordatorio de su receta")
    assert (audio.engine, audio.voice) == ("espeak-ng", "es-419")
    assert not audio.fell_back and audio.fallback_reason is None
    info = mp3_info(audio.mp3)
    assert info.channels == 1 and info.sample_rate == 22050
    assert 32_000 <= info.bitrate <= 64_000
    assert info.length == pytest.approx(audio.duration_s, abs=0.1)
    tags = id3(audio.mp3)
    assert str(tags["TIT2"]) == "Recordatorio de su receta"
    assert str(tags["TLAN"]) == "spa"


async def test_language_without_a_voice_is_held_not_spoken_by_another(
    service: SpeechService,
) -> None:
    for tag in ("so", "tl", "ja"):
        assert service.describe(tag) is None
        with pytest.raises(NoVoice) as caught:
            await service.speak("Salaan.", tag, "t")
        assert caught.value.language == tag
        assert isinstance(caught.value, PolicyHold)  # a worker holding on PolicyHold holds it
    assert service.stats.syntheses == 0


async def test_identical_request_is_synthesized_once(service: SpeechService) -> None:
    first = await service.speak(MESSAGE, "es", "one")
    second = await service.speak(MESSAGE, "es", "two")
    assert service.stats.syntheses == 1
    assert (service.stats.hits, service.stats.misses) == (1, 1)
    # Same audio, each with its own title.
    assert str(id3(second.mp3)["TIT2"]) == "two"
    assert first.mp3[-2000:] == second.mp3[-2000:]
    await service.speak(MESSAGE + " Gracias.", "es", "three")
    await service.speak(MESSAGE, "pt", "four")  # same text, another voice
    assert service.stats.syntheses == 3


async def test_concurrent_identical_requests_share_one_synthesis(service: SpeechService) -> None:
    results = await asyncio.gather(*(service.speak(MESSAGE, "es", "t") for _ in range(8)))
    assert service.stats.syntheses == 1
    assert len({r.mp3 for r in results}) == 1


async def test_cache_is_bounded(tmp_path: Path) -> None:
    service = SpeechService(SpeechSettings(cache_entries=2), VOICES)
    for text in ("One.", "Two.", "Three."):
        await service.speak(text, "en", "t")
    assert service.cache_size == 2
    await service.speak("One.", "en", "t")  # evicted: made again
    assert service.stats.syntheses == 4


async def test_voice_file_rate_overrides_the_default(tmp_path: Path) -> None:
    def voice_file(rate: int) -> Path:
        folder = tmp_path / str(rate)
        folder.mkdir()
        (folder / "en.toml").write_text(
            'language = "en"\niso639_2 = "eng"\nengines = ["espeak-ng"]\n'
            f'[espeak-ng]\nvoice = "en-us"\nrate_wpm = {rate}\n'
        )
        return folder

    text = "This is a sentence of moderate length to hear how fast the voice speaks."
    settings = SpeechSettings(rate_wpm=250)
    slow = await SpeechService(settings, voice_file(100)).speak(text, "en", "t")
    fast = await SpeechService(settings, voice_file(200)).speak(text, "en", "t")
    assert slow.duration_s > 1.6 * fast.duration_s


async def test_default_rate_applies_without_a_voice_file_rate(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text(
        'language = "en"\niso639_2 = "eng"\nengines = ["espeak-ng"]\n[espeak-ng]\nvoice = "en-us"\n'
    )
    text = "This is a sentence of moderate length to hear how fast the voice speaks."
    slow = await SpeechService(SpeechSettings(rate_wpm=100), tmp_path).speak(text, "en", "t")
    fast = await SpeechService(SpeechSettings(rate_wpm=200), tmp_path).speak(text, "en", "t")
    assert slow.duration_s > 1.6 * fast.duration_s


def test_check_names_a_voice_that_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "fr.toml").write_text(
        'language = "fr"\niso639_2 = "fra"\nengines = ["espeak-ng"]\n[espeak-ng]\nvoice = "fr-fr"\n'
    )
    with pytest.raises(ConfigError, match=r"fr\.toml: espeak-ng\.voice: 'fr-fr' does not load"):
        SpeechService(SpeechSettings(), tmp_path).check()


async def test_bitrate_comes_from_settings() -> None:
    service = SpeechService(replace(SpeechSettings(), mp3_bitrate_kbps=64), VOICES)
    audio = await service.speak("Hello there.", "en", "t")
    assert mp3_info(audio.mp3).bitrate == 64_000


async def test_a_cancelled_caller_does_not_cancel_a_shared_synthesis(
    service: SpeechService,
) -> None:
    text = "Your refill is ready at the pharmacy. " * 20
    first = asyncio.ensure_future(service.speak(text, "en", "t"))
    second = asyncio.ensure_future(service.speak(text, "en", "t"))
    await asyncio.sleep(0)  # both are now waiting on the one synthesis
    first.cancel()
    audio = await second
    assert audio.duration_s > 20
    assert first.cancelled()
    assert service.stats.syntheses == 1
    await service.speak(text, "en", "t")  # and it was cached
    assert service.stats.syntheses == 1
