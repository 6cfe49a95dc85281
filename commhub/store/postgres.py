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
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from commhub.domain import (
    Campaign,
    ClaimedDelivery,
    DeliveryOutcome,
    Member,
    Role,
    State,
)
from commhub.errors import CommhubError, Conflict, NotFound, StoreError
from commhub.store.base import (
    CampaignCounts,
    DeliveryRow,
    Erasure,
    NewCampaign,
    StateChange,
)
from commhub.store.migrations import migrations
from commhub.store.rows import (
    EPOCH,
    FINAL,
    OPEN_STATES,
    campaign_counts,
    campaign_status,
    check_unique_members,
    member_from_fields,
    member_values,
    new_campaign_id,
    unknown_members_error,
    utc,
)

# After an intake this large, refresh the planner's statistics: with stale ones the claim
# query sorted every queued row (RECIPES: 10 ms instead of 1.8 ms per claim).
ANALYZE_AFTER = 5_000
_MIGRATION_LOCK = 0x636F6D6D68756221  # pg_advisory_xact_lock key: "commhub!"
_FINAL_SQL = "ARRAY[" + ", ".join(f"'{s}'" for s in sorted(FINAL)) + "]"
_OPEN_SQL = "ARRAY[" + ", ".join(f"'{s}'" for s in OPEN_STATES) + "]"

