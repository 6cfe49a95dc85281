"""One cell of the grid: a template rendered in one language and format, with its checks.

A cell says what a member with that language and format would get (the renderer decides the
language by the configured policy, exactly as when sending), which rule checks ran on it,
which passed and which failed and why, and the review state of the strings it uses.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from commhub.checks import Violation
from commhub.content.review import LEVELS, meets
from commhub.content.topics import Topic
from commhub.domain import Format
from commhub.errors import PolicyHold, RenderError
from commhub.languages import LANGUAGES
from commhub.preview import run_checks
from commhub.render.pipeline import Renderer, RenderResult
from commhub.studio.tty import tty_timing


def _ids(prefix: str, numbers: range | tuple[int, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}-{n}" for n in numbers)


# The rules the static checkers decide for each format (commhub.checks); a rule not listed
# here is not claimed as passed. EM-9 (no sideways scroll at 320 px) is measured by the page
# itself in the 320 px frame; LA-1 is decided from the renderer's language plan; content
# parity (CP) is checked in every format against the data typed in.
_EMAIL_RULES = (*_ids("LP", range(1, 19)), *_ids("EM", (1, 2, 3, 4, 5, 6, 7, 8, 10, 11)))
_EMAIL_RULES += _ids("EM", range(12, 16))
_PARITY = _ids("CP", range(1, 5))
CHECKED_RULES: dict[Format, tuple[str, ...]] = {
    Format.LARGE_PRINT_EMAIL: (*_EMAIL_RULES, *_PARITY, "LA-1"),
    Format.AUDIO: (*_EMAIL_RULES, *_ids("TS", (2, 3, 4, 6, 8)), *_PARITY, "LA-1"),
    Format.RELAY_TEXT: (*_ids("TT", range(1, 10)), *_PARITY, "LA-1"),
}


class AudioStore:
    """The MP3s of recent audio cells, by content hash, for the page's players."""

    def __init__(self, limit: int = 64) -> None:
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._limit = limit

    def put(self, mp3: bytes) -> str:
        key = hashlib.sha256(mp3).hexdigest()[:32]
        self._items[key] = mp3
        self._items.move_to_end(key)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)
        return key

    def get(self, key: str) -> bytes | None:
        return self._items.get(key)


def strings_state(renderer: Renderer, topic: Topic, lang: str) -> dict[str, Any]:
    """How far the strings a message of `topic` uses are reviewed in `lang`."""
    catalogs = renderer.catalogs
    msgids = list(dict.fromkeys(renderer.message_msgids(topic)))
    counts: dict[str, int] = dict.fromkeys(LEVELS, 0)
    below: list[dict[str, str]] = []  # what keeps the language from being ready
    for msgid in msgids:
        level = catalogs.level(lang, msgid)
        counts[level] += 1
        if not meets(level, catalogs.require):
            below.append({"msgid": msgid, "level": level})
    readiness = catalogs.readiness(lang, msgids)
    return {
        "require": catalogs.require,
        "ready": readiness.ready,
        "total": len(msgids),
        **counts,
        "below": below,
        "certified_by": [
            {**record.as_json(), "strings": n}
            for record, n in catalogs.certifications(lang, msgids)
        ],
    }


def _language_check(result: RenderResult, require: str) -> Violation | None:
    """LA-1: machine drafts are never sent as if reviewed."""
    if result.machine:
        return Violation(
            "LA-1",
            f"unreviewed machine drafts are used (policy machine_with_notice); "
            f"the LA-2 notice is shown. Review them to the {require} level.",
        )
    return None


def checks_json(
    renderer: Renderer,
    topic: Topic,
    fmt: Format,
    result: RenderResult,
    data: Mapping[str, Any],
) -> dict[str, Any]:
    """The rules checked on this render (with `data`, the facts it must carry): failed, with
    why, and passed."""
    failed = list(run_checks(renderer, topic.name, result, data))
    la = _language_check(result, renderer.catalogs.require)
    if la is not None:
        failed.append(la)
    checked = list(CHECKED_RULES[fmt])
    if result.message.format is not fmt:  # audio sent as large print (no voice policy)
        checked = list(CHECKED_RULES[result.message.format])
    failed_ids = {v.rule for v in failed}
    for v in failed:  # a checker may report a rule the table does not list (new rules)
        if v.rule not in checked:
            checked.append(v.rule)
    return {
        "checked": checked,
        "passed": [r for r in checked if r not in failed_ids],
        "failed": [{"rule": v.rule, "message": v.message} for v in failed],
    }


async def render_cell(
    renderer: Renderer,
    topic: Topic,
    lang: str,
    fmt: Format,
    data: Mapping[str, Any],
    audio: AudioStore,
    strings: dict[str, Any],
) -> dict[str, Any]:
    """Render one cell; a held or unrenderable message is a cell that says why. `strings` is
    `strings_state` of the topic in `lang` (the same for every format of the language)."""
    language = LANGUAGES[lang]
    cell: dict[str, Any] = {
        "language": lang,
        "language_name": language.english_name,
        "native_name": language.native_name,
        "format": fmt.value,
        "strings": strings,
    }
    try:
        result = await renderer.render_preview(topic.name, lang, fmt, data)
    except PolicyHold as exc:
        return {**cell, "status": "held", "reason": exc.reason}
    except RenderError as exc:
        return {**cell, "status": "error", "reason": str(exc)}
    rendered = LANGUAGES[result.lang]
    cell.update(
        status="ok",
        rendered_language=result.lang,
        dir="rtl" if rendered.rtl else "ltr",
        fallback=result.fallback,
        machine=result.machine,
        notes=list(result.notes),
        subject=result.message.subject,
        sent_as=result.message.format.value,
        checks=checks_json(renderer, topic, fmt, result, data),
    )
    if result.message.format is Format.RELAY_TEXT:
        timing = tty_timing(result.text)
        cell["relay"] = {
            "text": result.text,
            "chars": timing.chars,
            "core_chars": result.core_chars,
            "shifts": timing.shifts,
            "tty_seconds": round(timing.seconds, 1),
            "tty_minutes": round(timing.minutes, 2),
            "baudot_safe": timing.baudot_safe and result.message.tty_encodable,
            "tty_encodable": result.message.tty_encodable,
        }
        if result.tty_text is not None:  # the romanised TTY-safe alternative (TT-9)
            roman = tty_timing(result.tty_text)
            cell["relay"]["tty_alternative"] = {
                "text": result.tty_text,
                "chars": roman.chars,
                "shifts": roman.shifts,
                "tty_seconds": round(roman.seconds, 1),
                "tty_minutes": round(roman.minutes, 2),
                "baudot_safe": roman.baudot_safe,
            }
    else:
        cell["html"] = result.html
        cell["text"] = result.text
    if result.audio is not None:
        cell["audio"] = {
            "key": audio.put(result.audio.mp3),
            "bytes": len(result.audio.mp3),
            "duration_s": round(result.audio.duration_s, 1),
            "voice": f"{result.audio.engine}:{result.audio.voice}",
            "transcript": result.spoken,
        }
    return cell
