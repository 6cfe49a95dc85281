"""Hostile and odd input at the API's intake: each is refused (or read) with a clear answer,
never a 500, and nothing is half stored.

Lone surrogates (a JSON `\\ud800` escape) in every text the API takes, C1 controls and
U+2028/2029 in names, CSV with bare CR line ends, over-long CSV fields and NDJSON lines,
`send_at` past the calendar's ends, opt-outs of unknown topics, the reserved member id.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from commhub.api.bodies import MAX_RECORD_CHARS
from tests.test_api_harness import MEMBER, REFILL_DATA, Api, ClientFactory, open_api

NDJSON = "application/x-ndjson"
LONE = "\\ud800"  # as written inside JSON text: a lone surrogate escape


@pytest.fixture
async def api(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(aiohttp_client, tmp_path) as running:
        yield running


async def send(api: Api, method: str, path: str, text: str, ctype: str) -> tuple[int, Any]:
    r = await api.client.request(
        method, path, data=io.BytesIO(text.encode()), headers=api.auth(**{"Content-Type": ctype})
    )
    return r.status, await r.json()


def fields(body: Any) -> list[str]:
    return [d["field"] for d in body["error"]["details"]]


def member_json(**fields: Any) -> str:
    return json.dumps({**MEMBER, **fields})


# -- lone surrogates -----------------------------------------------------------------------


async def test_lone_surrogate_in_a_member_name_is_a_422_naming_the_field(api: Api) -> None:
    body = member_json(given_name="AnaSURR").replace("SURR", LONE)
    status, out = await send(api, "PUT", "/v1/members/S1", body, "application/json")
    assert status == 422, out
    assert fields(out) == ["given_name"]
    assert "surrogate" in out["error"]["details"][0]["reason"]
    assert await api.store.get_member("S1") is None


async def test_lone_surrogate_in_an_import_row_names_line_and_field(api: Api) -> None:
    rows = [member_json(member_id=f"S{i}") for i in range(3)]
    rows[1] = member_json(member_id="S1", family_name="RiSURR").replace("SURR", LONE)
    status, out = await send(api, "POST", "/v1/members/import", "\n".join(rows), NDJSON)
    assert status == 422, out
    assert [(d["line"], d["field"]) for d in out["error"]["details"]] == [(2, "family_name")]
    assert await api.store.existing_member_ids(["S0", "S1", "S2"]) == set()


async def test_lone_surrogate_in_campaign_name_and_data_is_refused_at_intake(api: Api) -> None:
    ids = await api.add_members(1, "S")
    base = {"template": "refill_reminder", "name": "Refills"}
    recipients = [{"member_id": ids[0], "data": {**REFILL_DATA, "pharmacy_name": "Main SURR"}}]
    for body in (
        {**base, "name": "Dec SURR", "recipients": [{"member_id": ids[0], "data": REFILL_DATA}]},
        {**base, "recipients": recipients},
    ):
        text = json.dumps(body).replace("SURR", LONE)
        status, out = await send(api, "POST", "/v1/campaigns", text, "application/json")
        assert status == 422, out
        assert fields(out) in (["name"], ["recipients[0].data.pharmacy_name"])
    assert await api.store.existing_member_ids(ids) == set(ids)


async def test_lone_surrogate_in_preview_data_is_a_422(api: Api) -> None:
    body = {"template": "refill_reminder", "data": {**REFILL_DATA, "pharmacy_name": "Main SURR"}}
    text = json.dumps(body).replace("SURR", LONE)
    status, out = await send(api, "POST", "/v1/previews", text, "application/json")
    assert status == 422, out
    assert fields(out) == ["data.pharmacy_name"]


# -- names: C1 controls, line separators ----------------------------------------------------


@pytest.mark.parametrize("char", ["\x85", "\x9b", "\u2028", "\u2029", "\x7f"])
async def test_c1_controls_and_line_separators_in_names_are_refused(api: Api, char: str) -> None:
    status, out = await send(
        api, "PUT", "/v1/members/C1", member_json(family_name=f"Ri{char}vera"), "application/json"
    )
    assert status == 422, out
    assert fields(out) == ["family_name"]


async def test_a_bidi_override_in_a_name_is_kept(api: Api) -> None:
    """Right-to-left overrides are real text in some names; rendering isolates them."""
    status, out = await send(
        api, "PUT", "/v1/members/B1", member_json(given_name="\u202eAna"), "application/json"
    )
    assert status == 201, out
    assert out["given_name"] == "\u202eAna"


# -- CSV shapes ----------------------------------------------------------------------------

CSV_HEADER = "member_id,given_name,language,format,email"


async def test_csv_with_bare_cr_line_ends_is_read(api: Api) -> None:
    rows = [CSV_HEADER] + [f"R{i},Ana,es,large_print_email,r{i}@example.org" for i in range(3)]
    status, out = await send(api, "POST", "/v1/members/import", "\r".join(rows), "text/csv")
    assert (status, out) == (200, {"imported": 3})
    assert await api.store.existing_member_ids(["R0", "R1", "R2"]) == {"R0", "R1", "R2"}


async def test_csv_cells_of_spaces_are_absent_values(api: Api) -> None:
    text = f"{CSV_HEADER},family_name,phone\nW1,Ana,es,large_print_email,w1@example.org,  , \n"
    status, out = await send(api, "POST", "/v1/members/import", text, "text/csv")
    assert (status, out) == (200, {"imported": 1})
    stored = await api.store.get_member("W1")
    assert stored is not None and (stored.family_name, stored.phone) == ("", None)


async def test_csv_campaign_with_bare_cr_line_ends_is_read(api: Api) -> None:
    ids = await api.add_members(2, "K")
    rows = ["member_id,refill_date,pharmacy_name,refills_left"] + [
        f"{m},2026-12-03,Main Street Pharmacy,2" for m in ids
    ]
    r = await api.client.post(
        "/v1/campaigns?template=refill_reminder&name=CR",
        data="\r".join(rows).encode(),
        headers=api.auth(**{"Content-Type": "text/csv"}),
    )
    assert r.status == 201, await r.text()
    assert (await r.json())["total"] == 2


@pytest.mark.parametrize("quoted", [False, True])
async def test_a_csv_field_over_131072_characters_is_a_clear_413(api: Api, quoted: bool) -> None:
    huge = "A" * 140_000
    cell = f'"{huge}"' if quoted else huge
    text = f"{CSV_HEADER}\nH1,Ana,es,large_print_email,h1@example.org\nH2,{cell},es,x,y\n"
    status, out = await send(api, "POST", "/v1/members/import", text, "text/csv")
    assert status == 413, out
    assert out["error"]["details"][0]["line"] == 3
    assert str(MAX_RECORD_CHARS) in out["error"]["message"]
    assert await api.store.existing_member_ids(["H1"]) == set()


async def test_a_csv_campaign_field_over_131072_characters_is_a_clear_413(api: Api) -> None:
    ids = await api.add_members(1, "F")
    text = f"member_id,pharmacy_name\n{ids[0]},{'P' * 140_000}\n"
    r = await api.client.post(
        "/v1/campaigns?template=refill_reminder&name=Big",
        data=text.encode(),
        headers=api.auth(**{"Content-Type": "text/csv"}),
    )
    assert r.status == 413, await r.text()
    assert (await r.json())["error"]["details"][0]["line"] == 2


async def test_one_endless_ndjson_line_is_refused_early_and_healthz_answers_meanwhile(
    api: Api,
) -> None:
    """20 MB with no line break: a 413 naming line 1 and the limit, and the server keeps
    answering other requests while it reads."""
    piece = b'{"member_id": "L1", "given_name": "' + b"x" * (64 * 1024)
    chunks = 320  # ~20 MB

    async def body() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield piece
            await asyncio.sleep(0)

    async def post() -> tuple[int, Any]:
        r = await api.client.post(
            "/v1/members/import", data=body(), headers=api.auth(**{"Content-Type": NDJSON})
        )
        return r.status, await r.json()

    async def health() -> list[int]:
        statuses = []
        for _ in range(10):
            r = await api.client.get("/healthz", timeout=5)
            statuses.append(r.status)
        return statuses

    started = time.monotonic()
    (status, out), statuses = await asyncio.gather(post(), health())
    assert status == 413, out
    assert out["error"]["code"] == "line_too_long"
    assert out["error"]["details"][0]["line"] == 1
    assert f"{MAX_RECORD_CHARS} characters" in out["error"]["message"]
    assert statuses == [200] * 10
    assert time.monotonic() - started < 60  # completes (speed is in benchmarks/intake.py)


# -- campaign send_at, opt-outs, reserved ids -----------------------------------------------


@pytest.mark.parametrize("send_at", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
async def test_send_at_past_the_ends_of_the_calendar_is_a_422(api: Api, send_at: str) -> None:
    ids = await api.add_members(1, "T")
    body = {
        "template": "refill_reminder",
        "name": "Far",
        "send_at": send_at,
        "recipients": [{"member_id": ids[0], "data": REFILL_DATA}],
    }
    status, out = await send(api, "POST", "/v1/campaigns", json.dumps(body), "application/json")
    assert status == 422, out
    assert fields(out) == ["send_at"]


async def test_opting_out_of_an_unknown_topic_is_a_422_naming_the_known_ones(api: Api) -> None:
    text = member_json(opted_out=["refills"])
    status, out = await send(api, "PUT", "/v1/members/O1", text, "application/json")
    assert status == 422, out
    assert fields(out) == ["opted_out"]
    reason = out["error"]["details"][0]["reason"]
    assert "'refills'" in reason and "refill_reminder" in reason
    assert await api.store.get_member("O1") is None
    csv_text = f"{CSV_HEADER},opted_out\nO2,Ana,es,large_print_email,o2@example.org,refills\n"
    status, out = await send(api, "POST", "/v1/members/import", csv_text, "text/csv")
    assert status == 422, out
    assert [(d["line"], d["field"]) for d in out["error"]["details"]] == [(2, "opted_out")]


async def test_the_opt_out_list_is_bounded(api: Api) -> None:
    text = member_json(opted_out=["refill_reminder"] * 101)
    status, out = await send(api, "PUT", "/v1/members/O3", text, "application/json")
    assert status == 422, out
    assert "at most 100" in out["error"]["details"][0]["reason"]
    text = member_json(opted_out=["x" * 5_000_000])
    status, out = await send(api, "PUT", "/v1/members/O3", text, "application/json")
    assert status == 422, out
    assert len(json.dumps(out)) < 2000  # the reason quotes a short part of the bad topic
    text = member_json(opted_out=["refill_reminder", "refill_reminder"])
    status, out = await send(api, "PUT", "/v1/members/O3", text, "application/json")
    assert (status, out["opted_out"]) == (201, ["refill_reminder"])


async def test_put_on_the_import_route_is_405_and_stores_no_member(api: Api) -> None:
    status, out = await send(api, "PUT", "/v1/members/import", member_json(), "application/json")
    assert status == 405, out
    assert await api.store.get_member("import") is None
    row = member_json(member_id="import")
    status, out = await send(api, "POST", "/v1/members/import", row, NDJSON)
    assert status == 422 and fields(out) == ["member_id"], out


@pytest.mark.parametrize("field", ["given_name", "language", "format"])
async def test_empty_required_member_fields_are_refused(api: Api, field: str) -> None:
    status, out = await send(
        api, "PUT", "/v1/members/E1", member_json(**{field: ""}), "application/json"
    )
    assert status == 422 and fields(out) == [field], out
