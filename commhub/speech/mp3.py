"""MP3 helpers: encode the offline engines' PCM with LAME, tag with ID3v2.3, measure duration.

No mutagen at run time: the ID3v2.3 frames we write (TIT2 title, TLAN language, TSSE the
engine and voice that spoke it, and our encoder when we encoded it) are a few bytes each, and
the duration comes from walking the MPEG frame headers.
"""

from __future__ import annotations

import lameenc

ENCODER = "LAME"  # what `encode_pcm` encodes with, as the TSSE frame names it
PCM_SAMPLE_RATE = 22050  # espeak-ng's rate; MP3 keeps it (MPEG-2 Layer III)
ALLOWED_BITRATES = (32, 40, 48, 56, 64)
_QUALITY = 7  # LAME's fast setting: ~3x quicker than 2, no audible loss for speech

# Layer III tables, indexed by the header's bitrate/sample-rate fields.
_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def encode_pcm(pcm: bytes, bitrate_kbps: int = 48, sample_rate: int = PCM_SAMPLE_RATE) -> bytes:
    """Encode 16-bit little-endian mono PCM to a constant-bitrate mono MP3."""
    if bitrate_kbps not in ALLOWED_BITRATES:
        raise ValueError(f"bitrate must be one of {ALLOWED_BITRATES}, not {bitrate_kbps}")
    enc = lameenc.Encoder()
    enc.set_in_sample_rate(sample_rate)
    enc.set_out_sample_rate(sample_rate)
    enc.set_channels(1)
    enc.set_bit_rate(bitrate_kbps)
    enc.set_quality(_QUALITY)
    return bytes(enc.encode(pcm)) + bytes(enc.flush())


def _syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def _text_frame(frame_id: str, text: str) -> bytes:
    try:
        payload = b"\x00" + text.encode("latin-1")  # encoding 0: ISO-8859-1
    except UnicodeEncodeError:
        payload = b"\x01" + text.encode("utf-16")  # encoding 1: UTF-16 with BOM
    return frame_id.encode("ascii") + len(payload).to_bytes(4, "big") + b"\x00\x00" + payload


def id3_tag(title: str, language: str, software: str | None = None) -> bytes:
    """An ID3v2.3 tag with TIT2 (title), TLAN (ISO 639-2 code such as "spa") and, when
    given, TSSE ("software used for encoding", as `Speech.software` says it: the engine and
    voice, e.g. "piper:en_US-joe-medium + LAME", so a listener's complaint can be traced to a
    voice)."""
    if len(language) != 3 or not language.isascii() or not language.isalpha():
        raise ValueError(f"TLAN needs a three-letter ISO 639-2 code, not {language!r}")
    frames = _text_frame("TIT2", title) + _text_frame("TLAN", language.lower())
    if software:
        frames += _text_frame("TSSE", software)
    return b"ID3\x03\x00\x00" + _syncsafe(len(frames)) + frames


def _id3v2_length(data: bytes, pos: int) -> int:
    """Length of an ID3v2 tag starting at `pos`, or 0 when there is none."""
    if data[pos : pos + 3] != b"ID3" or len(data) < pos + 10:
        return 0
    size = 0
    for b in data[pos + 6 : pos + 10]:
        size = (size << 7) | (b & 0x7F)
    footer = 10 if data[pos + 5] & 0x10 else 0
    return 10 + size + footer


def strip_id3(mp3: bytes) -> bytes:
    """The MP3 without a leading ID3v2 tag (so ours can replace it)."""
    return mp3[_id3v2_length(mp3, 0) :]


def tag(mp3: bytes, title: str, language: str, software: str | None = None) -> bytes:
    """`mp3` with its leading ID3v2 tag (if any) replaced by ours."""
    return id3_tag(title, language, software) + strip_id3(mp3)


def duration_seconds(mp3: bytes) -> float:
    """Playing time of an MPEG audio Layer III stream, from its frame headers.

    Walks every frame (constant or variable bitrate, concatenated pieces with their own
    tags, as gTTS returns them). Raises ValueError when no frame is found.
    """
    pos, total, frames, n = 0, 0.0, 0, len(mp3)
    while pos + 4 <= n:
        skip = _id3v2_length(mp3, pos)
        if skip:
            pos += skip
            continue
        if mp3[pos : pos + 3] == b"TAG" and pos + 128 <= n:  # ID3v1 at the end
            pos += 128
            continue
        h = int.from_bytes(mp3[pos : pos + 4], "big")
        version = (h >> 19) & 0x3
        layer = (h >> 17) & 0x3
        br_idx = (h >> 12) & 0xF
        sr_idx = (h >> 10) & 0x3
        if (h >> 21) != 0x7FF or version == 1 or layer != 1 or br_idx in (0, 15) or sr_idx == 3:
            pos += 1  # not a Layer III frame header: resynchronise
            continue
        sample_rate = _SAMPLE_RATES[version][sr_idx]
        padding = (h >> 9) & 0x1
        if version == 3:
            bitrate, samples, coeff = _BITRATES_V1[br_idx], 1152, 144
        else:
            bitrate, samples, coeff = _BITRATES_V2[br_idx], 576, 72
        length = coeff * bitrate * 1000 // sample_rate + padding
        total += samples / sample_rate
        frames += 1
        pos += length
    if frames == 0:
        raise ValueError("no MPEG Layer III frame found")
    return total
