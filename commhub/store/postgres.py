"""The scale-out store: PostgreSQL through an asyncpg pool.

Any number of API nodes and workers share the database. Claims lock due rows with
`FOR UPDATE SKIP LOCKED`, so concurrent workers never take the same delivery and never wait
for each other. Each operation is one statement or one short transaction; claim and record
are single round trips. Campaign intake uses COPY. Driver errors become `StoreError`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from commhub.content.pinned import PinnedContent
from commhub.domain import (
    AuditEntry,
    Campaign,
    ClaimedDelivery,
    DeliveryOutcome,
    Member,
    Role,
    State,
    TokenInfo,
    token_id,
)
from commhub.errors import CommhubError, Conflict, NotFound, StoreError, StoreUnavailable
from commhub.lifecycle import (
    DELIVERY_TRANSITIONS,
    CampaignEvent,
    Event,
    TransitionError,
    campaign_transition,
    outcome_event,
    transition,
)
from commhub.store.base import (
    Bounce,
    BounceResult,
    CampaignCounts,
    CampaignSummary,
    DeliveryRef,
    DeliveryRow,
    Erasure,
    NewCampaign,
    StateChange,
)
from commhub.store.migrations import migrations
from commhub.store.rows import (
    EPOCH,
    FINAL_SQL,
    LEASED_SQL,
    OPEN_RANK_SQL,
    OPEN_SQL,
    WAITING_SQL,
    PlannedDelivery,
    bounced_address,
    campaign_counts,
    campaign_status,
    check_unique_members,
    member_from_fields,
    member_values,
    new_campaign_id,
    open_rank,
    opted_out_after,
    plan_record,
    repeats,
    sql_literal,
    token_prefix,
    unknown_members_error,
    utc,
)

# After an intake this large, refresh the planner's statistics: with stale ones the claim
# query sorted every queued row (RECIPES: 10 ms instead of 1.8 ms per claim).
ANALYZE_AFTER = 5_000
_MIGRATION_LOCK = 0x636F6D6D68756221  # pg_advisory_xact_lock key: "commhub!"
# The transition table (commhub.lifecycle) as SQL rows, so `record` follows it in one statement.
_TRANSITIONS_SQL = (
    "(VALUES "
    + ", ".join(
        f"({sql_literal(str(state))}, {sql_literal(str(event))}, {sql_literal(str(t.to))},"
        f" {sql_literal(t.reason)}::text, {'true' if t.uncount else 'false'},"
        f" {'true' if t.history else 'false'})"
        for (state, event), t in DELIVERY_TRANSITIONS.items()
    )
    + ") AS t(from_state, event, to_state, reason, uncount, history)"
)
_CLAIM_T = DELIVERY_TRANSITIONS[State.QUEUED, Event.CLAIM]
_TAKE_OVER_T = DELIVERY_TRANSITIONS[State.RENDERING, Event.TAKE_OVER]
_CANCEL_T = DELIVERY_TRANSITIONS[State.QUEUED, Event.CANCEL]
_GIVE_BACK_T = DELIVERY_TRANSITIONS[State.RENDERING, Event.GIVE_BACK]
_RELEASE_T = DELIVERY_TRANSITIONS[State.HELD, Event.RELEASE]
# A campaign and how far its deliveries are (see rows.open_rank), read by `_campaign`.
_CAMPAIGN_SELECT = (
    "SELECT c.id, c.name, c.template, c.status, c.created_at, c.send_at, c.total,"
    f" (SELECT {OPEN_RANK_SQL} FROM deliveries WHERE campaign_id = c.id"
    f" AND state IN ({OPEN_SQL})) AS rank, c.paused_at, c.finished_at, c.cancelled_at,"
    " c.content_hash, c.ignore_quiet_hours FROM campaigns c"
)

# The server is down, restarting or out of reach: nothing was wrong with the request.
_UNREACHABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # e.g. the connection was closed under a query
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.CrashShutdownError,
)

_MEMBER_SELECT = (
    "m.member_id, m.given_name, m.family_name, m.language, m.format, m.email, m.phone,"
    " m.relay_address, m.timezone, m.opted_out, m.erased_at IS NOT NULL AS erased,"
    " m.undeliverable"
)

# One round trip: pick due rows (skipping rows other workers hold), lease them, write their
# history, and return them with their members. `ANY(ARRAY(...))` keeps the plan an index
# scan on the primary key; the `id IN (subquery)` form switched to a whole-table plan.
_CLAIM = f"""
WITH picked AS MATERIALIZED (
    SELECT id, state FROM deliveries
    WHERE due_at <= $3::timestamptz
    ORDER BY due_at, id
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), upd AS (
    UPDATE deliveries d SET
        state = CASE WHEN c.status = 'cancelled' THEN '{_CANCEL_T.to}' ELSE '{_CLAIM_T.to}' END,
        attempts = CASE WHEN c.status = 'cancelled' THEN d.attempts ELSE d.attempts + 1 END,
        lease_owner = CASE WHEN c.status = 'cancelled' THEN NULL ELSE $2::text END,
        lease_expires_at = CASE WHEN c.status = 'cancelled' THEN NULL
                                ELSE $4::timestamptz END,
        due_at = CASE WHEN c.status = 'cancelled' THEN NULL ELSE $4::timestamptz END,
        retry_at = NULL,
        last_error = CASE WHEN c.status <> 'cancelled' AND d.state IN ({LEASED_SQL})
                          THEN '{_TAKE_OVER_T.reason}' ELSE d.last_error END,
        updated_at = $3
    FROM campaigns c
    WHERE c.id = d.campaign_id AND d.id = ANY(ARRAY(SELECT id FROM picked))
    RETURNING d.id, d.campaign_id, c.template, d.attempts, d.data, d.state, d.member_id,
              c.ignore_quiet_hours, d.maybe_sent
), ev AS (
    INSERT INTO delivery_events (delivery_id, state, at, reason)
    SELECT u.id, u.state, $3,
           CASE WHEN u.state = '{_CANCEL_T.to}' THEN '{_CANCEL_T.reason}'
                WHEN p.state IN ({LEASED_SQL}) THEN '{_TAKE_OVER_T.reason}'
                ELSE '{_CLAIM_T.reason}' END
    FROM upd u JOIN picked p ON p.id = u.id
)
SELECT u.id, u.campaign_id, u.template, u.attempts, u.data, u.state, u.ignore_quiet_hours,
       u.maybe_sent,
       {_MEMBER_SELECT}
