"""One-click unsubscribe (RFC 8058) and the member's unsubscribe page, with no API token.

    POST /u/{token}   body `List-Unsubscribe=One-Click`: opt out of the message's topic, 200.
                      With `scope=all` too (the page's second button): all outreach.
    GET  /u/{token}   a large-print page with a button for each of the two.

The token (commhub.delivery_tokens) names one delivery and carries an HMAC tag bound to that
delivery's campaign. The delivery is looked up by the id in the token (its campaign is needed
to check the tag); a token whose tag does not verify gets a 404 and nothing is shown or
changed. A POST checks its body first (at most 4 KB, else 413; the one-click form, else
400), then the token. The page never shows the member id, name or address. Opting out skips
the member's waiting deliveries at once.
The page speaks the member's language when its strings (`strings.UNSUBSCRIBE_PAGE`) are all
reviewed there; otherwise English with the fallback tagline in the member's language.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from aiohttp import web

from commhub import delivery_tokens
from commhub.api.auth import public
from commhub.api.deps import DEPS
from commhub.audit import Actor, record_audit
from commhub.content import strings
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
    return await delivery_tokens.find_delivery(
        deps.store, deps.tokens, Purpose.UNSUBSCRIBE, request.match_info["token"]
    )


class _Words:
    """The page's strings in one language: the member's when all are reviewed there, else
    English with the fallback tagline in the member's language (the `fallback` policy)."""

    def __init__(self, request: web.Request, member_lang: str | None) -> None:
        from commhub.content.i18n import Catalogs, EnglishTranslator, Translator, fallback_tagline

        deps = request.app[DEPS]
        catalogs = deps.catalogs
        line = deps.settings.plan.phones["member_services"]
        self.values = {
            "plan": html.escape(deps.settings.plan.name),
            # A phone number reads left to right in every script.
            "phone": f'<bdi dir="ltr">{html.escape(_printed(line.number))}</bdi>',
            "tty": html.escape(line.tty),
        }
        self.lang = "en"
        self.translator: Translator = EnglishTranslator()
        self.tagline = ""
        if not isinstance(catalogs, Catalogs) or member_lang in (None, "en"):
            return
        if catalogs.readiness(member_lang, strings.UNSUBSCRIBE_PAGE).ready:
            self.lang, self.translator = member_lang, catalogs.translator(member_lang)
            return
        found = fallback_tagline(catalogs, member_lang, _printed(line.number))
        if found is not None:
            tag, text = found
            self.tagline = f'<p lang="{html.escape(tag)}" dir="{_dir(tag)}">{html.escape(text)}</p>'

    def __call__(self, msgid: str) -> str:
        """The string as HTML, placeholders filled."""
        text = html.escape(self.translator.gettext(msgid), quote=False)
        return text % self.values if "%(" in text else text


def _printed(number: str) -> str:
    from commhub.content.variables import Phone

    try:
        return Phone.parse(number).printed()
    except ValueError:
        return number


def _dir(lang: str) -> str:
    info = LANGUAGES.get(lang)
    return "rtl" if info is not None and info.rtl else "ltr"


def _page(title: str, body: str, *, lang: str = "en", extra: str = "") -> web.Response:
    """A large-print page (the LP rules' sizes and AAA contrast) with its `lang` and `dir`;
    `extra` (a fallback tagline) carries its own."""
    align = "right" if _dir(lang) == "rtl" else "left"
    text = f"""<!DOCTYPE html>
<html lang="{html.escape(lang)}" dir="{_dir(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>
body {{ font-family: Arial, Helvetica, Verdana, sans-serif; font-size: 26.67px;
  line-height: 1.5; color: #000; background: #fff; margin: 0 auto; max-width: 36em;
  padding: 24px; text-align: {align}; }}
h1 {{ font-size: 32px; line-height: 1.3; }}
button {{ font: inherit; font-weight: bold; color: #fff; background: #003366;
  border: 3px solid #003366; border-radius: 6px; padding: 0.5em 0.8em; margin: 0.4em 0;
  min-height: 44px; width: 100%; text-align: inherit; cursor: pointer; }}
button.secondary {{ color: #003366; background: #fff; }}
button:focus {{ outline: 4px solid #000; outline-offset: 3px; }}
form {{ margin: 0 0 1em; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
{extra}
</main>
</body>
</html>
"""
    return web.Response(text=text, content_type="text/html", charset="utf-8")


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
    w = _Words(request, ref.language)
    action = html.escape(request.path)
    body = f"""<p>{w(strings.PAGE_INTRO)}</p>
<form method="post" action="{action}">
<input type="hidden" name="List-Unsubscribe" value="{ONE_CLICK}">
<button type="submit">{w(strings.PAGE_STOP_TOPIC)}</button>
</form>
<form method="post" action="{action}">
<input type="hidden" name="List-Unsubscribe" value="{ONE_CLICK}">
<input type="hidden" name="scope" value="all">
<button type="submit" class="secondary">{w(strings.PAGE_STOP_ALL)}</button>
</form>
<p>{w(strings.PAGE_QUESTIONS)}</p>"""
    return _page(w(strings.PAGE_TITLE), body, lang=w.lang, extra=w.tagline)


@public
async def unsubscribe(request: web.Request) -> web.Response:
    """POST /u/{token}: RFC 8058 one-click unsubscribe (and the page's buttons)."""
    if request.content_length is not None and request.content_length > _MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=_MAX_BODY, actual_size=request.content_length)
    try:
        form = await request.post()
    except ValueError:  # e.g. multipart/form-data without a boundary: not a form at all
        return web.Response(status=400, text="the body must be List-Unsubscribe=One-Click\n")
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
    w = _Words(request, ref.language)
    done = w(strings.PAGE_DONE_ALL if everything else strings.PAGE_DONE_TOPIC)
    body = f"""<p role="status">{done}</p>
<p>{w(strings.PAGE_DONE_AGAIN)}</p>"""
    return _page(w(strings.PAGE_DONE_TITLE), body, lang=w.lang, extra=w.tagline)
