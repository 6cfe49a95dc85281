"""Open the store a database URL names: `sqlite:///path` or `postgresql://...`."""

from __future__ import annotations

from commhub.errors import ConfigError
from commhub.store.base import Store


def open_store(url: str) -> Store:
    """The store for `url`, not connected yet: the first call connects (call `migrate()`).

    `sqlite:///var/commhub.db` is relative to the working directory and
    `sqlite:////abs/path.db` absolute (parent folders are created). `postgresql://` and
    `postgres://` URLs go to asyncpg; extra query parameters become server settings
    (e.g. `?search_path=tenant1`).
    """
    if url.startswith("sqlite:///"):
        from commhub.store.sqlite import SqliteStore, path_from_url

        return SqliteStore(path_from_url(url))
    if url.startswith(("postgresql://", "postgres://")):
        from commhub.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigError("database.url must start with sqlite:/// or postgresql://")