FROM upd u JOIN members m ON m.member_id = u.member_id
ORDER BY u.id
"""

# One round trip: only rows still leased by $1 are touched, each through the transition
# table (`t`). An outcome the table forbids is returned and then nothing is written (the
# caller raises TransitionError). Each delivery appears at most once (see `record`).
_RECORD = f"""
WITH input AS (
    SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[],
                         $6::text[], $7::text[], $8::boolean[], $9::text[], $11::boolean[])
        AS i(id, event, reason, retry_at, language, format, fallback, message_id, maybe_sent)
), cur AS (
    SELECT d.id, d.state AS old_state, c.status = 'cancelled' AS cancelled,
           c.paused_at IS NOT NULL AS paused
    FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id
    WHERE d.id = ANY($2::bigint[]) AND d.lease_owner = $1
    FOR UPDATE OF d
), step AS (
    SELECT i.*, cur.old_state, cur.cancelled, cur.paused, t.to_state, t.reason AS t_reason,
           t.uncount, t.history
    FROM input i JOIN cur ON cur.id = i.id
    LEFT JOIN {_TRANSITIONS_SQL} ON t.from_state = cur.old_state AND t.event = i.event
), calc AS MATERIALIZED (
    -- In a cancelled campaign an outcome that leaves the delivery unfinished cancels it.
    SELECT s.*, CASE WHEN cx.to_state IS NOT NULL THEN cx.to_state ELSE s.to_state END AS new_state,
           CASE WHEN cx.to_state IS NOT NULL THEN cx.reason
                ELSE coalesce(s.t_reason, s.reason) END AS new_reason,
           CASE WHEN cx.to_state IS NOT NULL THEN cx.uncount ELSE s.uncount END AS new_uncount,
           CASE WHEN cx.to_state IS NOT NULL THEN cx.history ELSE s.history END AS new_history
    FROM step s
    LEFT JOIN (SELECT * FROM {_TRANSITIONS_SQL}) cx
        ON s.cancelled AND s.event <> 'cancel' AND s.to_state NOT IN ({FINAL_SQL})
           AND cx.from_state = s.old_state AND cx.event = 'cancel'
), bad AS (
    SELECT id, old_state, event FROM calc WHERE to_state IS NULL
), upd AS (
    UPDATE deliveries d SET
        state = x.new_state,
        attempts = CASE WHEN x.new_uncount THEN greatest(d.attempts - 1, 0) ELSE d.attempts END,
        due_at = CASE WHEN x.new_state IN ({LEASED_SQL}) THEN d.due_at
                      WHEN x.paused THEN NULL
                      WHEN x.new_state = '{State.RETRY_WAIT}' THEN coalesce(x.retry_at, $10)
                      WHEN x.new_state = '{State.HELD}' THEN x.retry_at
                      WHEN x.new_state = '{State.QUEUED}' THEN $10
                      ELSE NULL END,
        lease_owner = CASE WHEN x.new_state IN ({LEASED_SQL}) THEN d.lease_owner END,
        lease_expires_at = CASE WHEN x.new_state IN ({LEASED_SQL})
                                THEN d.lease_expires_at END,
        retry_at = x.retry_at,
        last_error = coalesce(x.new_reason, d.last_error),
        language = coalesce(x.language, d.language),
        format = coalesce(x.format, d.format),
        language_fallback = CASE WHEN x.language IS NULL THEN d.language_fallback
                                 ELSE x.fallback END,
        message_id = coalesce(x.message_id, d.message_id),
        maybe_sent = d.maybe_sent OR x.maybe_sent,
        updated_at = $10
    FROM calc x
    WHERE d.id = x.id AND NOT EXISTS (SELECT 1 FROM bad)
    RETURNING d.id, x.new_state, x.new_reason, x.new_history
), ev AS (
    INSERT INTO delivery_events (delivery_id, state, at, reason)
    SELECT id, new_state, $10, new_reason FROM upd WHERE new_history
)
SELECT id, old_state, event FROM bad
"""

# The deliveries of a `record` call still leased by $1, locked, for `plan_record` (used when
# one call brings several outcomes for the same delivery: they apply in order).
_RECORD_CURRENT = """
SELECT d.id, d.state, c.status = 'cancelled' AS cancelled, c.paused_at IS NOT NULL AS paused
FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id
WHERE d.id = ANY($2::bigint[]) AND d.lease_owner = $1
ORDER BY d.id
FOR UPDATE OF d
"""

# Writes what `plan_record` decided: one row per delivery (final values).
_RECORD_PLANNED = f"""
UPDATE deliveries d SET
    state = x.state,
    attempts = greatest(d.attempts - x.uncount, 0),
    due_at = CASE WHEN x.state IN ({LEASED_SQL}) THEN d.due_at ELSE x.due_at END,
    lease_owner = CASE WHEN x.state IN ({LEASED_SQL}) THEN d.lease_owner END,
    lease_expires_at = CASE WHEN x.state IN ({LEASED_SQL}) THEN d.lease_expires_at END,
    retry_at = x.retry_at,
    last_error = coalesce(x.last_error, d.last_error),
    language = coalesce(x.language, d.language),
    format = coalesce(x.format, d.format),
    language_fallback = CASE WHEN x.language IS NULL THEN d.language_fallback
                             ELSE x.fallback END,
    message_id = coalesce(x.message_id, d.message_id),
    maybe_sent = d.maybe_sent OR x.maybe_sent,
    updated_at = $11
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::timestamptz[],
            $6::text[], $7::text[], $8::boolean[], $9::text[], $10::timestamptz[],
            $12::boolean[])
    AS x(id, state, last_error, uncount, retry_at, language, format, fallback, message_id,
         due_at, maybe_sent)
WHERE d.id = x.id
"""

# GIVE_BACK, or CANCEL in a cancelled campaign (lifecycle); parked while paused.
_RELEASE = f"""
WITH upd AS (
    UPDATE deliveries d SET
        state = CASE WHEN c.status = 'cancelled' THEN '{_CANCEL_T.to}'
                     ELSE '{_GIVE_BACK_T.to}' END,
        attempts = greatest(d.attempts - 1, 0),
        due_at = CASE WHEN c.status = 'cancelled' OR c.paused_at IS NOT NULL THEN NULL
                      ELSE $3::timestamptz END,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = $3::timestamptz
    FROM campaigns c
    WHERE c.id = d.campaign_id AND d.id = ANY($2::bigint[]) AND d.lease_owner = $1
    RETURNING d.id, d.state
)
INSERT INTO delivery_events (delivery_id, state, at, reason)
SELECT id, state, $3,
       CASE WHEN state = '{_CANCEL_T.to}' THEN '{_CANCEL_T.reason}'
            ELSE '{_GIVE_BACK_T.reason}' END
