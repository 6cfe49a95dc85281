"""Store fixtures for every suite that needs a real database: SQLite and PostgreSQL.

Use them from a conftest or a test module:

    from tests.store_fixtures import store, store_url  # noqa: F401

`store_url` is parametrized: a fresh SQLite file under `tmp_path`, and a fresh PostgreSQL
schema per test (the URL carries `?search_path=<schema>`, so a `commhub serve` subprocess
given that URL sees the same isolated tables). The PostgreSQL case is marked `real` and
skips with the reason when the server is unreachable (CI turns that skip into a failure).
`store` is that store opened and migrated.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

from commhub.store.base import Store
from commhub.store.factory import open_store

POSTGRES_URL = os.environ.get(
    "COMMHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

STORE_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.real),
]


def with_search_path(url: str, schema: str) -> str:
    """`url` with `search_path=schema` (asyncpg passes it on as a server setting)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "search_path"]
    query.append(("search_path", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL} ({exc.__class__.__name__}: {exc})")


@pytest.fixture(params=STORE_KINDS)
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL for an empty, isolated store of each kind."""
    if request.param == "sqlite":
        # A folder that does not exist yet: the store must create it.
        yield f"sqlite:///{tmp_path / 'var' / 'commhub.db'}"
        return
    schema = "test_" + secrets.token_hex(6)
    conn = await _admin()
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    try:
        yield with_search_path(POSTGRES_URL, schema)
    finally:
        conn = await _admin()
        try:
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await conn.close()


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """The store at `store_url`, migrated; closed after the test."""
    opened = open_store(store_url)
    await opened.migrate()
    try:
        yield opened
    finally:
        await opened.close()
