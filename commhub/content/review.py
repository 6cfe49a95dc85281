"""Review levels of a translation and how a catalog records them (ACCESSIBILITY.md LA-1).

Levels, lowest first:

- ``missing``: no usable entry;
- ``fuzzy``: a machine draft, or an entry sent back by a reviewer;
- ``reviewed``: translated and not fuzzy — checked by the team (the default for an entry
  without a certification record, which is what the shipped catalogs honestly are);
- ``certified``: approved by a qualified translator, whose name and date the catalog keeps as
  a translator comment ``# certified: <name>, <YYYY-MM-DD>`` (Section 1557 asks a plan to be
  able to show who reviewed a translation of a critical document).

A translator comment (``#`` followed by a space) is the PO convention for what people write
about an entry; Poedit and Weblate show and keep it, so the record survives any PO editor.
`language.require` names the lowest level that may be sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

Level = Literal["certified", "reviewed", "fuzzy", "missing"]
LEVELS: tuple[Level, ...] = ("missing", "fuzzy", "reviewed", "certified")
REQUIRE_LEVELS = ("reviewed", "certified")
CERTIFIED = "certified:"
REVIEWED = "reviewed:"
SENT_BACK = "sent back:"
# A name is what a person types: letters, spaces and the usual punctuation, no line breaks
# (a comment is one line) and nothing that could look like another record.
_NAME = re.compile(r"^[^\W\d_][\w .'’()-]{0,78}[\w.)]$|^[^\W\d_]$")
_RECORD = re.compile(r"^(?P<name>.+), (?P<date>\d{4}-\d{2}-\d{2})$")


_RANK: dict[str, int] = {level: i for i, level in enumerate(LEVELS)}


def meets(level: Level, require: str) -> bool:
    """Whether an entry at `level` may be sent when `require` is the configured minimum."""
    return _RANK[level] >= _RANK[require]


def check_name(name: str) -> str | None:
    """Why `name` cannot be recorded as a reviewer's or translator's name, or None."""
    if not name.strip():
        return "a name is required: it is recorded in the catalog"
    if not _NAME.match(name.strip()):
        return "use letters, spaces and . ' ( ) - only (at most 80 characters)"
    return None


@dataclass(frozen=True)
class Record:
    """Who approved an entry at a level, and when (one translator comment)."""

    prefix: str  # CERTIFIED or REVIEWED
    name: str
    on: date

    def comment(self) -> str:
        return f"{self.prefix} {self.name}, {self.on.isoformat()}"

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "date": self.on.isoformat()}

    @classmethod
    def parse(cls, comment: str, prefix: str) -> Record | None:
        """The record in a translator comment, or None when it is not one."""
        if not comment.startswith(prefix):
            return None
        m = _RECORD.match(comment[len(prefix) :].strip())
        if m is None:
            return None
        try:
            on = date.fromisoformat(m["date"])
        except ValueError:
            return None
        return cls(prefix, m["name"].strip(), on)


def latest_record(user_comments: list[str], prefix: str) -> Record | None:
    """The latest record of one kind (`CERTIFIED` or `REVIEWED`) among an entry's translator
    comments, or None."""
    found = [r for c in user_comments if (r := Record.parse(c, prefix)) is not None]
    return found[-1] if found else None


def without_records(user_comments: list[str]) -> list[str]:
    """The translator comments minus review, certification and send-back records."""
    return [c for c in user_comments if not c.startswith((CERTIFIED, REVIEWED, SENT_BACK))]
