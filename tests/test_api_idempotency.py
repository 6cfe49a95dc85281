"""Idempotency-Key on POST /v1/campaigns, on SQLite and PostgreSQL: keys belong to the
token that sent them, and a replay is recognised by what it asks for, not by its bytes."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from commhub.domain import Role
from commhub.tokens import create_token
from tests.store_fixtures import store_url  # noqa: F401  (fixture: SQLite and PostgreSQL)
from tests.test_api_harness import REFILL_DATA, Api, ClientFactory, open_api


@pytest.fixture
async def api(
    aiohttp_client: ClientFactory,
    tmp_path: Path,
    store_url: str,  # noqa: F811
) -> AsyncIterator[Api]:
    async with open_api(aiohttp_client, tmp_path, database_url=store_url) as running:
        yield running


async def post(api: Api, text: str, token: str, key: str) -> tuple[int, Any]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    r = await api.client.post("/v1/campaigns", data=io.BytesIO(text.encode()), headers=headers)
    return r.status, await r.json()


def body(ids: list[str], name: str = "December refills") -> dict[str, Any]:
    return {
        "template": "refill_reminder",
        "name": name,
        "recipients": [{"member_id": m, "data": REFILL_DATA} for m in ids],
    }


async def test_the_same_key_from_another_token_is_another_campaign(api: Api) -> None:
    ids = await api.add_members(2)
    other = await create_token(api.store, Role.OUTREACH, "second outreach tool")
    mine = api.tokens[Role.OUTREACH]
    text = json.dumps(body(ids))
    a = await post(api, text, mine, "dec-1")
    b = await post(api, text, other, "dec-1")
    assert (a[0], b[0]) == (201, 201), (a, b)
    assert a[1]["id"] != b[1]["id"]
    # Each token's replay still finds its own campaign.
    assert (await post(api, text, other, "dec-1"))[1]["id"] == b[1]["id"]
    assert (await post(api, text, mine, "dec-1"))[1]["id"] == a[1]["id"]
    # Another token's key with another body is not a conflict for this one.
    assert (await post(api, json.dumps(body(ids[:1])), other, "dec-2"))[0] == 201
    assert (await post(api, text, mine, "dec-2"))[0] == 201


async def test_a_reformatted_body_is_a_replay_and_a_changed_one_a_conflict(api: Api) -> None:
    ids = await api.add_members(2)
    token = api.tokens[Role.OUTREACH]
    first = await post(api, json.dumps(body(ids)), token, "k")
    assert first[0] == 201, first
    reordered = {k: body(ids)[k] for k in ("recipients", "name", "template")}
    for text in (
        json.dumps(body(ids), indent=4),
        json.dumps(reordered, separators=(",", ":")),
        json.dumps(body(ids), ensure_ascii=False) + "\n\n",
    ):
        again = await post(api, text, token, "k")
        assert again[0] == 200 and again[1]["id"] == first[1]["id"], again
    for changed in (body(ids, name="Other"), body(ids[:1]), body(list(reversed(ids)))):
        status, out = await post(api, json.dumps(changed), token, "k")
        assert status == 409 and out["error"]["code"] == "conflict", out
