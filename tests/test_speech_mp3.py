"""MP3 encoding and ID3 tagging, checked by decoding with mutagen (an independent reader)."""

from __future__ import annotations

import math
import struct

import pytest

from commhub.speech import mp3
from tests.fake_gtts import id3, mp3_info


def tone(seconds: float, rate: int = 22050) -> bytes:
    return b"".join(
        struct.pack("<h", int(5000 * math.sin(2 * math.pi * 300 * i / rate)))
        for i in range(int(seconds * rate))
    )


@pytest.mark.parametrize("kbps", [32, 48, 64])
def test_encoded_pcm_is_mono_22050_at_the_bitrate(kbps: int) -> None:
    data = mp3.encode_pcm(tone(2.0), kbps)
    info = mp3_info(data)
    assert info.channels == 1
    assert info.sample_rate == 22050
    assert info.bitrate == kbps * 1000
    assert info.length == pytest.approx(2.0, abs=0.1)


def test_bitrate_outside_the_allowed_range_is_refused() -> None:
    with pytest.raises(ValueError, match="bitrate"):
        mp3.encode_pcm(tone(0.1), 128)


def test_tag_carries_title_and_language_readable_by_mutagen() -> None:
    data = mp3.tag(mp3.encode_pcm(tone(1.0)), "Recordatorio de su receta — 處方", "spa")
    tags = id3(data)
    assert str(tags["TIT2"]) == "Recordatorio de su receta — 處方"
    assert str(tags["TLAN"]) == "spa"
    assert tags.version == (2, 3, 0)
    assert mp3_info(data).length == pytest.approx(1.0, abs=0.1)


def test_retagging_replaces_the_old_tag() -> None:
    once = mp3.tag(mp3.encode_pcm(tone(0.5)), "first", "eng")
    twice = mp3.tag(once, "second", "vie")
    tags = id3(twice)
    assert str(tags["TIT2"]) == "second"
    assert str(tags["TLAN"]) == "vie"
    assert twice.count(b"ID3\x03") == 1


def test_language_must_be_a_three_letter_code() -> None:
    with pytest.raises(ValueError, match="ISO 639-2"):
        mp3.id3_tag("title", "es")


def test_duration_from_frame_headers_matches_mutagen() -> None:
    one = mp3.tag(mp3.encode_pcm(tone(1.5), 40), "a", "eng")
    two = mp3.encode_pcm(tone(0.7), 40)
    joined = one + two  # gTTS returns pieces concatenated like this
    expected = mp3_info(one).length + mp3_info(two).length
    assert mp3.duration_seconds(joined) == pytest.approx(expected, abs=0.03)


def test_duration_of_junk_is_an_error() -> None:
    with pytest.raises(ValueError, match="no MPEG"):
        mp3.duration_seconds(b"<html>not audio</html>" * 10)
