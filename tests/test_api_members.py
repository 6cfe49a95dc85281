"""Members over HTTP: PUT/GET/DELETE and the all-or-nothing CSV/NDJSON import."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from commhub.domain import Role
from tests.test_api_harness import MEMBER, Api, ClientFactory, open_api


@pytest.fixture
async def api(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(aiohttp_client, tmp_path) as running:
        yield running


async def test_put_creates_then_replaces_and_get_reads_it(api: Api) -> None:
    r = await api.client.put("/v1/members/M1", json=MEMBER, headers=api.auth())
    assert r.status == 201
    assert (await r.json())["member_id"] == "M1"
    r = await api.client.put(
        "/v1/members/M1", json={**MEMBER, "language": "vi"}, headers=api.auth()
    )
    assert r.status == 200
    r = await api.client.get("/v1/members/M1", headers=api.auth())
    assert r.status == 200
    body = await r.json()
    assert body["language"] == "vi"
    assert body["email"] == "alex@example.org"
    assert body["opted_out"] is False


async def test_put_invalid_member_names_every_field_and_stores_nothing(api: Api) -> None:
    bad = {**MEMBER, "language": "xx", "format": "fax", "timezone": "Mars/Base", "shoe": 9}
    r = await api.client.put("/v1/members/M1", json=bad, headers=api.auth())
    assert r.status == 422
    err = (await r.json())["error"]
    assert err["code"] == "invalid"
    fields = {d["field"] for d in err["details"]}
    assert {"language", "format", "timezone", "shoe"} <= fields
    assert await api.store.get_member("M1") is None


async def test_put_rejects_a_member_id_that_disagrees_with_the_url(api: Api) -> None:
    r = await api.client.put(
        "/v1/members/M1", json={**MEMBER, "member_id": "M2"}, headers=api.auth()
    )
    assert r.status == 422
    assert [d["field"] for d in (await r.json())["error"]["details"]] == ["member_id"]


async def test_get_unknown_member_is_404(api: Api) -> None:
    r = await api.client.get("/v1/members/nobody", headers=api.auth())
    assert r.status == 404
    assert (await r.json())["error"]["code"] == "not_found"


async def test_delete_erases_the_member(api: Api) -> None:
    await api.client.put("/v1/members/M1", json=MEMBER, headers=api.auth())
    r = await api.client.delete("/v1/members/M1", headers=api.auth())
    assert r.status == 204
    assert (await api.client.get("/v1/members/M1", headers=api.auth())).status == 404
    # Erasing again is harmless (idempotent); an id never stored is a 404.
    assert (await api.client.delete("/v1/members/M1", headers=api.auth())).status == 204
    assert (await api.client.delete("/v1/members/never", headers=api.auth())).status == 404


async def test_qa_may_not_read_or_write_members(api: Api) -> None:
    r = await api.client.get("/v1/members/M1", headers=api.auth(Role.QA))
    assert r.status == 403
    assert (await r.json())["error"]["code"] == "forbidden"
    r = await api.client.put("/v1/members/M1", json=MEMBER, headers=api.auth(Role.QA))
    assert r.status == 403
    r = await api.client.put("/v1/members/M1", json=MEMBER, headers=api.auth(Role.ADMIN))
    assert r.status == 201


# -- import -------------------------------------------------------------------------------

CSV_HEADER = "member_id,given_name,family_name,language,format,email,timezone,opted_out\n"


def csv_row(mid: str, lang: str = "es", email: str | None = None, opted: str = "") -> str:
    email = email if email is not None else f"{mid.lower()}@example.org"
    return f"{mid},Alex,Rivera,{lang},large_print_email,{email},America/New_York,{opted}\n"


async def post_import(api: Api, body: str, ctype: str) -> tuple[int, dict[str, object]]:
    r = await api.client.post(
        "/v1/members/import",
        data=body.encode(),
        headers=api.auth(**{"Content-Type": ctype}),
    )
    return r.status, await r.json()


async def test_csv_import_stores_every_row(api: Api) -> None:
    rows = [csv_row(f"C{i}") for i in range(50)]
    rows[3] = csv_row("C3", opted="refill_reminder;coverage_change")
    rows[4] = '"C4","Ana, María","O""Brien",es,large_print_email,c4@example.org,UTC,yes\n'
    status, body = await post_import(api, CSV_HEADER + "".join(rows), "text/csv")
    assert status == 200, body
    assert body == {"imported": 50}
    assert await api.store.existing_member_ids([f"C{i}" for i in range(50)]) == {
        f"C{i}" for i in range(50)
    }
    m3 = await api.store.get_member("C3")
    assert m3 is not None and m3.opted_out == ("coverage_change", "refill_reminder")
    m4 = await api.store.get_member("C4")
    assert m4 is not None
    assert (m4.given_name, m4.family_name, m4.opted_out) == ("Ana, María", 'O"Brien', True)


async def test_csv_import_with_bad_rows_stores_nothing_and_names_line_and_field(
    api: Api,
) -> None:
    rows = [csv_row(f"C{i}") for i in range(20)]
    rows[6] = csv_row("C6", lang="klingon")  # line 8 (header is line 1)
    rows[14] = csv_row("C14", email="not-an-address")  # line 16
    status, body = await post_import(api, CSV_HEADER + "".join(rows), "text/csv")
    assert status == 422
    err = body["error"]
    assert isinstance(err, dict)
    got = [(d["line"], d["field"]) for d in err["details"]]
    assert got == [(8, "language"), (16, "email")]
    assert err["problem_count"] == 2
    assert await api.store.existing_member_ids([f"C{i}" for i in range(20)]) == set()


async def test_csv_quoted_line_break_keeps_later_line_numbers_right(api: Api) -> None:
    body = (
        CSV_HEADER
        + '"Q1","Ana\nMaria",Rivera,es,large_print_email,q1@example.org,UTC,\n'  # lines 2-3
        + csv_row("Q2", lang="zz")  # line 4
    )
    status, out = await post_import(api, body, "text/csv")
    assert status == 422
    details = out["error"]["details"]  # type: ignore[index]
    # The line break inside the quoted name is refused for the name, on the line it starts.
    assert {(d["line"], d["field"]) for d in details} == {(2, "given_name"), (4, "language")}


async def test_csv_import_rejects_unknown_columns_and_missing_member_id(api: Api) -> None:
    status, body = await post_import(api, "name,language\nAlex,es\n", "text/csv")
    assert status == 422
    fields = {(d["line"], d["field"]) for d in body["error"]["details"]}  # type: ignore[index]
    assert fields == {(1, "name"), (1, "member_id")}


async def test_csv_row_with_wrong_field_count(api: Api) -> None:
    status, body = await post_import(api, CSV_HEADER + "C1,Alex\n", "text/csv")
    assert status == 422
    assert body["error"]["details"] == [  # type: ignore[index]
        {"field": "row", "reason": "has 2 fields; the header has 8", "line": 2}
    ]


async def test_ndjson_import_all_or_nothing(api: Api) -> None:
    lines = [json.dumps({**MEMBER, "member_id": f"N{i}"}) for i in range(10)]
    status, body = await post_import(api, "\n".join(lines) + "\n", "application/x-ndjson")
    assert (status, body) == (200, {"imported": 10})
    lines = [json.dumps({**MEMBER, "member_id": f"P{i}"}) for i in range(10)]
    lines[2] = '{"member_id": "P2", "given_name": '  # malformed JSON on line 3
    lines[5] = json.dumps({**MEMBER, "member_id": "P5", "format": "carrier_pigeon"})
    lines[7] = "[1, 2]"
    status, body = await post_import(api, "\n".join(lines), "application/x-ndjson")
    assert status == 422
    got = [(d["line"], d["field"]) for d in body["error"]["details"]]  # type: ignore[index]
    assert got == [(3, "line"), (6, "format"), (8, "line")]
    assert await api.store.existing_member_ids([f"P{i}" for i in range(10)]) == set()


async def test_import_of_nothing_and_wrong_content_type(api: Api) -> None:
    status, body = await post_import(api, CSV_HEADER, "text/csv")
    assert status == 422
    status, body = await post_import(api, "", "application/x-ndjson")
    assert status == 422
    status, body = await post_import(api, CSV_HEADER, "application/json")
    assert status == 415
    assert body["error"]["code"] == "unsupported_media_type"  # type: ignore[index]


async def test_import_not_utf8_is_400(api: Api) -> None:
    r = await api.client.post(
        "/v1/members/import",
        data=CSV_HEADER.encode() + "C1,Jos\xe9".encode("latin-1") + b"\n",
        headers=api.auth(**{"Content-Type": "text/csv"}),
    )
    assert r.status == 400
    assert "UTF-8" in (await r.json())["error"]["message"]


async def test_import_caps_the_problem_list_but_counts_all(api: Api) -> None:
    rows = "".join(csv_row(f"B{i}", lang="zz") for i in range(1500))
    status, body = await post_import(api, CSV_HEADER + rows, "text/csv")
    assert status == 422
    err = body["error"]
    assert isinstance(err, dict)
    assert len(err["details"]) == 1000
    assert err["problem_count"] == 1500
    assert "1500 problems" in err["message"]


async def test_import_larger_than_the_limit_is_413(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    async with open_api(aiohttp_client, tmp_path, max_body_mb=0.05) as api:
        rows = "".join(csv_row(f"L{i}") for i in range(2000))  # ~150 kB
        status, body = await post_import(api, CSV_HEADER + rows, "text/csv")
        assert status == 413
        assert body["error"]["code"] == "body_too_large"  # type: ignore[index]
        assert await api.store.existing_member_ids(["L0"]) == set()


async def test_import_repeated_member_keeps_the_last_row(api: Api) -> None:
    body = CSV_HEADER + csv_row("R1", lang="es") + csv_row("R1", lang="vi")
    status, _ = await post_import(api, body, "text/csv")
    assert status == 200
    member = await api.store.get_member("R1")
    assert member is not None and member.language == "vi"
