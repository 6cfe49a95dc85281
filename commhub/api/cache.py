"""Shared reads for hot GET endpoints: one store query serves every request waiting for it.

`SharedReads.get(key, compute)` runs `compute` once for all callers of the same key that
arrive while it runs ("single flight"), and may hand a finished result to later callers for a
short freshness window (e.g. only while a key is polled hard). A caller is only ever given a result whose computation *started*
at or after `arrival - freshness`; with a freshness of 0 every answer was computed after
the request arrived, so the API stays exactly as truthful as without the cache: a caller
that arrives while an older computation runs waits for the next one, which starts when the
running one ends and serves everyone who arrived meanwhile (at most one computation per
key runs at a time).

Why: `GET /v1/campaigns/{id}` counts 20,000 deliveries per call; 200 clients polling one
sending campaign made the server run that GROUP BY 100 times a second (83% of its time, and
on SQLite it held the store thread the workers need). Shared, it runs about once per query
time however many clients poll.

`api_caches(app)` gives the caches of one application (`app[CACHES]`, made by `create_app`):
campaign views and tokens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

from aiohttp import web

from commhub.domain import TokenInfo

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# How long a sending campaign's status may be reused, and only while the campaign is polled
# hard (HOT_REQUESTS within such a window): then nobody can tell a 0.25 s old answer from a
# new one, and the count query runs ~4 times a second instead of back to back. Measured
# (benchmarks/api_latency.py, 200 clients): single flight alone gave p99 65-145 ms at
# 2,400-5,400 req/s; with this window p99 38-56 ms at 12,000-14,000 req/s. Light use (a
# dashboard, a test reading counts after each worker round) always gets a fresh answer.
STATUS_FRESH_SECONDS: Final = 0.25
HOT_REQUESTS: Final = 20
# A `done` campaign changes only when a bounce report turns a `sent` delivery `bounced`
# (cancel leaves a campaign with no open delivery alone, and nothing reopens final
# deliveries), so its view is kept longer; a few seconds, so bounces show soon.
DONE_FRESH_SECONDS: Final = 5.0
# A token is reused this long: revoking a token (or its expiry) takes effect in at most this
# many seconds on every API process (the promise is 5 s; the lookup itself takes the rest).
# Unknown tokens are never remembered, so a new token works at once and random tokens
# cannot fill the cache.
TOKEN_FRESH_SECONDS: Final = 4.0
MAX_KEYS: Final = 4096


@dataclass
class _Flight(Generic[V]):
    """One computation of a key: when it started and its (future) result."""

    started: float
    task: asyncio.Future[V]


@dataclass
class _Slot(Generic[V]):
    current: _Flight[V] | None = None  # the latest started computation (running or done)
    pending: asyncio.Future[V] | None = None  # the next one, waiting for `current` to end
    period_start: float = float("-inf")  # calls are counted per `hot_window` period
    calls: int = 0  # in this period
    previous_calls: int = 0  # in the period before, if it was the one just before

    def hot(self, now: float, window: float, hot_after: int) -> bool:
        """Count this call; whether the key had `hot_after` calls in a recent period."""
        if now - self.period_start > window:
            recent = now - self.period_start <= 2 * window
            self.previous_calls = self.calls if recent else 0
            self.period_start, self.calls = now, 0
        self.calls += 1
        return max(self.calls, self.previous_calls) >= hot_after


def _retrieve(task: asyncio.Future[Any]) -> None:
    # Callers may all have gone (client disconnects); mark the exception as seen.
    if not task.cancelled():
        task.exception()


class SharedReads(Generic[K, V]):
    """Per-key single flight with a freshness window chosen per result.

    `fresh_for(value, hot)` says how many seconds a finished result may serve later callers
    (0: never; it only serves the callers that waited for it); `hot` is whether the key had
    `hot_after` calls within one of the last `hot_window`-second periods. `join_within` is how
    old a still running computation may be for a new caller of a hot key to share it
    (otherwise a new caller waits for the next computation). Failures are never reused. At
    most `max_keys` keys are remembered; the least recently computed are dropped first.
    """

    def __init__(
        self,
        fresh_for: Callable[[V, bool], float],
        *,
        join_within: float = 0.0,
        hot_after: int = 0,
        hot_window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._fresh_for = fresh_for
        self._join_within = join_within
        self._hot_after = hot_after
        self._hot_window = hot_window
        self._clock = clock
        self._max_keys = max_keys
        self._slots: dict[K, _Slot[V]] = {}

    def __len__(self) -> int:
        return len(self._slots)

    async def get(self, key: K, compute: Callable[[], Awaitable[V]]) -> V:
        """The value for `key`: computed after this call, or within its freshness window."""
        now = self._clock()
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
            self._trim()
        hot = slot.hot(now, self._hot_window, self._hot_after)
        if slot.pending is not None:  # it starts later than now: share it
            return await asyncio.shield(slot.pending)
        current = slot.current
        if current is not None:
            if not current.task.done():
                if hot and now - current.started <= self._join_within:
                    return await asyncio.shield(current.task)
                # It started before this caller arrived, so its snapshot may miss what the
                # caller expects to see: wait for the next computation, shared by all such
                # callers, which starts when this one ends.
                slot.pending = asyncio.ensure_future(self._after(key, slot, current, compute))
                slot.pending.add_done_callback(_retrieve)
                return await asyncio.shield(slot.pending)
            if (
                not current.task.cancelled()
                and current.task.exception() is None
                and now - current.started < self._fresh_for(current.task.result(), hot)
            ):
                return current.task.result()
        return await asyncio.shield(self._start(key, slot, compute).task)

    def forget(self, key: K) -> None:
        """Drop what is known about `key` (after a change this process made)."""
        self._slots.pop(key, None)

    def _start(self, key: K, slot: _Slot[V], compute: Callable[[], Awaitable[V]]) -> _Flight[V]:
        # A task of its own: a caller that disconnects does not cancel the others' answer.
        flight: _Flight[V] = _Flight(self._clock(), asyncio.ensure_future(compute()))
        slot.current = flight
        # Most recently computed last, so trimming drops the coldest keys.
        if self._slots.get(key) is slot:
            self._slots[key] = self._slots.pop(key)

        flight.task.add_done_callback(_retrieve)
        return flight

    async def _after(
        self, key: K, slot: _Slot[V], running: _Flight[V], compute: Callable[[], Awaitable[V]]
    ) -> V:
        try:
            await asyncio.wait([running.task])
        finally:
            slot.pending = None
        return await self._start(key, slot, compute).task

    def _trim(self) -> None:
        while len(self._slots) > self._max_keys:
            oldest = next(iter(self._slots))
            del self._slots[oldest]


@dataclass(frozen=True)
class CampaignView:
    """A campaign's status and its encoded `GET /v1/campaigns/{id}` body."""

    status: str
    body: bytes


def _view_fresh_for(view: CampaignView | None, hot: bool) -> float:
    if view is None:
        return 0.0
    if view.status == "done":
        return DONE_FRESH_SECONDS
    return STATUS_FRESH_SECONDS if hot else 0.0


def _token_fresh_for(token: TokenInfo | None, hot: bool) -> float:
    return 0.0 if token is None else TOKEN_FRESH_SECONDS


@dataclass
class ApiCaches:
    """The shared reads of one API application."""

    campaigns: SharedReads[str, CampaignView | None] = field(
        default_factory=lambda: SharedReads(
            _view_fresh_for,
            join_within=STATUS_FRESH_SECONDS,
            hot_after=HOT_REQUESTS,
            hot_window=STATUS_FRESH_SECONDS,
        )
    )
    tokens: SharedReads[str, TokenInfo | None] = field(
        default_factory=lambda: SharedReads(_token_fresh_for, join_within=TOKEN_FRESH_SECONDS)
    )


CACHES: Final = web.AppKey("caches", ApiCaches)


def api_caches(app: web.Application) -> ApiCaches:
    """The caches of `app` (made by `create_app`, dropped with the app)."""
    return app[CACHES]
