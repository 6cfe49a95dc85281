"""Bearer tokens and roles.

Every endpoint says who may call it with `@allow(Role.OUTREACH, ...)` (admin may always) or
`@public`; an endpoint that says nothing is admin-only, so a forgotten marker fails closed.
`auth_middleware` looks the token's SHA-256 digest up in the store (a known token's role
is reused for a few seconds, see `commhub.api.cache`): no or unknown token is a
401 with `WWW-Authenticate`, a known token with the wrong role a 403.

Roles: `outreach` manages members and campaigns; `qa` reads templates, campaign progress
and previews (never member records); `admin` does everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, TypeVar

from aiohttp import web

from commhub.api.audit import ACTOR
from commhub.api.cache import api_caches
from commhub.api.deps import DEPS
from commhub.api.errors import ApiError, Handler
from commhub.audit import Actor
from commhub.domain import Role
from commhub.tokens import hash_token

ROLE: Final = web.RequestKey("commhub_role", Role)

_ATTR = "_commhub_roles"
_PUBLIC: frozenset[Role] = frozenset()
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/=-]{16,256}$")
_CHALLENGE = 'Bearer realm="commhub"'

H = TypeVar("H", bound=Handler)


def allow(*roles: Role) -> Callable[[H], H]:
    """Mark a handler as callable by these roles (and admin)."""

    def mark(handler: H) -> H:
        setattr(handler, _ATTR, frozenset(roles) | {Role.ADMIN})
        return handler

    return mark


def public(handler: H) -> H:
    """Mark a handler as callable without a token (only /healthz)."""
    setattr(handler, _ATTR, _PUBLIC)
    return handler


def roles_of(handler: object) -> frozenset[Role] | None:
    """The roles a handler allows; empty for public, None for unmarked (admin only)."""
    value = getattr(handler, _ATTR, None)
    return value if isinstance(value, frozenset) else None


def _unauthorized(message: str, error: str) -> ApiError:
    challenge = f'{_CHALLENGE}, error="{error}"' if error else _CHALLENGE
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate the bearer token and check the route's roles."""
    if request.match_info.http_exception is not None:
        return await handler(request)  # unknown path or method: 404/405 need no token
    allowed = roles_of(request.match_info.handler)
    if allowed is None:
        allowed = frozenset({Role.ADMIN})
    if allowed == _PUBLIC:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if not header:
        raise _unauthorized("missing Authorization: Bearer <token> header", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("the Authorization header must be 'Bearer <token>'", "invalid_request")
    if not _TOKEN.match(token):
        raise _unauthorized("the token is not valid", "invalid_token")
    # Known tokens are reused for cache.TOKEN_FRESH_SECONDS (a revoked or expired token
    # keeps working that long in a running API process); unknown tokens are asked every time.
    digest = hash_token(token)
    store = request.app[DEPS].store
    known = await api_caches(request.app).tokens.get(
        digest, lambda: store.token_for(digest, datetime.now(UTC))
    )
    if known is None:
        raise _unauthorized("the token is not valid", "invalid_token")
    role = known.role
    request[ACTOR] = Actor(known.id, known.label)
    if role not in allowed:
        names = ", ".join(sorted(str(r) for r in allowed))
        raise ApiError(403, "forbidden", f"the {role} role may not do this (allowed: {names})")
    request[ROLE] = role
    return await handler(request)
