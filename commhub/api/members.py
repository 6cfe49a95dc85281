"""Members: PUT/GET/DELETE one member, and the streaming bulk import.

The import reads `text/csv` or `application/x-ndjson` chunk by chunk, validates every row
(collecting at most MAX_PROBLEMS problems, each naming its line and field), and spools the
valid rows to a temporary file in a compact form. Only when every row is valid are they
upserted, in batches; memory stays flat whatever the number of rows.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Collection, Iterator
from typing import IO, Any

from aiohttp import web

from commhub.api.auth import allow
from commhub.api.bodies import (
    CSV,
    NDJSON,
    RecordSplitter,
    StreamDecoder,
    csv_rows,
    mb,
    read_json,
    require_type,
    too_large,
)
from commhub.api.deps import DEPS
from commhub.api.errors import MAX_PROBLEMS, ApiError, invalid
from commhub.domain import MEMBER_FIELDS, Member, Role, parse_member
from commhub.erasure import erase_member
from commhub.errors import Problem
from commhub.store.base import Store

IMPORT_BATCH = 2000
_CHUNK = 64 * 1024  # ~700 rows: validating one chunk holds the event loop ~10 ms
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0", ""}


@allow(Role.OUTREACH)
async def put_member(request: web.Request) -> web.Response:
    """Create or replace a member: 201 when new, 200 when replaced."""
    member_id = request.match_info["member_id"]
    body = await read_json(request)
    member, problems = parse_member(member_id, body, topics=request.app[DEPS].topics.keys())
    if problems or member is None:
        raise invalid("the member is invalid", problems)
    store = request.app[DEPS].store
    existed = bool(await store.existing_member_ids([member_id]))
    await store.upsert_members([member])
    return web.json_response(member.to_json(), status=200 if existed else 201)


@allow(Role.OUTREACH)
async def get_member(request: web.Request) -> web.Response:
    member_id = request.match_info["member_id"]
    member = await request.app[DEPS].store.get_member(member_id)
    if member is None:
        raise ApiError(404, "not_found", f"no member {member_id!r}")
    return web.json_response(member.to_json())


@allow(Role.OUTREACH)
async def delete_member(request: web.Request) -> web.Response:
    """Erase the member's personal data (store and outbox); deliveries keep ids and states."""
    member_id = request.match_info["member_id"]
    deps = request.app[DEPS]
    if not await erase_member(deps.store, deps.settings, member_id):
        raise ApiError(404, "not_found", f"no member {member_id!r}")
    return web.Response(status=204)


def csv_opted_out(value: str) -> bool | list[str]:
    """`opted_out` from a CSV cell: true/false/yes/no/1/0/empty, or topics split by `;`."""
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return [t.strip() for t in value.split(";") if t.strip()]


