"""The store interface, at the level of the domain (not "run this SQL").

Two implementations follow it: `sqlite.py` (embedded default) and `postgres.py` (scale-out);
`factory.open_store(url)` picks one. One behavioural test suite runs against both.
Implementations translate driver errors into `commhub.errors.StoreError` (or `Conflict` /
`ValidationError` / `NotFound` where the meaning is known) and never import each other.

The life of a delivery, as the store sees it:

- `create_campaign` inserts it `queued`, with the member's language and format at that
  moment (counts use them until a worker records the ones actually used).
- It is *due* when: `queued` and the campaign's `send_at` has passed (or is unset);
  `retry_wait` or `held` with `retry_at` passed (`held` without `retry_at` waits for staff);
  `rendering`/`sending` whose lease expired (its worker died). Deliveries of a cancelled
  campaign are never claimed.
- `claim` leases due deliveries to one worker (`lease_owner`, `lease_expires_at`), moves them
  to `rendering` and counts an attempt. Two claimers never get the same delivery.
- `renew_leases` extends the leases a worker still holds while it works (a slow send must
  not be taken over and sent again by another worker).
- `record` stores what happened; `release` gives unstarted work back.

`attempts` means sending tries made (the worker gives up after `workers.max_attempts`
transient failures). A claim counts one at once, because a worker may die mid-send; a claim
that ends without a try takes it back: `release` (graceful shutdown) and `record` with
`held` (quiet hours, PolicyHold) both uncount it, so a member held night after night is
never failed early. A lease taken over after a crash keeps the dead worker's count: it may
have sent.

Every state change adds a history row (`delivery_history`); the first entry of a history is
the `queued` state at the campaign's creation time.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from commhub.content.pinned import PinnedContent
from commhub.domain import (
    AuditEntry,
    Campaign,
    ClaimedDelivery,
    DeliveryOutcome,
    Member,
    Recipient,
    Role,
    TokenInfo,
)
from commhub.lifecycle import CampaignEvent


@dataclass(frozen=True)
class Erasure:
    """What erasing a member found: its deliveries, so the copies of their messages outside
    the store (the outbox's .eml files) can be removed too. Always true, even when empty."""

    deliveries: tuple[tuple[int, str, str | None], ...]  # (id, campaign id, stored Message-ID)


@dataclass(frozen=True)
class DeliveryRef:
    """The delivery a signed token names (unsubscribe links, VERP bounces): whose, which
    topic, and where it stands. `language` and `address` are the member's now (None when
    erased)."""

    id: int
    campaign_id: str
    member_id: str
    topic: str
    state: str
    language: str | None
    address: str | None


@dataclass(frozen=True)
class Bounce:
    """A DSN's verdict on one delivery (commhub.bounces parses it)."""

    hard: bool  # 5.x.x; soft (4.x.x) means the MTA gave up after retrying
    status: str  # "5.1.1"
    diagnostic: str  # the remote server's words, addresses scrubbed
    recipient: str | None = None  # the address the DSN names (Final-Recipient), if any

    @property
    def reason(self) -> str:
        kind = "hard" if self.hard else "soft"
        return f"{kind} bounce {self.status}: {self.diagnostic}".rstrip(": ")[:300]


@dataclass(frozen=True)
class BounceResult:
    """What recording a bounce did."""

    bounced: bool  # the delivery became `bounced` (False: unknown, or already recorded)
    undeliverable: bool  # the member's address is now marked undeliverable


@dataclass(frozen=True)
class CampaignCounts:
    """Counts of a campaign's deliveries: per state, per language and per format."""

    total: int
    by_state: dict[str, int]
    by_language: dict[str, int]
    by_format: dict[str, int]
    language_fallback: int = 0
    # Relay text sent in a script a TTY cannot print (zh, ko, ja, ar, …): these members need a
    # 711 call with an interpreter (TT-9).
    tty_unencodable: int = 0


@dataclass(frozen=True)
class CampaignSummary:
    """A campaign in a list: the campaign and its deliveries per state (every state named)."""

    campaign: Campaign
    by_state: dict[str, int]


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
    """One entry of a delivery's history: the state it entered, when, and why."""

    state: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class NewCampaign:
    """A campaign to create: its recipients are validated by the caller beforehand."""

    name: str
    template: str
    send_at: datetime | None
    recipients: Sequence[Recipient]
    idempotency_key: str | None = None
    request_hash: str | None = None  # fingerprint of the body, to tell a replay from a conflict
    created_by: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    content: PinnedContent | None = None  # the template and catalogs it renders from
    ignore_quiet_hours: bool = False  # send at any hour (urgent, or the README walk-through)


class Store(Protocol):
    """Everything commhub keeps. All times are timezone-aware UTC datetimes."""

    async def migrate(self) -> int:
        """Create or upgrade the schema; return the schema version now in force."""

    async def close(self) -> None:
        """Close connections; the store cannot be used afterwards."""

    async def ping(self) -> bool:
        """True when the database answers (for /healthz)."""

    # -- members ---------------------------------------------------------------------------
    async def upsert_members(self, members: Sequence[Member]) -> None:
        """Create or replace members, all in one transaction (all or nothing)."""

    async def upsert_members_stream(
        self, batches: AsyncIterable[Sequence[Member]] | Iterable[Sequence[Member]]
    ) -> int:
        """Create or replace every member of every batch in ONE transaction; return how many
        members were received (a later row for the same id replaces the earlier one).

        Batches are consumed lazily, one at a time, so memory stays flat however many there
        are (a million-member import). If the database fails, or the iterable raises, midway,
        nothing is stored and the error propagates (driver errors as `StoreError`, the
        iterable's own exceptions unchanged). A sync iterable may be consumed in a thread.
        """

    async def get_member(self, member_id: str) -> Member | None:
        """The member, or None if unknown or erased."""

    async def existing_member_ids(self, member_ids: Sequence[str]) -> set[str]:
        """Which of these ids name members that exist and are not erased."""

    async def erase_member(self, member_id: str) -> Erasure | None:
        """Erase the member's personal data; None if unknown.

        Nulled: the member's fields, their deliveries' template data, error texts, language,
        format and fallback mark (which say what the member reads and needs) and their
        history's reasons. Ids and states stay, so campaign totals still add up. On SQLite
        the freed bytes are zeroed (secure_delete) and the WAL checkpointed and truncated,
        so no copy stays in the files; on PostgreSQL see docs/erasure.md.
        """

    # -- tokens ----------------------------------------------------------------------------
    async def add_token(
        self, token_hash: str, role: Role, label: str, expires_at: datetime | None = None
    ) -> TokenInfo:
        """Store an API token by its SHA-256 hex digest (never the token). Conflict if known."""

    async def token_for(self, token_hash: str, now: datetime) -> TokenInfo | None:
        """The token with this hash if it may be used at `now` (not revoked, not expired),
        else None. Records the use (`last_used_at`, refreshed at most once a minute)."""

    async def role_for_token(self, token_hash: str) -> Role | None:
        """The role of the usable token with this hash, or None."""

    async def list_tokens(self) -> list[TokenInfo]:
        """Every token, oldest first, revoked and expired ones included."""

    async def revoke_token(self, token_id: str, now: datetime) -> TokenInfo:
        """Revoke the token with this id (`domain.token_id`); revoking twice keeps the first
        time. NotFound for an unknown id."""

    # -- audit -----------------------------------------------------------------------------
    async def add_audit(self, entry: AuditEntry) -> None:
        """Append an entry to the audit log."""

    async def list_audit(
        self,
        since: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
        after_id: int = 0,
    ) -> list[AuditEntry]:
        """Entries oldest first with id > `after_id`, at or after `since`, by `actor`
        (a token id or "cli"), of `action`."""

    # -- campaigns -------------------------------------------------------------------------
    async def create_campaign(self, new: NewCampaign) -> tuple[Campaign, bool]:
        """Create the campaign and one queued delivery per recipient, in one transaction.

        With an idempotency key already used: returns (existing campaign, False) when the
        request hash matches, raises `Conflict` when it does not (also when one of two
        concurrent requests with the same key loses the race). Otherwise (campaign, True).
        Keys are global (not per token). Nothing is stored when anything fails.

        The caller validates recipients; the store still refuses a member listed twice or an
        unknown member with `ValidationError` (problems carry the recipient `index`).
        """

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with its status derived now (`lifecycle.derive_campaign_status`):
        "cancelled" once cancelled; "done" when every delivery is final; "paused" while
        paused; "scheduled" while `send_at` is in the future; "held" when every delivery left
        is held; else "sending"."""

    async def list_campaigns(
        self,
        status: str | None = None,
        template: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[CampaignSummary]:
        """Campaigns newest first (created_at, then id), with counts by state; only those
        whose derived status is `status` / of `template` when given. `after` is the id of the
        last campaign of the previous page (NotFound if unknown)."""

    async def pinned_content(self, content_hash: str) -> PinnedContent | None:
        """The content pinned under this hash (manifest and files), or None if unknown."""

    async def campaign_counts(self, campaign_id: str) -> CampaignCounts:
        """Counts of the campaign's deliveries. `by_state` names every state (0 included);
        language/format are the ones actually used once rendered, else the member's
        preference at enqueue. NotFound for an unknown campaign."""

    async def list_deliveries(
        self, campaign_id: str, state: str | None = None, limit: int = 100, after_id: int = 0
    ) -> list[DeliveryRow]:
        """Deliveries in id order with id > `after_id` (keyset pagination), optionally in one
        state."""

    async def delivery_history(self, delivery_id: int) -> list[StateChange]:
        """State changes oldest first, starting with `queued` at the campaign's creation;
        empty for an unknown delivery."""

    async def cancel_campaign(self, campaign_id: str, now: datetime) -> int:
        """Cancel every delivery not yet sent (and not leased); return how many.

        Deliveries a worker holds finish their current attempt; if it ends in a non-final
        state they become `cancelled`, and they are never claimed again. Cancelling a
        campaign that is done changes nothing and returns 0. NotFound for an unknown id.
        """

    async def change_campaign(self, campaign_id: str, event: CampaignEvent, now: datetime) -> int:
        """Apply a staff action as `commhub.lifecycle.CAMPAIGN_TRANSITIONS` allows; return how
        many deliveries it touched. NotFound for an unknown id; Conflict when not allowed.

        - pause: waiting deliveries (queued, retry_wait, held) are parked, never due, until
          resume; leased ones finish their attempt (a non-final outcome is parked too).
        - resume: parked deliveries are due again as if never paused.
        - release: every held delivery becomes queued (history "released by staff"), due
          now (or at resume): a worker evaluates it again against the current settings
          and holds it again, with its reason, if it still may not go.
        - cancel: as `cancel_campaign`.
        """

    # -- workers ---------------------------------------------------------------------------
    async def claim(
        self, worker_id: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries and move them to `rendering`.

        Due: queued (campaign send_at passed), retry_wait/held with retry_at passed, or any
        non-final delivery whose lease expired (its worker died). Each claim counts an attempt
        (taken back if it ends `held` or released); `ClaimedDelivery.attempts` is the count
        before this one. Oldest due first.
        `member` is None when the member was erased (the worker then marks it skipped).
        """

    async def record(
        self, worker_id: str, outcomes: Sequence[DeliveryOutcome], now: datetime
    ) -> None:
        """Record outcomes in one transaction, with a history row per state change.

        Each outcome is an event of `commhub.lifecycle` (`OUTCOME_EVENTS`); the transition
        table decides the new state and history row. Outcomes for the same delivery apply in
        order, each from the state the one before left. A forbidden transition raises
        `TransitionError` and nothing of the call is stored.

        Only deliveries still leased by `worker_id` are updated (a worker whose lease was
        taken over must not overwrite the new owner's result); others are ignored.
        `rendering`/`sending` keep the lease (progress); any other state clears it. `retry_wait`
        and `held` become due at `retry_at` (`held` without it waits for staff; `retry_wait`
        without it is due at once). `reason` becomes `last_error` when given; `language`,
        `format`, `language_fallback` and `message_id` are stored when given; `maybe_sent`
        sets the delivery's mark, which nothing clears (the next claims return it). A non-final
        outcome for a cancelled campaign is recorded as `cancelled`.

        An outcome `held` uncounts the claim's attempt (nothing was sent: quiet hours or a
        policy hold), so `attempts` stays the number of sending tries made.
        """

    async def release(self, worker_id: str, delivery_ids: Sequence[int], now: datetime) -> None:
        """Give leased deliveries back (graceful shutdown): they become `queued` and due at once,
        and the claim's attempt is not counted. Deliveries not leased by `worker_id` are
        ignored."""

    async def renew_leases(
        self, worker_id: str, delivery_ids: Sequence[int], lease_seconds: float, now: datetime
    ) -> list[int]:
        """Extend to `now + lease_seconds` the leases of these deliveries that `worker_id`
        still holds (`rendering`/`sending`, `lease_owner` = it), in one round trip; return
        their ids, ascending. Never takes a delivery over: one another worker claimed, or
        one recorded meanwhile, is left alone. A lease that expired but was not claimed by
        anyone is still this worker's and is extended. Neither the state nor `updated_at`
        changes, and no history row is written. The PostgreSQL store skips a row another
        transaction is changing at that moment (the caller's next renewal takes it)."""

    async def queue_depth(self, now: datetime) -> int:
        """Deliveries due or leased: work not finished."""

    async def state_totals(self) -> dict[str, int]:
        """Deliveries per state across all campaigns (for /metrics)."""

    # -- consent and bounces ---------------------------------------------------------------
    async def delivery_ref(self, delivery_id: int) -> DeliveryRef | None:
        """The delivery with this id, with its member's language and address now; None when
        unknown."""

    async def opt_out(self, member_id: str, topic: str | None, now: datetime) -> int:
        """Opt the member out of `topic` (None: all outreach) and skip, at once, every
        delivery of theirs waiting for that topic (queued, retry_wait, held: `skipped`,
        reason "opted out"); return how many. Leased ones finish their attempt. 0 and no
        change for an unknown or erased member."""

    async def record_bounce(
        self, delivery_id: int, bounce: Bounce, now: datetime, soft_limit: int
    ) -> BounceResult:
        """A DSN for this delivery: `sending`/`sent` becomes `bounced` (reason and status in
        last_error). The member's address is marked undeliverable on a hard bounce, or on
        the `soft_limit`-th soft one in a row, unless the member's address is no longer the
        one that bounced. A delivery already bounced (the same DSN read twice) changes
        nothing."""
