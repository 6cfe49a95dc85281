"""The transition tables of commhub.lifecycle, checked on both stores (SQLite and PostgreSQL).

Every (state, worker event) pair is tried through `record` — the second outcome of one call
for the same delivery, so each state is reached first — and must do exactly what the table
says: the new state and its history row, or a TransitionError with nothing stored. Every
(campaign status, staff action) pair is tried through `change_campaign`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commhub.domain import DeliveryOutcome, State
from commhub.errors import Conflict, NotFound
from commhub.lifecycle import (
    CAMPAIGN_TRANSITIONS,
    DELIVERY_TRANSITIONS,
    FINAL,
    LEASED,
    OPEN,
    OUTCOME_EVENTS,
    WAITING,
    CampaignEvent,
    CampaignStatus,
    Event,
    TransitionError,
)
from commhub.store.base import Store
from tests.store_fixtures import store, store_url  # noqa: F401
from tests.test_store import LEASE, NOW, campaign_of, claim, record

# The outcome a worker reports for each event (the inverse of OUTCOME_EVENTS).
OUTCOME_OF = {event: state for state, event in OUTCOME_EVENTS.items()}
# How each state is reached from `rendering` by a first outcome in the same call.
REACH = {state: OUTCOME_OF[event] for (s, event), t in DELIVERY_TRANSITIONS.items()
         if s == State.RENDERING and event in OUTCOME_OF for state in [t.to]}  # fmt: skip


def outcome(delivery_id: int, state: State) -> DeliveryOutcome:
    retry_at = NOW + timedelta(minutes=5) if state in (State.RETRY_WAIT, State.HELD) else None
    return DeliveryOutcome(delivery_id, state, reason=f"r-{state}", retry_at=retry_at)


def test_every_state_is_reachable_and_every_outcome_is_an_event() -> None:
    # A state no row leads to, or a worker state without an event, would be a table bug.
    reached = {t.to for t in DELIVERY_TRANSITIONS.values()} | {State.QUEUED}
    assert reached == set(State)
    # Every state a worker's outcome can lead to is tried below; the others are entered only
    # by store calls of their own (a DSN's `bounced`: tests/test_consent_and_bounces.py), never by
    # `record`, whose deliveries are leased.
    by_outcome = {t.to for (s, e), t in DELIVERY_TRANSITIONS.items() if e in OUTCOME_OF}
    assert set(REACH) == by_outcome - {State.RENDERING}


def test_the_state_groups_split_the_states_as_the_table_does() -> None:
    # The stores' SQL is built from these groups, not from the table: they must agree.
    groups = [*WAITING, *LEASED, *FINAL]
    assert sorted(groups) == sorted(State)  # each state in exactly one group
    assert set(OPEN) == set(State) - set(FINAL)

    def leaving(event: Event) -> set[State]:
        return {s for (s, e) in DELIVERY_TRANSITIONS if e is event}

    assert leaving(Event.CLAIM) == leaving(Event.OPT_OUT) == set(WAITING)
    assert leaving(Event.TAKE_OVER) == leaving(Event.GIVE_BACK) == set(LEASED)
    assert leaving(Event.CANCEL) == set(OPEN)
    # A final state is left by nothing but a DSN's bounce.
    assert {e for (s, e) in DELIVERY_TRANSITIONS if s in FINAL} == {Event.BOUNCE}


async def test_record_follows_the_table_for_every_state_and_event(store: Store) -> None:  # noqa: F811
    pairs = [(s, e) for s in (State.RENDERING, *REACH) for e in OUTCOME_EVENTS.values()]
    campaign_id = await campaign_of(store, len(pairs))
    leased = await claim(store, "w1", limit=len(pairs))
    checked = 0
    for (state, event), d in zip(pairs, leased, strict=True):
        first = [] if state is State.RENDERING else [outcome(d.id, REACH[state])]
        calls = [*first, outcome(d.id, OUTCOME_OF[event])]
        before = await store.delivery_history(d.id)
        allowed = DELIVERY_TRANSITIONS.get((state, event))
        if allowed is None:
            with pytest.raises(TransitionError, match=f"{event} is not allowed in state {state}"):
                await record(store, "w1", calls)
            # Nothing of the call is stored: still rendering, same history.
            (row,) = await store.list_deliveries(campaign_id, limit=1, after_id=d.id - 1)
            assert row.state == State.RENDERING, (state, event)
            assert await store.delivery_history(d.id) == before
            continue
        await record(store, "w1", calls)
        (row,) = await store.list_deliveries(campaign_id, limit=1, after_id=d.id - 1)
        assert row.state == allowed.to, (state, event)
        states = [h.state for h in await store.delivery_history(d.id)]
        expected = [s.state for s in before] + ([str(state)] if first else [])
        if allowed.history:
            expected.append(str(allowed.to))
        assert states == expected, (state, event)
        checked += 1
    assert checked == sum(1 for p in pairs if p in DELIVERY_TRANSITIONS)


async def test_one_call_applies_outcomes_for_one_delivery_in_order(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 2)
    a, b = await claim(store, "w1")
    await record(
        store,
        "w1",
        [
            DeliveryOutcome(a.id, State.SENDING, message_id="<a@x>"),
            DeliveryOutcome(b.id, State.SENDING, message_id="<b@x>"),
            DeliveryOutcome(a.id, State.RETRY_WAIT, reason="421 busy", retry_at=NOW),
            DeliveryOutcome(b.id, State.SENT),
        ],
    )
    rows = {r.id: r for r in await store.list_deliveries(campaign_id)}
    assert (rows[a.id].state, rows[a.id].last_error, rows[a.id].message_id) == (
        "retry_wait",
        "421 busy",
        "<a@x>",
    )
    assert (rows[b.id].state, rows[b.id].message_id) == ("sent", "<b@x>")
    for d, last in ((a, "retry_wait"), (b, "sent")):
        states = [h.state for h in await store.delivery_history(d.id)]
        assert states == ["queued", "rendering", "sending", last]
    # retry_wait is due at retry_at again: the last outcome's.
    (again,) = await claim(store, "w2", at=NOW)
    assert again.id == a.id


async def test_a_forbidden_outcome_stores_nothing_of_its_call(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 2)
    a, b = await claim(store, "w1")
    with pytest.raises(TransitionError):
        await record(
            store,
            "w1",
            [
                DeliveryOutcome(a.id, State.SENT),
                DeliveryOutcome(b.id, State.SENT),
                DeliveryOutcome(b.id, State.FAILED, reason="550"),  # sent is final
            ],
        )
    assert [r.state for r in await store.list_deliveries(campaign_id)] == ["rendering"] * 2


async def test_a_worker_cannot_report_a_claim(store: Store) -> None:  # noqa: F811
    await campaign_of(store, 1)
    (d,) = await claim(store, "w1")
    with pytest.raises(TransitionError, match="cannot report"):
        await record(store, "w1", [DeliveryOutcome(d.id, State.RENDERING)])


# -- campaigns ------------------------------------------------------------------------------


async def campaign_in(store: Store, status: CampaignStatus, prefix: str) -> str:  # noqa: F811
    """A campaign of two deliveries brought into `status` through the store's own calls."""
    send_at = datetime.now(UTC) + timedelta(days=1) if status is CampaignStatus.SCHEDULED else None
    campaign_id = await campaign_of(store, 2, send_at=send_at, prefix=prefix)
    if status is CampaignStatus.PAUSED:
        await store.change_campaign(campaign_id, CampaignEvent.PAUSE, NOW)
    elif status is CampaignStatus.CANCELLED:
        await store.cancel_campaign(campaign_id, NOW)
    elif status in (CampaignStatus.HELD, CampaignStatus.DONE):
        got = [c for c in await claim(store, "w-" + prefix) if c.campaign_id == campaign_id]
        state = State.HELD if status is CampaignStatus.HELD else State.SENT
        await record(store, "w-" + prefix, [DeliveryOutcome(c.id, state) for c in got])
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == status
    return campaign_id


