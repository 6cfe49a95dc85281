"""espeak-ng in process: every shipped voice speaks, phone numbers digit by digit, TS-1 rate."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from mutagen.mp3 import MP3

from commhub.languages import LANGUAGES
from commhub.speech import espeak
from commhub.speech.engine import UnknownVoice
from commhub.speech.spoken import count_words, speakable
from commhub.speech.voices import ESPEAK, VoiceBook

pytestmark = pytest.mark.real

VOICES = Path(__file__).resolve().parent.parent / "voices"
BOOK = VoiceBook.load(VOICES, set(LANGUAGES))

# A short sentence in each language with an offline voice ("Your medicine is ready.").
SENTENCES = {
    "en": "Your medicine is ready.",
    "es": "Su medicamento está listo.",
    "vi": "Thuốc của bạn đã sẵn sàng.",
    "zh-Hans": "您的药已经准备好了。",
    "zh-Hant": "你嘅藥已經準備好喇。",
    "ru": "Ваше лекарство готово.",
    "ko": "약이 준비되었습니다.",
    "uk": "Ваші ліки готові.",
    "ar": "دواؤك جاهز.",
    "fr": "Votre médicament est prêt.",
    "pt": "Seu remédio está pronto.",
    "de": "Ihr Medikament ist bereit.",
    "it": "Il suo farmaco è pronto.",
    "pl": "Twój lek jest gotowy.",
    "hi": "आपकी दवा तैयार है।",
    "ht": "Medikaman ou pare.",
}
OFFLINE = {
    tag: next(v for v in entry.engines if v.engine == ESPEAK)
    for tag, entry in BOOK.languages.items()
    if any(v.engine == ESPEAK for v in entry.engines)
}

# Plain-language English messages (short sentences, LA-8) for the rate check.
ENGLISH = [
    "Hello Maria. This is a reminder from your health plan. It is time for your yearly flu "
    "shot. The shot is free for you. You can get it at your doctor's office or at most "
    "pharmacies. If you need a ride, we can help. Call Member Services to ask for a ride.",
    "Hello. This is Evergreen Community Health Plan calling about your prescription refill. "
    "Your medicine is ready to pick up at your pharmacy. Please call us if you have any "
    "questions about your plan or your benefits. We are happy to help you every day of the "
    "week.",
]


def mp3_info(data: bytes) -> Any:
    """mutagen's stream info (mutagen is untyped)."""
    info = MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
    assert info is not None
    return info


def test_every_offline_voice_has_a_test_sentence() -> None:
    assert set(OFFLINE) == set(SENTENCES)


@pytest.mark.parametrize("tag", sorted(SENTENCES))
def test_each_shipped_voice_speaks_its_language(tag: str) -> None:
    ev = OFFLINE[tag]
    assert espeak.has_voice(ev.voice)
    speech = espeak.EspeakEngine(48).synthesize(SENTENCES[tag], ev.voice, ev.rate_wpm or 145)
    info = mp3_info(speech.mp3)
    assert info.channels == 1 and info.sample_rate == 22050
    assert 0.8 < speech.duration_s < 6.0
    assert info.length == pytest.approx(speech.duration_s, abs=0.1)
    # The voice reads the script itself, not "Chinese letter"/"Cyrillic letter" names.
    assert "(en)" not in espeak.phonemes(SENTENCES[tag], ev.voice)


def test_japanese_kanji_are_not_read_by_espeak_so_ja_has_no_offline_voice() -> None:
    # Why voices/ja.toml declares no espeak-ng voice: kanji come out as English words.
    assert "(en)" in espeak.phonemes("予約の確認です。", "ja")
    assert "ja" not in OFFLINE


def test_unknown_voice_is_an_error() -> None:
    assert not espeak.has_voice("fr-fr")  # the in-process lookup rejects it
    with pytest.raises(UnknownVoice, match="tl"):
        espeak.synthesize_pcm("Kumusta", "tl", 140)


def test_phone_number_is_read_digit_by_digit_in_english() -> None:
    hundred = espeak.phonemes("hundred", "en-us").strip("'")
    thousand = espeak.phonemes("thousand", "en-us").strip("'")
    assert hundred and thousand
    spoken = espeak.phonemes(speakable("Call 1-800-555-0100, TTY 711.", "espeak"), "en-us")
    printed = espeak.phonemes("Call 1-800-555-0100, TTY 711.", "en-us")
    assert "h'VndrI" in printed  # as printed, it is "eight hundred ..."
    assert "VndrI" not in spoken and "aUz@nd" not in spoken
    assert spoken.count("z'i@roU") == 5 and spoken.count("f'aIv") == 3


@pytest.mark.parametrize("tag", ["es", "ru", "de", "vi"])
def test_phone_number_has_no_hundred_words_in_other_voices(tag: str) -> None:
    voice = OFFLINE[tag].voice
    eight_hundred = {"es": "ochocientos", "ru": "восемьсот", "de": "achthundert", "vi": "tám trăm"}
    big = espeak.phonemes(eight_hundred[tag], voice)
    spoken = espeak.phonemes(speakable("1-800-555-0100", "espeak"), voice)
    assert big not in spoken
    assert espeak.phonemes("8", voice) in spoken


def test_english_rate_is_140_to_160_words_a_minute() -> None:
    ev = OFFLINE["en"]
    assert ev.rate_wpm is not None
    for text in ENGLISH:
        seconds = len(espeak.synthesize_pcm(text, ev.voice, ev.rate_wpm)) / 2 / 22050
        wpm = count_words(text) / seconds * 60
        assert 140 <= wpm <= 160, f"{wpm:.1f} wpm"


def test_concurrent_threads_do_not_mix_audio() -> None:
    # The library is one per process; the module lock keeps each call's PCM its own.
    expected = espeak.synthesize_pcm("One two three.", "en-us", 140)
    other = espeak.synthesize_pcm("Uno dos tres cuatro cinco seis.", "es-419", 140)
    results: list[tuple[str, int]] = []

    def run(text: str, voice: str) -> None:
        results.append((voice, len(espeak.synthesize_pcm(text, voice, 140))))

    threads = [threading.Thread(target=run, args=("One two three.", "en-us")) for _ in range(4)]
    threads += [
        threading.Thread(target=run, args=("Uno dos tres cuatro cinco seis.", "es-419"))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # espeak-ng carries a little state between calls (lengths vary by a few samples), so
    # compare lengths: mixed-up calls would be doubled, truncated or empty.
    assert len(results) == 8
    for voice, n in results:
        want = len(expected) if voice == "en-us" else len(other)
        assert n == pytest.approx(want, rel=0.01)
