"""The studio's web app and `commhub preview serve`.

Routes (all same-origin; the page loads no external asset):

- ``GET /``: the page (static HTML, CSS and JavaScript from `commhub/studio/static`);
- ``GET /api/state``: templates with typed variables and sample data, languages, formats;
- ``POST /api/render``: the grid's cells for a template, languages, formats and typed-in data
  (wrong values come back as problems naming the field);
- ``GET /audio/{key}.mp3``: the MP3 of a rendered audio cell;
- ``GET /api/strings`` · ``POST /api/strings``: the translator view's strings of a template in
  one language, and one review action on one of them (written to the `.po` file).

Safety: by default the app listens on loopback only and checks the `Host` header (a web page
elsewhere cannot reach it through DNS rebinding); every POST must be JSON from the page's own
origin (no cross-site form can rewrite a catalog). Listening beyond loopback must be asked
for, and then every request needs a `qa` or `admin` API token.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from aiohttp import web

from commhub.content.topics import Topic
from commhub.content.variables import to_json
from commhub.domain import Format, Role
from commhub.errors import ConfigError
from commhub.languages import LANGUAGES
from commhub.settings import Settings
from commhub.store.base import Store
from commhub.studio.cells import AudioStore, render_cell, strings_state
from commhub.studio.content import LiveContent, Loaded
from commhub.studio.translator import entries
from commhub.tokens import hash_token
from commhub.translate.review import ReviewError, review

log = logging.getLogger("commhub.studio")

DEFAULT_PORT = 8090
COOKIE = "commhub_studio"
_STATIC = resources.files("commhub.studio") / "static"
_STATIC_FILES = {
    "studio.js": "text/javascript",
    "studio.css": "text/css",
}
# The page's own scripts only; emails render in sandboxed srcdoc frames with their inline
# styles; audio is served by the app itself.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self'; connect-src 'self'; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_MAX_BODY = 256 * 1024
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Studio:
    """What the handlers share."""

    content: LiveContent
    audio: AudioStore
    loopback: bool
    store: Store | None = None  # only when listening beyond loopback: checks tokens


STUDIO = web.AppKey("commhub_studio", Studio)


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or a name) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _problem(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": {"message": message}}
    if field is not None:
        body["error"]["field"] = field
    return web.json_response(body, status=status)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Host and origin checks, the token beyond loopback, and the security headers."""
    studio = request.app[STUDIO]
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    if studio.loopback and not is_loopback(host):
        return _problem(421, f"this studio answers on 127.0.0.1 only, not {host!r}")
    if request.method == "POST":
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return _problem(403, "requests from other sites are refused")
        if request.path != "/login" and request.content_type != "application/json":
            return _problem(415, "send JSON (Content-Type: application/json)")
    if studio.store is not None and request.path != "/login":
        problem = await _token_problem(request, studio.store)
        if problem is not None:
            if request.method == "GET" and request.path == "/":
                raise web.HTTPSeeOther("/login")
            return problem
    response = await handler(request)
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


async def _token_problem(request: web.Request, store: Store) -> web.Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else request.cookies.get(COOKIE, "")
    if not token:
        return _problem(401, "a qa token is required: sign in at /login")
    role = await store.role_for_token(hash_token(token))
    if role is None:
        return _problem(401, "the token is not valid")
    if role not in (Role.QA, Role.ADMIN):
        return _problem(403, f"the {role} role may not use the studio (qa or admin)")
    return None


async def index(request: web.Request) -> web.Response:
    html = (_STATIC / "index.html").read_text(encoding="utf-8")
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in _STATIC_FILES:
        raise web.HTTPNotFound()
    text = (_STATIC / name).read_text(encoding="utf-8")
    return web.Response(text=text, content_type=_STATIC_FILES[name], charset="utf-8")


