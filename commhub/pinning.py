"""Render each campaign from the content pinned when it was created (commhub.content.pinned).

`CampaignRenderers.render` is the worker's render function. For a campaign whose content
hash is the hash of what this process loaded at start (the usual case: nothing changed on
disk since), it is the hub's own renderer; for one pinned to other content, a renderer built
from that content as the store keeps it (once per content hash and process). Campaigns from
before pinning existed have no hash and use the loaded content.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from commhub.content.i18n import Catalogs
from commhub.content.pinned import ContentFiles, PinnedContent
from commhub.content.topics import Topic
from commhub.domain import Member
from commhub.errors import RenderError
from commhub.render.pipeline import Renderer
from commhub.store.base import Store

log = logging.getLogger("commhub.pinning")

# Builds a renderer for pinned topics and catalogs (the hub's settings, speech and layouts).
RendererFactory = Callable[[Mapping[str, Topic], Catalogs], Renderer]
MAX_PINNED_RENDERERS = 16


class CampaignRenderers:
    """The renderer of each campaign's pinned content (see the module docstring)."""

    def __init__(
        self, current: Renderer, files: ContentFiles, store: Store, build: RendererFactory
    ) -> None:
        self.current = current
        self._files = files
        self._store = store
        self._build = build
        self._current_hash: dict[str, str] = {}  # topic -> hash of the loaded content
        self._campaign_hash: dict[str, str | None] = {}  # campaign id -> its content hash
        self._pinned: dict[str, Renderer] = {}  # content hash -> renderer
        self._lock = asyncio.Lock()

    def current_hash(self, topic: str) -> str | None:
        """The content hash a campaign of `topic` created by this process gets."""
        if topic not in self._files.topics:
            return None
        found = self._current_hash.get(topic)
        if found is None:
            found = self._current_hash[topic] = self._files.pin(topic).hash
        return found

    async def for_campaign(self, campaign_id: str, topic: str) -> Renderer:
        """The renderer for this campaign's pinned content."""
        if campaign_id not in self._campaign_hash:
            campaign = await self._store.get_campaign(campaign_id)
            self._campaign_hash[campaign_id] = None if campaign is None else campaign.content_hash
        content_hash = self._campaign_hash[campaign_id]
        if content_hash is None or content_hash == self.current_hash(topic):
            return self.current
        renderer = self._pinned.get(content_hash)
        if renderer is not None:
            return renderer
        async with self._lock:
            renderer = self._pinned.get(content_hash)
            if renderer is None:
                pinned = await self._store.pinned_content(content_hash)
                if pinned is None:
                    raise RenderError(
                        f"campaign {campaign_id}: pinned content {content_hash} is missing"
                    )
                renderer = await asyncio.to_thread(self._renderer_for, pinned)
                if len(self._pinned) >= MAX_PINNED_RENDERERS:
                    self._pinned.pop(next(iter(self._pinned)))
                self._pinned[content_hash] = renderer
                log.info("campaign %s renders from pinned content %s", campaign_id, content_hash)
        return renderer

    def _renderer_for(self, pinned: PinnedContent) -> Renderer:
        topic, catalogs = pinned.load()
        return self._build({topic.name: topic}, catalogs)

    async def render(
        self, topic: str, member: Member, data: dict[str, Any], delivery_id: int, campaign_id: str
    ) -> Any:
        """The worker's render function: render from the campaign's pinned content."""
        renderer = await self.for_campaign(campaign_id, topic)
        return await renderer.render(topic, member, data, delivery_id, campaign_id)
