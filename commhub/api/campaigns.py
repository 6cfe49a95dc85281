"""Campaigns: create (JSON or CSV, idempotent), read status and counts, list deliveries, cancel.

Creation validates everything before anything is stored: the template, the name, `send_at`,
and every recipient (member id well formed, listed once, known to the store, data matching
the template's variables). Any problem rejects the whole request with a 422 that lists each
one with its `index` (JSON) or `line` (CSV), `field` and `reason`. The members are checked
with one store call for all of them; per recipient there is no await.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from commhub.api.audit import ACTOR
from commhub.api.auth import ROLE, allow
from commhub.api.bodies import (
    CSV,
    JSON,
    MAX_AFTER,
    RecordSplitter,
    csv_rows,
    decode_text,
    int_param,
    iso,
    parse_json,
    parse_time,
    read_body,
    require_type,
)
from commhub.api.cache import CampaignView, api_caches
from commhub.api.deps import DEPS, PARSER_POOL
from commhub.api.errors import ApiError, bad_request, invalid
from commhub.content.topics import Topic
from commhub.content.variables import to_json
from commhub.domain import MEMBER_ID_RE, Campaign, Recipient, Role, State
from commhub.errors import Conflict, NotFound, Problem
from commhub.fields import TextField
from commhub.lifecycle import CampaignEvent, CampaignStatus
from commhub.store.base import CampaignCounts, CampaignSummary, DeliveryRow, NewCampaign

_FIELDS = frozenset({"template", "name", "send_at", "recipients", "ignore_quiet_hours"})
_RECIPIENT_FIELDS = frozenset({"member_id", "data"})
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
# The campaign's name, as staff will recognise it in lists.
CAMPAIGN_NAME = TextField("name", "A name staff recognise the campaign by", required=True)
_STATES = frozenset(s.value for s in State)
MAX_DELIVERIES_PAGE = 1000


def _campaign_head(c: Campaign) -> dict[str, Any]:
    """The fields a campaign shows both alone and in the list: id, name, status, times."""
    return {
        "id": c.id,
        "name": c.name,
        "template": c.template,
        "status": c.status,
        "created_at": iso(c.created_at),
        "send_at": iso(c.send_at),
        "paused_at": iso(c.paused_at),
        "finished_at": iso(c.finished_at),
    }


def campaign_json(c: Campaign, counts: CampaignCounts) -> dict[str, Any]:
    """What the API says about a campaign: status and counts per state, language, format."""
    return {
        **_campaign_head(c),
        "content_hash": c.content_hash,
        "ignore_quiet_hours": c.ignore_quiet_hours,
        "total": counts.total,
        "counts": {
            "by_state": counts.by_state,
            "by_language": counts.by_language,
            "by_format": counts.by_format,
            "language_fallback": counts.language_fallback,
            "tty_unencodable": counts.tty_unencodable,
        },
    }


def delivery_json(d: DeliveryRow) -> dict[str, Any]:
    """One delivery without message content."""
    return {
        "id": d.id,
        "member_id": d.member_id,
        "state": d.state,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "language": d.language,
        "format": d.format,
        "language_fallback": d.language_fallback,
        "message_id": d.message_id,
        "updated_at": iso(d.updated_at),
    }


def parse_send_at(value: Any, problems: list[Problem]) -> datetime | None:
    """`send_at` as an aware UTC datetime; RFC 3339 with a time zone offset is required."""
    if value is None or value == "":
        return None
    parsed, reason = parse_time(value)
    if reason is not None:
        problems.append(Problem("send_at", reason))
    return parsed


def parse_flag(value: Any, name: str, problems: list[Problem]) -> bool:
    """An optional boolean: JSON true/false, or (CSV query strings) "true"/"false"."""
    if value is None or value is False or value in ("", "false"):
        return False
    if value is True or value == "true":
        return True
    problems.append(Problem(name, "must be true or false"))
    return False


def parse_name(value: Any, problems: list[Problem]) -> str:
    name, reason = CAMPAIGN_NAME.parse(value)
    if reason is not None:
        problems.append(Problem("name", reason))
    return name or ""


def parse_template(
    value: Any, topics: Mapping[str, Topic], problems: list[Problem]
) -> Topic | None:
    if not isinstance(value, str) or not value:
        problems.append(Problem("template", "is required (the name of a template)"))
        return None
    topic = topics.get(value)
    if topic is None:
        known = ", ".join(sorted(topics))
        problems.append(Problem("template", f"unknown template {value!r}; known: {known}"))
    return topic


class RecipientCheck:
    """Validates recipients one by one (no I/O); members are looked up together at the end."""

    def __init__(self, topic: Topic | None, *, csv_body: bool) -> None:
        self.topic = topic
        self.csv_body = csv_body
        self.problems: list[Problem] = []
        self.first_seen: dict[str, int] = {}  # member id -> position where it is first listed
        self.where: dict[str, int] = {}  # member id -> index (JSON) or line (CSV)
        self.recipients: list[Recipient] = []

    def _at(self, pos: int) -> dict[str, int]:
        return {"line": pos} if self.csv_body else {"index": pos}

    def add(self, pos: int, member_id: Any, data: Any, field_prefix: str) -> None:
        """One recipient at `pos` (index or line); `field_prefix` e.g. "recipients[3]."."""
        at = self._at(pos)
        ok = True
        if not isinstance(member_id, str) or not member_id:
            self.problems.append(Problem(f"{field_prefix}member_id", "is required", **at))
            ok = False
        elif not MEMBER_ID_RE.fullmatch(member_id):
            self.problems.append(
                Problem(f"{field_prefix}member_id", "is not a valid member id", **at)
            )
            ok = False
        elif member_id in self.first_seen:
            first = self.first_seen[member_id]
            where = "line" if self.csv_body else "index"
            self.problems.append(
                Problem(
                    f"{field_prefix}member_id",
                    f"member is listed more than once (first at {where} {first})",
                    **at,
                )
            )
            ok = False
        else:
            self.first_seen[member_id] = pos
        if self.topic is None:
            return
        values, problems = self.topic.parse_data(
            data,
            from_csv=self.csv_body,
            prefix=f"{field_prefix}data." if not self.csv_body else "",
            **at,
        )
        if problems:
            self.problems.extend(problems)
        elif ok:
            self.recipients.append(Recipient(member_id, {k: to_json(v) for k, v in values.items()}))

    async def check_members(self, request: web.Request) -> None:
        """One store call for every member id; unknown ones become problems."""
        if not self.first_seen:
            return
        known = await request.app[DEPS].store.existing_member_ids(list(self.first_seen))
        for member_id, pos in self.first_seen.items():
            if member_id not in known:
                prefix = "" if self.csv_body else f"recipients[{pos}]."
                self.problems.append(
                    Problem(f"{prefix}member_id", f"unknown member {member_id!r}", **self._at(pos))
                )


def _head(
    source: Mapping[str, Any],
    topics: Mapping[str, Topic],
    problems: list[Problem],
    *,
    csv_body: bool,
) -> tuple[dict[str, Any], RecipientCheck]:
    """template, name and send_at (from a JSON body or a CSV upload's query string), and the
    recipient check for that template, holding `problems` and those found here."""
    topic = parse_template(source.get("template"), topics, problems)
    head = {
        "template": topic.name if topic else "",
        "name": parse_name(source.get("name"), problems),
        "send_at": parse_send_at(source.get("send_at"), problems),
        "ignore_quiet_hours": parse_flag(
            source.get("ignore_quiet_hours"), "ignore_quiet_hours", problems
        ),
    }
    check = RecipientCheck(topic, csv_body=csv_body)
    check.problems.extend(problems)
    return head, check


def _from_json(body: Any, topics: Mapping[str, Topic]) -> tuple[dict[str, Any], RecipientCheck]:
    problems: list[Problem] = []
    if not isinstance(body, dict):
        raise invalid("the campaign is invalid", [Problem("body", "must be a JSON object")])
    for key in body:
        if key not in _FIELDS:
            problems.append(Problem(str(key), "unknown field"))
    head, check = _head(body, topics, problems, csv_body=False)
    recipients = body.get("recipients")
    if not isinstance(recipients, list) or not recipients:
        check.problems.append(Problem("recipients", "must be a non-empty list of recipients"))
        return head, check
    for i in range(len(recipients)):
        # Each parsed recipient is dropped once checked: the parsed body and the checked
        # recipients never both exist whole (100,000 recipients: ~70 MB less at the peak).
        r, recipients[i] = recipients[i], None
        prefix = f"recipients[{i}]."
        if not isinstance(r, dict):
            check.problems.append(Problem(f"recipients[{i}]", "must be an object", index=i))
            continue
        for key in r:
            if key not in _RECIPIENT_FIELDS:
                check.problems.append(Problem(f"{prefix}{key}", "unknown field", index=i))
        check.add(i, r.get("member_id"), r.get("data", {}), prefix)
    return head, check


def _from_csv(
    text: str, query: Mapping[str, str], topics: Mapping[str, Topic]
) -> tuple[dict[str, Any], RecipientCheck]:
    head, check = _head(query, topics, [], csv_body=True)
    topic = check.topic
    splitter = RecordSplitter(quoted=True)
    records = splitter.feed(text) + splitter.finish()
    if not records:
        check.problems.append(Problem("body", "the CSV is empty; a header and rows are required"))
        return head, check
    rows = csv_rows(records)
    unreadable = [(line, row) for line, row in rows if isinstance(row, str)]
    if unreadable:
        check.problems.extend(Problem("row", reason, line=line) for line, reason in unreadable)
        return head, check
    header_line, first = rows[0]
    assert not isinstance(first, str)
    header = [h.strip() for h in first]
    header_ok = True
    if "member_id" not in header:
        check.problems.append(
            Problem("member_id", "the header must have a member_id column", line=header_line)
        )
        header_ok = False
    if len(set(header)) != len(header):
        check.problems.append(
            Problem("header", "a column appears more than once", line=header_line)
        )
        header_ok = False
    if topic is not None:
        for name in header:
            if name != "member_id" and name not in topic.variables:
                check.problems.append(
                    Problem(
                        name or "header", f"is not a variable of {topic.name}", line=header_line
                    )
                )
                header_ok = False
    if len(records) == 1:
        check.problems.append(Problem("body", "the CSV has a header but no recipients"))
    if not header_ok:
        return head, check
    width = len(header)
    for line, row in rows[1:]:
        assert not isinstance(row, str)
        if len(row) != width:
            check.problems.append(
                Problem("row", f"has {len(row)} fields; the header has {width}", line=line)
            )
            continue
        data = dict(zip(header, row, strict=True))
        member_id = data.pop("member_id")
        check.add(line, member_id.strip(), data, "")
    return head, check


def _problem_order(p: Problem) -> tuple[int, int]:
    return (p.index if p.index is not None else (p.line if p.line is not None else -1), 0)


def _parse(
    ctype: str, raw: bytes, query: Mapping[str, str], topics: Mapping[str, Topic]
) -> tuple[dict[str, Any], RecipientCheck]:
    """Everything about a campaign request that needs no I/O."""
    text = decode_text(raw)
    if ctype == JSON:
        body = parse_json(text)
        del text  # not needed once parsed (a copy of the body)
        return _from_json(body, topics)
    return _from_csv(text, query, topics)


def request_fingerprint(head: Mapping[str, Any], recipients: list[Recipient]) -> str:
    """SHA-256 of what a campaign request asks for, as parsed and validated.

    An Idempotency-Key replay must ask for the same thing, not send the same bytes: JSON
    re-indented or with its keys in another order (or the same campaign as CSV) is the
    same request; another name, time, member or value is not.
    """
    digest = hashlib.sha256()
    fields = {k: iso(v) if isinstance(v, datetime) else v for k, v in head.items()}
    digest.update(json.dumps(fields, sort_keys=True).encode())
    for r in recipients:
        digest.update(b"\0")
        digest.update(json.dumps([r.member_id, r.data], sort_keys=True).encode())
    return digest.hexdigest()


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise bad_request(
            "Idempotency-Key must be 1-255 visible ASCII characters",
            field="Idempotency-Key",
            reason="invalid",
        )
    return key


@allow(Role.OUTREACH)
async def create_campaign(request: web.Request) -> web.Response:
    """Validate everything, then create the campaign and its queued deliveries at once."""
    ctype = require_type(request, JSON, CSV)
    key = idempotency_key(request)
    deps = request.app[DEPS]
    raw = await read_body(request)
    # Parsing and checking a big campaign is pure CPU: a thread keeps the loop answering.
    loop = asyncio.get_running_loop()
    head, check = await loop.run_in_executor(
        request.app[PARSER_POOL], _parse, ctype, raw, request.query, deps.topics
    )
    await check.check_members(request)
    if check.problems:
        problems = sorted(check.problems, key=_problem_order)
        raise invalid("the campaign was not created: the request has problems", problems)
    request_hash = None
    if key:  # a big campaign's fingerprint takes a while too: off the loop
        pool = request.app[PARSER_POOL]
        request_hash = await loop.run_in_executor(pool, request_fingerprint, head, check.recipients)
    new = NewCampaign(
        name=head["name"],
        template=head["template"],
        send_at=head["send_at"],
        recipients=check.recipients,
        # Keys are per token: another token's same key is another request.
        idempotency_key=f"{request[ACTOR].id}/{key}" if key else None,
        request_hash=request_hash,
        created_by=str(request[ROLE]),
        content=deps.content.pin(head["template"]) if deps.content is not None else None,
        ignore_quiet_hours=head["ignore_quiet_hours"],
    )
    try:
        campaign, created = await deps.store.create_campaign(new)
    except Conflict:
        raise ApiError(
            409,
            "conflict",
            "this Idempotency-Key was already used with a different request body"
            " (or by a request with it that is still in progress)",
        ) from None
    counts = await deps.store.campaign_counts(campaign.id)
    return web.json_response(
        campaign_json(campaign, counts),
        status=201 if created else 200,
        headers={"Location": f"/v1/campaigns/{campaign.id}"},
    )


async def _campaign(request: web.Request) -> Campaign:
    campaign_id = request.match_info["campaign_id"]
    campaign = await request.app[DEPS].store.get_campaign(campaign_id)
    if campaign is None:
        raise ApiError(404, "not_found", f"no campaign {campaign_id!r}")
    return campaign


@allow(Role.OUTREACH, Role.QA)
async def get_campaign(request: web.Request) -> web.Response:
    """Status and counts per state, language and format.

    Many clients poll a sending campaign: requests that arrive while its counts are being
    read share the next read and its encoded body (`commhub.api.cache`), so 200 pollers cost
    about one count query at a time instead of one each.
    """
    campaign_id = request.match_info["campaign_id"]
    store = request.app[DEPS].store

    async def read() -> CampaignView | None:
        # Campaign first, counts second: a `done` status read before the counts guarantees
        # the counts are final, so that view may be kept (see cache.DONE_FRESH_SECONDS).
        campaign = await store.get_campaign(campaign_id)
        if campaign is None:
            return None
        counts = await store.campaign_counts(campaign.id)
        body = json.dumps(campaign_json(campaign, counts)).encode()
        return CampaignView(campaign.status, body)

    view = await api_caches(request.app).campaigns.get(campaign_id, read)
    if view is None:
        raise ApiError(404, "not_found", f"no campaign {campaign_id!r}")
    return web.Response(body=view.body, content_type="application/json", charset="utf-8")


MAX_CAMPAIGNS_PAGE = 200
_CAMPAIGN_STATUSES = frozenset(str(s) for s in CampaignStatus)


def summary_json(summary: CampaignSummary) -> dict[str, Any]:
    """A campaign in the list: id, name, template, status, times and counts by state."""
    c = summary.campaign
    return {
        **_campaign_head(c),
        "total": c.total,
        "by_state": summary.by_state,
    }


@allow(Role.OUTREACH, Role.QA)
async def list_campaigns(request: web.Request) -> web.Response:
    """Campaigns newest first, with status and counts by state; `after` pages on."""
    status = request.query.get("status") or None
    if status is not None and status not in _CAMPAIGN_STATUSES:
        known = ", ".join(str(s) for s in CampaignStatus)
        raise bad_request(
            f"query parameter status must be one of: {known}", field="status", reason="unknown"
        )
    template = request.query.get("template") or None
    limit = int_param(request, "limit", 50, 1, MAX_CAMPAIGNS_PAGE)
    after = request.query.get("after") or None
    try:
        page = await request.app[DEPS].store.list_campaigns(status, template, limit, after)
    except NotFound as exc:
        raise bad_request(str(exc), field="after", reason="unknown campaign") from None
    return web.json_response(
        {
            "campaigns": [summary_json(s) for s in page],
            "next_after": page[-1].campaign.id if len(page) == limit else None,
        }
    )


@allow(Role.OUTREACH, Role.QA)
async def list_deliveries(request: web.Request) -> web.Response:
    """Per-member delivery states, attempts and last error, in id order (keyset pages)."""
    state = request.query.get("state") or None
    if state is not None and state not in _STATES:
        known = ", ".join(s.value for s in State)
        raise bad_request(
            f"query parameter state must be one of: {known}", field="state", reason="unknown"
        )
    limit = int_param(request, "limit", 100, 1, MAX_DELIVERIES_PAGE)
    after = int_param(request, "after", 0, 0, MAX_AFTER)
    campaign = await _campaign(request)
    rows = await request.app[DEPS].store.list_deliveries(campaign.id, state, limit, after)
    next_after = rows[-1].id if len(rows) == limit else None
    return web.json_response(
        {
            "campaign_id": campaign.id,
            "deliveries": [delivery_json(d) for d in rows],
            "next_after": next_after,
        }
    )


async def _change(request: web.Request, event: CampaignEvent, count_key: str) -> web.Response:
    """Apply a staff action as the life cycle allows (409 naming the status when not)."""
    campaign = await _campaign(request)
    store = request.app[DEPS].store
    try:
        touched = await store.change_campaign(campaign.id, event, datetime.now(UTC))
    except Conflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    api_caches(request.app).campaigns.forget(campaign.id)  # GETs after this see it
    fresh = await store.get_campaign(campaign.id) or campaign
    counts = await store.campaign_counts(campaign.id)
    return web.json_response({count_key: touched, "campaign": campaign_json(fresh, counts)})


@allow(Role.OUTREACH)
async def cancel_campaign(request: web.Request) -> web.Response:
    """Cancel every delivery not yet sent; deliveries in flight finish their attempt."""
    return await _change(request, CampaignEvent.CANCEL, "cancelled")


@allow(Role.OUTREACH)
async def pause_campaign(request: web.Request) -> web.Response:
    """Stop claiming the campaign's deliveries; deliveries in flight finish their attempt."""
    return await _change(request, CampaignEvent.PAUSE, "parked")


@allow(Role.OUTREACH)
async def resume_campaign(request: web.Request) -> web.Response:
    """Claim the paused campaign's deliveries again."""
    return await _change(request, CampaignEvent.RESUME, "resumed")


@allow(Role.OUTREACH)
async def release_campaign(request: web.Request) -> web.Response:
    """Re-queue every held delivery now: workers evaluate each against the current settings
    (voice, language policy, quiet hours) and send it or hold it again with its reason."""
    return await _change(request, CampaignEvent.RELEASE, "released")
