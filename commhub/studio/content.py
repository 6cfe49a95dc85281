"""Templates, topics and catalogs as they are on disk now: reloaded when a file changes.

Each request asks `LiveContent.current()`, which compares the size and modification time of
every topic, catalog and layout file with what was loaded (a few dozen `stat` calls) and
rebuilds the renderers when anything changed — a translator saving in Poedit, or the studio
itself writing a `.po`, shows up on the next render. A file that no longer loads (a TOML typo
half-way through an edit) keeps the last good content and reports the error on the page.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from commhub.content.i18n import Catalogs, LanguagePlan, plan_language
from commhub.content.topics import Topic, load_topics
from commhub.errors import CommhubError
from commhub.render.pipeline import Renderer
from commhub.settings import Settings
from commhub.speech import SpeechService

Signature = tuple[tuple[str, int, int], ...]


class DraftRenderer(Renderer):
    """A renderer that uses machine drafts (with the LA-2 notice) where nothing better exists.

    The translator view shows a language's text in context before it is reviewed; the grid
    keeps the configured policy, which is what members would get.
    """

    def plan(self, topic: Topic, member_lang: str) -> LanguagePlan:
        return plan_language(
            self.catalogs,
            self.message_msgids(topic),
            member_lang,
            "machine_with_notice",
            topic=topic.name,
        )


@dataclass(frozen=True)
class Loaded:
    """One consistent load of the content, and the renderers over it."""

    topics: dict[str, Topic]
    catalogs: Catalogs
    renderer: Renderer
    drafts: DraftRenderer
    signature: Signature
    version: int  # increases on every reload: the page and caches key on it


def _files(root: Path) -> list[Path]:
    files: list[Path] = []
    for sub, pattern in (("topics", "*.toml"), ("i18n", "*.po"), ("layouts", "*")):
        files += sorted(p for p in (root / sub).glob(pattern) if p.is_file())
    return files


def signature(root: Path) -> Signature:
    """What identifies the content on disk: every file's name, size and mtime."""
    out = []
    for path in _files(root):
        try:
            st = path.stat()
        except FileNotFoundError:  # removed between glob and stat
            continue
        out.append((str(path.relative_to(root)), st.st_size, st.st_mtime_ns))
    return tuple(out)


class LiveContent:
    """The templates folder of the settings, reloaded when it changes."""

    def __init__(self, settings: Settings, speech: SpeechService | None) -> None:
        self.settings = settings
        self.root = settings.templates_dir
        self.speech = speech
        self.require = settings.language.require
        self.error: str | None = None  # why the latest change could not be loaded
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None
        self._version = 0
        self.current()  # the first load must work: raises ConfigError naming the file

    def _load(self, sig: Signature) -> Loaded:
        topics = load_topics(self.root / "topics")
        catalogs = Catalogs.load(self.root / "i18n", require=self.require)
        root = self.root
        renderer = Renderer(self.settings, topics, catalogs, self.speech, templates_dir=root)
        drafts = DraftRenderer(self.settings, topics, catalogs, self.speech, templates_dir=root)
        self._version += 1
        return Loaded(topics, catalogs, renderer, drafts, sig, self._version)

    def current(self) -> Loaded:
        """The content as on disk now (the last good load if the files are broken)."""
        sig = signature(self.root)
        with self._lock:
            loaded = self._loaded
            if loaded is None or loaded.signature != sig:
                try:
                    loaded = self._loaded = self._load(sig)
                    self.error = None
                except CommhubError as exc:
                    self.error = str(exc)
                    if loaded is None:
                        raise
            return loaded

    def paths(self) -> Sequence[Path]:
        """The files watched (for the page's "content loaded from" line)."""
        return _files(self.root)
