"""What both stores share: turning rows into domain objects and deriving campaign status."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from commhub.domain import (
    TOKEN_ID_PREFIX,
    TOKEN_ID_RE,
    DeliveryOutcome,
    Format,
    Member,
    State,
)
from commhub.errors import NotFound, Problem, ValidationError
from commhub.languages import LANGUAGES
from commhub.lifecycle import (
    FINAL,
    LEASED,
    OPEN,
    WAITING,
    derive_campaign_status,
    outcome_event,
    transition,
)
from commhub.store.base import Bounce, CampaignCounts


def sql_literal(value: str | None) -> str:
    """`value` as an SQL string literal (NULL for None), for SQL text built at import."""
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def sql_states(states: Iterable[State]) -> str:
    """`'queued', 'held'`: states as SQL literals, for an `IN (...)` list."""
    return ", ".join(sql_literal(str(s)) for s in states)


# The lifecycle's state groups in the stores' SQL, built once here, at import: a query's text
# is as fixed as if they were written out (so are its cached plans).
WAITING_SQL = sql_states(WAITING)
LEASED_SQL = sql_states(LEASED)
OPEN_SQL = sql_states(OPEN)
FINAL_SQL = sql_states(FINAL)
# Queued deliveries without send_at are due "since ever": any `now` a caller passes is later.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def token_prefix(token_id: str) -> str:
    """The hash prefix a token id (`tok_` + 12 hex digits) names; NotFound if malformed."""
    if not TOKEN_ID_RE.match(token_id):
        raise NotFound(f"no token {token_id!r} (a token id is tok_ and 12 hex digits)")
    return token_id[len(TOKEN_ID_PREFIX) :]


def new_campaign_id() -> str:
    """A fresh campaign id: `cmp_` and 20 random hex digits (URL- and log-safe)."""
    return "cmp_" + secrets.token_hex(10)


def utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def campaign_status(
    stored: str,
    send_at: datetime | None,
    has_open: bool,
    now: datetime | None = None,
    *,
    paused: bool = False,
    has_active: bool = True,
) -> str:
    """The status staff see, derived from what is stored (never stale); see lifecycle."""
    return str(
        derive_campaign_status(
            cancelled=stored == "cancelled",
            paused=paused,
            scheduled=send_at is not None and send_at > (now or datetime.now(UTC)),
            has_open=has_open,
            has_active=has_active,
        )
    )


def open_rank(rank: int | None) -> tuple[bool, bool]:
    """(has_open, has_active) from `max(CASE state WHEN 'held' THEN 1 ELSE 2 END)` over a
    campaign's open deliveries (NULL: none open; 1: only held ones; 2: some not held)."""
    return rank is not None, rank is not None and rank >= 2


# The SQL expression both stores rank a campaign's open deliveries with (see open_rank).
OPEN_RANK_SQL = f"max(CASE WHEN state = '{State.HELD}' THEN 1 ELSE 2 END)"


@dataclass
class PlannedDelivery:
    """What `record` writes for one delivery after all of its outcomes in one call.

    Outcomes for the same delivery are applied in the order given, each from the state the
    one before left (both stores do this, following `commhub.lifecycle`).
    """

    state: str
    last_error: str | None = None  # None: keep the stored one
    uncount: int = 0  # attempts to take back
    retry_at: datetime | None = None
    language: str | None = None
    format: str | None = None
    language_fallback: bool = False
    message_id: str | None = None
    maybe_sent: bool = False  # True: set the mark (it is never cleared)
    history: list[tuple[str, str | None]] = field(default_factory=list)


def plan_record(
    current: dict[int, tuple[str, bool]], outcomes: Sequence[DeliveryOutcome]
) -> dict[int, PlannedDelivery]:
    """Fold `outcomes` through the transition table, starting from `current` (id ->
    (state, campaign cancelled)) for the deliveries still leased by the recording worker;
    others are ignored. TransitionError (nothing may be stored) on a forbidden one."""
    planned: dict[int, PlannedDelivery] = {}
    for o in outcomes:
        start = current.get(o.delivery_id)
        if start is None:
            continue  # not ours (any more): the new owner's result wins
        p = planned.get(o.delivery_id)
        if p is None:
            p = planned[o.delivery_id] = PlannedDelivery(start[0])
        t = transition(
            p.state, outcome_event(o.state), campaign_cancelled=start[1], delivery_id=o.delivery_id
        )
        reason = t.reason if t.reason is not None else o.reason
        if t.history:
            p.history.append((str(t.to), reason))
        p.state = str(t.to)
        if reason is not None:
            p.last_error = reason
        p.uncount += t.uncount
        p.retry_at = o.retry_at
        if o.language is not None:
            p.language, p.language_fallback = o.language, o.language_fallback
        if o.format is not None:
            p.format = str(o.format)
        if o.message_id is not None:
            p.message_id = o.message_id
        p.maybe_sent = p.maybe_sent or o.maybe_sent
    return planned