_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: commhub studio</title>
<link rel="stylesheet" href="/static/studio.css"></head>
<body><main><h1>Sign in to the commhub studio</h1>
<p>This studio listens beyond this machine, so it needs a <code>qa</code> token
(<code>commhub token create --role qa</code>).</p>
<form method="post" action="/login"><div class="field"><label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="off" required></div>
<button type="submit">Sign in</button></form>{message}</main></body></html>"""


async def login_page(request: web.Request) -> web.Response:
    return web.Response(text=_LOGIN_PAGE.format(message=""), content_type="text/html")


async def login(request: web.Request) -> web.Response:
    studio = request.app[STUDIO]
    form = await request.post()
    token = str(form.get("token", "")).strip()
    if studio.store is None:
        raise web.HTTPSeeOther("/")
    role = await studio.store.role_for_token(hash_token(token)) if token else None
    if role not in (Role.QA, Role.ADMIN):
        message = '<p role="alert">That token is not a valid qa or admin token.</p>'
        return web.Response(
            text=_LOGIN_PAGE.format(message=message), content_type="text/html", status=401
        )
    response = web.HTTPSeeOther("/")
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
    raise response


def _language_json(tag: str) -> dict[str, Any]:
    lang = LANGUAGES[tag]
    return {
        "tag": tag,
        "name": lang.english_name,
        "native_name": lang.native_name,
        "dir": "rtl" if lang.rtl else "ltr",
    }


def _template_json(topic: Topic) -> dict[str, Any]:
    values, _ = topic.parse_data(topic.sample)
    return {
        "name": topic.name,
        "description": topic.description,
        "variables": [
            {
                "name": spec.name,
                "type": spec.type,
                "description": spec.description,
                "required": spec.required,
            }
            for spec in topic.variables.values()
        ],
        "sample": {k: to_json(v) for k, v in values.items()},
    }


async def state(request: web.Request) -> web.Response:
    studio = request.app[STUDIO]
    loaded = studio.content.current()
    return web.json_response(
        {
            "version": loaded.version,
            "error": studio.content.error,
            "require": loaded.catalogs.require,
            "policy": studio.content.settings.language.policy,
            "templates": [_template_json(loaded.topics[n]) for n in sorted(loaded.topics)],
            "languages": [_language_json(t) for t in loaded.catalogs.languages()],
            "formats": [f.value for f in Format],
        }
    )


async def _json_body(request: web.Request) -> dict[str, Any]:
    size = request.content_length or 0
    if size > _MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=_MAX_BODY, actual_size=size)
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


def _topic(loaded: Loaded, name: Any) -> Topic:
    topic = loaded.topics.get(name) if isinstance(name, str) else None
    if topic is None:
        raise web.HTTPNotFound(text=f"unknown template {name!r}")
    return topic


def _choice(value: Any, allowed: list[str], what: str) -> list[str]:
    if value in (None, "all"):
        return allowed
    chosen = [value] if isinstance(value, str) else value
    if not isinstance(chosen, list) or not all(v in allowed for v in chosen):
        raise web.HTTPBadRequest(text=f"{what} must be 'all' or among: {', '.join(allowed)}")
    return [str(v) for v in chosen]


async def render(request: web.Request) -> web.Response:
    studio = request.app[STUDIO]
    body = await _json_body(request)
    loaded = studio.content.current()
    topic = _topic(loaded, body.get("template"))
    langs = _choice(body.get("languages"), loaded.catalogs.languages(), "languages")
    fmts = _choice(body.get("formats"), [f.value for f in Format], "formats")
    raw = body.get("data", topic.sample)
    # The page sends what was typed, as text: numbers parse as in a CSV upload.
    values, problems = topic.parse_data(raw, from_csv=True, prefix="")
    if problems:
        return web.json_response(
            {
                "version": loaded.version,
                "problems": [{"field": p.field, "reason": p.reason} for p in problems],
                "cells": [],
            }
        )
    data = {k: to_json(v) for k, v in values.items()}
    cells = []
    for lang in langs:
        # The strings' review state depends on the language, not the format: once a row.
        reviewed = strings_state(loaded.renderer, topic, lang)
        for fmt in fmts:
            cells.append(
                await render_cell(
                    loaded.renderer, topic, lang, Format(fmt), data, studio.audio, reviewed
                )
            )
    return web.json_response({"version": loaded.version, "problems": [], "cells": cells})


async def audio(request: web.Request) -> web.Response:
    mp3 = request.app[STUDIO].audio.get(request.match_info["key"])
    if mp3 is None:
        raise web.HTTPNotFound(text="this audio is no longer kept: render again")
    return web.Response(body=mp3, content_type="audio/mpeg")


def _lang(loaded: Loaded, value: Any) -> str:
    if not isinstance(value, str) or value not in LANGUAGES or value == "en":
        raise web.HTTPBadRequest(text="lang must be a language other than English")
    return value


async def strings_view(request: web.Request) -> web.Response:
    studio = request.app[STUDIO]
    loaded = studio.content.current()
    topic = _topic(loaded, request.query.get("template"))
    lang = _lang(loaded, request.query.get("lang"))
    catalog = loaded.catalogs.catalog(lang)
    rendered: dict[str, Any] = {}
    try:
        result = await loaded.drafts.render_preview(topic.name, lang, Format.LARGE_PRINT_EMAIL)
        rendered = {
            "html": result.html,
            "language": result.lang,
            "machine": result.machine,
            "fallback": result.fallback,
        }
    except Exception as exc:  # a broken entry must not hide the strings to fix it
        rendered = {"error": str(exc)}
    return web.json_response(
        {
            "version": loaded.version,
            "language": _language_json(lang),
            "has_catalog": catalog is not None,
            "plural_forms": catalog.num_plurals if catalog is not None else 1,
            "require": loaded.catalogs.require,
            "entries": entries(loaded.catalogs, topic, lang),
            "rendered": rendered,
        }
    )


async def review_string(request: web.Request) -> web.Response:
    studio = request.app[STUDIO]
    body = await _json_body(request)
    loaded = studio.content.current()
    lang = _lang(loaded, body.get("lang"))
    msgid = body.get("msgid")
    if not isinstance(msgid, str):
        return _problem(422, "msgid must be the English source text", "msgid")
    path = studio.content.root / "i18n" / f"{lang}.po"
    try:
        change = await asyncio.to_thread(
            review,
            path,
            lang,
            msgid,
            str(body.get("action", "")),
            name=str(body.get("name", "")),
            msgstr=body.get("msgstr"),
        )
    except ReviewError as exc:
        return _problem(422, exc.message, exc.field)
    log.info("catalog %s: %s on one entry", lang, body.get("action"))  # no content in logs
    after = studio.content.current()
    topic = after.topics.get(str(body.get("template")))
    shown = entries(after.catalogs, topic, lang) if topic is not None else []
    entry = next((e for e in shown if e["msgid"] == msgid), None)
    return web.json_response(
        {"version": after.version, "path": str(change.path), "entry": entry, "fuzzy": change.fuzzy}
    )


def create_app(
    content: LiveContent, *, loopback: bool = True, store: Store | None = None
) -> web.Application:
    """The studio app (no I/O here: the content is already loaded)."""
    if not loopback and store is None:
        raise ConfigError("a studio beyond loopback needs the token store")
    app = web.Application(middlewares=[guard], client_max_size=_MAX_BODY)
    app[STUDIO] = Studio(content, AudioStore(), loopback, store)
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/api/state", state)
    app.router.add_post("/api/render", render)
    app.router.add_get("/audio/{key:[0-9a-f]{32}}.mp3", audio)
    app.router.add_get("/api/strings", strings_view)
    app.router.add_post("/api/strings", review_string)
    if store is not None:
        app.router.add_get("/login", login_page)
        app.router.add_post("/login", login)
    return app


async def serve(settings: Settings, host: str, port: int, *, allow_remote: bool) -> int:
    """Run the studio until interrupted; refuses a non-loopback address unless allowed."""
    from commhub.speech import SpeechService

    loopback = is_loopback(host)
    if not loopback and not allow_remote:
        raise ConfigError(
            f"refusing to listen on {host}: the studio is for this machine (127.0.0.1); "
            "pass --allow-remote to listen there and require a qa token"
        )
    speech = SpeechService(settings.speech, settings.voices_dir)
    # The neural voices load in the background (~1.5 s each): the page is served at once and
    # the first audio cell does not wait for its voice.
    speech.warm_up()
    content = LiveContent(settings, speech)
    store: Store | None = None
    if not loopback:
        from commhub.store.factory import open_store

        store = open_store(settings.database_url)
        await store.migrate()
    runner = web.AppRunner(create_app(content, loopback=loopback, store=store))
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        shown = f"[{host}]" if ":" in host else host
        bound = runner.addresses[0][1] if runner.addresses else port  # port 0: the one chosen
        print(f"commhub studio on http://{shown}:{bound}/ (Ctrl-C stops it)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
        if store is not None:
            await store.close()
    return 0
