"""The API's side of the audit log: every state-changing call is recorded, and admins read
the log with `GET /v1/audit?since=&actor=&action=&limit=&after=`.

Which calls change state, and the action each is recorded as, is one table (`ACTIONS`,
keyed by method and route template); the middleware needs nothing from the handlers. The
object id is the route's id (member or campaign), or for a created campaign the id in its
`Location`. Calls without a valid token (401) are not recorded: nobody is known to act, and
random requests must not be able to fill the log.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from commhub.api.bodies import MAX_AFTER, int_param, iso, parse_time
from commhub.api.deps import DEPS
from commhub.api.errors import _CODES, Handler, bad_request
from commhub.audit import OK, Actor, error_outcome, record_audit
from commhub.domain import AuditEntry

ACTOR: Final = web.RequestKey("commhub_actor", Actor)

ACTIONS: Final[dict[tuple[str, str], str]] = {
    ("PUT", "/v1/members/{member_id}"): "member.put",
    ("DELETE", "/v1/members/{member_id}"): "member.erase",
    ("POST", "/v1/members/import"): "member.import",
    ("POST", "/v1/campaigns"): "campaign.create",
    ("POST", "/v1/campaigns/{campaign_id}/cancel"): "campaign.cancel",
    ("POST", "/v1/campaigns/{campaign_id}/pause"): "campaign.pause",
    ("POST", "/v1/campaigns/{campaign_id}/resume"): "campaign.resume",
    ("POST", "/v1/campaigns/{campaign_id}/release"): "campaign.release",
}
_CREATED = re.compile(r"^/v1/campaigns/([A-Za-z0-9_]+)$")
MAX_AUDIT_PAGE = 1000


def _object_id(request: web.Request, response: web.StreamResponse | None) -> str | None:
    for key in ("member_id", "campaign_id"):
        if key in request.match_info:
            return request.match_info[key]
    if response is not None:
        created = _CREATED.match(response.headers.get("Location", ""))
        if created:
            return created.group(1)
    return None


@web.middleware
async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record each state-changing call with its actor and outcome (after the error
    middleware has turned any failure into a response)."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else ""
    action = ACTIONS.get((request.method, route))
    if action is None:
        return await handler(request)
    response = await handler(request)
    actor = request.get(ACTOR)
    if actor is not None:
        status = response.status
        outcome = OK if status < 400 else error_outcome(status, _CODES.get(status, "error"))
        # The change is made: a failed audit write (logged by record_audit) must not turn it
        # into an error the client would retry, creating it twice.
        with contextlib.suppress(Exception):
            await record_audit(
                request.app[DEPS].store, actor, action, _object_id(request, response), outcome
            )
    return response


def _since(raw: str | None) -> datetime | None:
    if not raw:
        return None
    parsed, reason = parse_time(raw)
    if parsed is None:
        raise bad_request(f"query parameter since {reason}", field="since", reason="invalid")
    return parsed


def entry_json(e: AuditEntry) -> dict[str, Any]:
    """One audit entry as `GET /v1/audit` shows it."""
    return {
        "id": e.id,
        "at": iso(e.at),
        "actor": e.actor,
        "actor_label": e.actor_label,
        "action": e.action,
        "object_id": e.object_id,
        "outcome": e.outcome,
    }


async def list_audit(request: web.Request) -> web.Response:
    """Admin only (no role marker): the audit log, oldest first, in keyset pages."""
    q = request.query
    limit = int_param(request, "limit", 100, 1, MAX_AUDIT_PAGE)
    after = int_param(request, "after", 0, 0, MAX_AFTER)
    entries = await request.app[DEPS].store.list_audit(
        _since(q.get("since")), q.get("actor") or None, q.get("action") or None, limit, after,
    )  # fmt: skip
    return web.json_response(
        {
            "entries": [entry_json(e) for e in entries],
            "next_after": entries[-1].id if len(entries) == limit else None,
        }
    )
