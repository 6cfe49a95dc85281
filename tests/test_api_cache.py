"""Shared reads: concurrent status requests share one store read, answers are never older
than the request (unless a freshness window says so), finished campaigns and token roles
are reused, and everything the API says stays correct."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from commhub.api import cache
from commhub.api.cache import SharedReads, api_caches
from commhub.domain import DeliveryOutcome, Role, State
from tests.test_api_harness import REFILL_DATA, Api, ClientFactory, open_api


class Source:
    """A computation that counts its calls; each call returns the version it started at and
    waits on `gate` (open unless a test closes it)."""

    def __init__(self) -> None:
        self.calls = 0
        self.version = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False

    async def __call__(self) -> int:
        self.calls += 1
        seen = self.version
        await self.gate.wait()
        if self.fail:
            raise RuntimeError("store unreachable")
        return seen


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_callers_waiting_together_share_one_computation() -> None:
    reads: SharedReads[str, int] = SharedReads(lambda v, hot: 0.0)
    source = Source()
    source.gate.clear()
    first = asyncio.ensure_future(reads.get("c", source))
    await settle()
    # 50 callers arrive while the first computation runs: they share the next one.
    later = [asyncio.ensure_future(reads.get("c", source)) for _ in range(50)]
    await settle()
    assert source.calls == 1
    source.version = 1
    source.gate.set()
    assert await first == 0
    assert await asyncio.gather(*later) == [1] * 50
    assert source.calls == 2


async def test_an_answer_is_never_older_than_the_request_without_a_window() -> None:
    reads: SharedReads[str, int] = SharedReads(lambda v, hot: 0.0)
    source = Source()
    source.gate.clear()
    first = asyncio.ensure_future(reads.get("c", source))
    await settle()
    source.version = 7  # a worker records after the first read started
    second = asyncio.ensure_future(reads.get("c", source))
    await settle()
    source.gate.set()
    assert (await first, await second) == (0, 7)
    # Finished results are not reused either: the next caller reads again.
    source.version = 8
    assert await reads.get("c", source) == 8
    assert source.calls == 3


async def test_a_running_read_is_joined_within_the_window_and_reused_until_it_expires() -> None:
    clock = Clock()
    reads: SharedReads[str, int] = SharedReads(lambda v, hot: 1.0, join_within=1.0, clock=clock)
    source = Source()
    source.gate.clear()
    callers = [asyncio.ensure_future(reads.get("c", source)) for _ in range(20)]
    await settle()
    source.gate.set()
    assert await asyncio.gather(*callers) == [0] * 20
    assert source.calls == 1
    source.version = 1
    clock.now += 0.9
    assert await reads.get("c", source) == 0  # within the second it started in
    assert source.calls == 1
    clock.now += 0.2
    assert await reads.get("c", source) == 1  # expired: read again
    assert source.calls == 2
    assert await reads.get("other", source) == 1  # keys are separate
    assert source.calls == 3


async def test_the_window_can_depend_on_the_value() -> None:
    clock = Clock()
    reads: SharedReads[str, int] = SharedReads(lambda v, hot: 60.0 if v >= 5 else 0.0, clock=clock)
    source = Source()
    assert await reads.get("c", source) == 0
    assert await reads.get("c", source) == 0
    assert source.calls == 2  # a changing value is read every time
    source.version = 5
    assert await reads.get("c", source) == 5
    source.version = 6
    clock.now += 59
    assert await reads.get("c", source) == 5  # a final value is kept
    assert source.calls == 3
    reads.forget("c")
    assert await reads.get("c", source) == 6
    assert source.calls == 4


async def test_results_are_reused_only_while_a_key_is_polled_hard() -> None:
    clock = Clock()
    reads: SharedReads[str, int] = SharedReads(
        lambda v, hot: 0.25 if hot else 0.0,
        join_within=0.25,
        hot_after=3,
        hot_window=0.25,
        clock=clock,
    )
    source = Source()
    assert [await reads.get("c", source) for _ in range(2)] == [0, 0]
    assert source.calls == 2  # light use: every call reads
    source.version = 1
    assert await reads.get("c", source) == 0  # third call in the period: reuse
    assert source.calls == 2
    clock.now += 0.3  # a new period; the one before was hot, so reuse goes on
    assert await reads.get("c", source) == 1
    assert await reads.get("c", source) == 1
    assert source.calls == 3
    clock.now += 10  # quiet for a while: fresh reads again
    source.version = 2
    assert await reads.get("c", source) == 2
    source.version = 3
    assert await reads.get("c", source) == 3
    assert source.calls == 5


async def test_failures_reach_every_waiter_and_are_not_reused() -> None:
    reads: SharedReads[str, int] = SharedReads(lambda v, hot: 60.0, join_within=60.0)
    source = Source()
    source.gate.clear()
    source.fail = True
    callers = [asyncio.ensure_future(reads.get("c", source)) for _ in range(3)]
    await settle()
    source.gate.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert source.calls == 1
    source.fail = False
    assert await reads.get("c", source) == 0
    assert source.calls == 2


async def test_a_caller_that_goes_away_does_not_cancel_the_others() -> None:
    reads: SharedReads[str, int] = SharedReads(lambda v, hot: 0.0, join_within=60.0)
    source = Source()
    source.gate.clear()
    leaving = asyncio.ensure_future(reads.get("c", source))
    staying = asyncio.ensure_future(reads.get("c", source))
    await settle()
    leaving.cancel()
    await settle()
    source.gate.set()
    assert await staying == 0
    assert source.calls == 1


async def test_keys_are_bounded() -> None:
    reads: SharedReads[int, int] = SharedReads(lambda v, hot: 60.0, max_keys=10)
    source = Source()
    for key in range(25):
        await reads.get(key, source)
    assert len(reads) == 10


# -- through the API --------------------------------------------------------------------


@pytest.fixture
async def api(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(aiohttp_client, tmp_path, renderer=False) as running:
        yield running


def count_calls(
    api: Api, monkeypatch: pytest.MonkeyPatch, name: str, delay: float = 0.0
) -> list[str]:
    """Record each call of the store method `name` (by its first argument)."""
    calls: list[str] = []
    real: Callable[..., Awaitable[Any]] = getattr(api.store, name)

    async def counted(*args: Any) -> Any:
        calls.append(args[0])
        if delay:
            await asyncio.sleep(delay)
        return await real(*args)

    monkeypatch.setattr(api.store, name, counted)
    return calls


async def create(api: Api, count: int) -> str:
    ids = await api.add_members(count)
    body = {
        "template": "refill_reminder",
        "name": "December refills",
        "recipients": [{"member_id": m, "data": REFILL_DATA} for m in ids],
    }
    r = await api.client.post(
        "/v1/campaigns",
        data=io.BytesIO(json.dumps(body).encode()),
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert r.status == 201
    campaign_id: str = (await r.json())["id"]
    return campaign_id


async def status(api: Api, campaign_id: str) -> dict[str, Any]:
    r = await api.client.get(f"/v1/campaigns/{campaign_id}", headers=api.auth(Role.QA))
    assert r.status == 200
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    body: dict[str, Any] = await r.json()
    return body


async def finish(api: Api, state: State, limit: int = 1000) -> None:
    now = datetime.now(UTC)
    claimed = await api.store.claim("w1", limit, 60, now)
    await api.store.record("w1", [DeliveryOutcome(c.id, state) for c in claimed], now)


async def test_many_concurrent_status_requests_cost_a_few_count_queries(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await create(api, 30)
    # Each count takes 0.2 s, so the requests pile up behind the first one.
    calls = count_calls(api, monkeypatch, "campaign_counts", delay=0.2)
    bodies = await asyncio.gather(*(status(api, cid) for _ in range(100)))
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["counts"]["by_state"]["queued"] == 30
    assert 1 <= len(calls) <= 4, len(calls)


async def test_status_after_a_worker_round_is_current(api: Api) -> None:
    cid = await create(api, 6)
    assert (await status(api, cid))["counts"]["by_state"]["queued"] == 6
    await finish(api, State.SENT, limit=2)
    body = await status(api, cid)
    assert body["status"] == "sending"
    assert (body["counts"]["by_state"]["sent"], body["counts"]["by_state"]["queued"]) == (2, 4)


async def test_a_finished_campaign_is_correct_and_read_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await create(api, 5)
    await finish(api, State.SENT)
    calls = count_calls(api, monkeypatch, "campaign_counts")
    for _ in range(3):
        body = await status(api, cid)
        assert body["status"] == "done"
        assert body["total"] == 5
        assert body["counts"]["by_state"]["sent"] == 5
        assert body["counts"]["by_state"]["queued"] == 0
        assert body["counts"]["by_format"] == {"large_print_email": 5}
    assert calls == [cid]  # a done campaign no longer changes: kept


async def test_status_after_cancel_shows_it(api: Api) -> None:
    cid = await create(api, 3)
    # Polled hard, so its view may be reused: the cancel must drop it.
    bodies = await asyncio.gather(*(status(api, cid) for _ in range(cache.HOT_REQUESTS)))
    assert {b["status"] for b in bodies} == {"sending"}
    r = await api.client.post(f"/v1/campaigns/{cid}/cancel", headers=api.auth())
    assert r.status == 200
    body = await status(api, cid)
    assert body["status"] == "cancelled" and body["counts"]["by_state"]["cancelled"] == 3


async def test_unknown_campaign_stays_404(api: Api) -> None:
    for _ in range(2):
        r = await api.client.get("/v1/campaigns/cmp_nope", headers=api.auth())
        assert r.status == 404


async def test_a_known_token_is_looked_up_once_unknown_ones_every_time(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(api, monkeypatch, "token_for")
    for _ in range(3):
        r = await api.client.get("/v1/templates", headers=api.auth(Role.QA))
        assert r.status == 200
        r = await api.client.post("/v1/campaigns", headers=api.auth(Role.QA))
        assert r.status == 403  # the cached role is still checked per route
    assert len(calls) == 1
    unknown = {"Authorization": "Bearer " + "x" * 40}
    for _ in range(2):
        r = await api.client.get("/v1/templates", headers=unknown)
        assert r.status == 401
    assert len(calls) == 3
    assert len(api_caches(api.client.app).tokens) == 2
