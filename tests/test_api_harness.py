"""Shared set-up for the API tests (no tests here): the real app on a real SQLite file.

`open_api` builds the application exactly as `commhub serve` does — real SQLite store,
shipped topics, catalogs, voices and renderer — and creates one token per role.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from commhub.api import ApiDeps, Metrics, create_app
from commhub.content.i18n import Catalogs
from commhub.content.topics import Topic, load_topics
from commhub.domain import Role
from commhub.render.pipeline import Renderer
from commhub.settings import DatabaseSettings, ServerSettings, Settings, SpeechSettings
from commhub.speech.service import SpeechService
from commhub.store.base import Store
from commhub.store.factory import open_store
from commhub.tokens import create_token

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]

MEMBER: dict[str, Any] = {
    "given_name": "Alex",
    "family_name": "Rivera",
    "language": "es",
    "format": "large_print_email",
    "email": "alex@example.org",
    "timezone": "America/Los_Angeles",
}
REFILL_DATA: dict[str, Any] = {
    "refill_date": "2026-12-03",
    "pharmacy_name": "Main Street Pharmacy",
    "refills_left": 2,
}


@dataclass
class Api:
    """A running app with its store, a token per role and the metrics registry."""

    client: TestClient[web.Request, web.Application]
    store: Store
    deps: ApiDeps
    tokens: dict[Role, str] = field(default_factory=dict)

    def auth(self, role: Role = Role.OUTREACH, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **headers}

    async def add_members(self, count: int, prefix: str = "M", **overrides: Any) -> list[str]:
        """Store `count` members directly (fast set-up for campaign tests)."""
        from commhub.domain import parse_member

        ids, members = [], []
        for i in range(count):
            mid = f"{prefix}{i:06d}"
            body = {**MEMBER, "email": f"{mid.lower()}@example.org", **overrides}
            member, problems = parse_member(mid, body, topics=self.deps.topics.keys())
            assert member is not None, problems
            ids.append(mid)
            members.append(member)
        for start in range(0, count, 5000):
            await self.store.upsert_members(members[start : start + 5000])
        return ids


def make_settings(tmp_path: Path, database_url: str | None = None, **server: Any) -> Settings:
    return Settings(
        server=replace(ServerSettings(), **server),
        database=DatabaseSettings(url=database_url or f"sqlite:///{tmp_path / 'commhub.db'}"),
        root=tmp_path,
    )


@functools.cache
def shipped_content(
    templates: Path, voices: Path
) -> tuple[dict[str, Topic], Catalogs, SpeechService]:
    """Topics, catalogs and speech, loaded once per test session (they are read-only)."""
    return (
        load_topics(templates / "topics"),
        Catalogs.load(templates / "i18n"),
        SpeechService(SpeechSettings(), voices),
    )


@contextlib.asynccontextmanager
async def open_api(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    *,
    renderer: bool = True,
    database_url: str | None = None,
    **server: Any,
) -> AsyncIterator[Api]:
    """The app on a fresh SQLite file (or `database_url`); `server` overrides ServerSettings."""
    settings = make_settings(tmp_path, database_url, **server)
    store = open_store(settings.database_url)
    await store.migrate()
    try:
        topics, catalogs, speech = shipped_content(settings.templates_dir, settings.voices_dir)
        deps = ApiDeps(
            settings=settings,
            store=store,
            topics=topics,
            catalogs=catalogs,
            voices=speech,
            renderer=Renderer(settings, topics, catalogs, speech) if renderer else None,
            metrics=Metrics(),
        )
        client = await aiohttp_client(create_app(deps))
        api = Api(client=client, store=store, deps=deps)
        for role in Role:
            api.tokens[role] = await create_token(store, role, f"test {role}")
        yield api
    finally:
        await store.close()