async def test_every_campaign_status_and_action_follows_the_table(store: Store) -> None:  # noqa: F811
    n = 0
    for status in CampaignStatus:
        for event in CampaignEvent:
            n += 1
            campaign_id = await campaign_in(store, status, f"c{n}-")
            allowed = CAMPAIGN_TRANSITIONS.get((status, event))
            if allowed is None:
                with pytest.raises(Conflict, match=f"cannot {event} campaign"):
                    await store.change_campaign(campaign_id, event, NOW)
                campaign = await store.get_campaign(campaign_id)
                assert campaign is not None and campaign.status == status, (status, event)
                continue
            touched = await store.change_campaign(campaign_id, event, NOW)
            if not allowed.changes:
                assert touched == 0
            campaign = await store.get_campaign(campaign_id)
            # `to` None: derived again; the paused campaign here was sending before its pause.
            expected = allowed.to or CampaignStatus.SENDING
            assert campaign is not None and campaign.status == expected, (status, event)
    with pytest.raises(NotFound):
        await store.change_campaign("cmp_nope", CampaignEvent.PAUSE, NOW)


async def test_pause_stops_claims_in_flight_ones_finish_and_resume_restarts(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 4)
    first, second = await claim(store, "w1", limit=2)
    assert await store.change_campaign(campaign_id, CampaignEvent.PAUSE, NOW) == 2
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "paused" and campaign.paused_at == NOW
    assert await claim(store, "w2", at=NOW + timedelta(seconds=1)) == []
    # In flight: one is sent, one must wait; the waiting one is parked too.
    await record(
        store,
        "w1",
        [
            DeliveryOutcome(first.id, State.SENT),
            DeliveryOutcome(second.id, State.RETRY_WAIT, reason="421", retry_at=NOW),
        ],
    )
    assert await claim(store, "w2", at=NOW + timedelta(hours=1)) == []
    assert await store.queue_depth(NOW + timedelta(hours=1)) == 0
    with pytest.raises(Conflict, match=r"cannot pause campaign .* that is paused"):
        await store.change_campaign(campaign_id, CampaignEvent.PAUSE, NOW)
    assert await store.change_campaign(campaign_id, CampaignEvent.RESUME, NOW) == 3
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "sending" and campaign.paused_at is None
    got = await claim(store, "w2", at=NOW + timedelta(seconds=1))
    assert {c.id for c in got} == {second.id} | {
        r.id for r in await store.list_deliveries(campaign_id, state="rendering")
    }
    assert len(got) == 3


