"""The store interface, at the level of the domain (not "run this SQL").

Two implementations follow it: `sqlite.py` (embedded default) and `postgres.py` (scale-out).
One behavioural test suite runs against both. Implementations translate driver errors into
`commhub.errors.StoreError` and never import each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from commhub.domain import Campaign, ClaimedDelivery, DeliveryOutcome, Member, Recipient, Role


@dataclass(frozen=True)
class CampaignCounts:
    """Counts of a campaign's deliveries: per state, per language and per format."""

    total: int
    by_state: dict[str, int]
    by_language: dict[str, int]
    by_format: dict[str, int]
    language_fallback: int = 0


@dataclass(frozen=True)
class DeliveryRow:
    """One delivery as staff see it: ids, state, attempts, last error; never content."""

    id: int
    member_id: str
    state: str
    attempts: int
    last_error: str | None
    language: str | None
    format: str | None
    language_fallback: bool
    updated_at: datetime
    message_id: str | None = None


@dataclass(frozen=True)
class StateChange:
    state: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class NewCampaign:
    name: str
    template: str
    send_at: datetime | None
    recipients: Sequence[Recipient]
    idempotency_key: str | None = None
    request_hash: str | None = None  # fingerprint of the body, to tell a replay from a conflict
    created_by: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """Everything commhub keeps. All times are timezone-aware UTC datetimes."""

    async def migrate(self) -> int:
        """Create or upgrade the schema; return the schema version now in force."""

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the database answers (for /healthz)."""

    # -- members ---------------------------------------------------------------------------
    async def upsert_members(self, members: Sequence[Member]) -> None:
        """Create or replace members, all in one transaction (all or nothing)."""

    async def get_member(self, member_id: str) -> Member | None:
        """The member, or None if unknown or erased."""

    async def existing_member_ids(self, member_ids: Sequence[str]) -> set[str]:
        """Which of these ids name members that exist and are not erased."""

    async def erase_member(self, member_id: str) -> bool:
        """Erase the member's personal data; deliveries keep ids and states. False if unknown."""

    # -- tokens ----------------------------------------------------------------------------
    async def add_token(self, token_hash: str, role: Role, label: str) -> None: ...

    async def role_for_token(self, token_hash: str) -> Role | None: ...

    # -- campaigns -------------------------------------------------------------------------
    async def create_campaign(self, new: NewCampaign) -> tuple[Campaign, bool]:
        """Create the campaign and one queued delivery per recipient, in one transaction.

        With an idempotency key already used: returns (existing campaign, False) when the
        request hash matches, raises `Conflict` when it does not. Otherwise (campaign, True).
        """

    async def get_campaign(self, campaign_id: str) -> Campaign | None: ...

    async def campaign_counts(self, campaign_id: str) -> CampaignCounts: ...

    async def list_deliveries(
        self, campaign_id: str, state: str | None = None, limit: int = 100, after_id: int = 0
    ) -> list[DeliveryRow]: ...

    async def delivery_history(self, delivery_id: int) -> list[StateChange]: ...

    async def cancel_campaign(self, campaign_id: str, now: datetime) -> int:
        """Cancel every delivery not yet sent (and not leased); return how many."""

    # -- workers ---------------------------------------------------------------------------
    async def claim(
        self, worker_id: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries and move them to `rendering`.

        Due: queued (campaign send_at passed), retry_wait/held with retry_at passed, or any
        non-final delivery whose lease expired (its worker died). Each claim counts an attempt.
        """

    async def record(
        self, worker_id: str, outcomes: Sequence[DeliveryOutcome], now: datetime
    ) -> None:
        """Record outcomes in one transaction, with a history row per state change.

        Only deliveries still leased by `worker_id` are updated (a worker whose lease was
        taken over must not overwrite the new owner's result).
        """

    async def release(self, worker_id: str, delivery_ids: Sequence[int], now: datetime) -> None:
        """Give leased deliveries back (graceful shutdown): they become due again at once."""

    async def queue_depth(self, now: datetime) -> int:
        """Deliveries due or leased: work not finished."""

    async def state_totals(self) -> dict[str, int]:
        """Deliveries per state across all campaigns (for /metrics)."""
