"""Speakable text (TS-2): phone numbers and N11 codes digit by digit, word counts."""

from __future__ import annotations

import pytest

from commhub.speech.spoken import count_words, phone_for_speech, speakable


@pytest.mark.parametrize(
    ("number", "espeak", "gtts", "piper"),
    [
        (
            "1-800-555-0100",
            "1, 8 0 0, 5 5 5, 0 1 0 0",
            "1 8 0 0 5 5 5 0 1 0 0",
            "1. 8, 0, 0. 5, 5, 5. 0, 1, 0, 0.",
        ),
        (
            "(503) 555-0100",
            "5 0 3, 5 5 5, 0 1 0 0",
            "5 0 3 5 5 5 0 1 0 0",
            "5, 0, 3. 5, 5, 5. 0, 1, 0, 0.",
        ),
        ("711", "7 1 1", "7 1 1", "7, 1, 1."),
    ],
)
def test_phone_for_speech(number: str, espeak: str, gtts: str, piper: str) -> None:
    assert phone_for_speech(number, "espeak") == espeak
    assert phone_for_speech(number, "gtts") == gtts
    assert "," not in phone_for_speech(number, "gtts")  # gTTS would split the number
    assert phone_for_speech(number, "piper") == piper
    # The renderer writes the TS-2 (espeak) form; Piper's style says it the same way.
    assert speakable(espeak, "piper") == piper


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call 1-800-555-0100 today.", "Call 1, 8 0 0, 5 5 5, 0 1 0 0 today."),
        ("Llame al 503.555.0100, TTY 711.", "Llame al 5 0 3, 5 5 5, 0 1 0 0, TTY 7 1 1."),
        ("+1 503 555 0100", "1, 5 0 3, 5 5 5, 0 1 0 0"),
        # Not phone numbers: money, dates, plain counts stay as they are.
        ("Pay $711 by 2026-12-03 for 7110 items.", "Pay $711 by 2026-12-03 for 7110 items."),
        ("You saved 71.50 dollars.", "You saved 71.50 dollars."),
    ],
)
def test_speakable_rewrites_only_phone_numbers(text: str, expected: str) -> None:
    assert speakable(text, "espeak") == expected


def test_speakable_for_gtts_has_no_commas_inside_numbers() -> None:
    assert speakable("Call 1-800-555-0100, TTY 711.", "gtts") == (
        "Call 1 8 0 0 5 5 5 0 1 0 0, TTY 7 1 1."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A digit its own beat, a group its own sentence; the number's full stop gives way
        # to the punctuation after it.
        ("Call 1-800-555-0100, TTY 711.", "Call 1. 8, 0, 0. 5, 5, 5. 0, 1, 0, 0, TTY 7, 1, 1."),
        ("Call us at 1, 8 0 0, 5 5 5, 0 1 0 1.", "Call us at 1. 8, 0, 0. 5, 5, 5. 0, 1, 0, 1."),
        ("Call 1-800-555-0100", "Call 1. 8, 0, 0. 5, 5, 5. 0, 1, 0, 0."),
        ("Or 211! Wait...", "Or 2, 1, 1! Wait..."),
        ("Pay $711 by 2026-12-03 for 7110 items.", "Pay $711 by 2026-12-03 for 7110 items."),
    ],
)
def test_speakable_for_piper_gives_every_digit_a_beat(text: str, expected: str) -> None:
    assert speakable(text, "piper") == expected


def test_count_words() -> None:
    assert count_words("Hello, Maria — your refill is ready.") == 6
    assert count_words("您好 ok") == 3  # Han characters count one each
    assert count_words("") == 0
