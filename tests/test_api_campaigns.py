"""Campaigns over HTTP: creation from JSON and CSV, validation of every recipient,
idempotency, status and counts, deliveries, cancel."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from commhub.domain import Role
from tests.test_api_harness import REFILL_DATA, Api, ClientFactory, open_api


@pytest.fixture
async def api(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(aiohttp_client, tmp_path) as running:
        yield running


def campaign(ids: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "template": "refill_reminder",
        "name": "December refills",
        "recipients": [{"member_id": m, "data": REFILL_DATA} for m in ids],
        **extra,
    }


async def post(api: Api, body: Any, role: Role = Role.OUTREACH, **headers: str) -> Any:
    # A BytesIO body: aiohttp warns about (and the suite errors on) large raw bytes bodies.
    data = io.BytesIO(json.dumps(body).encode())
    ctype = {"Content-Type": "application/json"}
    r = await api.client.post(
        "/v1/campaigns", data=data, headers=api.auth(role, **ctype, **headers)
    )
    return r.status, await r.json()


async def test_create_reports_counts_per_state_language_and_format(api: Api) -> None:
    es = await api.add_members(3, "E")
    vi = await api.add_members(2, "V", language="vi", format="relay_text")
    status, body = await post(api, campaign(es + vi))
    assert status == 201, body
    assert body["id"] and body["status"] == "sending" and body["total"] == 5
    counts = body["counts"]
    assert counts["by_state"]["queued"] == 5
    assert counts["by_language"] == {"es": 3, "vi": 2}
    assert counts["by_format"] == {"large_print_email": 3, "relay_text": 2}
    r = await api.client.get(f"/v1/campaigns/{body['id']}", headers=api.auth(Role.QA))
    assert r.status == 200
    again = await r.json()
    assert again["counts"] == counts and again["template"] == "refill_reminder"


async def test_data_is_stored_in_json_form_for_the_worker(api: Api) -> None:
    ids = await api.add_members(1)
    data = {"refill_date": " 2026-12-03 ", "pharmacy_name": "  Corner Pharmacy ", "refills_left": 0}
    status, _ = await post(
        api, {**campaign(ids), "recipients": [{"member_id": ids[0], "data": data}]}
    )
    assert status == 201
    claimed = await api.store.claim("t", 10, 60, datetime.now(UTC))
    assert [c.data for c in claimed] == [
        {"refill_date": "2026-12-03", "pharmacy_name": "Corner Pharmacy", "refills_left": 0}
    ]


async def test_send_at_is_kept_and_the_campaign_is_scheduled(api: Api) -> None:
    ids = await api.add_members(1)
    status, body = await post(api, campaign(ids, send_at="2099-01-02T03:04:05-08:00"))
    assert status == 201
    assert body["send_at"] == "2099-01-02T11:04:05Z"
    assert body["status"] == "scheduled"


@pytest.mark.parametrize(
    "send_at", ["2099-01-02T03:04:05", "tomorrow", "2099-01-02", 12, "2099-13-02T03:04:05Z"]
)
async def test_send_at_must_be_rfc3339_with_a_zone(api: Api, send_at: Any) -> None:
    ids = await api.add_members(1)
    status, body = await post(api, campaign(ids, send_at=send_at))
    assert status == 422
    assert [d["field"] for d in body["error"]["details"]] == ["send_at"]


async def test_one_bad_recipient_among_10000_rejects_the_whole_campaign(api: Api) -> None:
    ids = await api.add_members(10_000)
    body = campaign(ids)
    body["recipients"][7321]["data"] = {**REFILL_DATA, "refill_date": "03/12/2026"}
    status, out = await post(api, body)
    assert status == 422
    assert out["error"]["details"] == [
        {
            "field": "recipients[7321].data.refill_date",
            "reason": "must be a date like 2026-12-03",
            "index": 7321,
        }
    ]
    assert await api.store.queue_depth(datetime.now(UTC)) == 0


async def test_a_date_that_does_not_exist_is_refused_saying_what_is_wrong(api: Api) -> None:
    """A date of the right shape that is not on the calendar (29 February in a common year,
    31 April, year 0) is refused with a reason that says which part is wrong."""
    ids = await api.add_members(4)
    body = campaign(ids)
    for i, day in enumerate(["2027-02-29", "2026-04-31", "0000-01-01"]):
        body["recipients"][i]["data"] = {**REFILL_DATA, "refill_date": day}
    status, out = await post(api, body)
    assert status == 422
    assert [d["reason"] for d in out["error"]["details"]] == [
        "must be a date that exists: 2027-02 has days 01 to 28",
        "must be a date that exists: 2026-04 has days 01 to 30",
        "must be a date like 2026-12-03 (the year is 0001 or later)",
    ]
    assert await api.store.queue_depth(datetime.now(UTC)) == 0
    body["recipients"][0]["data"] = {**REFILL_DATA, "refill_date": "2028-02-29"}  # leap year
    body["recipients"][1:3] = []
    status, out = await post(api, body)
    assert status == 201, out


async def test_every_kind_of_recipient_problem_is_listed(api: Api) -> None:
    ids = await api.add_members(4)
    body = campaign(ids)
    body["recipients"] += [
        {"member_id": "GHOST", "data": REFILL_DATA},  # 4: unknown member
        {"member_id": ids[1], "data": REFILL_DATA},  # 5: listed twice
        {"member_id": "bad id!", "data": REFILL_DATA},  # 6: malformed id
        "not an object",  # 7
        {"member_id": ids[2] + "x", "data": {"refill_date": "2026-12-03"}, "extra": 1},  # 8
    ]
    body["recipients"][3]["data"] = {**REFILL_DATA, "refills_left": "two", "color": "red"}
    status, out = await post(api, body)
    assert status == 422
    got = {(d.get("index"), d["field"]) for d in out["error"]["details"]}
    assert got == {
        (3, "recipients[3].data.refills_left"),
        (3, "recipients[3].data.color"),
        (4, "recipients[4].member_id"),
        (5, "recipients[5].member_id"),
        (6, "recipients[6].member_id"),
        (7, "recipients[7]"),
        (8, "recipients[8].extra"),
        (8, "recipients[8].data.pharmacy_name"),
        (8, "recipients[8].data.refills_left"),
        (8, "recipients[8].member_id"),
    }
    reasons = {d["field"]: d["reason"] for d in out["error"]["details"]}
    assert "unknown member" in reasons["recipients[4].member_id"]
    assert "more than once" in reasons["recipients[5].member_id"]


async def test_unknown_template_and_missing_fields(api: Api) -> None:
    status, out = await post(api, {"template": "spam", "recipients": []})
    assert status == 422
    fields = [d["field"] for d in out["error"]["details"]]
    assert fields == ["template", "name", "recipients"]
    assert "refill_reminder" in out["error"]["details"][0]["reason"]


async def test_a_json_list_instead_of_an_object(api: Api) -> None:
    status, out = await post(api, [1, 2])
    assert status == 422
    assert out["error"]["details"] == [{"field": "body", "reason": "must be a JSON object"}]


async def test_idempotency_key_replay_and_conflict(api: Api) -> None:
    ids = await api.add_members(3)
    first = await post(api, campaign(ids), **{"Idempotency-Key": "dec-refills-1"})
    again = await post(api, campaign(ids), **{"Idempotency-Key": "dec-refills-1"})
    assert first[0] == 201 and again[0] == 200
    assert again[1]["id"] == first[1]["id"]
    assert again[1]["total"] == 3
    other = await post(api, campaign(ids[:2]), **{"Idempotency-Key": "dec-refills-1"})
    assert other[0] == 409
    assert other[1]["error"]["code"] == "conflict"
    fresh = await post(api, campaign(ids), **{"Idempotency-Key": "dec-refills-2"})
    assert fresh[0] == 201 and fresh[1]["id"] != first[1]["id"]
    bad = await post(api, campaign(ids), **{"Idempotency-Key": "x" * 300})
    assert bad[0] == 400


async def test_without_a_key_each_post_makes_a_campaign(api: Api) -> None:
    ids = await api.add_members(1)
    a = await post(api, campaign(ids))
    b = await post(api, campaign(ids))
    assert a[0] == b[0] == 201 and a[1]["id"] != b[1]["id"]


def csv_body(ids: list[str]) -> str:
    rows = [f"{m},2026-12-03,Main Street Pharmacy,2" for m in ids]
    return "member_id,refill_date,pharmacy_name,refills_left\n" + "\n".join(rows) + "\n"


async def post_csv(api: Api, body: str, query: str, **headers: str) -> Any:
    r = await api.client.post(
        f"/v1/campaigns?{query}",
        data=body.encode(),
        headers=api.auth(**{"Content-Type": "text/csv", **headers}),
    )
    return r.status, await r.json()


async def test_csv_campaign(api: Api) -> None:
    ids = await api.add_members(5)
    status, out = await post_csv(
        api,
        csv_body(ids),
        "template=refill_reminder&name=CSV%20refills",
        **{"Idempotency-Key": "k"},
    )
    assert status == 201, out
    assert out["total"] == 5 and out["name"] == "CSV refills"
    again = await post_csv(
        api,
        csv_body(ids),
        "template=refill_reminder&name=CSV%20refills",
        **{"Idempotency-Key": "k"},
    )
    assert again[0] == 200 and again[1]["id"] == out["id"]
    renamed = await post_csv(
        api, csv_body(ids), "template=refill_reminder&name=Other", **{"Idempotency-Key": "k"}
    )
    assert renamed[0] == 409


async def test_csv_campaign_problems_name_line_and_column(api: Api) -> None:
    ids = await api.add_members(5)
    body = csv_body(ids).replace(f"{ids[2]},2026-12-03", f"{ids[2]},someday")
    body += "GHOST,2026-12-03,Main Street Pharmacy,2\n"
    body += f"{ids[0]},2026-12-03,Main Street Pharmacy,2\n"
    body += f"{ids[1]},2026-12-03,Main Street Pharmacy\n"
    status, out = await post_csv(api, body, "template=refill_reminder&name=x")
    assert status == 422
    got = [(d["line"], d["field"]) for d in out["error"]["details"]]
    assert got == [(4, "refill_date"), (7, "member_id"), (8, "member_id"), (9, "row")]


async def test_csv_campaign_header_and_query_problems(api: Api) -> None:
    ids = await api.add_members(1)
    body = f"member_id,refill_date,shoe_size\n{ids[0]},2026-12-03,9\n"
    status, out = await post_csv(api, body, "template=refill_reminder")
    assert status == 422
    got = {(d.get("line"), d["field"]) for d in out["error"]["details"]}
    assert got == {(None, "name"), (1, "shoe_size")}
    status, out = await post_csv(api, csv_body(ids), "name=x")
    assert status == 422
    assert [d["field"] for d in out["error"]["details"]] == ["template"]
    status, out = await post_csv(api, "", "template=refill_reminder&name=x")
    assert status == 422


async def test_deliveries_list_pages_and_filters(api: Api) -> None:
    ids = await api.add_members(5)
    _, created = await post(api, campaign(ids))
    cid = created["id"]
    r = await api.client.get(f"/v1/campaigns/{cid}/deliveries?limit=2", headers=api.auth(Role.QA))
    assert r.status == 200
    page = await r.json()
    assert [d["member_id"] for d in page["deliveries"]] == ids[:2]
    first = page["deliveries"][0]
    assert first["state"] == "queued" and first["attempts"] == 0
    assert set(first) == {
        "id", "member_id", "state", "attempts", "last_error", "language", "format",
        "language_fallback", "message_id", "updated_at",
    }  # fmt: skip
    seen = [d["member_id"] for d in page["deliveries"]]
    while page["next_after"] is not None:
        r = await api.client.get(
            f"/v1/campaigns/{cid}/deliveries?limit=2&after={page['next_after']}",
            headers=api.auth(),
        )
        page = await r.json()
        seen += [d["member_id"] for d in page["deliveries"]]
    assert seen == ids
    r = await api.client.get(f"/v1/campaigns/{cid}/deliveries?state=sent", headers=api.auth())
    assert (await r.json())["deliveries"] == []
    for query in ("state=lost", "limit=0", "limit=5000", "after=-1", "limit=abc"):
        r = await api.client.get(f"/v1/campaigns/{cid}/deliveries?{query}", headers=api.auth())
        assert r.status == 400, query
    r = await api.client.get("/v1/campaigns/cmp_nope/deliveries", headers=api.auth())
    assert r.status == 404


async def test_cancel(api: Api) -> None:
    ids = await api.add_members(4)
    _, created = await post(api, campaign(ids))
    cid = created["id"]
    r = await api.client.post(f"/v1/campaigns/{cid}/cancel", headers=api.auth(Role.QA))
    assert r.status == 403
    r = await api.client.post(f"/v1/campaigns/{cid}/cancel", headers=api.auth())
    assert r.status == 200
    out = await r.json()
    assert out["cancelled"] == 4
    assert out["campaign"]["status"] == "cancelled"
    assert out["campaign"]["counts"]["by_state"]["cancelled"] == 4
    r = await api.client.post(f"/v1/campaigns/{cid}/cancel", headers=api.auth())
    assert (await r.json())["cancelled"] == 0
    r = await api.client.post("/v1/campaigns/cmp_nope/cancel", headers=api.auth())
    assert r.status == 404


async def test_unknown_campaign_is_404(api: Api) -> None:
    r = await api.client.get("/v1/campaigns/cmp_nope", headers=api.auth())
    assert r.status == 404


async def test_qa_cannot_create_campaigns(api: Api) -> None:
    ids = await api.add_members(1)
    status, _ = await post(api, campaign(ids), role=Role.QA)
    assert status == 403


async def test_store_side_json_body_matches_what_was_posted(api: Api) -> None:
    # The same bytes again are a replay (tests/test_api_idempotency.py: reformatted ones too).
    ids = await api.add_members(2)
    raw = json.dumps(campaign(ids)).encode()
    headers = api.auth(**{"Content-Type": "application/json", "Idempotency-Key": "raw"})
    a = await api.client.post("/v1/campaigns", data=raw, headers=headers)
    b = await api.client.post("/v1/campaigns", data=raw, headers=headers)
    assert (a.status, b.status) == (201, 200)


async def test_concurrent_requests_with_one_key_make_one_campaign(api: Api) -> None:
    ids = await api.add_members(200)
    results = await asyncio.gather(
        *(post(api, campaign(ids), **{"Idempotency-Key": "race"}) for _ in range(5))
    )
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201, 409}
    made = {out["id"] for s, out in results if s in (200, 201)}
    assert len(made) == 1
    assert await api.store.queue_depth(datetime.now(UTC)) == 200
