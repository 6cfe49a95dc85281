"""Speech for audio messages: voices per language, engines, MP3 encoding and tagging.

SpeechService(settings.speech, settings.root / "voices")
    .speak(text, lang, title) -> SpokenAudio   (NoVoice when the language has none)
    .speak_fitting(texts, lang, title, max_seconds) -> (index, SpokenAudio)
    .describe(lang) -> "piper:en_US-joe-medium" | "espeak-ng:es-419" | None

Engines: Piper (neural, from an installed voice package), espeak-ng, gTTS (online, opt-in).
"""

from commhub.speech.engine import Speech, SpeechEngine, UnknownVoice
from commhub.speech.service import CacheStats, NoVoice, SpeechService, SpokenAudio
from commhub.speech.spoken import count_words, phone_for_speech, speakable
from commhub.speech.voices import EngineVoice, VoiceBook, VoiceChoice

__all__ = [
    "CacheStats",
    "EngineVoice",
    "NoVoice",
    "Speech",
    "SpeechEngine",
    "SpeechService",
    "SpokenAudio",
    "UnknownVoice",
    "VoiceBook",
    "VoiceChoice",
    "count_words",
    "phone_for_speech",
    "speakable",
]
