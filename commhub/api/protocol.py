"""Requests that are not readable HTTP: answered in JSON, never logged or echoed raw.

aiohttp answers a request its parser refuses (a control byte in a header, a line too long,
a bad method) itself, before any middleware: it logs the exception with its message, which
quotes the offending line, and sends that message back as the body. For an
`Authorization` header that is the bearer token, in the log and in the response. The API
runs on `ApiRunner` instead, whose connections answer such requests with the usual JSON
error shape naming only the kind of problem, and log only that kind. Such an answer never
reaches the application, so its hook (`server_header`) does not name the server: the answer
carries the same `Server: commhub` itself, not aiohttp's default (framework and Python
versions).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import hdrs, web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from commhub.api.app import SERVER

log = logging.getLogger("commhub.api")


class QuietRequestHandler(RequestHandler):
    """aiohttp's connection handler, but its own error answers quote nothing of the request."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # `exc` and `message` quote the raw request (headers included): only the type goes out.
        kind = type(exc).__name__ if exc is not None else "error"
        if status >= 500:
            log.error("request failed before reaching the API: %s", kind)
            text = "internal error"
        else:
            log.info("unreadable HTTP request (%s): answered %d", kind, status)
            text = f"the request is not valid HTTP/1.1 ({kind})"
        if request.writer.output_size > 0:
            raise ConnectionError("the response was already started")
        code = "bad_request" if status < 500 else "internal"
        body: dict[str, Any] = {"error": {"code": code, "message": text, "details": []}}
        response = web.Response(
            status=status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers={hdrs.SERVER: SERVER},
        )
        response.force_close()
        return response


class ApiServer(web.Server):
    """An aiohttp low-level server whose connections are `QuietRequestHandler`s."""

    def __call__(self) -> RequestHandler:
        return QuietRequestHandler(self, loop=self._loop, **self._kwargs)


class ApiRunner(web.AppRunner):
    """`web.AppRunner` serving through `ApiServer` (see the module docstring)."""

    async def _make_server(self) -> web.Server:
        server: Any = await super()._make_server()
        # The application builds a plain Server; its class only decides which connection
        # handler each new connection gets, and ApiServer adds no state.
        server.__class__ = ApiServer
        return server  # type: ignore[no-any-return]
