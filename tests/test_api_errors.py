"""Bad requests get their own clear JSON error, never a 500; tokens and roles."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from commhub.domain import Role
from tests.test_api_harness import MEMBER, REFILL_DATA, Api, ClientFactory, open_api


@pytest.fixture
async def api(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(aiohttp_client, tmp_path, max_json_body_mb=0.25) as running:
        await running.add_members(2)
        yield running


async def test_no_token_is_401_with_a_challenge(api: Api) -> None:
    r = await api.client.get("/v1/templates")
    assert r.status == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    err = (await r.json())["error"]
    assert err["code"] == "unauthorized" and err["details"] == []


@pytest.mark.parametrize(
    "header",
    [
        "Bearer chub_not-a-real-token-at-all",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer a b c",
        "chub_xxxxxxxxxxxxxxxxxxxxxxxx",
        "Bearer " + "x" * 5000,
    ],
)
async def test_bad_tokens_are_401(api: Api, header: str) -> None:
    r = await api.client.get("/v1/templates", headers={"Authorization": header})
    assert r.status == 401
    assert "Bearer" in r.headers["WWW-Authenticate"]


ROLE_TABLE = [
    # method, path, outreach, qa
    ("GET", "/v1/members/M000000", 200, 403),
    ("PUT", "/v1/members/M000000", 200, 403),
    ("DELETE", "/v1/members/M000001", 204, 403),
    ("POST", "/v1/members/import", 422, 403),
    ("GET", "/v1/templates", 200, 200),
    ("POST", "/v1/campaigns", 201, 403),
    ("POST", "/v1/previews", 200, 200),
    ("GET", "/v1/openapi.json", 200, 200),
    ("GET", "/metrics", 200, 200),
]


@pytest.mark.parametrize(("method", "path", "outreach", "qa"), ROLE_TABLE)
async def test_roles(api: Api, method: str, path: str, outreach: int, qa: int) -> None:
    bodies: dict[str, Any] = {
        "/v1/members/M000000": {"json": MEMBER},
        "/v1/members/import": {"data": b"", "headers": {"Content-Type": "text/csv"}},
        "/v1/campaigns": {
            "json": {
                "template": "refill_reminder",
                "name": "n",
                "recipients": [{"member_id": "M000000", "data": REFILL_DATA}],
            }
        },
        "/v1/previews": {"json": {"template": "refill_reminder"}},
    }
    kwargs = bodies.get(path, {}) if method in ("PUT", "POST") else {}
    extra = kwargs.pop("headers", {})
    r = await api.client.request(method, path, headers=api.auth(Role.QA, **extra), **kwargs)
    assert r.status == qa
    if qa == 403:
        assert "qa role may not" in (await r.json())["error"]["message"]
    r = await api.client.request(method, path, headers=api.auth(Role.OUTREACH, **extra), **kwargs)
    assert r.status == outreach
    r = await api.client.request(method, path, headers=api.auth(Role.ADMIN, **extra), **kwargs)
    assert r.status < 300 or r.status == outreach


async def test_healthz_needs_no_token(api: Api) -> None:
    r = await api.client.get("/healthz")
    assert r.status == 200
    # The default settings deliver to the outbox, so its folder is checked too.
    assert await r.json() == {"status": "ok", "store": "ok", "outbox": "ok"}


async def test_healthz_reports_an_unreachable_store(api: Api) -> None:
    await api.store.close()
    r = await api.client.get("/healthz")
    assert r.status == 503
    assert (await r.json())["store"] == "unreachable"


async def test_unknown_path_and_method(api: Api) -> None:
    r = await api.client.get("/v1/nothing", headers=api.auth())
    assert r.status == 404
    assert (await r.json())["error"]["code"] == "not_found"
    r = await api.client.patch("/v1/templates", headers=api.auth())
    assert r.status == 405
    err = (await r.json())["error"]
    assert err["code"] == "method_not_allowed" and "GET" in err["message"]
    assert "GET" in r.headers["Allow"]


async def test_malformed_json_names_line_and_column(api: Api) -> None:
    body = b'{\n  "template": "refill_reminder",\n  "name": oops\n}'
    r = await api.client.post(
        "/v1/campaigns", data=body, headers=api.auth(**{"Content-Type": "application/json"})
    )
    assert r.status == 400
    err = (await r.json())["error"]
    assert err["code"] == "bad_request"
    assert err["details"][0]["line"] == 3 and err["details"][0]["column"] == 11
    assert "line 3 column 11" in err["message"]


async def test_json_body_over_the_limit_is_413(api: Api) -> None:
    big = {"template": "refill_reminder", "name": "x" * 400_000, "recipients": []}
    r = await api.client.post(
        "/v1/campaigns",
        data=io.BytesIO(json.dumps(big).encode()),
        headers=api.auth(**{"Content-Type": "application/json"}),
    )
    assert r.status == 413
    err = (await r.json())["error"]
    assert err["code"] == "body_too_large" and "262144 bytes" in err["message"]


async def test_json_body_over_the_limit_without_content_length_is_413(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}'

    r = await api.client.put(
        "/v1/members/M9", data=chunks(), headers=api.auth(**{"Content-Type": "application/json"})
    )
    assert r.status == 413


# Every one of these is a client mistake: a 4xx with the error shape, never a 500.
FUZZ: list[tuple[str, str, bytes, str, int]] = [
    ("PUT", "/v1/members/M1", b"", "application/json", 400),
    ("PUT", "/v1/members/M1", b"null", "application/json", 422),
    ("PUT", "/v1/members/M1", b"[]", "application/json", 422),
    ("PUT", "/v1/members/M1", b'"text"', "application/json", 422),
    ("PUT", "/v1/members/M1", b"{", "application/json", 400),
    ("PUT", "/v1/members/M1", b'{"given_name": NaN}', "application/json", 400),
    ("PUT", "/v1/members/M1", b"[" * 100_000, "application/json", 400),
    ("PUT", "/v1/members/M1", b'{"a": 1' + b"0" * 5000 + b"}", "application/json", 400),
    ("PUT", "/v1/members/M1", b"\xff\xfe{}", "application/json", 400),
    ("PUT", "/v1/members/M1", b"{}", "text/plain", 415),
    ("PUT", "/v1/members/M1", b"{}", "application/json; charset=latin-1", 415),
    ("PUT", "/v1/members/M1", b'{"given_name": 5, "language": ["es"]}', "application/json", 422),
    ("PUT", "/v1/members/M1", b'{"given_name": "A\\r\\nBcc: x"}', "application/json", 422),
    ("PUT", "/v1/members/" + "x" * 100, b"{}", "application/json", 422),
    (
        "PUT",
        "/v1/members/M1",
        json.dumps({**MEMBER, "opted_out": "maybe"}).encode(),
        "application/json",
        422,
    ),
    ("POST", "/v1/campaigns", b"{}", "application/json", 422),
    ("POST", "/v1/campaigns", b'{"recipients": {}}', "application/json", 422),
    (
        "POST",
        "/v1/campaigns",
        b'{"template": 5, "name": [], "recipients": [null]}',
        "application/json",
        422,
    ),
    (
        "POST",
        "/v1/campaigns",
        b'{"template": "refill_reminder", "name": "n", "recipients": [{"member_id": "M000000", "data": []}]}',
        "application/json",
        422,
    ),
    (
        "POST",
        "/v1/campaigns",
        b'{"template": "refill_reminder", "name": "n", "recipients": [{"member_id": 7}]}',
        "application/json",
        422,
    ),
    (
        "POST",
        "/v1/campaigns",
        b'{"template": "refill_reminder", "name": "n", "send_at": {}, "recipients": [{"member_id": "M000000"}]}',
        "application/json",
        422,
    ),
    ("POST", "/v1/campaigns", b"member_id\n", "text/csv", 422),
    (
        "POST",
        "/v1/campaigns?template=refill_reminder&name=x",
        b'member_id,refill_date\n"M000000,2026',
        "text/csv",
        400,
    ),
    ("POST", "/v1/campaigns?template=refill_reminder&name=x", b"\x00\x01\x02", "text/csv", 422),
    ("POST", "/v1/campaigns", b"<xml/>", "application/xml", 415),
    ("POST", "/v1/campaigns", b"{}", "", 415),
    ("POST", "/v1/members/import", b'"unclosed\n', "text/csv", 400),
    ("POST", "/v1/members/import", b"member_id\n\x00\n", "text/csv", 422),
    ("POST", "/v1/members/import", b"{}\n", "application/x-ndjson", 422),
    ("POST", "/v1/members/import", b'{"member_id": "M1"}\n', "application/x-ndjson", 422),
    (
        "POST",
        "/v1/previews",
        b'{"template": "refill_reminder", "language": "xx"}',
        "application/json",
        422,
    ),
    (
        "POST",
        "/v1/previews",
        b'{"template": "refill_reminder", "format": "fax"}',
        "application/json",
        422,
    ),
    ("POST", "/v1/previews", b'{"template": "nope"}', "application/json", 422),
    (
        "POST",
        "/v1/previews",
        b'{"template": "refill_reminder", "data": {"refills_left": -1}}',
        "application/json",
        422,
    ),
    (
        "POST",
        "/v1/previews",
        b'{"template": "refill_reminder", "format": 3}',
        "application/json",
        422,
    ),
    ("POST", "/v1/previews", b"[]", "application/json", 422),
    ("POST", "/v1/campaigns/cmp_x/cancel", b"", "", 404),
]


@pytest.mark.parametrize(("method", "path", "body", "ctype", "status"), FUZZ)
async def test_bad_bodies_get_their_own_clear_error(
    api: Api, method: str, path: str, body: bytes, ctype: str, status: int
) -> None:
    headers = api.auth(Role.ADMIN)
    if ctype:
        headers["Content-Type"] = ctype
    r = await api.client.request(method, path, data=body, headers=headers)
    assert r.status == status, await r.text()
    assert r.content_type == "application/json"
    err = (await r.json())["error"]
    assert set(err) >= {"code", "message", "details"} and err["message"]


async def test_an_unexpected_failure_is_a_500_with_an_id_and_no_detail(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(member_id: str) -> None:
        raise RuntimeError("boom with Alex Rivera's address")

    api.store.get_member = broken  # type: ignore[method-assign]
    r = await api.client.get("/v1/members/M000000", headers=api.auth())
    assert r.status == 500
    err = (await r.json())["error"]
    assert err["code"] == "internal" and "error id" in err["message"]
    assert "Alex" not in err["message"]
    assert "Alex" not in caplog.text and "RuntimeError" in caplog.text
