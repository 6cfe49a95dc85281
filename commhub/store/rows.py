"""What both stores share: turning rows into domain objects and deriving campaign status."""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from commhub.domain import FINAL_STATES, Format, Member, State
from commhub.errors import Problem, ValidationError
from commhub.store.base import CampaignCounts

# States a delivery is in while work remains; "done" means none of these is left.
OPEN_STATES: tuple[str, ...] = tuple(str(s) for s in State if s not in FINAL_STATES)
FINAL: frozenset[str] = frozenset(str(s) for s in FINAL_STATES)
# States in which the worker still holds the lease after `record`.
LEASED_STATES: frozenset[str] = frozenset({str(State.RENDERING), str(State.SENDING)})
# Queued deliveries without send_at are due "since ever": any `now` a caller passes is later.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_campaign_id() -> str:
    """A fresh campaign id: `cmp_` and 20 random hex digits (URL- and log-safe)."""
    return "cmp_" + secrets.token_hex(10)


def utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def campaign_status(
    stored: str, send_at: datetime | None, has_open: bool, now: datetime | None = None
) -> str:
    """The status staff see, derived from what is stored (never stale)."""
    if stored == "cancelled":
        return "cancelled"
    if not has_open:
        return "done"
    if send_at is not None and send_at > (now or datetime.now(UTC)):
        return "scheduled"
    return "sending"


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


def campaign_counts(rows: Sequence[tuple[Any, ...]]) -> CampaignCounts:
    """Fold `(state, language, format, language_fallback, n)` rows into a campaign's counts."""
    by_state = {str(s): 0 for s in State}
    by_language: dict[str, int] = {}
    by_format: dict[str, int] = {}
    total = fallback = 0
    for state, language, fmt, lang_fallback, n in rows:
        total += n
        by_state[state] = by_state.get(state, 0) + n
        if language is not None:
            by_language[language] = by_language.get(language, 0) + n
        if fmt is not None:
            by_format[fmt] = by_format.get(fmt, 0) + n
        if lang_fallback:
            fallback += n
    return CampaignCounts(total, by_state, by_language, by_format, fallback)
