"""The translator view's data: every string a template's message uses, in one language.

For each string: the English source and its placeholders, the translation (plural forms as a
list), its review level with who reviewed or certified it and when, the notes for translators
the template extraction wrote, and why an entry cannot be used when it cannot.
"""

from __future__ import annotations

from typing import Any

from babel.messages.catalog import Catalog, Message

from commhub.content import strings
from commhub.content.i18n import Catalogs, check_translation, placeholders
from commhub.content.review import CERTIFIED, REVIEWED, latest_record
from commhub.content.topics import Topic
from commhub.render.pipeline import Renderer


def template_msgids(topic: Topic) -> list[str]:
    """Every string a message of `topic` uses, the language-access lines included."""
    return list(dict.fromkeys([*Renderer.message_msgids(topic), *strings.LANGUAGE_ACCESS]))


def _entry_json(
    msgid: str, message: Message | None, catalogs: Catalogs, lang: str
) -> dict[str, Any]:
    plural = message is not None and isinstance(message.id, (list, tuple))
    msgid_plural = str(message.id[1]) if message is not None and plural else None
    if message is None:
        value: str | list[str] = ""
    elif plural:
        raw = message.string if isinstance(message.string, (list, tuple)) else ()
        value = [str(s) for s in raw]
    else:
        value = str(message.string or "")
    filled = all(value) if isinstance(value, list) else bool(value)
    problem = check_translation(msgid, msgid_plural, value) if filled else None
    comments = list(message.user_comments) if message is not None else []
    certified = latest_record(comments, CERTIFIED)
    reviewed = latest_record(comments, REVIEWED)
    return {
        "msgid": msgid,
        "msgid_plural": msgid_plural,
        "msgstr": value,
        "placeholders": sorted(set(placeholders(msgid)) | set(placeholders(msgid_plural or ""))),
        "level": catalogs.level(lang, msgid),
        "fuzzy": bool(message is not None and message.fuzzy),
        "in_catalog": message is not None,
        "certified_by": certified.as_json() if certified else None,
        "reviewed_by": reviewed.as_json() if reviewed else None,
        "translator_comments": comments,
        "notes": [str(c) for c in message.auto_comments] if message is not None else [],
        "problem": problem,
    }


def entries(catalogs: Catalogs, topic: Topic, lang: str) -> list[dict[str, Any]]:
    """The strings of `topic` in `lang`, in the order a message uses them."""
    catalog: Catalog | None = catalogs.catalog(lang)
    return [
        _entry_json(msgid, catalog.get(msgid) if catalog is not None else None, catalogs, lang)
        for msgid in template_msgids(topic)
    ]
