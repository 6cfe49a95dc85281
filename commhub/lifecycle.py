"""The delivery and campaign state machines, written once.

`DELIVERY_TRANSITIONS` maps (state, event) to the state a delivery enters and the history row
it writes; a pair that is not in the table is forbidden. `CAMPAIGN_TRANSITIONS` does the same
for what staff may do to a campaign in each status. Both stores follow these tables (the
PostgreSQL store turns the delivery table into SQL at import time), the API and the CLI report
their refusals, and the README's diagram is drawn from them. To add a state or an event (a
`bounced` delivery, say), add it to the enums and its rows here: the stores need no edit
unless the new state changes when a delivery is due.

Deliveries:

    queued ──claim──▶ rendering ──rendered──▶ sending ──sent──▶ sent
                        │  ▲ take_over           │
                        │  └─────────────────────┘ (lease expired: another worker)
                        ├─retry─▶ retry_wait ─claim─▶ rendering      (transient error)
                        ├─hold──▶ held ─claim (retry_at)─▶ rendering (policy, quiet hours)
                        │         held ─release (staff)─▶ queued
                        ├─fail──▶ failed   ├─skip──▶ skipped   ├─give_back─▶ queued
    queued/retry_wait/held/rendering/sending ──cancel──▶ cancelled
    queued/retry_wait/held ──opt_out──▶ skipped ("opted out")
    sending/sent ──bounce──▶ bounced (a DSN: hard, or soft after the MTA gave up)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from commhub.domain import State
from commhub.errors import Conflict, StoreError


class Event(enum.StrEnum):
    """Something that happens to a delivery."""

    CLAIM = "claim"  # a worker leases a due delivery
    TAKE_OVER = "take_over"  # a worker leases a delivery whose worker died (lease expired)
    RENDERED = "rendered"  # the message is built; the transport gets it next
    SENT = "sent"  # the transport accepted it
    RETRY = "retry"  # a transient failure: try again at retry_at
    FAIL = "fail"  # a permanent failure, or attempts exhausted
    HOLD = "hold"  # policy or quiet hours: wait for retry_at, or for staff
    SKIP = "skip"  # nothing to send: opted out, erased, no address
    GIVE_BACK = "give_back"  # a stopping worker returns a delivery it did not start
    CANCEL = "cancel"  # the campaign was cancelled
    RELEASE = "release"  # staff release a hold to be evaluated again now
    OPT_OUT = "opt_out"  # the member opted out: waiting deliveries are skipped at once
    BOUNCE = "bounce"  # a DSN says the accepted message could not be delivered


@dataclass(frozen=True)
class Transition:
    """Where an event takes a delivery, and the history row it writes.

    `reason` is the history reason (and last error) the store writes; None means the reason
    the worker gave. `uncount` takes back the attempt the claim counted (nothing was sent).
    `history` is False for a repeated progress report (no state change to record).
    """

    to: State
    reason: str | None = None
    uncount: bool = False
    history: bool = True


CLAIMED: Final = "claimed"
TAKEN_OVER: Final = "lease expired; taken over"
CAMPAIGN_CANCELLED: Final = "campaign cancelled"
RELEASED_BY_WORKER: Final = "released by worker"
RELEASED_BY_STAFF: Final = "released by staff"
OPTED_OUT: Final = "opted out"

# Every state in exactly one of three groups (tests/test_lifecycle.py checks that). The table
# below is written from them, and so is every state list in the stores' SQL (built once, at
# import): a state added to a group reaches all of them, no literal list to keep in step.
# Tuples, not sets: the table and the SQL built from them come out the same every run.
# Waiting: no worker holds it; due by the store's rules, or parked (paused, held for staff).
WAITING: Final = (State.QUEUED, State.RETRY_WAIT, State.HELD)
# Leased: a worker holds it (until the lease expires) and reports how its attempt went.
LEASED: Final = (State.RENDERING, State.SENDING)
# Final: no worker touches it again (a DSN may still turn `sent` into `bounced`).
FINAL: Final = (State.SENT, State.FAILED, State.SKIPPED, State.CANCELLED, State.BOUNCED)
# Open: work remains; a campaign is done when none of its deliveries is open.
OPEN: Final = (*WAITING, *LEASED)


def _table() -> dict[tuple[State, Event], Transition]:
    t: dict[tuple[State, Event], Transition] = {}
    for s in WAITING:
        t[s, Event.CLAIM] = Transition(State.RENDERING, CLAIMED)
        t[s, Event.CANCEL] = Transition(State.CANCELLED, CAMPAIGN_CANCELLED)
        t[s, Event.OPT_OUT] = Transition(State.SKIPPED, OPTED_OUT)
    t[State.HELD, Event.RELEASE] = Transition(State.QUEUED, RELEASED_BY_STAFF)
    for s in LEASED:
        t[s, Event.TAKE_OVER] = Transition(State.RENDERING, TAKEN_OVER)
        t[s, Event.SENT] = Transition(State.SENT)
        t[s, Event.RETRY] = Transition(State.RETRY_WAIT)
        t[s, Event.FAIL] = Transition(State.FAILED)
        t[s, Event.GIVE_BACK] = Transition(State.QUEUED, RELEASED_BY_WORKER, uncount=True)
        t[s, Event.CANCEL] = Transition(State.CANCELLED, CAMPAIGN_CANCELLED)
    t[State.RENDERING, Event.RENDERED] = Transition(State.SENDING)
    t[State.SENDING, Event.RENDERED] = Transition(State.SENDING, history=False)
    # Holds and skips are decided before sending: no try was made.
    t[State.RENDERING, Event.HOLD] = Transition(State.HELD, uncount=True)
    t[State.RENDERING, Event.SKIP] = Transition(State.SKIPPED)
    # A bounce can come back before the worker has recorded `sent` (a fast local MTA).
    for s in (State.SENDING, State.SENT):
        t[s, Event.BOUNCE] = Transition(State.BOUNCED)
    return t


DELIVERY_TRANSITIONS: Final[dict[tuple[State, Event], Transition]] = _table()

# The event a worker's outcome (`DeliveryOutcome.state`) stands for.
OUTCOME_EVENTS: Final[dict[State, Event]] = {
    State.SENDING: Event.RENDERED,
    State.SENT: Event.SENT,
    State.RETRY_WAIT: Event.RETRY,
    State.FAILED: Event.FAIL,
    State.HELD: Event.HOLD,
    State.SKIPPED: Event.SKIP,
    State.QUEUED: Event.GIVE_BACK,
    State.CANCELLED: Event.CANCEL,
}


class TransitionError(StoreError):
    """A state change the transition table forbids (a bug in the caller: nothing is stored)."""


def outcome_event(state: State | str) -> Event:
    """The event a worker outcome of `state` stands for (TransitionError if none)."""
    event = OUTCOME_EVENTS.get(State(state))
    if event is None:
        raise TransitionError(f"a worker cannot report the state {state!r}")
    return event


def transition(
    state: State | str, event: Event, *, campaign_cancelled: bool = False, delivery_id: int = 0
) -> Transition:
    """Where `event` takes a delivery in `state`; TransitionError when forbidden.

    In a cancelled campaign, an event that would leave the delivery unfinished cancels it
    instead (its in-flight attempt has ended; it is never tried again).
    """
    found = DELIVERY_TRANSITIONS.get((State(state), event))
    if found is None:
        raise TransitionError(
            f"delivery {delivery_id}: {event} is not allowed in state {state}"
            f" (allowed: {', '.join(allowed_events(state)) or 'none, the state is final'})"
        )
    if campaign_cancelled and found.to not in FINAL and event is not Event.CANCEL:
        cancelled = DELIVERY_TRANSITIONS.get((State(state), Event.CANCEL))
        if cancelled is not None:
            return cancelled
    return found


def allowed_events(state: State | str) -> list[str]:
    """The events allowed in `state`, in table order."""
    return [str(e) for (s, e) in DELIVERY_TRANSITIONS if s == State(state)]


# -- campaigns ------------------------------------------------------------------------------


class CampaignStatus(enum.StrEnum):
    """What staff see. Derived when read (`campaign_status`), never stored stale."""

    SCHEDULED = "scheduled"  # send_at is in the future
    SENDING = "sending"  # deliveries are queued, waiting to retry or in flight
    PAUSED = "paused"  # staff paused it: no new claims; in-flight ones finish
    HELD = "held"  # every delivery left is held (policy or quiet hours)
    DONE = "done"  # nothing left to do
    CANCELLED = "cancelled"


class CampaignEvent(enum.StrEnum):
    """What staff do to a campaign."""

    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    RELEASE = "release"  # release its held deliveries to be evaluated again now


@dataclass(frozen=True)
class CampaignTransition:
    """What a staff action does in a status: the status the campaign shows next (`to`; None
    when it is derived again from the deliveries and send time, as on resume: the status the
    campaign would have had without the pause), and `changes` False for a no-op (200, 0)."""

    to: CampaignStatus | None
    changes: bool = True


_LIVE = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.HELD)
CAMPAIGN_TRANSITIONS: Final[dict[tuple[CampaignStatus, CampaignEvent], CampaignTransition]] = {
    **{(s, CampaignEvent.PAUSE): CampaignTransition(CampaignStatus.PAUSED) for s in _LIVE},
    (CampaignStatus.PAUSED, CampaignEvent.RESUME): CampaignTransition(None),
    **{
        (s, CampaignEvent.CANCEL): CampaignTransition(CampaignStatus.CANCELLED)
        for s in (*_LIVE, CampaignStatus.PAUSED)
    },
    # Cancelling twice, or after the end, changes nothing (and says so with a count of 0).
    (CampaignStatus.DONE, CampaignEvent.CANCEL): CampaignTransition(
        CampaignStatus.DONE, changes=False
    ),
    (CampaignStatus.CANCELLED, CampaignEvent.CANCEL): CampaignTransition(
        CampaignStatus.CANCELLED, changes=False
    ),
    # Released holds are queued again: a held campaign is sending, the others keep their status.
    **{
        (s, CampaignEvent.RELEASE): CampaignTransition(
            CampaignStatus.SENDING if s is CampaignStatus.HELD else s
        )
        for s in (*_LIVE, CampaignStatus.PAUSED)
    },
}


def campaign_transition(
    status: CampaignStatus | str, event: CampaignEvent, campaign_id: str = ""
) -> CampaignTransition:
    """What `event` does to a campaign in `status`; Conflict (409) when not allowed."""
    found = CAMPAIGN_TRANSITIONS.get((CampaignStatus(status), event))
    if found is None:
        allowed = [str(s) for (s, e) in CAMPAIGN_TRANSITIONS if e is event]
        name = f"campaign {campaign_id}" if campaign_id else "a campaign"
        raise Conflict(
            f"cannot {event} {name} that is {status}; {event} is allowed when " + ", ".join(allowed)
        )
    return found


def derive_campaign_status(
    *,
    cancelled: bool,
    paused: bool,
    scheduled: bool,
    has_open: bool,
    has_active: bool,
) -> CampaignStatus:
    """The status staff see, from what is stored.

    `has_open`: a delivery is not final; `has_active`: one of those is not `held`.
    """
    if cancelled:
        return CampaignStatus.CANCELLED
    if not has_open:
        return CampaignStatus.DONE
    if paused:
        return CampaignStatus.PAUSED
    if scheduled:
        return CampaignStatus.SCHEDULED
    if not has_active:
        return CampaignStatus.HELD
    return CampaignStatus.SENDING