class MemberImport:
    """Validates import rows one record at a time and spools the valid ones."""

    def __init__(self, spool: IO[str], *, csv_body: bool, topics: Collection[str]) -> None:
        self.spool = spool
        self.topics = topics
        self.csv_body = csv_body
        self.header: list[str] | None = None
        self.header_ok = True
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.valid = 0

    def problem(self, line: int, field: str, reason: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(field=field, reason=reason, line=line))

    def add(self, records: list[tuple[int, str]]) -> None:
        """Validate complete records (line number, text)."""
        if not records:
            return
        if self.csv_body:
            self._add_csv(records)
        else:
            self._add_ndjson(records)

    def _add_csv(self, records: list[tuple[int, str]]) -> None:
        for line, row in csv_rows(records):
            if isinstance(row, str):
                self.problem(line, "row", row)
                if self.header is None:
                    self.header, self.header_ok = [], False
                continue
            if self.header is None:
                self._set_header(line, row)
                continue
            if not self.header_ok:
                continue  # rows cannot be read without a header; the header is reported
            if len(row) != len(self.header):
                self.problem(
                    line, "row", f"has {len(row)} fields; the header has {len(self.header)}"
                )
                continue
            # A blank cell is an absent value (CSV exports pad cells with spaces).
            body: dict[str, Any] = {
                k: v for k, v in zip(self.header, row, strict=True) if v and not v.isspace()
            }
            if "opted_out" in body:
                body["opted_out"] = csv_opted_out(body["opted_out"])
            self._check(line, body.get("member_id", ""), body)

    def _set_header(self, line: int, row: list[str]) -> None:
        header = [h.strip() for h in row]
        self.header = header
        for name in header:
            if name not in MEMBER_FIELDS:
                self.header_ok = False
                self.problem(line, name or "header", "unknown column")
        if "member_id" not in header:
            self.header_ok = False
            self.problem(line, "member_id", "the header must have a member_id column")
        seen: set[str] = set()
        for name in header:
            if name in seen:
                self.header_ok = False
                self.problem(line, name, "column appears more than once")
            seen.add(name)

    def _add_ndjson(self, records: list[tuple[int, str]]) -> None:
        for line, text in records:
            try:
                body = json.loads(text)
            except (ValueError, RecursionError) as exc:
                reason = (
                    f"malformed JSON: {exc.msg} at column {exc.colno}"
                    if isinstance(exc, json.JSONDecodeError)
                    else "malformed JSON"
                )
                self.problem(line, "line", reason)
                continue
            if not isinstance(body, dict):
                self.problem(line, "line", "must be a JSON object")
                continue
            member_id = body.get("member_id")
            if not isinstance(member_id, str):
                self.problem(line, "member_id", "is required (a string)")
                continue
            self._check(line, member_id, body)

    def _check(self, line: int, member_id: str, body: dict[str, Any]) -> None:
        member, problems = parse_member(member_id, body, topics=self.topics, line=line)
        if problems or member is None:
            for p in problems:
                self.problem(line, p.field, p.reason)
            return
        self.valid += 1
        if self.problem_count == 0:  # once one row is bad nothing is stored: stop spooling
            self.spool.write(json.dumps(member.record(), ensure_ascii=False))
            self.spool.write("\n")


def spooled_batches(spool: IO[str], size: int = IMPORT_BATCH) -> Iterator[list[Member]]:
    """The spooled members in batches; within a batch a repeated id keeps its last row."""
    spool.seek(0)
    batch: dict[str, Member] = {}
    for text in spool:
        member = Member.from_record(json.loads(text))
        batch.pop(member.member_id, None)  # the later row wins, and keeps file order
        batch[member.member_id] = member
        if len(batch) >= size:
            yield list(batch.values())
            batch = {}
    if batch:
        yield list(batch.values())


async def upsert_all(store: Store, spool: IO[str]) -> None:
    """Upsert every spooled member.

    A store with `upsert_members_stream(batches: Iterable[Sequence[Member]])` gets a lazy
    iterator over the spool and writes every batch in ONE transaction (all or nothing even
    if the database fails half way). Otherwise each batch is its own transaction: every row
    was validated first, so only a database failure could leave part of an import stored.
    """
    stream = getattr(store, "upsert_members_stream", None)
    if stream is not None:
        await stream(spooled_batches(spool))
        return
    for batch in spooled_batches(spool):
        await store.upsert_members(batch)


@allow(Role.OUTREACH)
async def import_members(request: web.Request) -> web.Response:
    """Bulk upsert from CSV or NDJSON: every row valid, or nothing stored."""
    ctype = require_type(request, CSV, NDJSON)
    deps = request.app[DEPS]
    limit = mb(deps.settings.server.max_body_mb)
    if request.content_length is not None and request.content_length > limit:
        raise too_large(limit)
    decoder = StreamDecoder()
    splitter = RecordSplitter(quoted=ctype == CSV)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        job = MemberImport(spool, csv_body=ctype == CSV, topics=deps.topics.keys())
        received = 0
        async for chunk in request.content.iter_chunked(_CHUNK):
            received += len(chunk)
            if received > limit:
                raise too_large(limit)
            job.add(splitter.feed(decoder.decode(chunk)))
        job.add(splitter.feed(decoder.decode(b"", final=True)) + splitter.finish())
        if job.problem_count:
            raise invalid(
                "nothing was imported: some rows are invalid", job.problems, job.problem_count
            )
        if job.valid == 0:
            what = "no rows after the header" if ctype == CSV else "no members"
            raise ApiError(422, "invalid", f"nothing to import: {what}")
        await upsert_all(deps.store, spool)
    return web.json_response({"imported": job.valid})