async def test_a_worker_stopping_in_a_paused_campaign_gives_back_parked_work(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 1)
    (d,) = await claim(store, "w1")
    await store.change_campaign(campaign_id, CampaignEvent.PAUSE, NOW)
    await store.release("w1", [d.id], NOW)
    (row,) = await store.list_deliveries(campaign_id)
    assert row.state == "queued" and await store.queue_depth(NOW + timedelta(days=1)) == 0
    await store.change_campaign(campaign_id, CampaignEvent.RESUME, NOW)
    assert [c.id for c in await claim(store, "w2")] == [d.id]


async def test_held_campaign_reports_held_and_release_requeues_every_hold(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 3)
    a, b, c = await claim(store, "w1")
    morning = NOW + timedelta(hours=10)
    await record(
        store,
        "w1",
        [
            DeliveryOutcome(a.id, State.HELD, reason="quiet hours", retry_at=morning),
            DeliveryOutcome(b.id, State.HELD, reason="no voice for ja; set ..."),
            DeliveryOutcome(c.id, State.SENT),
        ],
    )
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "held"
    assert await store.change_campaign(campaign_id, CampaignEvent.RELEASE, NOW) == 2
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "sending"
    rows = {r.id: r for r in await store.list_deliveries(campaign_id)}
    assert (rows[a.id].state, rows[b.id].state) == ("queued", "queued")
    # Due now, not in the morning; the claim's attempt was never counted.
    again = await claim(store, "w2", at=NOW)
    assert sorted(d.id for d in again) == sorted([a.id, b.id])
    assert all(d.attempts == 0 for d in again)
    history = await store.delivery_history(b.id)
    assert [(h.state, h.reason) for h in history[-2:]] == [
        ("queued", "released by staff"),
        ("rendering", "claimed"),
    ]
    # Nothing left to release: done campaigns refuse it.
    await record(store, "w2", [DeliveryOutcome(d.id, State.SENT) for d in again])
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "done"
    assert campaign.finished_at is not None
    with pytest.raises(Conflict, match="cannot release"):
        await store.change_campaign(campaign_id, CampaignEvent.RELEASE, NOW)


async def test_an_expired_lease_in_a_paused_campaign_is_still_taken_over(store: Store) -> None:  # noqa: F811
    # In flight means in flight: a worker that died mid-send may have sent; another finishes.
    campaign_id = await campaign_of(store, 1)
    (d,) = await claim(store, "dead")
    await store.change_campaign(campaign_id, CampaignEvent.PAUSE, NOW)
    later = NOW + timedelta(seconds=LEASE + 1)
    (again,) = await claim(store, "w2", at=later)
    assert again.id == d.id
    assert (await store.delivery_history(d.id))[-1].reason == DELIVERY_TRANSITIONS[
        State.RENDERING, Event.TAKE_OVER
    ].reason


def test_the_readme_diagram_is_the_delivery_table() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```mermaid\n(.*?)```", readme, re.S)
    (diagram,) = [b for b in blocks if "campaign created" in b]
    drawn = {
        (a, b, event.strip())
        for a, b, events in re.findall(r"^    ([a-z_]+) --> ([a-z_]+): (.+)$", diagram, re.M)
        for event in events.split(",")
    }
    table = {(str(s), str(t.to), str(e)) for (s, e), t in DELIVERY_TRANSITIONS.items()}
    assert drawn == table