def repeats(outcomes: Sequence[DeliveryOutcome]) -> bool:
    """Whether a delivery has more than one outcome in `outcomes`."""
    return len({o.delivery_id for o in outcomes}) != len(outcomes)


def history_rounds(
    planned: dict[int, PlannedDelivery],
) -> list[dict[tuple[str, str | None], list[int]]]:
    """The history rows to insert, as rounds (the k-th row of every delivery) of groups of
    delivery ids per (state, reason): inserted round after round, each delivery's rows keep
    their order."""
    rounds: list[dict[tuple[str, str | None], list[int]]] = []
    for delivery_id, p in planned.items():
        for k, row in enumerate(p.history):
            if k == len(rounds):
                rounds.append({})
            rounds[k].setdefault(row, []).append(delivery_id)
    return rounds


def member_from_fields(
    member_id: str,
    given_name: str | None,
    family_name: str | None,
    language: str | None,
    fmt: str | None,
    email: str | None,
    phone: str | None,
    relay_address: str | None,
    timezone: str | None,
    opted_out: Any,
    erased: bool,
    undeliverable: Any = None,
) -> Member | None:
    """A Member from stored fields, or None when erased (or never fully stored)."""
    if erased or given_name is None or language is None or fmt is None:
        return None
    return Member(
        member_id=member_id,
        given_name=given_name,
        family_name=family_name or "",
        language=language,
        format=Format(fmt),
        email=email,
        phone=phone,
        relay_address=relay_address,
        timezone=timezone or "UTC",
        opted_out=opted_out if isinstance(opted_out, bool) else tuple(opted_out or ()),
        undeliverable=tuple(undeliverable) if undeliverable else (),
    )


def opted_out_json(member: Member) -> bool | list[str]:
    """The JSON form of `opted_out`: a bool or a list of topics."""
    return member.opted_out if isinstance(member.opted_out, bool) else list(member.opted_out)


def member_values(m: Member) -> tuple[Any, ...]:
    """A member's columns as both stores' upserts list them: member_id, given_name,
    family_name, language, format, email, phone, relay_address, timezone, opted_out (JSON)."""
    return (
        m.member_id,
        m.given_name,
        m.family_name,
        m.language,
        str(m.format),
        m.email,
        m.phone,
        m.relay_address,
        m.timezone,
        json.dumps(opted_out_json(m)),
    )


def check_unique_members(member_ids: Sequence[str]) -> None:
    """Raise ValidationError naming every recipient whose member is listed earlier too."""
    seen: set[str] = set()
    problems: list[Problem] = []
    for index, member_id in enumerate(member_ids):
        if member_id in seen:
            problems.append(
                Problem(field="member_id", reason="member is listed more than once", index=index)
            )
        seen.add(member_id)
    if problems:
        raise ValidationError("a member is listed more than once in this campaign", problems)


def unknown_members_error(member_ids: Sequence[str], known: set[str]) -> ValidationError | None:
    """A ValidationError naming each recipient whose member does not exist, or None."""
    problems = [
        Problem(field="member_id", reason="unknown member", index=index)
        for index, member_id in enumerate(member_ids)
        if member_id not in known
    ]
    if problems:
        return ValidationError("unknown members in recipients", problems)
    return None


def _unprintable_relay(fmt: Any, language: Any) -> bool:
    """Relay text in a script a TTY cannot print. English sent as a fallback is TTY-safe (the
    caller skips fallbacks), and so is romanised Russian and Ukrainian."""
    known = LANGUAGES.get(language) if isinstance(language, str) else None
    return fmt == Format.RELAY_TEXT.value and known is not None and not known.reaches_a_tty


def campaign_counts(rows: Sequence[tuple[Any, ...]]) -> CampaignCounts:
    """Fold `(state, language, format, language_fallback, n)` rows into a campaign's counts."""
    by_state = {str(s): 0 for s in State}
    by_language: dict[str, int] = {}
    by_format: dict[str, int] = {}
    total = fallback = unencodable = 0
    for state, language, fmt, lang_fallback, n in rows:
        total += n
        by_state[state] = by_state.get(state, 0) + n
        if language is not None:
            by_language[language] = by_language.get(language, 0) + n
        if fmt is not None:
            by_format[fmt] = by_format.get(fmt, 0) + n
        if lang_fallback:
            fallback += n
        elif _unprintable_relay(fmt, language):
            unencodable += n
    return CampaignCounts(total, by_state, by_language, by_format, fallback, unencodable)


def opted_out_after(current: Any, topic: str | None) -> bool | list[str]:
    """A member's `opted_out` (JSON) after opting out of `topic` (None: all outreach)."""
    if topic is None or current is True:
        return True
    topics = set(current) if isinstance(current, list) else set()
    topics.add(topic)
    return sorted(topics)


def bounced_address(member: Member | None, bounce: Bounce) -> str | None:
    """The member's address that bounced: their address now, unless the DSN names another
    one (the member changed it since: the new one has not bounced)."""
    if member is None or member.address is None:
        return None
    named = bounce.recipient
    if named and named.lower() != member.address.lower():
        return None
    return member.address