_MEMBER_SELECT = (
    "m.member_id, m.given_name, m.family_name, m.language, m.format, m.email, m.phone,"
    " m.relay_address, m.timezone, m.opted_out, m.erased_at IS NOT NULL AS erased"
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
        state = CASE WHEN c.status = 'cancelled' THEN 'cancelled' ELSE 'rendering' END,
        attempts = CASE WHEN c.status = 'cancelled' THEN d.attempts ELSE d.attempts + 1 END,
        lease_owner = CASE WHEN c.status = 'cancelled' THEN NULL ELSE $2::text END,
        lease_expires_at = CASE WHEN c.status = 'cancelled' THEN NULL
                                ELSE $4::timestamptz END,
        due_at = CASE WHEN c.status = 'cancelled' THEN NULL ELSE $4::timestamptz END,
        retry_at = NULL,
        last_error = CASE WHEN c.status <> 'cancelled' AND d.state IN ('rendering', 'sending')
                          THEN 'lease expired; taken over' ELSE d.last_error END,
        updated_at = $3
    FROM campaigns c
    WHERE c.id = d.campaign_id AND d.id = ANY(ARRAY(SELECT id FROM picked))
    RETURNING d.id, d.campaign_id, c.template, d.attempts, d.data, d.state, d.member_id
), ev AS (
    INSERT INTO delivery_events (delivery_id, state, at, reason)
    SELECT u.id, u.state, $3,
           CASE WHEN u.state = 'cancelled' THEN 'campaign cancelled'
                WHEN p.state IN ('rendering', 'sending') THEN 'lease expired; taken over'
                ELSE 'claimed' END
    FROM upd u JOIN picked p ON p.id = u.id
)
SELECT u.id, u.campaign_id, u.template, u.attempts, u.data, u.state, {_MEMBER_SELECT}
FROM upd u JOIN members m ON m.member_id = u.member_id
ORDER BY u.id
"""

# One round trip: only rows still leased by $1 are touched; history only for real changes.
_RECORD = f"""
WITH input AS (
    SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[],
                         $6::text[], $7::text[], $8::boolean[], $9::text[])
        AS i(id, state, reason, retry_at, language, format, fallback, message_id)
), cur AS (
    SELECT d.id, d.state AS old_state, c.status
    FROM deliveries d JOIN campaigns c ON c.id = d.campaign_id
    WHERE d.id = ANY($2::bigint[]) AND d.lease_owner = $1
    FOR UPDATE OF d
), calc AS MATERIALIZED (
    SELECT i.*, cur.old_state,
           CASE WHEN cur.status = 'cancelled' AND NOT (i.state = ANY({_FINAL_SQL}))
                THEN 'cancelled' ELSE i.state END AS new_state,
           CASE WHEN cur.status = 'cancelled' AND NOT (i.state = ANY({_FINAL_SQL}))
                THEN 'campaign cancelled' ELSE i.reason END AS new_reason
    FROM input i JOIN cur ON cur.id = i.id
), upd AS (
    UPDATE deliveries d SET
        state = x.new_state,
        -- A hold made no sending try: take back the claim's attempt (see base).
        attempts = CASE WHEN x.state = 'held' THEN greatest(d.attempts - 1, 0)
                        ELSE d.attempts END,
        due_at = CASE WHEN x.new_state IN ('rendering', 'sending') THEN d.due_at
                      WHEN x.new_state = 'retry_wait' THEN coalesce(x.retry_at, $10)
                      WHEN x.new_state = 'held' THEN x.retry_at
                      WHEN x.new_state = 'queued' THEN $10
                      ELSE NULL END,
        lease_owner = CASE WHEN x.new_state IN ('rendering', 'sending') THEN d.lease_owner END,
        lease_expires_at = CASE WHEN x.new_state IN ('rendering', 'sending')
                                THEN d.lease_expires_at END,
        retry_at = x.retry_at,
        last_error = coalesce(x.new_reason, d.last_error),
        language = coalesce(x.language, d.language),
        format = coalesce(x.format, d.format),
        language_fallback = CASE WHEN x.language IS NULL THEN d.language_fallback
                                 ELSE x.fallback END,
        message_id = coalesce(x.message_id, d.message_id),
        updated_at = $10
    FROM calc x
    WHERE d.id = x.id
    RETURNING d.id, x.old_state, x.new_state, x.new_reason
)
INSERT INTO delivery_events (delivery_id, state, at, reason)
SELECT id, new_state, $10, new_reason FROM upd WHERE new_state <> old_state
"""

_RELEASE = """
WITH upd AS (
    UPDATE deliveries d SET
        state = CASE WHEN c.status = 'cancelled' THEN 'cancelled' ELSE 'queued' END,
        attempts = greatest(d.attempts - 1, 0),
        due_at = CASE WHEN c.status = 'cancelled' THEN NULL ELSE $3::timestamptz END,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = $3::timestamptz
    FROM campaigns c
    WHERE c.id = d.campaign_id AND d.id = ANY($2::bigint[]) AND d.lease_owner = $1
    RETURNING d.id, d.state
)
INSERT INTO delivery_events (delivery_id, state, at, reason)
SELECT id, state, $3,
       CASE WHEN state = 'cancelled' THEN 'campaign cancelled' ELSE 'released by worker' END
FROM upd
"""

_CANCEL = """
WITH upd AS (
    UPDATE deliveries SET state = 'cancelled', due_at = NULL, retry_at = NULL,
        lease_owner = NULL, lease_expires_at = NULL, updated_at = $2
    WHERE campaign_id = $1 AND (state IN ('queued', 'retry_wait', 'held')
        OR (state IN ('rendering', 'sending') AND lease_expires_at <= $2))
    RETURNING id
), ev AS (
    INSERT INTO delivery_events (delivery_id, state, at, reason)
    SELECT id, 'cancelled', $2, 'campaign cancelled' FROM upd
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
    )  # fmt: skip


