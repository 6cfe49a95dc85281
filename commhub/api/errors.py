"""Every API error as JSON: `{"error": {"code", "message", "details": [...]}}`.

Handlers raise `ApiError` (or a domain error from `commhub.errors`); `error_middleware`
turns it, and aiohttp's own HTTP exceptions (404, 405, 413 ...), into that shape. Anything
unexpected becomes a 500 with a generic message and an error id; the log gets the id, the
route and the exception type and frames, never the exception's message (it might quote
member data).
"""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from commhub.errors import Conflict, NotFound, Problem, StoreError, ValidationError, loggable

log = logging.getLogger("commhub.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Most problems a response lists; the message and `problem_count` give the full number.
MAX_PROBLEMS = 1000

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answer: HTTP status, a stable code, a message and optional details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Sequence[dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = list(details)
        self.headers = headers or {}
        self.extra = extra


def invalid(message: str, problems: Sequence[Problem], total: int | None = None) -> ApiError:
    """A 422 listing problems (at most MAX_PROBLEMS; `total` counts all of them)."""
    count = len(problems) if total is None else total
    shown = [p.as_dict() for p in problems[:MAX_PROBLEMS]]
    if count > len(shown):
        message = f"{message} ({count} problems; the first {len(shown)} are listed)"
    return ApiError(422, "invalid", message, shown, problem_count=count)


def bad_request(message: str, **detail: Any) -> ApiError:
    """A 400 for a request that cannot be read at all (malformed JSON/CSV, bad query)."""
    return ApiError(400, "bad_request", message, [detail] if detail else [])


def error_response(err: ApiError) -> web.Response:
    body: dict[str, Any] = {"code": err.code, "message": err.message, "details": err.details}
    body.update(err.extra)
    return web.json_response({"error": body}, status=err.status, headers=err.headers)


def _from_http(exc: web.HTTPException, request: web.Request) -> ApiError:
    status = exc.status
    code = _CODES.get(status, "http_error")
    if status == 404:
        message = "no such endpoint"
    elif status == 405:
        allowed = sorted(getattr(exc, "allowed_methods", ()) or ())
        message = f"method {request.method} not allowed here"
        if allowed:
            message += f"; allowed: {', '.join(allowed)}"
    elif status == 413:
        message = "request body too large"
        limit = getattr(exc, "max_size", None)
        if isinstance(limit, int):
            message += f" (limit {limit} bytes)"
    else:
        message = exc.reason
    headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")}
    return ApiError(status, code, message, headers=headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into the JSON error shape; never leak a 500 for a client mistake."""
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err)
    except ValidationError as err:
        return error_response(invalid(str(err) or "the request is invalid", err.problems))
    except NotFound as err:
        return error_response(ApiError(404, "not_found", str(err) or "not found"))
    except Conflict as err:
        return error_response(ApiError(409, "conflict", str(err) or "conflict"))
    except StoreError:
        error_id = _log_unexpected(request, "store")
        return error_response(
            ApiError(503, "unavailable", f"the database is unavailable (error id {error_id})")
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are answers, not errors
        return error_response(_from_http(exc, request))
    except Exception:
        error_id = _log_unexpected(request, "unexpected")
        return error_response(
            ApiError(500, "internal", f"internal error (error id {error_id})"),
        )


def _log_unexpected(request: web.Request, kind: str) -> str:
    """Log an unexpected failure by id, route and frames; return the id for the client."""
    error_id = secrets.token_hex(6)
    exc_type, _, tb = sys.exc_info()
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "?"
    log.error(
        "%s error %s on %s %s: %s", kind, error_id, request.method, name, loggable(exc_type, tb)
    )
    return error_id
