"""The OpenAPI 3.1 description of the API (GET /v1/openapi.json).

Paths and operations are written here; the request schemas of members, campaigns and
previews are generated from the definitions validation uses (`commhub.fields.TextField`
specs in `commhub.domain` and `commhub.api.campaigns`, the shipped topics, languages and
formats), so a limit lives in one place. A test compares the paths and methods with the
routes the application serves, and schemathesis checks the server against the document.

To document a new route: add its path item to `build_document` (with `_op`), and any body
schema to `_schemas` (from the same definitions its handler validates with).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from commhub.api.audit import MAX_AUDIT_PAGE
from commhub.api.auth import allow
from commhub.api.bodies import MAX_AFTER, TIME_PATTERN
from commhub.api.campaigns import (
    CAMPAIGN_NAME,
    IDEMPOTENCY_KEY_PATTERN,
    MAX_CAMPAIGNS_PAGE,
    MAX_DELIVERIES_PAGE,
)
from commhub.api.deps import DEPS
from commhub.content.variables import TYPES, VarSpec
from commhub.domain import (
    MAX_OPTED_OUT,
    MEMBER_ID_PATTERN,
    MEMBER_ID_REASON,
    MEMBER_TEXT_FIELDS,
    RESERVED_MEMBER_IDS,
    Format,
    Role,
    State,
)
from commhub.languages import LANGUAGES
from commhub.lifecycle import CampaignStatus

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}


def _error_responses() -> dict[str, Any]:
    reasons = {
        400: "Malformed body or query (details name the line and column of bad JSON)",
        401: "Missing or unknown token (the response has WWW-Authenticate: Bearer)",
        403: "The token's role may not do this",
        404: "Not found",
        405: "Method not allowed here (/v1/members/import is a route, never a member id)",
        409: "Conflict (an Idempotency-Key reused with a different body)",
        413: "Body larger than the limit",
        415: "Unsupported Content-Type",
        422: "Invalid content: every problem listed with field, reason and line or index",
        503: "The store (or previews) is unavailable",
    }
    return {f"E{c}": _json(_ref("Error"), r) for c, r in reasons.items()}


def _member_id_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": f"^{MEMBER_ID_PATTERN}$",
        "not": {"enum": sorted(RESERVED_MEMBER_IDS)},
        "description": f"The plan's member id: {MEMBER_ID_REASON}",
    }


def _member_id() -> dict[str, Any]:
    return {"name": "member_id", "in": "path", "required": True, "schema": _member_id_schema()}


def _member_input(topics: list[str]) -> dict[str, Any]:
    """A member record as PUT and import rows give it (from `MEMBER_TEXT_FIELDS`)."""
    props = {f.name: f.schema(nullable=not f.required) for f in MEMBER_TEXT_FIELDS}
    props["opted_out"] = {
        "description": "true: all outreach; a list: these topics only (null: false)",
        "oneOf": [
            {"type": ["boolean", "null"]},
            {"type": "array", "maxItems": MAX_OPTED_OUT, "items": {"enum": topics}},
        ],
    }
    non_empty = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "description": "A member id in the body is allowed if it equals the one in the URL.",
        "required": [f.name for f in MEMBER_TEXT_FIELDS if f.required],
        "additionalProperties": False,
        "properties": props,
        # An address to write to: email, or relay_address for relay_text.
        "anyOf": [
            {"required": ["email"], "properties": {"email": non_empty}},
            {
                "required": ["format", "relay_address"],
                "properties": {"format": {"const": "relay_text"}, "relay_address": non_empty},
            },
        ],
    }


def _data(variables: Mapping[str, VarSpec]) -> dict[str, Any]:
    """A template's data: one value per variable (an optional one may be null or "")."""
    props = {
        name: spec.schema() if spec.required else {"anyOf": [spec.schema(), {"enum": [None, ""]}]}
        for name, spec in variables.items()
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "required": [name for name, spec in variables.items() if spec.required],
    }


