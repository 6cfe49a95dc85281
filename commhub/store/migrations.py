"""Numbered schema migrations kept as `.sql` files beside the stores.

`commhub/store/sql/<dialect>/NNN_name.sql` are applied in order of NNN; each store records
the numbers it applied in its `schema_version` table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema step: its version number, file name and SQL text."""

    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """The migrations of `dialect` ("sqlite" or "postgres"), oldest first."""
    folder = resources.files("commhub.store").joinpath("sql").joinpath(dialect)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    return found