FROM upd
"""

# Rows another transaction holds are skipped, not waited for: a `record` of the same worker
# may hold them in another order (waiting could deadlock, and PostgreSQL would then abort
# one of the two); such a row is renewed by the next call, a third of a lease later.
_RENEW = f"""
WITH mine AS (
    SELECT id FROM deliveries
    WHERE id = ANY($2::bigint[]) AND lease_owner = $1 AND state IN ({LEASED_SQL})
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d SET lease_expires_at = $3, due_at = $3
FROM mine WHERE d.id = mine.id
RETURNING d.id
"""

_CANCEL = f"""
WITH upd AS (
    UPDATE deliveries SET state = '{_CANCEL_T.to}', due_at = NULL, retry_at = NULL,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
    WHERE campaign_id = $1 AND (state IN ({WAITING_SQL})
        OR (state IN ({LEASED_SQL}) AND lease_expires_at <= $2))
    RETURNING id
), ev AS (
    INSERT INTO delivery_events (delivery_id, state, at, reason)
    SELECT id, '{_CANCEL_T.to}', $2, '{_CANCEL_T.reason}' FROM upd
)
SELECT count(*) FROM upd
"""


# One round trip per batch of members. Ids are unique within a batch (see _upsert_batch):
# ON CONFLICT cannot touch one row twice in a statement.
_UPSERT_MEMBERS = """
INSERT INTO members (member_id, given_name, family_name, language, format, email, phone,
                     relay_address, timezone, opted_out, updated_at, erased_at)
SELECT i.member_id, i.given_name, i.family_name, i.language, i.format, i.email, i.phone,
       i.relay_address, i.timezone, i.opted_out::jsonb, $11, NULL
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[], $10::text[])
    AS i(member_id, given_name, family_name, language, format, email, phone, relay_address,
         timezone, opted_out)
ON CONFLICT (member_id) DO UPDATE SET given_name = excluded.given_name,
    family_name = excluded.family_name, language = excluded.language,
    format = excluded.format, email = excluded.email, phone = excluded.phone,
    relay_address = excluded.relay_address, timezone = excluded.timezone,
    opted_out = excluded.opted_out, updated_at = excluded.updated_at, erased_at = NULL
"""


async def _upsert_batch(conn: Any, members: Sequence[Member], now: datetime) -> None:
    """Upsert one batch in the caller's transaction; a repeated id keeps its last row."""
    last = {m.member_id: m for m in members}.values()
    # One array per column ($1..$10), in the order of member_values.
    columns = [list(column) for column in zip(*map(member_values, last), strict=True)]
    await conn.execute(_UPSERT_MEMBERS, *columns, now)


async def _lazily(
    batches: AsyncIterable[Sequence[Member]] | Iterable[Sequence[Member]],
) -> AsyncGenerator[Sequence[Member], None]:
    """The batches one at a time; a sync iterable is advanced in a worker thread."""
    try:
        if isinstance(batches, AsyncIterable):
            async for batch in batches:
                yield batch
            return
        it = iter(batches)
        done: list[Member] = []  # sentinel: never a real batch (compared by identity)
        while (batch := await asyncio.to_thread(next, it, done)) is not done:
            yield batch
    except Exception as exc:
        # Raised by the source itself. (The consumer's failures reach this generator only as
        # GeneratorExit from aclose(), a BaseException, which passes untouched.)
        raise _SourceFailed(exc) from exc


class _SourceFailed(Exception):
    """Carries an exception of the caller's batches past the driver-error translation."""

    def __init__(self, error: Exception) -> None:
        super().__init__("the member batches raised")
        self.error = error


async def _keep_session(conn: Any) -> None:
    """Pool reset hook: skip asyncpg's default RESET ALL/UNLISTEN round trip per release.

    Open transactions are still rolled back by asyncpg; commhub never changes session state
    (no SET, LISTEN, cursors or session advisory locks), so there is nothing else to undo.
    """


def _member(row: Any) -> Member | None:
    opted = json.loads(row["opted_out"]) if row["opted_out"] is not None else False
    return member_from_fields(
        row["member_id"], row["given_name"], row["family_name"], row["language"],
        row["format"], row["email"], row["phone"], row["relay_address"], row["timezone"],
        opted, row["erased"],
        json.loads(row["undeliverable"]) if row["undeliverable"] is not None else None,
    )  # fmt: skip


_TOKEN_COLUMNS = "token_hash, role, label, created_at, expires_at, revoked_at, last_used_at"
_LAST_USED_EVERY = timedelta(minutes=1)  # a token's last use is written at most once a minute


