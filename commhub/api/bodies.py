"""Reading request bodies: content types, size limits, JSON with positions, CSV records.

Bodies other than member imports are read whole, up to `server.max_json_body_mb` (the
application's `client_max_size`). Imports stream through `RecordSplitter`, which turns
decoded chunks into complete CSV records (a quoted field may hold a line break) numbered by
the physical line they start on.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from datetime import UTC, datetime
from typing import Any, overload

from aiohttp import web

from commhub.api.deps import DEPS
from commhub.api.errors import ApiError, bad_request

JSON = "application/json"
CSV = "text/csv"
NDJSON = "application/x-ndjson"


# RFC 3339 with a zone. [0-9], not \\d: Python's \\d also matches other scripts' digits,
# ECMA-262's (the OpenAPI document's patterns) does not.
TIME_PATTERN = (
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]"
    ":[0-5][0-9](\\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_TIME = re.compile(TIME_PATTERN)
# Largest `after` cursor: row ids are 64-bit integers.
MAX_AFTER = 2**62


def parse_time(value: Any) -> tuple[datetime | None, str | None]:
    """An RFC 3339 time with a zone as an aware UTC datetime, or (None, the reason)."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        return None, "must be an RFC 3339 time with a zone, like 2026-12-03T09:00:00Z"
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("t", "T")).astimezone(
            UTC
        ), None
    except ValueError:
        return None, "is not a valid date and time"
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is past the year 9999 in UTC
        return None, "is out of range: it must fall in the years 1-9999 UTC"


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: None) -> None: ...
def iso(value: datetime | None) -> str | None:
    """An RFC 3339 UTC timestamp with `Z` (the form `parse_time` reads), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    """A whole-number query parameter (absent or empty: `default`), else a 400 naming it."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not low <= int(raw) <= high:
        raise bad_request(
            f"query parameter {name} must be a whole number from {low} to {high}",
            field=name,
            reason="out of range",
        )
    return int(raw)


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


# Longest record (line, or quoted CSV record over several lines) an import or CSV campaign
# may have, in characters. A member row is at most ~2,000 characters of fields even with
# every character escaped in JSON; the limit keeps one endless line from holding memory,
# and is below the csv module's field limit (131,072), so that never fails instead.
MAX_RECORD_CHARS = 64 * 1024


def record_too_long(line: int, limit: int) -> ApiError:
    """A 413 naming the line whose record exceeds `limit` characters."""
    return ApiError(
        413,
        "line_too_long",
        f"line {line} is longer than the limit of {limit} characters per record",
        [{"field": "body", "reason": f"longer than {limit} characters", "line": line}],
    )


class RecordSplitter:
    """Split decoded text into complete records, each with the line number it starts on.

    Lines end with LF, CRLF or a bare CR (old Mac exports). With `quoted=True` (CSV) a
    record continues while it holds an odd number of `"`: the line break is inside a quoted
    field. Blank lines are skipped but counted. A record longer than `max_chars` is a 413
    as soon as it is seen. Work is linear in the text: text without a line break is kept
    as a list of pieces, joined once when its line ends.
    """

    def __init__(self, *, quoted: bool, max_chars: int = MAX_RECORD_CHARS) -> None:
        self._quoted = quoted
        self._max = max_chars
        self._tail: list[str] = []  # pieces of the line still open (after the last break)
        self._tail_len = 0
        self._cr = False  # the last text ended with CR: a LF next belongs to it
        self._pending: list[str] = []  # lines of a record still inside quotes
        self._pending_len = 0
        self._pending_quotes = 0
        self._line = 0  # physical lines consumed
        self._start = 0  # line the pending record starts on

    @property
    def lines(self) -> int:
        """Physical lines read so far."""
        return self._line

    def feed(self, text: str) -> list[tuple[int, str]]:
        """Records completed by this text."""
        if self._cr and text.startswith("\n"):
            text = text[1:]  # the LF of a CRLF split between two pieces
        self._cr = text.endswith("\r")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        parts = text.split("\n")
        last = parts.pop()
        if parts:  # the open line ends here
            if self._tail:
                parts[0] = "".join(self._tail) + parts[0]
                self._tail.clear()
                self._tail_len = 0
            out = self._take(parts)
        else:
            out = []
        if last:
            self._tail.append(last)
            self._tail_len += len(last)
            if self._tail_len + self._pending_len > self._max:
                raise record_too_long(self._start if self._pending else self._line + 1, self._max)
        return out

    def finish(self) -> list[tuple[int, str]]:
        """The last record (no trailing line break); raises 400 on an unclosed quote."""
        out = self._take(["".join(self._tail)]) if self._tail else []
        self._tail.clear()
        self._tail_len = 0
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
        limit = self._max
        for line in lines:
            self._line += 1
            if quoted and (self._pending or '"' in line):
                if not self._pending:
                    self._start = self._line
                self._pending.append(line)
                self._pending_len += len(line) + 1
                if self._pending_len > limit + 1:
                    raise record_too_long(self._start, limit)
                self._pending_quotes += line.count('"')
                if self._pending_quotes % 2:
                    continue  # still inside a quoted field
                record = "\n".join(self._pending)
                self._pending.clear()
                self._pending_len = 0
                self._pending_quotes = 0
                out.append((self._start, record))
            elif len(line) > limit:
                raise record_too_long(self._line, limit)
            elif line.strip():
                out.append((self._line, line))
        return out


def csv_rows(records: list[tuple[int, str]]) -> list[tuple[int, list[str] | str]]:
    """Each record's fields, or the reason the csv module cannot read that record."""
    try:
        rows = list(csv.reader(text for _, text in records))
        return [(line, row) for (line, _), row in zip(records, rows, strict=True)]
    except csv.Error:
        pass  # find the record at fault; the others still get read
    out: list[tuple[int, list[str] | str]] = []
    for line, text in records:
        try:
            out.append((line, next(csv.reader([text]))))
        except csv.Error as exc:
            out.append((line, f"cannot be read as CSV: {exc}"))
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
