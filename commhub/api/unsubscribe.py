"""One-click unsubscribe (RFC 8058) and the member's unsubscribe page, with no API token.

    POST /u/{token}   body `List-Unsubscribe=One-Click`: opt out of the message's topic, 200.
                      With `scope=all` too (the page's second button): all outreach.
    GET  /u/{token}   a large-print page with a button for each of the two.

The token (commhub.delivery_tokens) names one delivery; its HMAC tag, bound to the
delivery's campaign, is checked before anything is read or changed, and the page never shows
the member id, name or address. Opting out skips the member's waiting deliveries at once.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from aiohttp import web

from commhub import delivery_tokens
from commhub.api.auth import public
from commhub.api.deps import DEPS
from commhub.audit import Actor, record_audit
from commhub.delivery_tokens import Purpose
from commhub.languages import LANGUAGES
from commhub.store.base import DeliveryRef

ONE_CLICK = "One-Click"
# The audit log's actor for a member's own click (no API token: the signed link is theirs).
UNSUBSCRIBE_LINK = Actor("member", "unsubscribe link")
_MAX_BODY = 4096


async def _delivery(request: web.Request) -> DeliveryRef | None:
    """The delivery the URL's token names, when the token is genuine; else None."""
    deps = request.app[DEPS]
    tokens = deps.tokens
    token = request.match_info["token"]
    delivery_id = delivery_tokens.delivery_id(token)
    if tokens is None or delivery_id is None:
        return None
    ref = await deps.store.delivery_ref(delivery_id)
    if ref is None or not tokens.verify(Purpose.UNSUBSCRIBE, token, ref.campaign_id):
        return None
    return ref


def _topic_words(topic: str) -> str:
    return topic.replace("_", " ")


def _page(title: str, body: str, *, extra: str = "") -> web.Response:
    """A large-print page (the LP rules' sizes and AAA contrast), lang and dir set: its text
    is English (its strings are not in the catalogs yet); `extra`, the member's-language
    tagline, carries its own lang and dir."""
    text = f"""<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: Verdana, Arial, sans-serif; font-size: 1.5rem; line-height: 1.6;
  color: #000; background: #fff; margin: 0 auto; max-width: 40em; padding: 1em; }}
h1 {{ font-size: 2rem; line-height: 1.3; }}
button {{ font: inherit; font-weight: bold; color: #fff; background: #003366;
  border: 3px solid #003366; border-radius: 6px; padding: 0.6em 1em; margin: 0.5em 0;
  min-height: 44px; width: 100%; text-align: left; cursor: pointer; }}
button.secondary {{ color: #003366; background: #fff; }}
button:focus {{ outline: 4px solid #000; outline-offset: 3px; }}
form {{ margin: 0 0 1em; }}
</style>
</head>
<body>
<main>
<h1>{html.escape(title)}</h1>
{body}
{extra}
</main>
</body>
</html>
"""
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def _tagline(request: web.Request, lang: str | None) -> str:
    """The member's-language line offering free help (the fallback policy's tagline)."""
    from commhub.content.i18n import Catalogs, fallback_tagline

    deps = request.app[DEPS]
    if lang is None or not isinstance(deps.catalogs, Catalogs):
        return ""
    line = deps.settings.plan.phones["member_services"]
    found = fallback_tagline(deps.catalogs, lang, line.number)
    if found is None:
        return ""
    tag, text = found
    info = LANGUAGES.get(tag)
    direction = "rtl" if info is not None and info.rtl else "ltr"
    return f'<p lang="{html.escape(tag)}" dir="{direction}">{html.escape(text)}</p>'


def _gone() -> web.Response:
    response = _page(
        "This link does not work",
        "<p>This unsubscribe link is not valid. To stop messages, call Member Services.</p>",
    )
    response.set_status(404)
    return response


@public
async def unsubscribe_page(request: web.Request) -> web.Response:
    """GET /u/{token}: the page with the two buttons."""
    ref = await _delivery(request)
    if ref is None:
        return _gone()
    deps = request.app[DEPS]
    topic = html.escape(_topic_words(ref.topic))
    plan = html.escape(deps.settings.plan.name)
    phone = html.escape(deps.settings.plan.phones["member_services"].number)
    action = html.escape(request.path)
    body = f"""<p>You get messages from {plan} about {topic}. You can stop them here.
Your health coverage does not change.</p>
<form method="post" action="{action}">
<input type="hidden" name="List-Unsubscribe" value="{ONE_CLICK}">
<button type="submit">Stop messages about {topic}</button>
</form>
<form method="post" action="{action}">
<input type="hidden" name="List-Unsubscribe" value="{ONE_CLICK}">
<input type="hidden" name="scope" value="all">
<button type="submit" class="secondary">Stop all outreach messages from {plan}</button>
</form>
<p>Questions? Call Member Services at {phone} (TTY 711).</p>"""
    return _page("Stop these messages", body, extra=_tagline(request, ref.language))


@public
async def unsubscribe(request: web.Request) -> web.Response:
    """POST /u/{token}: RFC 8058 one-click unsubscribe (and the page's buttons)."""
    if request.content_length is not None and request.content_length > _MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=_MAX_BODY, actual_size=request.content_length)
    form = await request.post()
    if form.get("List-Unsubscribe") != ONE_CLICK:
        return web.Response(status=400, text="the body must be List-Unsubscribe=One-Click\n")
    ref = await _delivery(request)
    if ref is None:
        return web.Response(status=404, text="this unsubscribe link is not valid\n")
    everything = form.get("scope") == "all"
    deps = request.app[DEPS]
    await deps.store.opt_out(ref.member_id, None if everything else ref.topic, datetime.now(UTC))
    await record_audit(
        deps.store,
        UNSUBSCRIBE_LINK,
        "unsubscribe.all" if everything else "unsubscribe",
        ref.member_id,
    )
    if "text/html" not in request.headers.get("Accept", ""):
        return web.Response(text="unsubscribed\n")  # a mail program's one-click POST
    plan = html.escape(deps.settings.plan.name)
    what = (
        f"all outreach messages from {plan}"
        if everything
        else f"messages about {html.escape(_topic_words(ref.topic))}"
    )
    phone = html.escape(deps.settings.plan.phones["member_services"].number)
    body = f"""<p role="status">Done. You will not get {what} any more.</p>
<p>To start them again, call Member Services at {phone} (TTY 711).</p>"""
    return _page("You are unsubscribed", body, extra=_tagline(request, ref.language))
