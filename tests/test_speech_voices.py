"""Voice files: every language declared, each espeak-ng voice real, clear errors (TS-7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from commhub.errors import ConfigError
from commhub.languages import LANGUAGES
from commhub.speech.voices import VoiceBook

VOICES = Path(__file__).resolve().parent.parent / "voices"


@pytest.fixture(scope="module")
def book() -> VoiceBook:
    return VoiceBook.load(VOICES, set(LANGUAGES))


def test_every_supported_language_has_a_voice_file(book: VoiceBook) -> None:
    assert set(book.languages) == set(LANGUAGES)


def test_offline_voices_are_the_languages_own(book: VoiceBook) -> None:
    described = {tag: book.describe(tag) for tag in LANGUAGES}
    assert described["en"] == "piper:en_US-joe-medium"  # the neural voice, when installed
    assert described["es"] == "espeak-ng:es-419"
    assert described["zh-Hans"] == "espeak-ng:cmn"
    assert described["zh-Hant"] == "espeak-ng:yue"
    assert described["pt"] == "espeak-ng:pt-br"
    # No offline voice: reported as None, never someone else's voice.
    english = book.voice_for("en", gtts_enabled=False)
    assert english is not None
    assert [v.describe() for v in english.candidates] == [
        "piper:en_US-joe-medium",
        "espeak-ng:en-us",
    ]
    for tag in ("tl", "so", "ja"):
        assert described[tag] is None
        assert book.voice_for(tag, gtts_enabled=False) is None


def test_gtts_only_languages_need_gtts_enabled(book: VoiceBook) -> None:
    choice = book.voice_for("tl", gtts_enabled=True)
    assert choice is not None
    assert [(v.engine, v.voice) for v in choice.candidates] == [("gtts", "tl")]
    assert book.voice_for("so", gtts_enabled=True) is None  # Somali: no voice anywhere


def test_gtts_first_then_espeak_when_enabled(book: VoiceBook) -> None:
    choice = book.voice_for("es", gtts_enabled=True)
    assert choice is not None
    assert [v.describe() for v in choice.candidates] == ["gtts:es", "espeak-ng:es-419"]
    assert choice.iso639_2 == "spa"


def test_unknown_language_has_no_voice(book: VoiceBook) -> None:
    assert book.voice_for("xx", gtts_enabled=True) is None


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'language = "es"\niso639_2 = "spa"\nengines = ["espeak-ng"]\n',
            r"es\.toml: espeak-ng: .*no \[espeak-ng\] table",
        ),
        (
            'language = "es"\niso639_2 = "spa"\nengines = ["festival"]\n',
            r"es\.toml: engines\[0\]: must be one of 'piper', 'espeak-ng', 'gtts', not 'festival'",
        ),
        ('language = "es"\niso639_2 = "es"\nengines = []\n', r"es\.toml: iso639_2"),
        (
            'language = "es"\niso639_2 = "spa"\nengines = ["gtts"]\n[gtts]\nvoice = "es"\nrate_wpm = 20\n',
            r"es\.toml: gtts\.rate_wpm",
        ),
        (
            'language = "es"\niso639_2 = "spa"\nengines = []\nvoise = "x"\n',
            r"es\.toml: voise: unknown key \(known: language, iso639_2, engines",
        ),
        (
            'language = "fr"\niso639_2 = "fra"\nengines = []\n',
            r"es\.toml: language: 'fr' does not match",
        ),
        ('language = "es"\niso639_2 = "spa"\nengines = [\n', r"es\.toml: not valid TOML"),
        (  # loaded before voice files were typed
            'language = "es"\niso639_2 = "spa"\nengines = ["gtts"]\n[gtts]\nvoice = "es"\nnotes = 3\n',
            r"es\.toml: gtts\.notes: expected `str`, got `int`, not 3",
        ),
        (
            'language = "es"\niso639_2 = "spa"\nengines = ["gtts"]\n[gtts]\n',
            r"es\.toml: gtts\.voice: is required",
        ),
    ],
)
def test_invalid_voice_file_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        VoiceBook.load(write(tmp_path, "es.toml", text))


def test_voice_file_for_an_unknown_language_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "xx.toml", 'language = "xx"\niso639_2 = "xxx"\nengines = []\n')
    with pytest.raises(ConfigError, match=r"xx\.toml: language: unknown language 'xx'"):
        VoiceBook.load(tmp_path, set(LANGUAGES))


def test_say_rules_replace_whole_words_only(tmp_path: Path) -> None:
    write(
        tmp_path,
        "es.toml",
        'language = "es"\niso639_2 = "spa"\nengines = ["espeak-ng"]\n'
        '[espeak-ng]\nvoice = "es-419"\nsay = { "TTY" = "T T Y" }\n',
    )
    choice = VoiceBook.load(tmp_path).voice_for("es", gtts_enabled=False)
    assert choice is not None
    assert choice.primary.apply_rules("TTY 711, TTYS") == "T T Y 711, TTYS"
    assert choice.primary.rate_wpm is None  # falls back to speech.rate_wpm
