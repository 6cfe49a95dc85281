"""Review one catalog entry on disk: edit, approve, certify or send back (fuzzy).

What a PO editor (Poedit, Weblate) does when a translator saves: the file is read with Babel,
the one entry changes, the header's `PO-Revision-Date` and `Last-Translator` are updated and
the catalog is written back with Babel's `write_po` (same width and layout as `translate
extract`), atomically. Placeholders are verified before anything is written: a translation
that loses, renames or adds a `%(name)s` is refused with the reason, and the file is not
touched.

Records (translator comments, see `commhub.content.review`):

- approve: clears `fuzzy` and records ``# reviewed: <name>, <date>``;
- certify: clears `fuzzy` and records ``# certified: <name>, <date>`` (a qualified translator);
- send back: sets `fuzzy`, drops approval records and records ``# sent back: <name>, <date>``;
- a changed translation drops earlier approvals: they were given to other words.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from babel.messages.catalog import Message

from commhub import languages
from commhub.content.i18n import ENGLISH, check_translation
from commhub.content.review import (
    CERTIFIED,
    REVIEWED,
    SENT_BACK,
    Record,
    check_name,
    without_records,
)
from commhub.errors import CommhubError
from commhub.translate.extract import read_catalog, write_catalog

Action = Literal["save", "approve", "certify", "send_back"]
ACTIONS: tuple[Action, ...] = ("save", "approve", "certify", "send_back")
# One writer at a time per process: two quick clicks must not interleave read and write.
_WRITE_LOCK = threading.Lock()


class ReviewError(CommhubError):
    """A review action that cannot be applied; `field` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ReviewChange:
    """What was written: the entry's new translation, flags and records."""

    path: Path
    msgid: str
    msgstr: str | tuple[str, ...]
    fuzzy: bool
    user_comments: tuple[str, ...]


def _find(messages: Sequence[Message], msgid: str) -> Message | None:
    for m in messages:
        key = m.id[0] if isinstance(m.id, (list, tuple)) else m.id
        if m.id and key == msgid:
            return m
    return None


def review(
    path: Path,
    lang: str,
    msgid: str,
    action: str,
    *,
    name: str,
    msgstr: str | Sequence[str] | None = None,
    today: date | None = None,
) -> ReviewChange:
    """Apply one review action to the entry `msgid` of the catalog `path` and write it.

    `msgstr` (None: keep the current text) is the new translation: a string, or the list of
    plural forms. Raises ReviewError naming the field to fix; the file is then untouched.
    """
    if lang == ENGLISH or lang not in languages.LANGUAGES:
        raise ReviewError("language", f"no catalog can be reviewed for language {lang!r}")
    if action not in ACTIONS:
        raise ReviewError("action", f"action must be one of {', '.join(ACTIONS)}")
    problem = check_name(name)
    if problem:
        raise ReviewError("name", problem)
    name = name.strip()
    if not path.is_file():
        raise ReviewError("language", f"{path.name} does not exist")
    on = today or datetime.now(UTC).date()
    with _WRITE_LOCK:
        catalog = read_catalog(path, lang)
        message = _find(list(catalog), msgid)
        if message is None:
            raise ReviewError("msgid", "this string is not in the catalog (run translate extract)")
        plural = isinstance(message.id, (list, tuple))
        old = _value(message)
        new = old if msgstr is None else _parsed(msgstr, plural, catalog.num_plurals)
        if not _filled(new):
            if action in ("approve", "certify"):
                raise ReviewError("msgstr", "an empty translation cannot be approved")
        else:
            why = check_translation(
                msgid, str(message.id[1]) if plural else None, new if plural else new[0]
            )
            if why:
                raise ReviewError("msgstr", f"placeholders: {why}")
        comments = list(message.user_comments)
        if new != old:
            comments = without_records(comments)  # approvals were of other words
            message.string = tuple(new) if plural else new[0]
        if action in ("approve", "certify"):
            prefix = CERTIFIED if action == "certify" else REVIEWED
            comments = [c for c in comments if not c.startswith((prefix, SENT_BACK))]
            comments.append(Record(prefix, name, on).comment())
            message.flags.discard("fuzzy")
        elif action == "send_back":
            comments = [*without_records(comments), f"{SENT_BACK} {name}, {on.isoformat()}"]
            message.flags.add("fuzzy")
        elif new != old:  # an edit saved as it is stays unreviewed until someone approves it
            message.flags.add("fuzzy")
        message.user_comments = comments
        catalog.revision_date = datetime.now(UTC)
        catalog.last_translator = name
        write_catalog(path, catalog)
    return ReviewChange(
        path=path,
        msgid=msgid,
        msgstr=tuple(new) if plural else new[0],
        fuzzy=message.fuzzy,
        user_comments=tuple(comments),
    )


def _value(message: Message) -> list[str]:
    if isinstance(message.string, (list, tuple)):
        return [str(s) for s in message.string]
    return [str(message.string or "")]


def _parsed(msgstr: str | Sequence[str], plural: bool, num_plurals: int) -> list[str]:
    if plural:
        if isinstance(msgstr, str) or len(msgstr) != num_plurals:
            raise ReviewError("msgstr", f"this string needs {num_plurals} plural forms")
        forms = list(msgstr)
    else:
        if not isinstance(msgstr, str):
            raise ReviewError("msgstr", "this string has one form: give text, not a list")
        forms = [msgstr]
    for form in forms:
        if not isinstance(form, str):
            raise ReviewError("msgstr", "every form must be text")
        if "\x00" in form or "\r" in form:
            raise ReviewError("msgstr", "a translation must not contain control characters")
    return forms


def _filled(forms: list[str]) -> bool:
    return all(forms)
