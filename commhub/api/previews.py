"""POST /v1/previews: render one template in one language and format, with the template's
sample data or data given in the request (never a member's data: the member is synthetic).

Returns the subject, the plain text, the HTML (large print and audio transcript) and, for
audio, the MP3 as base64, plus what the renderer decided (fallback language, machine
translation notice, notes).
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from commhub.api.auth import allow
from commhub.api.bodies import read_json
from commhub.api.campaigns import parse_template
from commhub.api.deps import DEPS
from commhub.api.errors import ApiError, invalid
from commhub.content.variables import to_json
from commhub.domain import Format, Role
from commhub.errors import PolicyHold, Problem, RenderError
from commhub.languages import LANGUAGES
from commhub.preview import run_checks
from commhub.render import Renderer

_FIELDS = frozenset({"template", "language", "format", "data"})


@allow(Role.QA, Role.OUTREACH)
async def create_preview(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    body = await read_json(request)
    if not isinstance(body, dict):
        raise invalid("the preview request is invalid", [Problem("body", "must be a JSON object")])
    problems: list[Problem] = [Problem(str(k), "unknown field") for k in body if k not in _FIELDS]
    topic = parse_template(body.get("template"), deps.topics, problems)
    lang = body.get("language", "en")
    if not isinstance(lang, str) or lang not in LANGUAGES:
        problems.append(Problem("language", f"must be one of: {', '.join(sorted(LANGUAGES))}"))
    fmt_raw = body.get("format", Format.LARGE_PRINT_EMAIL.value)
    fmt: Format | None = None
    try:
        fmt = Format(fmt_raw) if isinstance(fmt_raw, str) else None
    except ValueError:
        fmt = None
    if fmt is None:
        problems.append(Problem("format", f"must be one of: {', '.join(f.value for f in Format)}"))
    data: dict[str, Any] | None = None
    if topic is not None and body.get("data") is not None:
        values, data_problems = topic.parse_data(body["data"])
        problems.extend(data_problems)
        data = {k: to_json(v) for k, v in values.items()}
    if problems or topic is None or fmt is None:
        raise invalid("the preview request is invalid", problems)
    if deps.renderer is None:
        raise ApiError(503, "unavailable", "previews are not available on this server")
    try:
        result = await deps.renderer.render_preview(topic.name, lang, fmt, data)
    except PolicyHold as exc:
        raise ApiError(
            422,
            "not_renderable",
            f"this message would be held: {exc.reason}",
            [{"field": "language", "reason": exc.reason}],
        ) from None
    except RenderError as exc:
        raise ApiError(422, "not_renderable", f"the template cannot be rendered: {exc}") from None
    doc = preview_json(result, topic.name, lang, fmt)
    if isinstance(deps.renderer, Renderer):  # the rule checks, content parity included
        checks = run_checks(deps.renderer, topic.name, result, data)
        doc["checks"] = [{"rule": v.rule, "message": v.message} for v in checks]
    return web.json_response(doc)


def preview_json(result: Any, template: str, lang: str, fmt: Format) -> dict[str, Any]:
    """The renderer's result as JSON (read by attribute: see PreviewRendererLike)."""
    message = getattr(result, "message", None)
    audio = getattr(result, "audio", None)
    mp3 = getattr(audio, "mp3", None) if audio is not None else None
    return {
        "template": template,
        "language": lang,
        "format": fmt.value,
        "rendered_language": getattr(result, "lang", lang),
        "language_fallback": bool(getattr(result, "fallback", False)),
        "machine_translation": bool(getattr(result, "machine", False)),
        "notes": list(getattr(result, "notes", ())),
        "subject": getattr(message, "subject", None),
        "text": getattr(result, "text", None),
        "html": getattr(result, "html", None),
        "spoken_text": getattr(result, "spoken", None),
        "voice": f"{getattr(audio, 'engine', '?')}:{getattr(audio, 'voice', '?')}" if mp3 else None,
        "audio_mp3_base64": base64.b64encode(mp3).decode("ascii") if mp3 else None,
        "tty_text": getattr(result, "tty_text", None),
        "checks": None,  # filled in when the server renders with commhub's Renderer
    }
