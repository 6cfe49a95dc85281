"""GET /v1/templates: every topic with its variables, sample data, formats and, per
language, how ready its translation is and which voice would speak it."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from commhub.api.auth import allow
from commhub.api.deps import DEPS, ApiDeps
from commhub.content.topics import Topic
from commhub.content.variables import to_json
from commhub.domain import Format, Role
from commhub.languages import DEFAULT_LANGUAGE, LANGUAGES


def language_tags(deps: ApiDeps) -> list[str]:
    """Every supported language, English first, then those with a catalog, then the rest."""
    tags = [DEFAULT_LANGUAGE]
    if deps.catalogs is not None:
        tags += [t for t in deps.catalogs.languages() if t in LANGUAGES]
    tags += sorted(LANGUAGES)
    return list(dict.fromkeys(tags))


def message_msgids(deps: ApiDeps, topic: Topic) -> list[str]:
    """Every string a message of `topic` uses: its own and the shared ones (greeting, phone
    lines, footer). Readiness must be counted on the same strings the renderer checks, or a
    template could show "ready" while its messages fall back to English."""
    if deps.renderer is None:
        return topic.msgids()
    return list(deps.renderer.message_msgids(topic))


def language_state(deps: ApiDeps, topic: Topic, lang: str) -> dict[str, Any]:
    msgids = message_msgids(deps, topic)
    voice = deps.voices.describe(lang) if deps.voices is not None else None
    certified_by: list[dict[str, Any]] = []
    if deps.catalogs is not None:
        r = deps.catalogs.readiness(lang, msgids)
        ready, reviewed, fuzzy, missing = r.ready, r.reviewed, r.fuzzy, r.missing
        certified = r.certified
        certified_by = [
            {**record.as_json(), "strings": n}
            for record, n in deps.catalogs.certifications(lang, msgids)
        ]
    else:  # no catalogs loaded: only the English source is ready
        n = len(set(msgids))
        english = lang == DEFAULT_LANGUAGE
        ready, reviewed, fuzzy, missing = english, n if english else 0, 0, 0 if english else n
        certified = 0
    return {
        "ready": ready,
        "reviewed": reviewed,
        # Of `reviewed`: approved by a qualified translator, named with the date (LA-1).
        "certified": certified,
        "certified_by": certified_by,
        "fuzzy": fuzzy,
        "missing": missing,
        "voice": voice,
        # Per format: can a member with this language and format get the message as is?
        # Audio also needs a voice for the language (never another language's voice, TS-7).
        "formats": {
            Format.LARGE_PRINT_EMAIL.value: ready,
            Format.AUDIO.value: ready and voice is not None,
            Format.RELAY_TEXT.value: ready,
        },
    }


def template_json(deps: ApiDeps, topic: Topic, tags: list[str]) -> dict[str, Any]:
    values, _ = topic.parse_data(topic.sample)
    return {
        "name": topic.name,
        "description": topic.description,
        "phone_line": topic.phone_line,
        "variables": topic.variable_types(),
        "sample": {k: to_json(v) for k, v in values.items()},
        "formats": [f.value for f in Format],
        "languages": {lang: language_state(deps, topic, lang) for lang in tags},
    }


@allow(Role.OUTREACH, Role.QA)
async def list_templates(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    tags = language_tags(deps)
    return web.json_response(
        {"templates": [template_json(deps, deps.topics[n], tags) for n in sorted(deps.topics)]}
    )
