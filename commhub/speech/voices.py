"""The voice book: which engine and voice speak each language, read from `voices/*.toml`.

One file per language, named for its tag (`voices/es.toml`, `voices/zh-Hant.toml`):

    language = "es"
    iso639_2 = "spa"                  # ID3 TLAN
    engines = ["gtts", "espeak-ng"]   # preference order; gtts only when the plan enables it,
                                      # piper only when its voice package is installed
    [espeak-ng]
    voice = "es-419"
    rate_wpm = 140                    # optional; else speech.rate_wpm
    say = { "TTY" = "T T Y" }         # optional whole-word replacements before speaking

A language whose file lists no usable engine has no voice: `voice_for` answers None and the
caller holds the message or falls back by policy. It never borrows another language's voice.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from commhub.errors import ConfigError
from commhub.speech.spoken import SpeechStyle
from commhub.typed_config import convert

ESPEAK = "espeak-ng"
GTTS = "gtts"
PIPER = "piper"
ENGINES = (PIPER, ESPEAK, GTTS)
# How each engine is given phone numbers (commhub/speech/spoken.py).
_STYLES: dict[str, SpeechStyle] = {PIPER: "piper", ESPEAK: "espeak", GTTS: "gtts"}


@dataclass(frozen=True)
class EngineVoice:
    """One engine's voice for a language."""

    engine: str
    voice: str
    rate_wpm: int | None  # None: use speech.rate_wpm
    say: tuple[tuple[str, str], ...] = ()  # whole-word replacements, in file order

    def apply_rules(self, text: str) -> str:
        """`text` with this voice's whole-word replacements applied."""
        for word, spoken in self.say:
            text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", spoken, text)
        return text

    @property
    def style(self) -> SpeechStyle:
        """How this engine is given phone numbers (`speakable`)."""
        return _STYLES[self.engine]

    def describe(self) -> str:
        return f"{self.engine}:{self.voice}"


@dataclass(frozen=True)
class VoiceChoice:
    """The voices to try for a language, best first (all usable with the given settings)."""

    language: str
    iso639_2: str
    candidates: tuple[EngineVoice, ...]

    @property
    def primary(self) -> EngineVoice:
        return self.candidates[0]


@dataclass(frozen=True)
class LanguageVoices:
    """A voice file as declared: every engine, usable or not."""

    language: str
    iso639_2: str
    engines: tuple[EngineVoice, ...]  # in preference order
    notes: str = ""


class VoiceBook:
    """All voice files of a directory, validated."""

    def __init__(self, languages: Mapping[str, LanguageVoices]) -> None:
        self.languages = dict(languages)

    @classmethod
    def load(cls, directory: Path, known_languages: set[str] | None = None) -> VoiceBook:
        """Read every `*.toml` in `directory`; ConfigError names the file and the key."""
        if not directory.is_dir():
            raise ConfigError(f"voices directory {directory} does not exist")
        found: dict[str, LanguageVoices] = {}
        for path in sorted(directory.glob("*.toml")):
            entry = _parse(path)
            if known_languages is not None and entry.language not in known_languages:
                raise ConfigError(f"{path}: language: unknown language {entry.language!r}")
            found[entry.language] = entry
        return cls(found)

    def voice_for(self, language: str, gtts_enabled: bool) -> VoiceChoice | None:
        """The voices to try for `language`, or None when it has no usable voice."""
        entry = self.languages.get(language)
        if entry is None:
            return None
        usable = tuple(v for v in entry.engines if v.engine != GTTS or gtts_enabled)
        if not usable:
            return None
        return VoiceChoice(entry.language, entry.iso639_2, usable)

    def describe(self, language: str, gtts_enabled: bool = False) -> str | None:
        """The primary voice as "engine:voice" (e.g. "espeak-ng:es-419"), or None."""
        choice = self.voice_for(language, gtts_enabled)
        return choice.primary.describe() if choice else None


# The shape of a voice file, checked by msgspec (commhub/typed_config.py): an unknown key, a
# wrong type or a bound crossed names the file and the key. Rules between keys are in _parse.
class _EngineFile(msgspec.Struct, forbid_unknown_fields=True):
    voice: Annotated[str, Meta(pattern=r"\S")]
    rate_wpm: Annotated[int, Meta(ge=80, le=300)] | None = None  # None: speech.rate_wpm
    say: dict[Annotated[str, Meta(min_length=1)], str] = msgspec.field(default_factory=dict)
    notes: str = ""


class _VoiceFile(msgspec.Struct, forbid_unknown_fields=True, rename={"espeak_ng": ESPEAK}):
    language: Annotated[str, Meta(pattern=r"\S")]
    iso639_2: Annotated[str, Meta(pattern=r"^[a-z]{3}$")]  # ID3 TLAN: three lowercase letters
    engines: list[Literal["piper", "espeak-ng", "gtts"]]  # preference order
    piper: _EngineFile | None = None  # used only when its voice package is installed
    espeak_ng: _EngineFile | None = None
    gtts: _EngineFile | None = None
    notes: str = ""


def _parse(path: Path) -> LanguageVoices:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    f = convert(raw, _VoiceFile, where=f"{path}: ")
    if path.stem != f.language:
        raise ConfigError(f"{path}: language: {f.language!r} does not match the file name")
    if len(set(f.engines)) != len(f.engines):
        raise ConfigError(f"{path}: engines: lists an engine twice")
    tables: dict[str, _EngineFile | None] = {PIPER: f.piper, ESPEAK: f.espeak_ng, GTTS: f.gtts}
    voices: list[EngineVoice] = []
    for name in f.engines:
        table = tables[name]
        if table is None:
            raise ConfigError(f"{path}: {name}: engine listed in engines but has no [{name}] table")
        voices.append(EngineVoice(name, table.voice, table.rate_wpm, tuple(table.say.items())))
    for engine, declared in tables.items():
        if declared is not None and engine not in f.engines:
            raise ConfigError(f"{path}: {engine}: table present but the engine is not in engines")
    return LanguageVoices(f.language, f.iso639_2, tuple(voices), f.notes)
