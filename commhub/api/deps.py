"""What the HTTP API needs from the rest of commhub, as one object.

The API depends on small protocols rather than on the concrete i18n, speech and rendering
modules, so each plugs in (or is left out in a narrow test) without the API changing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from commhub.api.metrics import Metrics
from commhub.content.pinned import ContentFiles
from commhub.content.topics import Topic
from commhub.delivery_tokens import DeliveryTokens
from commhub.domain import Format
from commhub.settings import Settings
from commhub.store.base import Store


class ReadinessLike(Protocol):
    """How far a language's translation of a set of strings has come."""

    @property
    def reviewed(self) -> int: ...
    @property
    def fuzzy(self) -> int: ...
    @property
    def missing(self) -> int: ...
    @property
    def ready(self) -> bool: ...
    @property
    def certified(self) -> int: ...


class RecordLike(Protocol):
    """Who approved strings at a review level, and when (`commhub.content.review.Record`)."""

    def as_json(self) -> dict[str, str]: ...


class CatalogsLike(Protocol):
    """The translation catalogs (`commhub.content.i18n.Catalogs`)."""

    def languages(self) -> Iterable[str]: ...

    def readiness(self, lang: str, msgids: Iterable[str]) -> ReadinessLike: ...

    def certifications(
        self, lang: str, msgids: Iterable[str]
    ) -> Sequence[tuple[RecordLike, int]]: ...


class VoiceBookLike(Protocol):
    """The voices per language (`commhub.speech.voices.VoiceBook`)."""

    def describe(self, lang: str) -> str | None: ...


class PreviewRendererLike(Protocol):
    """Renders one topic for sample or given data (`commhub.render.pipeline.Renderer`).

    The result is read for `message.subject`, `text`, `html`, `spoken`, `audio.mp3`,
    `lang`, `fallback`, `machine` and `notes`; it raises RenderError or PolicyHold.
    """

    def render_preview(
        self, topic: str, lang: str, fmt: Format, data: Mapping[str, Any] | None = None
    ) -> Awaitable[Any]: ...

    def message_msgids(self, topic: Topic) -> list[str]:
        """Every string a message of `topic` uses (readiness is counted on these)."""


@dataclass
class ApiDeps:
    """Everything the API handlers use; built once by `commhub serve` (or a test)."""

    settings: Settings
    store: Store
    topics: Mapping[str, Topic]
    catalogs: CatalogsLike | None = None
    voices: VoiceBookLike | None = None
    renderer: PreviewRendererLike | None = None
    metrics: Metrics = field(default_factory=Metrics)
    # The content files loaded at start: a campaign created here pins its topic's (None: not
    # pinned, e.g. a narrow test).
    content: ContentFiles | None = None
    tokens: DeliveryTokens | None = None  # unsubscribe links ([unsubscribe] secret)


DEPS = web.AppKey("commhub_deps", ApiDeps)
# Threads for CPU-heavy request parsing (big campaigns); owned by the app's cleanup_ctx.
PARSER_POOL = web.AppKey("commhub_parser_pool", ThreadPoolExecutor)
