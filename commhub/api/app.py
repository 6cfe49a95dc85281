"""The application factory: routes, middlewares and the dependencies, with no I/O.

    app = create_app(ApiDeps(settings=..., store=..., topics=..., catalogs=..., voices=...,
                             renderer=..., metrics=...))

The caller owns the resources in `ApiDeps` (it opens the store before and closes it after
the app runs). Middlewares, outermost first: request metrics, the audit log, JSON errors, authentication.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from aiohttp import hdrs, web

from commhub.api import campaigns, members, previews, templates, unsubscribe
from commhub.api.audit import audit_middleware, list_audit
from commhub.api.auth import allow, auth_middleware, public
from commhub.api.bodies import mb
from commhub.api.cache import CACHES, ApiCaches
from commhub.api.deps import DEPS, PARSER_POOL, ApiDeps
from commhub.api.errors import Handler, error_middleware
from commhub.api.openapi import openapi_json
from commhub.domain import Role
from commhub.transports.outbox import OUTBOX, writable

__all__ = ["DEPS", "ApiDeps", "create_app"]

SERVER = "commhub"  # the Server header: no framework or version


@public
async def healthz(request: web.Request) -> web.Response:
    """Liveness: 503 when the store does not answer or the outbox cannot be written."""
    deps = request.app[DEPS]
    try:
        store_ok = await deps.store.ping()
    except Exception:  # a store that cannot even be asked is just as unreachable
        store_ok = False
    body = {"status": "ok", "store": "ok" if store_ok else "unreachable"}
    ok = store_ok
    if OUTBOX in dataclasses.astuple(deps.settings.delivery):
        folder = deps.settings.path(deps.settings.transports.outbox.path)
        outbox_ok = await asyncio.to_thread(writable, folder)
        body["outbox"] = "ok" if outbox_ok else "not writable"
        ok = ok and outbox_ok
    body["status"] = "ok" if ok else "unavailable"
    return web.json_response(body, status=200 if ok else 503)


async def server_header(request: web.Request, response: web.StreamResponse) -> None:
    """`Server: commhub`, not aiohttp's default naming the framework and Python versions
    (which tells an attacker which published bugs to try). Every answer the application
    makes passes here, errors included (404, 405, 413, 500); a request too malformed to
    reach it is answered by `protocol.QuietRequestHandler`, which names the server itself."""
    response.headers[hdrs.SERVER] = SERVER


@allow(Role.OUTREACH, Role.QA)
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text: the process's counters plus the store's numbers at scrape time."""
    deps = request.app[DEPS]
    totals = await deps.store.state_totals()
    depth = await deps.store.queue_depth(datetime.now(UTC))
    return web.Response(
        body=deps.metrics.render(totals, depth).encode("utf-8"),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


async def parser_pool(app: web.Application) -> AsyncIterator[None]:
    """The threads that parse and check big request bodies, open while the app runs."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="commhub-api-parse") as pool:
        app[PARSER_POOL] = pool
        yield


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count requests by method, route template (never the concrete path) and status."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        request.app[DEPS].metrics.count_request(request.method, route, status)


def create_app(deps: ApiDeps) -> web.Application:
    """The aiohttp application of the v1 API; no I/O happens here."""
    app = web.Application(
        middlewares=[metrics_middleware, audit_middleware, error_middleware, auth_middleware],
        client_max_size=mb(deps.settings.server.max_json_body_mb),
    )
    app[DEPS] = deps
    app[CACHES] = ApiCaches()
    app.on_response_prepare.append(server_header)
    app.cleanup_ctx.append(parser_pool)
    r = app.router
    # /v1/members/import is a route, never a member: other methods on it are a 405.
    r.add_post("/v1/members/import", members.import_members)
    member = "/v1/members/{member_id:(?!import$)[^{}/]+}"
    r.add_put(member, members.put_member)
    r.add_get(member, members.get_member, allow_head=False)
    r.add_delete(member, members.delete_member)
    r.add_get("/v1/templates", templates.list_templates, allow_head=False)
    r.add_post("/v1/campaigns", campaigns.create_campaign)
    r.add_get("/v1/campaigns", campaigns.list_campaigns, allow_head=False)
    r.add_get("/v1/campaigns/{campaign_id}", campaigns.get_campaign, allow_head=False)
    r.add_get("/v1/campaigns/{campaign_id}/deliveries", campaigns.list_deliveries, allow_head=False)
    r.add_post("/v1/campaigns/{campaign_id}/cancel", campaigns.cancel_campaign)
    r.add_post("/v1/campaigns/{campaign_id}/pause", campaigns.pause_campaign)
    r.add_post("/v1/campaigns/{campaign_id}/resume", campaigns.resume_campaign)
    r.add_post("/v1/campaigns/{campaign_id}/release", campaigns.release_campaign)
    r.add_post("/v1/previews", previews.create_preview)
    r.add_get("/v1/audit", list_audit, allow_head=False)
    r.add_get("/v1/openapi.json", openapi_json, allow_head=False)
    r.add_get("/metrics", metrics, allow_head=False)
    r.add_get("/healthz", healthz, allow_head=False)
    r.add_get("/u/{token}", unsubscribe.unsubscribe_page, allow_head=False)
    r.add_post("/u/{token}", unsubscribe.unsubscribe)
    return app
