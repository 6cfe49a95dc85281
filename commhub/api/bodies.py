"""Reading request bodies: content types, size limits, JSON with positions, CSV records.

Bodies other than member imports are read whole, up to `server.max_json_body_mb` (the
application's `client_max_size`). Imports stream through `RecordSplitter`, which turns
decoded chunks into complete CSV records (a quoted field may hold a line break) numbered by
the physical line they start on.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from aiohttp import web

from commhub.api.deps import DEPS
from commhub.api.errors import ApiError, bad_request

JSON = "application/json"
CSV = "text/csv"
NDJSON = "application/x-ndjson"


def require_type(request: web.Request, *allowed: str) -> str:
    """The request's media type if it is one of `allowed` (UTF-8 only), else a 415."""
    ctype = request.content_type
    if ctype not in allowed:
        got = request.headers.get("Content-Type") or "none"
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type must be {' or '.join(allowed)}, not {got}",
        )
    charset = request.charset
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ApiError(415, "unsupported_media_type", f"charset must be utf-8, not {charset}")
    return ctype


def too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "body_too_large",
        f"request body too large: the limit is {limit} bytes ({limit / 1048576:g} MB)",
    )


def json_limit(request: web.Request) -> int:
    """Bytes a body read whole may have (also the app's `client_max_size`)."""
    return mb(request.app[DEPS].settings.server.max_json_body_mb)


def mb(megabytes: float) -> int:
    return int(megabytes * 1024 * 1024)


async def read_body(request: web.Request) -> bytes:
    """The whole body, refusing early (413) what is announced larger than the limit."""
    limit = json_limit(request)
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large(limit) from None


def decode_text(raw: bytes, what: str = "body") -> str:
    """UTF-8 text (a leading BOM is dropped), or a 400 naming the byte offset."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise bad_request(
            f"the {what} is not valid UTF-8 (byte {exc.start})", field=what, reason="not UTF-8"
        ) from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str, *, line: int | None = None) -> Any:
    """Parse JSON text; a 400 names the problem and where (line and column).

    `line` is the line of the body this text came from (NDJSON); positions are then on it.
    """
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        at_line = exc.lineno if line is None else line
        where = f"line {at_line} column {exc.colno}"
        if not text.strip():
            raise bad_request(
                "the body is empty; a JSON document is required", field="body", reason="empty"
            ) from None
        raise bad_request(
            f"malformed JSON at {where}: {exc.msg}",
            field="body",
            reason=exc.msg,
            line=at_line,
            column=exc.colno,
        ) from None
    except RecursionError:
        raise bad_request("JSON nested too deeply", field="body", reason="too deep") from None
    except ValueError as exc:  # NaN/Infinity, integers with too many digits
        detail: dict[str, Any] = {"field": "body", "reason": str(exc)}
        if line is not None:
            detail["line"] = line
        raise ApiError(400, "bad_request", f"malformed JSON: {exc}", [detail]) from None


async def read_json(request: web.Request) -> Any:
    """The JSON body of a request whose Content-Type must be application/json."""
    require_type(request, JSON)
    return parse_json(decode_text(await read_body(request)))


class RecordSplitter:
    """Split decoded text into complete records, each with the line number it starts on.

    With `quoted=True` (CSV) a record continues while it holds an odd number of `"`: the
    line break is inside a quoted field. Blank lines are skipped but counted.
    """

    def __init__(self, *, quoted: bool) -> None:
        self._quoted = quoted
        self._tail = ""  # text after the last line break seen
        self._pending: list[str] = []  # lines of a record still inside quotes
        self._pending_quotes = 0
        self._line = 0  # physical lines consumed
        self._start = 0  # line the pending record starts on

    @property
    def lines(self) -> int:
        """Physical lines read so far."""
        return self._line

    def feed(self, text: str) -> list[tuple[int, str]]:
        """Records completed by this text."""
        parts = (self._tail + text).split("\n")
        self._tail = parts.pop()
        return self._take(parts)

    def finish(self) -> list[tuple[int, str]]:
        """The last record (no trailing line break); raises 400 on an unclosed quote."""
        out = self._take([self._tail]) if self._tail else []
        self._tail = ""
        if self._pending:
            raise bad_request(
                f"unclosed quoted field starting on line {self._start}",
                field="body",
                reason="unclosed quote",
                line=self._start,
            )
        return out

    def _take(self, lines: list[str]) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        quoted = self._quoted
        for raw in lines:
            self._line += 1
            line = raw[:-1] if raw.endswith("\r") else raw
            if quoted and (self._pending or '"' in line):
                if not self._pending:
                    self._start = self._line
                self._pending.append(line)
                self._pending_quotes += line.count('"')
                if self._pending_quotes % 2:
                    continue  # still inside a quoted field
                record = "\n".join(self._pending)
                self._pending.clear()
                self._pending_quotes = 0
                out.append((self._start, record))
            elif line.strip():
                out.append((self._line, line))
        return out


class StreamDecoder:
    """Incremental UTF-8 decoding of a streamed body, with a 400 naming the byte offset."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
        self._offset = 0

    def decode(self, chunk: bytes, final: bool = False) -> str:
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise bad_request(
                f"the body is not valid UTF-8 (near byte {self._offset + max(exc.start, 0)})",
                field="body",
                reason="not UTF-8",
            ) from None
        self._offset += len(chunk)
        return text
