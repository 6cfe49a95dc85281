"""Can a listener follow the English audio? An independent recogniser hears every topic.

Every English topic is rendered as the audio a member gets (the real renderer, speech service
and MP3), with a member and data other than the templates' samples, then transcribed by
pocketsphinx with its own en-US model (tests/listening.py). The neural voice (Piper) must
score a word error rate of at most 0.40 on each topic and the callback number must be heard
(its 11 digits in order, at most 2 wrong). The same run with espeak-ng shows why espeak-ng
is only the fallback: the same listener gets most of its words wrong.

pocketsphinx itself gets many words wrong even on natural speech, so these thresholds leave
room; a voice nobody can follow scores 0.7-1.0. Transcription runs in two processes (~5 s
of CPU per Piper message, ~10 s per espeak-ng one).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import pytest

from commhub.domain import Format
from commhub.render import Renderer
from commhub.speech import SpeechService
from commhub.speech.espeak import EspeakEngine
from commhub.speech.piper_engine import PiperEngine
from commhub.speech.voices import ESPEAK, PIPER
from tests import listening
from tests.test_render_support import ROOT, TOPICS, member, real_renderer

pytestmark = pytest.mark.real

# Not the samples: other names, dates, times, places and amounts.
DATA: dict[str, dict[str, Any]] = {
    "appointment_reminder": {
        "appointment_date": "2027-03-17",
        "appointment_time": "14:15",
        "location_name": "Lakeview Health Center",
        "location_address": "455 Oak Street, Salem, OR 97301",
    },
    "coverage_change": {"effective_date": "2027-04-01", "premium": "42.00", "copay": "15.00"},
    "refill_reminder": {
        "refill_date": "2027-02-09",
        "pharmacy_name": "Hillside Drug Store",
        "refills_left": 4,
    },
    "screening_reminder": {"due_date": "2027-05-20", "clinic_name": "Northgate Medical Group"},
}
MAX_WER = 0.40
MAX_DIGITS_WRONG = 2


@dataclass(frozen=True)
class Rendered:
    engine: str
    voice: str
    spoken: str
    number: str
    duration_s: float
    notes: tuple[str, ...]
    heard: listening.Heard


async def _render(engine: str) -> list[tuple[str, str, str, str, float, tuple[str, ...], bytes]]:
    base = real_renderer()
    made = {PIPER: PiperEngine, ESPEAK: EspeakEngine}[engine]()
    service = SpeechService(base.settings.speech, ROOT / "voices", engines={engine: made})
    renderer = Renderer(base.settings, base.topics, base.catalogs, service)
    someone = replace(member("en", Format.AUDIO), given_name="Grace", family_name="Whitfield")
    out = []
    for topic, data in DATA.items():
        result = await renderer.render(topic, someone, data, delivery_id=1)
        assert result.audio is not None and result.spoken is not None
        number = renderer.settings.plan.phones[TOPICS[topic].phone_line].number
        audio = result.audio
        out.append(
            (topic, audio.voice, result.spoken, number, audio.duration_s, result.notes, audio.mp3)
        )
    return out


def measure() -> dict[tuple[str, str], Rendered]:
    """(engine, topic) -> what was spoken and what the listener heard."""
    rendered = {engine: asyncio.run(_render(engine)) for engine in (PIPER, ESPEAK)}
    jobs = [(engine, *item) for engine, items in rendered.items() for item in items]
    # pocketsphinx holds the GIL: one process per core. spawn: this process has threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        results = list(
            pool.map(
                listening.listen,
                [job[7] for job in jobs],
                [job[3] for job in jobs],
                [job[4] for job in jobs],
            )
        )
    return {
        (engine, topic): Rendered(engine, voice, spoken, number, duration, notes, result)
        for (engine, topic, voice, spoken, number, duration, notes, _), result in zip(
            jobs, results, strict=True
        )
    }


def table(results: dict[tuple[str, str], Rendered]) -> str:
    return "\n".join(
        f"{engine:10} {topic:20} {r.duration_s:5.1f} s  WER {r.heard.wer:.2f}  "
        f"number: {r.heard.number_errors} digit(s) wrong"
        for (engine, topic), r in sorted(results.items())
    )


@pytest.fixture(scope="module")
def heard() -> dict[tuple[str, str], Rendered]:
    results = measure()
    print("\n" + table(results))  # shown with -s: the README's figures
    return results


@pytest.mark.parametrize("topic", sorted(DATA))
def test_neural_english_voice_is_understood(
    heard: dict[tuple[str, str], Rendered], topic: str
) -> None:
    r = heard[(PIPER, topic)]
    assert r.voice == "en_US-joe-medium"
    # TS-8: about a minute. These scripts say the number three times and every fact; where
    # that runs past the goal, the renderer says so (CP-1 wins over TS-8).
    assert 30 <= r.duration_s <= 80
    if r.duration_s > 65:
        assert any("CP-1 wins over TS-8" in n for n in r.notes), r.notes
    assert r.heard.wer <= MAX_WER, f"WER {r.heard.wer:.2f}; heard: {r.heard.text}"
    assert r.heard.number_errors <= MAX_DIGITS_WRONG, f"number not heard: {r.heard.text}"


def test_espeak_is_not_the_english_default_because_listeners_miss_most_words(
    heard: dict[tuple[str, str], Rendered],
) -> None:
    piper = {t: heard[(PIPER, t)].heard for t in DATA}
    espeak = {t: heard[(ESPEAK, t)].heard for t in DATA}
    report = ", ".join(f"{t}: {piper[t].wer:.2f} vs {espeak[t].wer:.2f}" for t in sorted(DATA))
    # Every topic: espeak-ng is far worse than Piper, and on the whole over half wrong.
    for topic in DATA:
        assert espeak[topic].wer >= piper[topic].wer + 0.2, report
    assert sum(h.wer for h in espeak.values()) / len(espeak) > 0.5, report


def test_listener_scores_words_as_spoken() -> None:
    # The scoring itself: numbers written out as the voices say them, "oh" is zero.
    heard = "call one eight zero zero on march seventeenth two thousand twenty seven"
    heard += " at two fifteen p m forty two dollars"
    assert listening.words("Call 1, 8 0 0 on March 17, 2027 at 2:15 PM: $42.") == heard.split(" ")
    assert listening.word_error_rate("one two three four", "one too three four") == 0.25
    assert listening.digits_missed("1-800-555-0100", "call one eight oh oh five five") == 5
    assert (
        listening.digits_missed(
            "1-800-555-0100", "x one eight zero zero five five five zero one zero zero y"
        )
        == 0
    )


if __name__ == "__main__":  # the README's table: python -m tests.test_speech_listening
    print(table(measure()))