def _per_template(
    templates: Mapping[str, Mapping[str, VarSpec]], build: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """A request whose data depends on its template: one variant per template."""
    return {"oneOf": [build(name) for name in sorted(templates)]}


def _member_output(topics: list[str]) -> dict[str, Any]:
    """A stored member as the API returns it: every field present, absent ones null."""
    props: dict[str, Any] = {"member_id": {"type": "string"}}
    props.update({f.name: f.output_schema() for f in MEMBER_TEXT_FIELDS})
    props["opted_out"] = {
        "oneOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}]
    }
    return {
        "type": "object",
        "required": list(props),
        "additionalProperties": False,
        "properties": props,
    }


def _campaign_id() -> dict[str, Any]:
    return {"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _schemas(templates: Mapping[str, Mapping[str, VarSpec]]) -> dict[str, Any]:
    topics = sorted(templates)
    formats = [f.value for f in Format]
    states = [s.value for s in State]
    languages = sorted(LANGUAGES)
    count_map = {"type": "object", "additionalProperties": {"type": "integer"}}
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "details"],
                    "properties": {
                        "code": {"type": "string", "examples": ["invalid", "unauthorized"]},
                        "message": {"type": "string"},
                        "details": {"type": "array", "items": _ref("Problem")},
                        "problem_count": {
                            "type": "integer",
                            "description": "All problems found (details lists at most 1000)",
                        },
                    },
                }
            },
        },
        "Problem": {
            "type": "object",
            "required": ["field", "reason"],
            "properties": {
                "field": {"type": "string", "examples": ["recipients[3].data.refill_date"]},
                "reason": {"type": "string"},
                "line": {"type": "integer", "description": "CSV/NDJSON line (header = 1)"},
                "index": {"type": "integer", "description": "position in a JSON list"},
                "column": {"type": "integer", "description": "column of malformed JSON"},
            },
        },
        "MemberInput": _member_input(topics),
        "Member": _member_output(topics),
        "ImportResult": {
            "type": "object",
            "properties": {"imported": {"type": "integer"}},
        },
        "LanguageState": {
            "type": "object",
            "properties": {
                "ready": {
                    "type": "boolean",
                    "description": "every string at the level language.require names "
                    "(reviewed, or certified)",
                },
                "reviewed": {"type": "integer"},
                "certified": {
                    "type": "integer",
                    "description": "of reviewed: approved by a qualified translator",
                },
                "certified_by": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "date": {"type": "string", "format": "date"},
                            "strings": {"type": "integer"},
                        },
                    },
                },
                "fuzzy": {"type": "integer"},
                "missing": {"type": "integer"},
                "voice": {"type": ["string", "null"], "examples": ["espeak-ng:es-419"]},
                "formats": {
                    "type": "object",
                    "description": "per format: can it go out in this language as is "
                    "(audio also needs a voice)",
                    "additionalProperties": {"type": "boolean"},
                },
            },
        },
        "Template": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "phone_line": {"type": "string"},
                "variables": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "string",
                        "enum": list(TYPES),
                    },
                },
                "sample": {"type": "object"},
                "formats": {"type": "array", "items": {"type": "string", "enum": formats}},
                "languages": {"type": "object", "additionalProperties": _ref("LanguageState")},
            },
        },
        "CampaignRequest": _per_template(
            templates,
            lambda t: {
                "type": "object",
                "required": ["template", "name", "recipients"],
                "additionalProperties": False,
                "properties": {
                    "template": {"const": t, "description": "the template (topic)"},
                    "name": CAMPAIGN_NAME.schema(),
                    "send_at": {
                        "type": ["string", "null"],
                        "pattern": f"^$|{TIME_PATTERN}",
                        "description": "RFC 3339 with a zone; deliveries wait until then",
                    },
                    "ignore_quiet_hours": {
                        "type": "boolean",
                        "default": False,
                        "description": "send at any hour in the member's time zone (urgent"
                        " notices; the README walk-through)",
                    },
                    "recipients": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["member_id"],
                            "additionalProperties": False,
                            "properties": {
                                "member_id": _member_id_schema(),
                                "data": _ref(f"Data_{t}"),
                            },
                        },
                    },
                },
            },
        ),
        "Campaign": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "name": {"type": "string"},
                "template": {"type": "string"},
                "status": {
                    "type": "string",
                    "enum": [str(s) for s in CampaignStatus],
                },
                "created_at": {"type": "string", "format": "date-time"},
                "send_at": {"type": ["string", "null"], "format": "date-time"},
                "paused_at": {"type": ["string", "null"], "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"},
                "content_hash": {
                    "type": ["string", "null"],
                    "description": "SHA-256 of the template and catalog content it renders from",
                },
                "ignore_quiet_hours": {"type": "boolean"},
                "total": {"type": "integer"},
                "counts": {
                    "type": "object",
                    "properties": {
                        "by_state": count_map,
                        "by_language": count_map,
                        "by_format": count_map,
                        "language_fallback": {"type": "integer"},
                        "tty_unencodable": {
                            "type": "integer",
                            "description": "relay text sent in a script a TTY cannot print "
                            "(zh, ko, ja, ar, …): arrange a 711 call with an interpreter",
                        },
                    },
                },
            },
        },
        "Delivery": {
            "type": "object",
            "description": "A delivery's state; never message content",
            "properties": {
                "id": {"type": "integer"},
                "member_id": {"type": "string"},
                "state": {"type": "string", "enum": states},
                "attempts": {"type": "integer"},
                "last_error": {"type": ["string", "null"]},
                "language": {"type": ["string", "null"]},
                "format": {"type": ["string", "null"]},
                "language_fallback": {"type": "boolean"},
                "message_id": {"type": ["string", "null"]},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        },
        "DeliveryPage": {
            "type": "object",
            "properties": {
                "campaign_id": {"type": "string"},
                "deliveries": {"type": "array", "items": _ref("Delivery")},
                "next_after": {
                    "type": ["integer", "null"],
                    "description": "pass as `after` for the next page; null on the last",
                },
            },
        },
        "PreviewRequest": _per_template(
            templates,
            lambda t: {
                "type": "object",
                "required": ["template"],
                "additionalProperties": False,
                "properties": {
                    "template": {"const": t, "description": "the template (topic)"},
                    "language": {"type": "string", "enum": languages, "default": "en"},
                    "format": {"type": "string", "enum": formats, "default": "large_print_email"},
                    "data": {
                        "anyOf": [{"type": "null"}, _ref(f"Data_{t}")],
                        "description": "default: the template's sample",
                    },
                },
            },
        ),
        **{f"Data_{t}": _data(variables) for t, variables in templates.items()},
        "Preview": {
            "type": "object",
            "properties": {
                "template": {"type": "string"},
                "language": {"type": "string"},
                "format": {"type": "string"},
                "rendered_language": {"type": "string"},
                "language_fallback": {"type": "boolean"},
                "machine_translation": {"type": "boolean"},
                "notes": {"type": "array", "items": {"type": "string"}},
                "subject": {"type": "string"},
                "text": {"type": "string"},
                "html": {"type": ["string", "null"]},
                "spoken_text": {"type": ["string", "null"]},
                "voice": {"type": ["string", "null"]},
                "audio_mp3_base64": {"type": ["string", "null"], "contentEncoding": "base64"},
                "tty_text": {
                    "type": ["string", "null"],
                    "description": "relay text in Cyrillic: the romanised TTY-safe alternative",
                },
                "checks": {
                    "type": ["array", "null"],
                    "description": "rule checks that failed (empty: every check passed), "
                    "content parity (CP) included; ids from docs/ACCESSIBILITY.md",
                    "items": {
                        "type": "object",
                        "properties": {"rule": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
            },
        },
        "Health": {
            "type": "object",
            "properties": {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "store": {"type": "string", "enum": ["ok", "unreachable"]},
                # Only when a format is delivered to the outbox.
                "outbox": {"type": "string", "enum": ["ok", "not writable"]},
            },
        },
    }


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "schema": schema}
    if description:
        param["description"] = description
    return param


def _op(
    summary: str,
    roles: str,
    responses: dict[str, Any],
    errors: tuple[int, ...],
    **extra: Any,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "description": f"Roles: {roles}."}
    op.update(extra)
    op["responses"] = {**responses, **_errors(*errors)}
    return op


def build_document(templates: Mapping[str, Mapping[str, VarSpec]]) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document for a server with these templates (topic name: its
    variables)."""
    topics = sorted(templates)
    auth_errors = (401, 403)
    members = "outreach, admin"
    readers = "outreach, qa, admin"
    csv_campaign = {
        "type": "string",
        "description": "header: member_id and one column per template variable",
    }
    paths: dict[str, Any] = {
        "/v1/members/{member_id}": {
            "parameters": [_member_id()],
            "put": _op(
                "Create or replace a member",
                members,
                {
                    "200": _json(_ref("Member"), "Replaced"),
                    "201": _json(_ref("Member"), "Created"),
                },
                (400, *auth_errors, 405, 413, 415, 422),
                requestBody={"required": True, "content": {JSON: {"schema": _ref("MemberInput")}}},
            ),
            "get": _op(
                "Read a member",
                members,
                {"200": _json(_ref("Member"), "The member")},
                (*auth_errors, 404, 405),
            ),
            "delete": _op(
                "Erase a member's personal data (deliveries keep ids and states)",
                members,
                {"204": {"description": "Erased"}},
                (*auth_errors, 404, 405),
            ),
        },
        "/v1/members/import": {
            "post": _op(
                "Bulk upsert members: every row valid, or nothing stored",
                members,
                {"200": _json(_ref("ImportResult"), "All rows stored")},
                (400, *auth_errors, 413, 415, 422),
                description=(
                    f"Roles: {members}. The body streams (limit server.max_body_mb). CSV: a "
                    "header naming member fields (member_id required); opted_out is "
                    "true/false or topics separated by ';'. NDJSON: one member object per "
                    "line. Problems name the line (header = line 1) and field. A member "
                    "listed twice keeps its last row."
                ),
                requestBody={
                    "required": True,
                    "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        "application/x-ndjson": {"schema": {"type": "string"}},
                    },
                },
            ),
        },
        "/v1/templates": {
            "get": _op(
                "Templates with variables, sample data, formats and per-language readiness",
                readers,
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "templates": {"type": "array", "items": _ref("Template")}
                            },
                        },
                        "Every template",
                    )
                },
                auth_errors,
            )
        },
        "/v1/campaigns": {
            "get": _op(
                "Campaigns newest first, with status, times and counts by state",
                readers,
                {"200": _json({"type": "object"}, "A page; next_after pages on")},
                (400, *auth_errors),
                parameters=[
                    _query(
                        "status", {"enum": ["", *(str(s) for s in CampaignStatus)]}, "empty: any"
                    ),
                    _query("template", {"type": "string"}),
                    _query(
                        "limit", {"type": "integer", "minimum": 1, "maximum": MAX_CAMPAIGNS_PAGE}
                    ),
                    _query("after", {"type": "string"}, "next_after of the previous page"),
                ],
            ),
            "post": _op(
                "Create a campaign (validated whole before anything is stored)",
                members,
                {
                    "201": _json(_ref("Campaign"), "Created"),
                    "200": _json(_ref("Campaign"), "Replay of an Idempotency-Key"),
                },
                (400, *auth_errors, 409, 413, 415, 422),
                parameters=[
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
                        "description": "same key and body: the same campaign; "
                        "same key, other body: 409",
                    },
                    {
                        "name": "template",
                        "in": "query",
                        "schema": {"type": "string", "enum": sorted(topics)},
                        "description": "CSV bodies only",
                    },
                    {
                        "name": "name",
                        "in": "query",
                        "schema": CAMPAIGN_NAME.schema(),
                        "description": "CSV bodies only",
                    },
                    {
                        "name": "send_at",
                        "in": "query",
                        "schema": {"type": "string", "pattern": f"^$|{TIME_PATTERN}"},
                        "description": "CSV bodies only",
                    },
                ],
                requestBody={
                    "required": True,
                    "content": {
                        JSON: {"schema": _ref("CampaignRequest")},
                        "text/csv": {"schema": csv_campaign},
                    },
                },
            ),
        },
        "/v1/audit": {
            "get": _op(
                "Who did what and when (actor, action, object id, outcome; never content)",
                "admin",
                {"200": _json({"type": "object"}, "Entries oldest first; next_after pages on")},
                (400, *auth_errors),
                parameters=[
                    _query("since", {"type": "string", "pattern": f"^$|{TIME_PATTERN}"}),
                    _query("actor", {"type": "string"}, "a token id (tok_...) or cli"),
                    _query("action", {"type": "string"}, "e.g. campaign.pause"),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT_PAGE}),
                    _query(
                        "after",
                        {"type": "integer", "minimum": 0, "maximum": MAX_AFTER},
                        "next_after of the previous page",
                    ),
                ],
            ),
        },
        "/v1/campaigns/{campaign_id}": {
            "parameters": [_campaign_id()],
            "get": _op(
                "Campaign status and counts per state, language and format",
                readers,
                {"200": _json(_ref("Campaign"), "The campaign")},
                (*auth_errors, 404),
            ),
        },
        "/v1/campaigns/{campaign_id}/deliveries": {
            "parameters": [_campaign_id()],
            "get": _op(
                "Per-member delivery states, attempts and last error (no content)",
                readers,
                {"200": _json(_ref("DeliveryPage"), "One page, in delivery id order")},
                (400, *auth_errors, 404),
                parameters=[
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"type": "string", "enum": [s.value for s in State]},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_DELIVERIES_PAGE,
                        },
                    },
                    {
                        "name": "after",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_AFTER},
                    },
                ],
            ),
        },
        "/v1/campaigns/{campaign_id}/cancel": {
            "parameters": [_campaign_id()],
            "post": _op(
                "Cancel what has not been sent",
                members,
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "cancelled": {"type": "integer"},
                                "campaign": _ref("Campaign"),
                            },
                        },
                        "Cancelled",
                    )
                },
                (*auth_errors, 404),
            ),
        },
        **{
            f"/v1/campaigns/{{campaign_id}}/{action}": {
                "parameters": [_campaign_id()],
                "post": _op(
                    summary,
                    members,
                    {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    key: {"type": "integer"},
                                    "campaign": _ref("Campaign"),
                                },
                            },
                            "Done; the campaign as it is now",
                        )
                    },
                    (*auth_errors, 404, 409),
                ),
            }
            for action, key, summary in (
                ("pause", "parked", "Stop claiming its deliveries (in-flight ones finish)"),
                ("resume", "resumed", "Claim its deliveries again"),
                (
                    "release",
                    "released",
                    "Re-queue its held deliveries to be evaluated against the current settings",
                ),
            )
        },
        "/v1/previews": {
            "post": _op(
                "Render one template in one language and format (sample data by default)",
                readers,
                {"200": _json(_ref("Preview"), "The rendered message")},
                (400, *auth_errors, 413, 415, 422, 503),
                requestBody={
                    "required": True,
                    "content": {JSON: {"schema": _ref("PreviewRequest")}},
                },
            )
        },
        "/v1/openapi.json": {
            "get": _op(
                "This document",
                readers,
                {"200": {"description": "OpenAPI 3.1", "content": {JSON: {}}}},
                auth_errors,
            )
        },
        "/metrics": {
            "get": _op(
                "Prometheus metrics: deliveries by state, send latency, queue depth",
                readers,
                {
                    "200": {
                        "description": "Prometheus text format 0.0.4",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
                auth_errors,
                description=(
                    f"Roles: {readers}. Scrapers send a token too (Prometheus "
                    "`authorization: {type: Bearer, credentials_file: ...}`)."
                ),
            )
        },
        "/healthz": {
            "get": {
                "summary": "Liveness and store reachability",
                "description": "No token needed.",
                "security": [],
                "responses": {
                    "200": _json(_ref("Health"), "Up and the store answers"),
                    "503": _json(
                        _ref("Health"), "The store does not answer or the outbox is not writable"
                    ),
                },
            }
        },
        "/u/{token}": {
            "parameters": [
                {
                    "name": "token",
                    "in": "path",
                    "required": True,
                    "description": "The signed token of a message's List-Unsubscribe link",
                    "schema": {"type": "string", "pattern": "^[a-z2-7]{31}$"},
                }
            ],
            "get": {
                "summary": "The member's unsubscribe page (large print; no token needed)",
                "security": [],
                "responses": {
                    "200": {
                        "description": "A page with one button for the message's topic and "
                        "one for all outreach",
                        "content": {"text/html": {}},
                    },
                    "404": {"description": "Not a valid link", "content": {"text/html": {}}},
                },
            },
            "post": {
                "summary": "RFC 8058 one-click unsubscribe (no token needed)",
                "description": "Opts the member out of the message's topic (`scope=all`: of "
                "all outreach) and skips their waiting deliveries at once.",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "required": ["List-Unsubscribe"],
                                "properties": {
                                    "List-Unsubscribe": {"const": "One-Click"},
                                    "scope": {"enum": ["all"]},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "Unsubscribed"},
                    "400": {"description": "The body is not List-Unsubscribe=One-Click"},
                    "404": {"description": "Not a valid link"},
                },
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "commhub",
            "version": "1",
            "description": (
                "Accessibility and language-access communications hub. Every endpoint but "
                "/healthz needs `Authorization: Bearer <token>` (`commhub token create "
                "--role outreach|qa|admin`). Errors: "
                '`{"error": {"code", "message", "details": [...]}}`.'
            ),
            "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(templates),
            "responses": _error_responses(),
        },
    }


@functools.cache
def _encoded(templates: tuple[tuple[str, tuple[tuple[str, VarSpec], ...]], ...]) -> bytes:
    return json.dumps(build_document({t: dict(v) for t, v in templates})).encode()


@allow(Role.OUTREACH, Role.QA)
async def openapi_json(request: web.Request) -> web.Response:
    """The document for this server's templates (built once per set of templates)."""
    topics = request.app[DEPS].topics
    key = tuple((t.name, tuple(t.variables.items())) for t in topics.values())
    return web.Response(body=_encoded(key), content_type="application/json")