def _token(row: Any) -> TokenInfo:
    return TokenInfo(
        id=token_id(row["token_hash"]),
        role=Role(row["role"]),
        label=row["label"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


def _due_after(p: PlannedDelivery, now: datetime) -> datetime | None:
    """When a planned delivery that is not leased is next due (None: not by itself)."""
    retry_at = None if p.retry_at is None else utc(p.retry_at)
    if p.state == State.RETRY_WAIT:
        return retry_at or now
    if p.state == State.HELD:
        return retry_at
    if p.state == State.QUEUED:
        return now
    return None


def _campaign(row: Any) -> Campaign:
    """A campaign from a `_CAMPAIGN_SELECT` row."""
    has_open, has_active = open_rank(row["rank"])
    status = campaign_status(
        row["status"],
        row["send_at"],
        has_open,
        paused=row["paused_at"] is not None,
        has_active=has_active,
    )
    return Campaign(
        id=row["id"],
        name=row["name"],
        template=row["template"],
        status=status,
        created_at=row["created_at"],
        send_at=row["send_at"],
        total=row["total"],
        paused_at=row["paused_at"],
        finished_at=row["cancelled_at"] if row["status"] == "cancelled" else row["finished_at"],
        content_hash=row["content_hash"],
        ignore_quiet_hours=row["ignore_quiet_hours"],
    )


class PostgresStore:
    """The Store on PostgreSQL (see the module docstring). The pool opens on first use."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self._url = url
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        self._closed = False
        # Content hashes (sets and files) this store has committed: not sent again.
        self._known_content: set[str] = set()

    # -- plumbing --------------------------------------------------------------------------
    async def _get_pool(self) -> Any:
        if self._closed:
            raise StoreError("the store is closed")
        if self._pool is None:
            if self._opening is None:
                self._opening = asyncio.Lock()
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._url,
                        min_size=self._min_size,
                        max_size=self._max_size,
                        reset=_keep_session,
                    )
        return self._pool

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Any]:
        """A pooled connection; driver and network errors leave as StoreError."""
        try:
            pool = await self._get_pool()
            async with pool.acquire() as conn:
                yield conn
        except CommhubError:
            raise
        except _UNREACHABLE as exc:
            raise StoreUnavailable(f"PostgreSQL unreachable: {exc.__class__.__name__}") from exc
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The message names the condition (SQLSTATE class), never row content.
            raise StoreError(f"PostgreSQL error: {exc.__class__.__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise StoreUnavailable("PostgreSQL did not answer in time") from exc

    # -- lifecycle -------------------------------------------------------------------------
    async def migrate(self) -> int:
        """Apply every migration not applied yet, in order, under an advisory lock."""
        async with self._conn() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY,"
                " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            version: int = await conn.fetchval(
                "SELECT coalesce(max(version), 0) FROM schema_version"
            )
            for step in migrations("postgres"):
                if step.version <= version:
                    continue
                await conn.execute(step.sql)
                await conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
                    step.version,
                    step.name,
                )
                version = step.version
        return version

    async def close(self) -> None:
        """Close the pool (waits for connections in use to be released)."""
        self._closed = True
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def ping(self) -> bool:
        """True when the database answers a query."""
        try:
            async with self._conn() as conn:
                return bool(await conn.fetchval("SELECT 1") == 1)
        except StoreError:
            return False

    # -- members ---------------------------------------------------------------------------
    async def upsert_members(self, members: Sequence[Member]) -> None:
        """Create or replace members in one transaction; an erased member is restored."""
        if not members:
            return
        async with self._conn() as conn, conn.transaction():
            await _upsert_batch(conn, members, datetime.now(UTC))

    async def upsert_members_stream(
        self, batches: AsyncIterable[Sequence[Member]] | Iterable[Sequence[Member]]
    ) -> int:
        """Upsert every batch in ONE transaction on one connection, all or nothing (see base).

        Each batch is one statement (arrays unnested server-side). A sync iterable is advanced
        in a thread, so reading and parsing a batch never holds the event loop.
        """
        now = datetime.now(UTC)
        count = 0
        try:
            async with (
                self._conn() as conn,
                conn.transaction(),
                aclosing(_lazily(batches)) as stream,
            ):
                async for batch in stream:
                    if batch:
                        await _upsert_batch(conn, batch, now)
                        count += len(batch)
        except _SourceFailed as failed:
            # The transaction is rolled back; the caller gets its own error, not a StoreError.
            raise failed.error from None
        return count

    async def get_member(self, member_id: str) -> Member | None:
        """The member, or None if unknown or erased."""
        async with self._conn() as conn:
            row = await conn.fetchrow(
                f"SELECT {_MEMBER_SELECT} FROM members m WHERE m.member_id = $1", member_id
            )
        return None if row is None else _member(row)

    async def existing_member_ids(self, member_ids: Sequence[str]) -> set[str]:
        """Which of these ids name members that exist and are not erased."""
        async with self._conn() as conn:
            rows = await conn.fetch(
                "SELECT member_id FROM members WHERE member_id = ANY($1::text[])"
                " AND erased_at IS NULL",
                list(member_ids),
            )
        return {r[0] for r in rows}

    async def erase_member(self, member_id: str) -> Erasure | None:
        """Erase the member's personal data (see base; what PostgreSQL keeps: docs/erasure.md)."""
        now = datetime.now(UTC)
        async with self._conn() as conn, conn.transaction():
            found = await conn.fetchval(
                "UPDATE members SET given_name = NULL, family_name = NULL, language = NULL,"
                " format = NULL, email = NULL, phone = NULL, relay_address = NULL,"
                " timezone = NULL, opted_out = NULL, undeliverable = NULL, updated_at = $2,"
                " erased_at = coalesce(erased_at, $2) WHERE member_id = $1 RETURNING 1",
                member_id,
                now,
            )
            if found is None:
                return None
            await conn.execute("DELETE FROM address_bounces WHERE member_id = $1", member_id)
            deliveries = await conn.fetch(
                "SELECT id, campaign_id, message_id FROM deliveries WHERE member_id = $1",
                member_id,
            )
            await conn.execute(
                "UPDATE delivery_events SET reason = NULL WHERE delivery_id IN"
                " (SELECT id FROM deliveries WHERE member_id = $1)",
                member_id,
            )
            await conn.execute(
                "UPDATE deliveries SET data = NULL, last_error = NULL, language = NULL,"
                " format = NULL, language_fallback = false WHERE member_id = $1",
                member_id,
            )
        return Erasure(tuple((d[0], d[1], d[2]) for d in deliveries))

    # -- tokens ----------------------------------------------------------------------------
    async def add_token(
        self, token_hash: str, role: Role, label: str, expires_at: datetime | None = None
    ) -> TokenInfo:
        """Store a token hash with its role; Conflict if the hash is known."""
        try:
            async with self._conn() as conn:
                row = await conn.fetchrow(
                    "INSERT INTO tokens (token_hash, role, label, created_at, expires_at)"
                    f" VALUES ($1, $2, $3, $4, $5) RETURNING {_TOKEN_COLUMNS}",
                    token_hash,
                    str(role),
                    label,
                    datetime.now(UTC),
                    None if expires_at is None else utc(expires_at),
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                raise Conflict("this token is already stored") from exc
            raise
        return _token(row)

    async def token_for(self, token_hash: str, now: datetime) -> TokenInfo | None:
        """The usable token with this hash, its use recorded (see base)."""
        now = utc(now)
        async with self._conn() as conn:
            row = await conn.fetchrow(
                f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1"
                " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
                token_hash,
                now,
            )
            if row is None:
                return None
            if row["last_used_at"] is None or row["last_used_at"] < now - _LAST_USED_EVERY:
                await conn.execute(
                    "UPDATE tokens SET last_used_at = $2 WHERE token_hash = $1", token_hash, now
                )
        return _token(row)

    async def role_for_token(self, token_hash: str) -> Role | None:
        """The role of the usable token with this hash, or None."""
        token = await self.token_for(token_hash, datetime.now(UTC))
        return None if token is None else token.role

    async def list_tokens(self) -> list[TokenInfo]:
        """Every token, oldest first (see base)."""
        async with self._conn() as conn:
            rows = await conn.fetch(
                f"SELECT {_TOKEN_COLUMNS} FROM tokens ORDER BY created_at, token_hash"
            )
        return [_token(r) for r in rows]

    async def revoke_token(self, token_id: str, now: datetime) -> TokenInfo:
        """Revoke the token with this id (see base)."""
        prefix = token_prefix(token_id)
        async with self._conn() as conn:
            row = await conn.fetchrow(
                "UPDATE tokens SET revoked_at = coalesce(revoked_at, $2)"
                f" WHERE left(token_hash, 12) = $1 RETURNING {_TOKEN_COLUMNS}",
                prefix,
                utc(now),
            )
        if row is None:
            raise NotFound(f"no token {token_id}")
        return _token(row)

    # -- audit -----------------------------------------------------------------------------
    async def add_audit(self, entry: AuditEntry) -> None:
        """Append an entry to the audit log."""
        async with self._conn() as conn:
            await conn.execute(
                "INSERT INTO audit_log (at, actor, actor_label, action, object_id, outcome)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                utc(entry.at),
                entry.actor,
                entry.actor_label,
                entry.action,
                entry.object_id,
                entry.outcome,
            )

    async def list_audit(
        self,
        since: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        limit: int = 100,
        after_id: int = 0,
    ) -> list[AuditEntry]:
        """Entries oldest first, filtered (see base)."""
        async with self._conn() as conn:
            rows = await conn.fetch(
                "SELECT id, at, actor, actor_label, action, object_id, outcome FROM audit_log"
                " WHERE id > $1 AND ($2::timestamptz IS NULL OR at >= $2)"
                " AND ($3::text IS NULL OR actor = $3) AND ($4::text IS NULL OR action = $4)"
                " ORDER BY id LIMIT $5",
                after_id,
                None if since is None else utc(since),
                actor,
                action,
                max(0, limit),
            )
        return [
            AuditEntry(
                id=r["id"],
                at=r["at"],
                actor=r["actor"],
                actor_label=r["actor_label"],
                action=r["action"],
                object_id=r["object_id"],
                outcome=r["outcome"],
            )
            for r in rows
        ]

    # -- campaigns -------------------------------------------------------------------------
    async def create_campaign(self, new: NewCampaign) -> tuple[Campaign, bool]:
        """Create the campaign and its queued deliveries in one transaction (see base)."""
        member_ids = [r.member_id for r in new.recipients]
        check_unique_members(member_ids)
        if new.idempotency_key is not None:
            replay = await self._replay(new)
            if replay is not None:
                return replay, False
        try:
            campaign = await self._insert_campaign(new, member_ids)
        except StoreError as exc:
            cause = exc.__cause__
            if (
                new.idempotency_key is not None
                and isinstance(cause, asyncpg.UniqueViolationError)
                and "idempotency" in (cause.constraint_name or "")
            ):
                # Another request with the same key committed first: answer as a replay.
                replay = await self._replay(new)
                if replay is not None:
                    return replay, False
            raise
        if len(member_ids) >= ANALYZE_AFTER:
            async with self._conn() as conn:
                await conn.execute("ANALYZE deliveries")
        return campaign, True

    async def _replay(self, new: NewCampaign) -> Campaign | None:
        """The campaign already created with this key (Conflict if the body differs)."""
        async with self._conn() as conn:
            row = await conn.fetchrow(
                "SELECT id, request_hash FROM campaigns WHERE idempotency_key = $1",
                new.idempotency_key,
            )
        if row is None:
            return None
        if row["request_hash"] != new.request_hash:
            raise Conflict("this Idempotency-Key was used with a different request body")
        return await self.get_campaign(row["id"])

    async def _insert_campaign(self, new: NewCampaign, member_ids: list[str]) -> Campaign:
        now = datetime.now(UTC)
        send_at = None if new.send_at is None else utc(new.send_at)
        due = send_at if send_at is not None else EPOCH
        campaign_id = new_campaign_id()
        dumps = json.dumps
        async with self._conn() as conn, conn.transaction():
            # The member's language and format at enqueue time go on the delivery, so counts
            # per language/format need no join (and survive a later erase).
            prefs = {
                r[0]: (r[1], r[2])
                for r in await conn.fetch(
                    "SELECT member_id, language, format FROM members"
                    " WHERE member_id = ANY($1::text[])",
                    member_ids,
                )
            }
            unknown = unknown_members_error(member_ids, set(prefs))
            if unknown is not None:
                raise unknown
            content = new.content
            if content is not None:
                await self._store_content(conn, content, now)
            await conn.execute(
                "INSERT INTO campaigns (id, name, template, send_at, status, created_at,"
                " idempotency_key, request_hash, total, created_by, meta, content_hash,"
                " ignore_quiet_hours)"
                " VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10, $11, $12)",
                campaign_id,
                new.name,
                new.template,
                send_at,
                now,
                new.idempotency_key,
                new.request_hash,
                len(member_ids),
                new.created_by,
                dumps(new.meta),
                None if content is None else content.hash,
                new.ignore_quiet_hours,
            )
            if member_ids:
                records = [
                    (
                        campaign_id,
                        r.member_id,
                        dumps(r.data, separators=(",", ":")),
                        "queued",
                        due,
                        prefs[r.member_id][0],
                        prefs[r.member_id][1],
                        now,
                    )
                    for r in new.recipients
                ]
                await conn.copy_records_to_table(
                    "deliveries",
                    records=records,
                    columns=[
                        "campaign_id",
                        "member_id",
                        "data",
                        "state",
                        "due_at",
                        "language",
                        "format",
                        "updated_at",
                    ],
                )
        if new.content is not None:
            self._known_content.update([new.content.hash, *new.content.blob_hashes()])
        return Campaign(
            id=campaign_id,
            name=new.name,
            template=new.template,
            status=campaign_status("active", send_at, bool(member_ids)),
            created_at=now,
            send_at=send_at,
            total=len(member_ids),
            content_hash=None if new.content is None else new.content.hash,
            ignore_quiet_hours=new.ignore_quiet_hours,
        )

    async def _store_content(self, conn: Any, content: PinnedContent, now: datetime) -> None:
        """Store the content set and its files, each once (files this store already wrote
        are not sent again: a campaign of unchanged content sends only its hashes)."""
        if content.hash in self._known_content:
            return
        missing = [h for h in content.blob_hashes() if h not in self._known_content]
        present = {
            r[0]
            for r in await conn.fetch(
                "SELECT hash FROM content_blobs WHERE hash = ANY($1::text[])", missing
            )
        }
        fresh = [h for h in missing if h not in present]
        if fresh:
            await conn.execute(
                "INSERT INTO content_blobs (hash, body) SELECT * FROM unnest($1::text[],"
                " $2::bytea[]) ON CONFLICT DO NOTHING",
                fresh,
                [content.blobs[h] for h in fresh],
            )
        await conn.execute(
            "INSERT INTO content_sets (hash, manifest, created_at) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            content.hash,
            json.dumps(content.manifest),
            now,
        )

    async def pinned_content(self, content_hash: str) -> PinnedContent | None:
        """The content pinned under this hash, or None (see base)."""
        async with self._conn() as conn:
            manifest = await conn.fetchval(
                "SELECT manifest FROM content_sets WHERE hash = $1", content_hash
            )
            if manifest is None:
                return None
            pinned = PinnedContent(content_hash, json.loads(manifest))
            rows = await conn.fetch(
                "SELECT hash, body FROM content_blobs WHERE hash = ANY($1::text[])",
                pinned.blob_hashes(),
            )
        return PinnedContent(content_hash, pinned.manifest, {r[0]: bytes(r[1]) for r in rows})

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with its status derived now (see base)."""
        async with self._conn() as conn:
            row = await conn.fetchrow(f"{_CAMPAIGN_SELECT} WHERE c.id = $1", campaign_id)
            return None if row is None else await self._finished(conn, _campaign(row))

    @staticmethod
    async def _finished(conn: Any, campaign: Campaign) -> Campaign:
        """`campaign` with its finished time, stored the first time it is found done."""
        if campaign.status != "done" or campaign.finished_at is not None:
            return campaign
        finished = await conn.fetchval(
            "WITH f AS (SELECT max(updated_at) AS at FROM deliveries WHERE campaign_id = $1)"
            " UPDATE campaigns c SET finished_at = f.at FROM f"
            " WHERE c.id = $1 AND c.finished_at IS NULL AND f.at IS NOT NULL RETURNING f.at",
            campaign.id,
        )
        return replace(campaign, finished_at=finished)

    async def list_campaigns(
        self,
        status: str | None = None,
        template: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[CampaignSummary]:
        """Campaigns newest first with counts by state (see base)."""
        limit = max(0, limit)
        async with self._conn() as conn:
            cursor: tuple[datetime, str] | tuple[None, None] = (None, None)
            if after is not None:
                found = await conn.fetchrow(
                    "SELECT created_at, id FROM campaigns WHERE id = $1", after
                )
                if found is None:
                    raise NotFound(f"no campaign {after!r} to page after")
                cursor = (found["created_at"], found["id"])
            # The status is derived, so filtering by it reads batches until the page is full.
            batch = limit if status is None else max(limit, 200)
            picked: list[Campaign] = []
            while len(picked) < limit:
                rows = await conn.fetch(
                    f"{_CAMPAIGN_SELECT} WHERE ($1::text IS NULL OR c.template = $1)"
                    " AND ($2::timestamptz IS NULL OR (c.created_at, c.id) < ($2, $3::text))"
                    " ORDER BY c.created_at DESC, c.id DESC LIMIT $4",
                    template,
                    *cursor,
                    batch,
                )
                for r in rows:
                    campaign = await self._finished(conn, _campaign(r))
                    if status is None or campaign.status == status:
                        picked.append(campaign)
                        if len(picked) == limit:
                            break
                if len(rows) < batch:
                    break
                cursor = (rows[-1]["created_at"], rows[-1]["id"])
            counts: dict[str, dict[str, int]] = {c.id: {str(s): 0 for s in State} for c in picked}
            for r in await conn.fetch(
                "SELECT campaign_id, state, count(*) AS n FROM deliveries"
                " WHERE campaign_id = ANY($1::text[]) GROUP BY campaign_id, state",
                list(counts),
            ):
                counts[r["campaign_id"]][r["state"]] = r["n"]
        return [CampaignSummary(c, counts[c.id]) for c in picked]

    async def campaign_counts(self, campaign_id: str) -> CampaignCounts:
        """Counts per state, language and format (see base)."""
        async with (
            self._conn() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            found = await conn.fetchval("SELECT 1 FROM campaigns WHERE id = $1", campaign_id)
            rows = await conn.fetch(
                "SELECT state, language, format, language_fallback, count(*)"
                " FROM deliveries WHERE campaign_id = $1"
                " GROUP BY state, language, format, language_fallback",
                campaign_id,
            )
        if found is None:
            raise NotFound(f"no campaign {campaign_id}")
        return campaign_counts(rows)

    async def list_deliveries(
        self, campaign_id: str, state: str | None = None, limit: int = 100, after_id: int = 0
    ) -> list[DeliveryRow]:
        """Deliveries in id order after `after_id`, optionally in one state."""
        async with self._conn() as conn:
            rows = await conn.fetch(
                "SELECT id, member_id, state, attempts, last_error, language, format,"
                " language_fallback, updated_at, message_id FROM deliveries"
                " WHERE campaign_id = $1 AND id > $2 AND ($3::text IS NULL OR state = $3)"
                " ORDER BY id LIMIT $4",
                campaign_id,
                after_id,
                state,
                max(0, limit),
            )
        return [
            DeliveryRow(
                id=r["id"],
                member_id=r["member_id"],
                state=r["state"],
                attempts=r["attempts"],
                last_error=r["last_error"],
                language=r["language"],
                format=r["format"],
                language_fallback=r["language_fallback"],
                updated_at=r["updated_at"],
                message_id=r["message_id"],
            )
            for r in rows
        ]

    async def delivery_history(self, delivery_id: int) -> list[StateChange]:
        """State changes oldest first, starting with `queued` at campaign creation."""
        async with (
            self._conn() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            created = await conn.fetchval(
                "SELECT c.created_at FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
                " WHERE d.id = $1",
                delivery_id,
            )
            rows = await conn.fetch(
                "SELECT state, at, reason FROM delivery_events WHERE delivery_id = $1 ORDER BY id",
                delivery_id,
            )
        if created is None:
            return []
        history = [StateChange(str(State.QUEUED), created, None)]
        history.extend(StateChange(r["state"], r["at"], r["reason"]) for r in rows)
        return history

    async def cancel_campaign(self, campaign_id: str, now: datetime) -> int:
        """Cancel what is not sent and not leased (see base); return how many."""
        return await self.change_campaign(campaign_id, CampaignEvent.CANCEL, now)

    async def change_campaign(self, campaign_id: str, event: CampaignEvent, now: datetime) -> int:
        """Pause, resume, cancel or release a campaign as the life cycle allows (see base)."""
        now = utc(now)
        async with self._conn() as conn, conn.transaction():
            # Lock the campaign row: a concurrent claim or action sees the change or ends first.
            locked = await conn.fetchval(
                "SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id
            )
            if locked is None:
                raise NotFound(f"no campaign {campaign_id}")
            row = await conn.fetchrow(f"{_CAMPAIGN_SELECT} WHERE c.id = $1", campaign_id)
            campaign = _campaign(row)
            if not campaign_transition(campaign.status, event, campaign_id).changes:
                return 0
            if event is CampaignEvent.PAUSE:
                await conn.execute(
                    "UPDATE campaigns SET paused_at = $2 WHERE id = $1", campaign_id, now
                )
                # Waiting deliveries are parked (never due); leased ones finish their attempt.
                return int(
                    await conn.fetchval(
                        "WITH upd AS (UPDATE deliveries SET due_at = NULL WHERE campaign_id = $1"
                        f" AND state IN ({WAITING_SQL}) RETURNING 1) SELECT count(*) FROM upd",
                        campaign_id,
                    )
                )
            if event is CampaignEvent.RESUME:
                await conn.execute(
                    "UPDATE campaigns SET paused_at = NULL WHERE id = $1", campaign_id
                )
                # Due again as if never paused (queued: at send_at).
                return int(
                    await conn.fetchval(
                        "WITH upd AS (UPDATE deliveries SET due_at = CASE state"
                        f" WHEN '{State.QUEUED}' THEN coalesce($2::timestamptz, $3::timestamptz)"
                        f" WHEN '{State.RETRY_WAIT}' THEN coalesce(retry_at, $4::timestamptz)"
                        " ELSE retry_at END"
                        f" WHERE campaign_id = $1 AND state IN ({WAITING_SQL}) RETURNING 1)"
                        " SELECT count(*) FROM upd",
                        campaign_id,
                        campaign.send_at,
                        EPOCH,
                        now,
                    )
                )
            if event is CampaignEvent.RELEASE:
                due = None if campaign.paused_at is not None else now
                return int(
                    await conn.fetchval(
                        "WITH upd AS (UPDATE deliveries SET state = $3::text, retry_at = NULL,"
                        " due_at = $4::timestamptz, updated_at = $2"
                        f" WHERE campaign_id = $1 AND state = '{State.HELD}'"
                        " RETURNING id), ev AS (INSERT INTO delivery_events"
                        " (delivery_id, state, at, reason) SELECT id, $3, $2, $5 FROM upd)"
                        " SELECT count(*) FROM upd",
                        campaign_id,
                        now,
                        str(_RELEASE_T.to),
                        due,
                        _RELEASE_T.reason,
                    )
                )
            await conn.execute(
                "UPDATE campaigns SET status = 'cancelled', cancelled_at = $2 WHERE id = $1",
                campaign_id,
                now,
            )
            count: int = await conn.fetchval(_CANCEL, campaign_id, now)
        return count

    # -- workers ---------------------------------------------------------------------------
    async def claim(
        self, worker_id: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries, oldest due first (see base)."""
        if limit <= 0:
            return []
        now = utc(now)
        expires = now + timedelta(seconds=lease_seconds)
        async with self._conn() as conn:
            rows = await conn.fetch(_CLAIM, limit, worker_id, now, expires)
        return [
            ClaimedDelivery(
                id=r["id"],
                campaign_id=r["campaign_id"],
                template=r["template"],
                attempts=r["attempts"] - 1,
                data=json.loads(r["data"]) if r["data"] is not None else {},
                member=_member(r),
                quiet_hours=not r["ignore_quiet_hours"],
                maybe_sent=r["maybe_sent"],
            )
            for r in rows
            if r["state"] == State.RENDERING
        ]

    async def record(
        self, worker_id: str, outcomes: Sequence[DeliveryOutcome], now: datetime
    ) -> None:
        """Record outcomes of deliveries still leased by `worker_id` (see base)."""
        if not outcomes:
            return
        now = utc(now)
        if repeats(outcomes):
            await self._record_in_order(worker_id, outcomes, now)
            return
        args = (
            worker_id,
            [o.delivery_id for o in outcomes],
            [str(outcome_event(o.state)) for o in outcomes],
            [o.reason for o in outcomes],
            [None if o.retry_at is None else utc(o.retry_at) for o in outcomes],
            [o.language for o in outcomes],
            [None if o.format is None else str(o.format) for o in outcomes],
            [o.language_fallback for o in outcomes],
            [o.message_id for o in outcomes],
            now,
            [o.maybe_sent for o in outcomes],
        )
        async with self._conn() as conn:
            bad = await conn.fetch(_RECORD, *args)
        if bad:
            # Nothing was written; name the first forbidden change like SQLite does.
            r = bad[0]
            transition(r["old_state"], Event(r["event"]), delivery_id=r["id"])
            raise TransitionError(f"delivery {r['id']}: {r['event']} is not allowed")

    async def _record_in_order(
        self, worker_id: str, outcomes: Sequence[DeliveryOutcome], now: datetime
    ) -> None:
        """`record` when a delivery has several outcomes: read, fold through the table in
        Python (`plan_record`, as SQLite does), write; one transaction."""
        ids = list(dict.fromkeys(o.delivery_id for o in outcomes))
        async with self._conn() as conn, conn.transaction():
            rows = await conn.fetch(_RECORD_CURRENT, worker_id, ids)
            paused = {r["id"]: r["paused"] for r in rows}
            planned = plan_record({r["id"]: (r["state"], r["cancelled"]) for r in rows}, outcomes)
            if not planned:
                return
            items = list(planned.items())
            await conn.execute(
                _RECORD_PLANNED,
                [i for i, _ in items],
                [p.state for _, p in items],
                [p.last_error for _, p in items],
                [p.uncount for _, p in items],
                [None if p.retry_at is None else utc(p.retry_at) for _, p in items],
                [p.language for _, p in items],
                [p.format for _, p in items],
                [p.language_fallback for _, p in items],
                [p.message_id for _, p in items],
                [None if paused[i] else _due_after(p, now) for i, p in items],
                now,
                [p.maybe_sent for _, p in items],
            )
            history = [(i, state, reason) for i, p in items for state, reason in p.history]
            if history:
                await conn.executemany(
                    "INSERT INTO delivery_events (delivery_id, state, at, reason)"
                    " VALUES ($1, $2, $3, $4)",
                    [(i, state, now, reason) for i, state, reason in history],
                )

    async def release(self, worker_id: str, delivery_ids: Sequence[int], now: datetime) -> None:
        """Give leased deliveries back: queued, due at once, the attempt not counted."""
        if not delivery_ids:
            return
        async with self._conn() as conn:
            await conn.execute(_RELEASE, worker_id, list(delivery_ids), utc(now))

    async def renew_leases(
        self, worker_id: str, delivery_ids: Sequence[int], lease_seconds: float, now: datetime
    ) -> list[int]:
        """Extend the leases `worker_id` still holds among these to `now + lease_seconds`;
        return their ids (see base)."""
        if not delivery_ids:
            return []
        expires = utc(now) + timedelta(seconds=lease_seconds)
        async with self._conn() as conn:
            rows = await conn.fetch(_RENEW, worker_id, list(delivery_ids), expires)
        return sorted(r["id"] for r in rows)

    async def queue_depth(self, now: datetime) -> int:
        """Deliveries due now or leased: work not finished."""
        async with self._conn() as conn:
            depth: int = await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE due_at IS NOT NULL"
                f" AND (due_at <= $1 OR state IN ({LEASED_SQL}))",
                utc(now),
            )
        return depth

    async def state_totals(self) -> dict[str, int]:
        """Deliveries per state across all campaigns (every state named, 0 included)."""
        async with self._conn() as conn:
            rows = await conn.fetch("SELECT state, count(*) FROM deliveries GROUP BY state")
        totals = {str(s): 0 for s in State}
        for state, n in rows:
            totals[state] = n
        return totals

    # -- consent and bounces ---------------------------------------------------------------
    async def delivery_ref(self, delivery_id: int) -> DeliveryRef | None:
        """The delivery with its member's language and address now (see base)."""
        async with self._conn() as conn:
            row = await conn.fetchrow(
                "SELECT d.id AS delivery_id, d.campaign_id, c.template, d.state,"
                f" {_MEMBER_SELECT} FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id"
                " JOIN members m ON m.member_id = d.member_id WHERE d.id = $1",
                delivery_id,
            )
        if row is None:
            return None
        member = _member(row)
        return DeliveryRef(
            id=row["delivery_id"],
            campaign_id=row["campaign_id"],
            member_id=row["member_id"],
            topic=row["template"],
            state=row["state"],
            language=member.language if member else None,
            address=member.address if member else None,
        )

    async def opt_out(self, member_id: str, topic: str | None, now: datetime) -> int:
        """Opt the member out and skip their waiting deliveries at once (see base)."""
        now = utc(now)
        t = DELIVERY_TRANSITIONS[State.QUEUED, Event.OPT_OUT]
        async with self._conn() as conn, conn.transaction():
            current = await conn.fetchrow(
                "SELECT opted_out FROM members WHERE member_id = $1 AND erased_at IS NULL"
                " FOR UPDATE",
                member_id,
            )
            if current is None:
                return 0
            raw = current["opted_out"]
            opted = opted_out_after(json.loads(raw) if raw else False, topic)
            await conn.execute(
                "UPDATE members SET opted_out = $2::jsonb, updated_at = $3 WHERE member_id = $1",
                member_id,
                json.dumps(opted),
                now,
            )
            rows = await conn.fetch(
                "WITH upd AS (UPDATE deliveries d SET state = $3, due_at = NULL,"
                " retry_at = NULL, last_error = $4, updated_at = $5 FROM campaigns c"
                " WHERE c.id = d.campaign_id AND d.member_id = $1"
                f" AND d.state IN ({WAITING_SQL})"
                " AND ($2::text IS NULL OR c.template = $2) RETURNING d.id)"
                " INSERT INTO delivery_events (delivery_id, state, at, reason)"
                " SELECT id, $3, $5, $4 FROM upd RETURNING delivery_id",
                member_id,
                topic,
                str(t.to),
                t.reason,
                now,
            )
        return len(rows)

    async def record_bounce(
        self, delivery_id: int, bounce: Bounce, now: datetime, soft_limit: int
    ) -> BounceResult:
        """Record a DSN for the delivery (see base)."""
        now = utc(now)
        async with self._conn() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT d.state, {_MEMBER_SELECT} FROM deliveries d"
                " JOIN members m ON m.member_id = d.member_id WHERE d.id = $1"
                " FOR UPDATE OF d, m",
                delivery_id,
            )
            if row is None or (State(row["state"]), Event.BOUNCE) not in DELIVERY_TRANSITIONS:
                return BounceResult(bounced=False, undeliverable=False)
            t = transition(row["state"], Event.BOUNCE, delivery_id=delivery_id)
            await conn.execute(
                "UPDATE deliveries SET state = $2, due_at = NULL, lease_owner = NULL,"
                " lease_expires_at = NULL, last_error = $3, updated_at = $4 WHERE id = $1",
                delivery_id,
                str(t.to),
                bounce.reason,
                now,
            )
            await conn.execute(
                "INSERT INTO delivery_events (delivery_id, state, at, reason)"
                " VALUES ($1, $2, $3, $4)",
                delivery_id,
                str(t.to),
                now,
                bounce.reason,
            )
            member = _member(row)
            address = bounced_address(member, bounce)
            if member is None or address is None:
                return BounceResult(bounced=True, undeliverable=False)
            undeliverable = bounce.hard
            if not bounce.hard:
                count = await conn.fetchval(
                    "INSERT INTO address_bounces (member_id, address, soft_count, updated_at)"
                    " VALUES ($1, $2, 1, $3) ON CONFLICT (member_id, address) DO UPDATE"
                    " SET soft_count = address_bounces.soft_count + 1,"
                    " updated_at = excluded.updated_at RETURNING soft_count",
                    member.member_id,
                    address,
                    now,
                )
                undeliverable = count >= soft_limit
            if undeliverable and address not in member.undeliverable:
                await conn.execute(
                    "UPDATE members SET undeliverable = $2::jsonb WHERE member_id = $1",
                    member.member_id,
                    json.dumps([*member.undeliverable, address]),
                )
        return BounceResult(bounced=True, undeliverable=undeliverable)
