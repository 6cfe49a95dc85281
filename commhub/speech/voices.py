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
from typing import Any

from commhub.errors import ConfigError

ESPEAK = "espeak-ng"
GTTS = "gtts"
PIPER = "piper"
ENGINES = (PIPER, ESPEAK, GTTS)
_TOP_KEYS = {"language", "iso639_2", "engines", "notes", *ENGINES}
_ENGINE_KEYS = {"voice", "rate_wpm", "say", "notes"}


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


def _parse(path: Path) -> LanguageVoices:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for key in raw:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{path}: unknown key {key!r}")
    language = _string(raw, "language", path)
    if path.stem != language:
        raise ConfigError(f"{path}: language: {language!r} does not match the file name")
    iso = _string(raw, "iso639_2", path)
    if not re.fullmatch(r"[a-z]{3}", iso):
        raise ConfigError(f"{path}: iso639_2: must be a three-letter lowercase code")
    order = raw.get("engines")
    if not isinstance(order, list) or not all(isinstance(e, str) for e in order):
        raise ConfigError(f"{path}: engines: must be a list of engine names")
    if len(set(order)) != len(order):
        raise ConfigError(f"{path}: engines: lists an engine twice")
    voices: list[EngineVoice] = []
    for name in order:
        if name not in ENGINES:
            raise ConfigError(f"{path}: engines: unknown engine {name!r} (known: {ENGINES})")
        table = raw.get(name)
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {name}: engine listed in engines but has no [{name}] table")
        voices.append(_engine_voice(table, name, path))
    for name in ENGINES:
        if name in raw and name not in order:
            raise ConfigError(f"{path}: {name}: table present but the engine is not in engines")
    notes = raw.get("notes", "")
    if not isinstance(notes, str):
        raise ConfigError(f"{path}: notes: must be a string")
    return LanguageVoices(language, iso, tuple(voices), notes)


def _engine_voice(table: dict[str, Any], engine: str, path: Path) -> EngineVoice:
    for key in table:
        if key not in _ENGINE_KEYS:
            raise ConfigError(f"{path}: {engine}.{key}: unknown key")
    voice = _string(table, "voice", path, prefix=f"{engine}.")
    rate = table.get("rate_wpm")
    if rate is not None and (
        not isinstance(rate, int) or isinstance(rate, bool) or not 80 <= rate <= 300
    ):
        raise ConfigError(f"{path}: {engine}.rate_wpm: must be an integer from 80 to 300")
    say = table.get("say", {})
    if not isinstance(say, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in say.items()
    ):
        raise ConfigError(f'{path}: {engine}.say: must be a table of word = "spoken form"')
    return EngineVoice(engine, voice, rate, tuple(say.items()))


def _string(raw: Mapping[str, Any], key: str, path: Path, prefix: str = "") -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: {prefix}{key}: required, a non-empty string")
    return value