def _campaign(row: Any, has_open: bool) -> Campaign:
    return Campaign(
        id=row["id"],
        name=row["name"],
        template=row["template"],
        status=campaign_status(row["status"], row["send_at"], has_open),
        created_at=row["created_at"],
        send_at=row["send_at"],
        total=row["total"],
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
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            # The message names the condition (SQLSTATE class), never row content.
            raise StoreError(f"PostgreSQL error: {exc.__class__.__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise StoreError("PostgreSQL did not answer in time") from exc

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
                " timezone = NULL, opted_out = NULL, updated_at = $2,"
                " erased_at = coalesce(erased_at, $2) WHERE member_id = $1 RETURNING 1",
                member_id,
                now,
            )
            if found is None:
                return None
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
    async def add_token(self, token_hash: str, role: Role, label: str) -> None:
        """Store a token hash with its role; Conflict if the hash is known."""
        try:
            async with self._conn() as conn:
                await conn.execute(
                    "INSERT INTO tokens (token_hash, role, label, created_at)"
                    " VALUES ($1, $2, $3, $4)",
                    token_hash,
                    str(role),
                    label,
                    datetime.now(UTC),
                )
        except StoreError as exc:
            if isinstance(exc.__cause__, asyncpg.UniqueViolationError):
                raise Conflict("this token is already stored") from exc
            raise

    async def role_for_token(self, token_hash: str) -> Role | None:
        """The role of the token with this hash, or None."""
        async with self._conn() as conn:
            role = await conn.fetchval("SELECT role FROM tokens WHERE token_hash = $1", token_hash)
        return None if role is None else Role(role)

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
            await conn.execute(
                "INSERT INTO campaigns (id, name, template, send_at, status, created_at,"
                " idempotency_key, request_hash, total, created_by, meta)"
                " VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10)",
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
        return Campaign(
            id=campaign_id,
            name=new.name,
            template=new.template,
            status=campaign_status("active", send_at, bool(member_ids)),
            created_at=now,
            send_at=send_at,
            total=len(member_ids),
        )

    async def get_campaign(self, campaign_id: str) -> Campaign | None:
        """The campaign with its status derived now (see base)."""
        async with self._conn() as conn:
            row = await conn.fetchrow(
                "SELECT id, name, template, status, created_at, send_at, total,"
                " EXISTS (SELECT 1 FROM deliveries WHERE campaign_id = c.id"
                f" AND state = ANY({_OPEN_SQL})) AS has_open"
                " FROM campaigns c WHERE id = $1",
                campaign_id,
            )
        return None if row is None else _campaign(row, row["has_open"])

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
        now = utc(now)
        async with self._conn() as conn, conn.transaction():
            # Lock the campaign row: a concurrent claim then sees "cancelled" or finishes first.
            row = await conn.fetchrow(
                "SELECT status, EXISTS (SELECT 1 FROM deliveries WHERE campaign_id = c.id"
                f" AND state = ANY({_OPEN_SQL})) AS has_open"
                " FROM campaigns c WHERE id = $1 FOR UPDATE",
                campaign_id,
            )
            if row is None:
                raise NotFound(f"no campaign {campaign_id}")
            if row["status"] == "cancelled" or not row["has_open"]:
                return 0
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
        args = (
            worker_id,
            [o.delivery_id for o in outcomes],
            [str(o.state) for o in outcomes],
            [o.reason for o in outcomes],
            [None if o.retry_at is None else utc(o.retry_at) for o in outcomes],
            [o.language for o in outcomes],
            [None if o.format is None else str(o.format) for o in outcomes],
            [o.language_fallback for o in outcomes],
            [o.message_id for o in outcomes],
            utc(now),
        )
        async with self._conn() as conn:
            await conn.execute(_RECORD, *args)

    async def release(self, worker_id: str, delivery_ids: Sequence[int], now: datetime) -> None:
        """Give leased deliveries back: queued, due at once, the attempt not counted."""
        if not delivery_ids:
            return
        async with self._conn() as conn:
            await conn.execute(_RELEASE, worker_id, list(delivery_ids), utc(now))

    async def queue_depth(self, now: datetime) -> int:
        """Deliveries due now or leased: work not finished."""
        async with self._conn() as conn:
            depth: int = await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE due_at IS NOT NULL"
                " AND (due_at <= $1 OR state IN ('rendering', 'sending'))",
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
