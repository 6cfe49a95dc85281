"""One behavioural suite for every store: SQLite (a real file) and PostgreSQL (a real server).

Each test gets an empty migrated store (see tests/store_fixtures.py) and checks what a user of
the store relies on: leases, due rules, idempotency, counts, history, erasure.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from commhub.domain import ClaimedDelivery, DeliveryOutcome, Format, Member, Recipient, Role, State
from commhub.errors import ConfigError, Conflict, NotFound, StoreError, ValidationError
from commhub.store.base import NewCampaign, Store
from commhub.store.factory import open_store
from commhub.store.sqlite import path_from_url
from tests.store_fixtures import store, store_url  # noqa: F401

NOW = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
LEASE = 30.0


def member(
    member_id: str,
    language: str = "es",
    fmt: Format = Format.LARGE_PRINT_EMAIL,
    opted_out: bool | tuple[str, ...] = False,
) -> Member:
    return Member(
        member_id=member_id,
        given_name="Ana",
        family_name="Pérez",
        language=language,
        format=fmt,
        email=f"{member_id}@example.org",
        timezone="America/Los_Angeles",
        phone="+1 555 0100",
        opted_out=opted_out,
    )


async def campaign_of(
    store: Store,  # noqa: F811
    n: int,
    *,
    send_at: datetime | None = None,
    key: str | None = None,
    body_hash: str | None = None,
    prefix: str = "m",
) -> str:
    """Members prefix0..n-1 and a campaign addressed to all of them; returns its id."""
    await store.upsert_members([member(f"{prefix}{i}") for i in range(n)])
    campaign, created = await store.create_campaign(
        NewCampaign(
            name="Refills",
            template="refill_reminder",
            send_at=send_at,
            recipients=[Recipient(f"{prefix}{i}", {"drug": f"d{i}"}) for i in range(n)],
            idempotency_key=key,
            request_hash=body_hash,
        )
    )
    assert created
    return campaign.id


# -- schema ---------------------------------------------------------------------------------


async def test_migrate_is_idempotent_and_reports_the_version(store: Store) -> None:  # noqa: F811
    first = await store.migrate()
    assert first >= 1
    assert await store.migrate() == first
    assert await store.ping()


async def test_sqlite_creates_missing_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "commhub.db"
    opened = open_store(f"sqlite:///{path}")
    try:
        assert await opened.migrate() >= 1
    finally:
        await opened.close()
    assert path.exists()


def test_unknown_database_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"database\.url"):
        open_store("mysql://localhost/db")


# -- members and tokens ---------------------------------------------------------------------


async def test_member_upsert_get_replace(store: Store) -> None:  # noqa: F811
    await store.upsert_members([member("a1", opted_out=("screening", "refills")), member("a2")])
    got = await store.get_member("a1")
    assert got == member("a1", opted_out=("screening", "refills"))
    assert got is not None and got.is_opted_out("refills") and not got.is_opted_out("coverage")
    await store.upsert_members([member("a1", language="vi", fmt=Format.AUDIO, opted_out=True)])
    replaced = await store.get_member("a1")
    assert replaced is not None
    assert (replaced.language, replaced.format, replaced.opted_out) == ("vi", Format.AUDIO, True)
    assert await store.get_member("nobody") is None
    assert await store.existing_member_ids(["a1", "a2", "nobody", "a1"]) == {"a1", "a2"}


def batches_of(ids: range, size: int, language: str = "es") -> Iterator[list[Member]]:
    """Members with these numeric ids (`m<i>`), `size` per batch, made lazily."""
    for start in range(ids.start, ids.stop, size):
        yield [member(f"m{i}", language) for i in range(start, min(start + size, ids.stop))]


async def async_batches(batches: Iterable[list[Member]]) -> AsyncIterator[list[Member]]:
    for batch in batches:
        await asyncio.sleep(0)  # a real async source yields to the loop between batches
        yield batch


async def refuse_member(store_url: str, member_id: str) -> None:  # noqa: F811
    """Make the database itself refuse to store `member_id` (a trigger), as a full disk or a
    lost connection would refuse a batch midway."""
    if store_url.startswith("sqlite:"):
        conn = sqlite3.connect(path_from_url(store_url))
        try:
            conn.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON members"
                f" WHEN NEW.member_id = '{member_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
            conn.commit()
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(store_url)
    try:
        await pg.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.member_id = '{member_id}' THEN RAISE EXCEPTION 'refused'; END IF;"
            " RETURN NEW; END $$"
        )
        await pg.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    finally:
        await pg.close()


@pytest.mark.parametrize("source", ["sync", "async"])
async def test_member_stream_stores_every_batch_and_later_rows_win(
    store: Store,  # noqa: F811
    source: str,
) -> None:
    await store.upsert_members([member("m3", "ko")])
    assert await store.erase_member("m3")
    batches: list[list[Member]] = [
        [member("m0"), member("m1")],
        [],
        [member("m2"), member("m3", "vi"), member("m0", "ru"), member("m2", "fr")],
        [member("m4", "so", Format.AUDIO, opted_out=("refills",))],
    ]
    stream = iter(batches) if source == "sync" else async_batches(batches)
    assert await store.upsert_members_stream(stream) == 7
    got = {i: await store.get_member(f"m{i}") for i in range(5)}
    # The later row for an id wins (within a batch and across batches); an erased member
    # is restored, like a single upsert does.
    assert {i: m.language if m else None for i, m in got.items()} == {
        0: "ru",
        1: "es",
        2: "fr",
        3: "vi",
        4: "so",
    }
    assert got[4] == member("m4", "so", Format.AUDIO, opted_out=("refills",))


@pytest.mark.parametrize("source", ["sync", "async"])
async def test_member_stream_whose_source_fails_midway_stores_nothing(
    store: Store,  # noqa: F811
    source: str,
) -> None:
    await store.upsert_members([member("m0", "ko")])

    def failing() -> Iterator[list[Member]]:
        yield from batches_of(range(0, 3000), 500, "vi")
        raise OSError("the spool file went away")

    stream = failing() if source == "sync" else async_batches(failing())
    with pytest.raises(OSError, match="spool file"):
        await store.upsert_members_stream(stream)
    assert await store.existing_member_ids([f"m{i}" for i in range(3000)]) == {"m0"}
    kept = await store.get_member("m0")
    assert kept is not None and kept.language == "ko"  # the update was rolled back too
    # The store is usable afterwards: nothing is left locked or half open.
    assert await store.upsert_members_stream(batches_of(range(0, 10), 4)) == 10
    assert len(await store.existing_member_ids([f"m{i}" for i in range(10)])) == 10


async def test_member_stream_refused_by_the_database_midway_stores_nothing(
    store: Store,  # noqa: F811
    store_url: str,  # noqa: F811
) -> None:
    await refuse_member(store_url, "m2345")
    with pytest.raises(StoreError, match="refused"):
        await store.upsert_members_stream(batches_of(range(0, 4000), 500))
    assert await store.existing_member_ids([f"m{i}" for i in range(4000)]) == set()


async def test_store_answers_during_a_member_stream_and_sees_none_of_it(
    store: Store,  # noqa: F811
) -> None:
    await store.upsert_members([member("m0", "ko")])
    seen: list[tuple[set[str], str | None]] = []

    async def watched() -> AsyncIterator[list[Member]]:
        for batch in batches_of(range(0, 1500), 500, "vi"):
            yield batch
            # Between batches, reads on the same store go on and see only committed data.
            current = await asyncio.wait_for(store.get_member("m0"), 10)
            ids = await store.existing_member_ids(["m0", "m1", "m1499"])
            seen.append((ids, current.language if current else None))

    assert await store.upsert_members_stream(watched()) == 1500
    assert seen == [({"m0"}, "ko")] * 3
    final = await store.get_member("m0")
    assert final is not None and final.language == "vi"


async def test_erase_member_hides_personal_data_and_keeps_deliveries(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 2)
    assert await store.erase_member("m0")
    assert await store.get_member("m0") is None
    assert await store.existing_member_ids(["m0", "m1"]) == {"m1"}
    assert not await store.erase_member("nobody")
    rows = await store.list_deliveries(campaign_id)
    assert [(r.member_id, r.state) for r in rows] == [("m0", "queued"), ("m1", "queued")]
    # A pending delivery of an erased member is still claimed, without member or data,
    # so the worker can mark it skipped.
    claimed = {c.member.member_id if c.member else None: c for c in await claim(store, "w1")}
    assert set(claimed) == {None, "m1"}
    assert claimed[None].data == {}
    assert claimed["m1"].data == {"drug": "d1"}
    # Storing the member again restores it.
    await store.upsert_members([member("m0")])
    assert await store.get_member("m0") == member("m0")


async def test_tokens_are_found_by_hash_only(store: Store) -> None:  # noqa: F811
    await store.add_token("ab" * 32, Role.QA, "qa laptop")
    await store.add_token("cd" * 32, Role.ADMIN, "ops")
    assert await store.role_for_token("ab" * 32) is Role.QA
    assert await store.role_for_token("cd" * 32) is Role.ADMIN
    assert await store.role_for_token("ef" * 32) is None
    with pytest.raises(Conflict):
        await store.add_token("ab" * 32, Role.OUTREACH, "again")


# -- campaigns ------------------------------------------------------------------------------


async def test_campaign_create_get_and_counts(store: Store) -> None:  # noqa: F811
    await store.upsert_members([member("v1", "vi", Format.AUDIO), member("e1", "es")])
    campaign, created = await store.create_campaign(
        NewCampaign(
            name="Screening",
            template="screening_reminder",
            send_at=None,
            recipients=[Recipient("v1", {"x": 1}), Recipient("e1", {"x": 2})],
        )
    )
    assert created and campaign.id.startswith("cmp_") and campaign.total == 2
    assert campaign.status == "sending"
    got = await store.get_campaign(campaign.id)
    assert got is not None
    assert (got.name, got.template, got.total, got.status) == (
        "Screening",
        "screening_reminder",
        2,
        "sending",
    )
    assert got.created_at.tzinfo is not None
    counts = await store.campaign_counts(campaign.id)
    assert counts.total == 2
    assert counts.by_state["queued"] == 2 and counts.by_state["sent"] == 0
    assert counts.by_language == {"vi": 1, "es": 1}
    assert counts.by_format == {"audio": 1, "large_print_email": 1}
    assert await store.get_campaign("cmp_nope") is None
    with pytest.raises(NotFound):
        await store.campaign_counts("cmp_nope")


async def test_idempotency_key_replays_or_conflicts(store: Store) -> None:  # noqa: F811
    first = await campaign_of(store, 3, key="key-1", body_hash="h1")
    same = NewCampaign(
        name="Refills",
        template="refill_reminder",
        send_at=None,
        recipients=[Recipient(f"m{i}", {"drug": f"d{i}"}) for i in range(3)],
        idempotency_key="key-1",
        request_hash="h1",
    )
    replay, created = await store.create_campaign(same)
    assert not created and replay.id == first and replay.total == 3
    other = NewCampaign(
        name="Other",
        template="refill_reminder",
        send_at=None,
        recipients=[Recipient("m0", {})],
        idempotency_key="key-1",
        request_hash="h2",
    )
    with pytest.raises(Conflict):
        await store.create_campaign(other)
    assert (await store.state_totals())["queued"] == 3  # nothing was added


async def test_concurrent_requests_with_one_key_create_one_campaign(
    store: Store,  # noqa: F811
    store_url: str,  # noqa: F811
) -> None:
    await store.upsert_members([member(f"m{i}") for i in range(50)])
    others = [open_store(store_url) for _ in range(3)]
    try:
        new = NewCampaign(
            name="Refills",
            template="refill_reminder",
            send_at=None,
            recipients=[Recipient(f"m{i}", {}) for i in range(50)],
            idempotency_key="race",
            request_hash="h",
        )
        results = await asyncio.gather(*(s.create_campaign(new) for s in [store, *others]))
    finally:
        for s in others:
            await s.close()
    assert len({c.id for c, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert (await store.state_totals())["queued"] == 50


async def test_duplicate_or_unknown_members_reject_the_whole_campaign(store: Store) -> None:  # noqa: F811
    await store.upsert_members([member("m0"), member("m1")])
    dup = NewCampaign(
        name="x",
        template="refill_reminder",
        send_at=None,
        recipients=[Recipient("m0", {}), Recipient("m1", {}), Recipient("m0", {})],
    )
    with pytest.raises(ValidationError) as err:
        await store.create_campaign(dup)
    assert [(p.field, p.index) for p in err.value.problems] == [("member_id", 2)]
    unknown = NewCampaign(
        name="x",
        template="refill_reminder",
        send_at=None,
        recipients=[Recipient("m0", {}), Recipient("ghost", {})],
    )
    with pytest.raises(ValidationError) as err:
        await store.create_campaign(unknown)
    assert [(p.reason, p.index) for p in err.value.problems] == [("unknown member", 1)]
    assert sum((await store.state_totals()).values()) == 0


async def test_list_deliveries_filters_and_pages(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 7)
    first = await store.list_deliveries(campaign_id, limit=3)
    second = await store.list_deliveries(campaign_id, limit=3, after_id=first[-1].id)
    third = await store.list_deliveries(campaign_id, limit=3, after_id=second[-1].id)
    ids = [r.id for r in first + second + third]
    assert len(ids) == 7 and ids == sorted(ids) and len(third) == 1
    assert [r.member_id for r in first] == ["m0", "m1", "m2"]
    assert all(r.state == "queued" and r.attempts == 0 for r in first)
    leased = await claim(store, "w1", limit=2)
    await record(store, "w1", [DeliveryOutcome(leased[0].id, State.FAILED, reason="550 no")])
    failed = await store.list_deliveries(campaign_id, state="failed")
    assert [(r.id, r.last_error, r.attempts) for r in failed] == [(leased[0].id, "550 no", 1)]
    assert len(await store.list_deliveries(campaign_id, state="rendering")) == 1
    assert len(await store.list_deliveries(campaign_id, state="queued")) == 5
    assert await store.list_deliveries("cmp_nope") == []


# -- workers: claims and leases --------------------------------------------------------------


async def claim(
    store: Store,  # noqa: F811
    worker: str,
    limit: int = 100,
    at: datetime = NOW,
    lease: float = LEASE,
) -> list[ClaimedDelivery]:
    return await store.claim(worker, limit, lease, at)


async def record(
    store: Store,  # noqa: F811
    worker: str,
    outcomes: list[DeliveryOutcome],
    at: datetime = NOW,
) -> None:
    await store.record(worker, outcomes, at)


async def test_claim_leases_moves_to_rendering_and_counts_attempts(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 5)
    got = await claim(store, "w1", limit=3)
    assert len(got) == 3 and all(c.attempts == 0 for c in got)
    assert {c.campaign_id for c in got} == {campaign_id}
    assert {c.template for c in got} == {"refill_reminder"}
    c0 = got[0]
    assert c0.member is not None and c0.data == {"drug": f"d{c0.member.member_id[1:]}"}
    # Leased rows are not handed out again while the lease holds.
    rest = await claim(store, "w2", limit=10)
    assert len(rest) == 2 and not {c.id for c in rest} & {c.id for c in got}
    assert await claim(store, "w3") == []
    rows = {r.id: r for r in await store.list_deliveries(campaign_id)}
    assert all(r.state == "rendering" and r.attempts == 1 for r in rows.values())
    history = await store.delivery_history(c0.id)
    assert [h.state for h in history] == ["queued", "rendering"]
    assert await store.delivery_history(999_999) == []


async def test_concurrent_claimers_never_share_a_delivery(
    store: Store,  # noqa: F811
    store_url: str,  # noqa: F811
) -> None:
    await campaign_of(store, 400)
    workers = [open_store(store_url) for _ in range(4)]
    seen: list[int] = []

    async def drain(s: Store, name: str) -> None:
        while batch := await s.claim(name, 15, LEASE, NOW):
            seen.extend(c.id for c in batch)
            await s.record(name, [DeliveryOutcome(c.id, State.SENT) for c in batch], NOW)

    try:
        await asyncio.gather(*(drain(s, f"w{i}") for i, s in enumerate(workers)))
    finally:
        for s in workers:
            await s.close()
    assert len(seen) == 400 and len(set(seen)) == 400
    totals = await store.state_totals()
    assert totals["sent"] == 400 and totals["rendering"] == 0


async def test_expired_lease_is_taken_over_and_old_owner_cannot_record(store: Store) -> None:  # noqa: F811
    await campaign_of(store, 1)
    (first,) = await claim(store, "w1")
    assert await claim(store, "w2", at=NOW + timedelta(seconds=LEASE - 1)) == []
    later = NOW + timedelta(seconds=LEASE + 1)
    (again,) = await claim(store, "w2", at=later)
    assert again.id == first.id and again.attempts == 1
    # The dead worker comes back: its result must not overwrite the new owner's.
    await record(store, "w1", [DeliveryOutcome(first.id, State.FAILED, reason="old")], later)
    await record(store, "w2", [DeliveryOutcome(first.id, State.SENT, message_id="<m@x>")], later)
    rows = await store.list_deliveries(again.campaign_id)
    assert [(r.state, r.attempts, r.message_id) for r in rows] == [("sent", 2, "<m@x>")]
    history = await store.delivery_history(first.id)
    assert [h.state for h in history] == ["queued", "rendering", "rendering", "sent"]
    assert history[2].reason is not None and "lease expired" in history[2].reason


async def test_record_by_a_worker_without_the_lease_is_ignored(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 1)
    (got,) = await claim(store, "w1")
    await record(store, "intruder", [DeliveryOutcome(got.id, State.SENT)])
    assert [r.state for r in await store.list_deliveries(campaign_id)] == ["rendering"]


async def test_sending_keeps_the_lease_and_final_states_clear_it(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 1)
    (got,) = await claim(store, "w1")
    await record(store, "w1", [DeliveryOutcome(got.id, State.SENDING)])
    assert await claim(store, "w2") == []
    await record(store, "w1", [DeliveryOutcome(got.id, State.SENT)])
    assert await claim(store, "w2", at=NOW + timedelta(hours=1)) == []
    rows = await store.list_deliveries(campaign_id)
    assert [r.state for r in rows] == ["sent"]
    states = [h.state for h in await store.delivery_history(got.id)]
    assert states == ["queued", "rendering", "sending", "sent"]


async def test_a_worker_dying_mid_send_leaves_the_delivery_due_at_its_lease_expiry(
    store: Store,  # noqa: F811
) -> None:
    campaign_id = await campaign_of(store, 1)
    (got,) = await claim(store, "w1")
    await record(store, "w1", [DeliveryOutcome(got.id, State.SENDING, message_id="<m@x>")])
    assert await claim(store, "w2", at=NOW + timedelta(seconds=LEASE - 1)) == []
    (again,) = await claim(store, "w2", at=NOW + timedelta(seconds=LEASE + 1))
    assert again.id == got.id and again.attempts == 1
    (row,) = await store.list_deliveries(campaign_id)
    assert (row.state, row.message_id) == ("rendering", "<m@x>")
    assert row.last_error is not None and "lease expired" in row.last_error


async def test_record_keeps_what_an_outcome_leaves_out(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 2)
    a, b = await claim(store, "w1")
    await record(
        store, "w1", [DeliveryOutcome(a.id, State.RETRY_WAIT, reason="421 busy", retry_at=NOW)]
    )
    (a,) = await claim(store, "w1")
    sending = [
        DeliveryOutcome(
            i,
            State.SENDING,
            language="en",
            format=Format.AUDIO,
            language_fallback=True,
            message_id=f"<{i}@x>",
        )
        for i in (a.id, b.id)
    ]
    await record(store, "w1", sending)
    await record(store, "w1", sending)  # the same state again: no new history entry
    # One batch, different outcomes: each delivery gets its own.
    await record(
        store,
        "w1",
        [
            DeliveryOutcome(a.id, State.SENT),
            DeliveryOutcome(b.id, State.RETRY_WAIT, reason="451 later", retry_at=NOW),
        ],
    )
    rows = {r.id: r for r in await store.list_deliveries(campaign_id)}
    assert [
        (r.state, r.last_error, r.language, r.format, r.language_fallback, r.message_id)
        for r in (rows[a.id], rows[b.id])
    ] == [
        ("sent", "421 busy", "en", "audio", True, f"<{a.id}@x>"),
        ("retry_wait", "451 later", "en", "audio", True, f"<{b.id}@x>"),
    ]
    assert [h.state for h in await store.delivery_history(a.id)] == [
        "queued", "rendering", "retry_wait", "rendering", "sending", "sent"
    ]  # fmt: skip
    assert [h.state for h in await store.delivery_history(b.id)] == [
        "queued", "rendering", "sending", "retry_wait"
    ]  # fmt: skip


async def test_a_claim_mixes_taken_over_and_fresh_deliveries(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 2)
    (dead,) = await claim(store, "w1", limit=1)
    later = NOW + timedelta(seconds=LEASE + 1)
    got = {c.id: c for c in await claim(store, "w2", at=later)}
    (fresh,) = set(got) - {dead.id}
    assert (got[dead.id].attempts, got[fresh].attempts) == (1, 0)
    rows = {r.id: r for r in await store.list_deliveries(campaign_id)}
    assert rows[dead.id].last_error == "lease expired; taken over"
    assert rows[fresh].last_error is None
    assert [(r.state, r.attempts) for r in (rows[dead.id], rows[fresh])] == [
        ("rendering", 2),
        ("rendering", 1),
    ]
    reasons = {i: (await store.delivery_history(i))[-1].reason for i in got}
    assert reasons == {dead.id: "lease expired; taken over", fresh: "claimed"}


async def test_a_claim_closes_an_expired_lease_of_a_cancelled_campaign(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 1)
    (got,) = await claim(store, "dead")
    assert await store.cancel_campaign(campaign_id, NOW) == 0  # leased: left to its worker
    later = NOW + timedelta(seconds=LEASE + 1)
    assert await claim(store, "w2", at=later) == []
    (row,) = await store.list_deliveries(campaign_id)
    assert row.state == "cancelled" and await store.queue_depth(later) == 0
    last = (await store.delivery_history(got.id))[-1]
    assert (last.state, last.reason) == ("cancelled", "campaign cancelled")


async def test_a_renewed_lease_is_not_taken_over_and_renewal_never_steals(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 4)
    a, b, done = await claim(store, "w1", limit=3)
    (other,) = await claim(store, "w2")
    await record(store, "w1", [DeliveryOutcome(a.id, State.SENDING, message_id="<a@x>")])
    await record(store, "w1", [DeliveryOutcome(done.id, State.SENT)])
    before = {r.id: r for r in await store.list_deliveries(campaign_id)}
    history = {i: await store.delivery_history(i) for i in before}
    # w1 asks for all four: only the two it still holds are extended (not w2's, not the
    # one already recorded `sent`), from `now`, not from the old expiry.
    renew_at = NOW + timedelta(seconds=LEASE - 1)
    ids = [a.id, b.id, done.id, other.id]
    assert await store.renew_leases("w1", ids, LEASE, renew_at) == sorted([a.id, b.id])
    # Renewal is no state change: state, updated_at and history stay as they were.
    after = {r.id: r for r in await store.list_deliveries(campaign_id)}
    assert after == before
    assert {i: await store.delivery_history(i) for i in before} == history
    # Past the first lease: w2's delivery is due (its lease was left alone), w1's are not.
    past_first = NOW + timedelta(seconds=LEASE + 1)
    assert [c.id for c in await claim(store, "w3", at=past_first)] == [other.id]
    assert await store.queue_depth(past_first) == 3  # leased: work not finished
    # Past the renewed lease they are taken over, and w1 cannot renew them back.
    past_renewed = renew_at + timedelta(seconds=LEASE + 1)
    assert sorted(c.id for c in await claim(store, "w3", at=past_renewed)) == sorted([a.id, b.id])
    assert await store.renew_leases("w1", ids, LEASE, past_renewed) == []
    assert await store.renew_leases("w1", [], LEASE, past_renewed) == []
    rows = {r.id: r for r in await store.list_deliveries(campaign_id)}
    assert rows[a.id].message_id == "<a@x>" and rows[a.id].state == "rendering"


async def test_an_expired_lease_nobody_took_is_still_renewed(store: Store) -> None:  # noqa: F811
    """A worker whose renewal came late (the store was away) keeps what nobody took."""
    await campaign_of(store, 1)
    (got,) = await claim(store, "w1")
    late = NOW + timedelta(seconds=LEASE + 5)
    assert await store.renew_leases("w1", [got.id], LEASE, late) == [got.id]
    assert await claim(store, "w2", at=late + timedelta(seconds=LEASE - 1)) == []
    (taken,) = await claim(store, "w2", at=late + timedelta(seconds=LEASE + 1))
    assert taken.id == got.id


async def test_the_maybe_sent_mark_outlives_retries_and_take_overs(store: Store) -> None:  # noqa: F811
    await campaign_of(store, 2)
    a, b = await claim(store, "w1")
    assert not a.maybe_sent and not b.maybe_sent
    maybe = "maybe sent: smtp: no answer"
    await record(
        store,
        "w1",
        [
            DeliveryOutcome(a.id, State.RETRY_WAIT, reason=maybe, retry_at=NOW, maybe_sent=True),
            # Several outcomes for one delivery in one call (applied in order).
            DeliveryOutcome(b.id, State.SENDING, message_id="<b@x>"),
            DeliveryOutcome(b.id, State.RETRY_WAIT, reason=maybe, retry_at=NOW, maybe_sent=True),
        ],
    )
    got = {c.id: c for c in await claim(store, "w1")}
    assert got[a.id].maybe_sent and got[b.id].maybe_sent
    # The worker dies; the take-over rewrites last_error, the mark stays.
    (taken, _) = await claim(store, "w2", at=NOW + timedelta(seconds=LEASE + 1))
    assert taken.maybe_sent
    rows = {r.id: r for r in await store.list_deliveries(taken.campaign_id)}
    assert rows[taken.id].last_error == "lease expired; taken over"
    # An ordinary failure afterwards does not clear it either.
    later = NOW + timedelta(seconds=LEASE + 1)
    await record(
        store, "w2", [DeliveryOutcome(taken.id, State.RETRY_WAIT, reason="451", retry_at=later)]
    )
    again = [c for c in await claim(store, "w3", at=later) if c.id == taken.id]
    assert again and again[0].maybe_sent


async def test_batches_larger_than_a_statement_are_recorded_whole(store: Store) -> None:  # noqa: F811
    # More deliveries than one SQLite statement takes parameters for: split, none lost.
    n = 1_100
    campaign_id = await campaign_of(store, n)
    got = await claim(store, "w1", limit=n)
    assert len(got) == n
    for state in (State.SENDING, State.SENT):
        await record(
            store,
            "w1",
            [DeliveryOutcome(c.id, state, language="en", message_id=f"<{c.id}@x>") for c in got],
        )
    rows = await store.list_deliveries(campaign_id, limit=n)
    assert len(rows) == n
    assert all((r.state, r.language, r.message_id) == ("sent", "en", f"<{r.id}@x>") for r in rows)
    assert (await store.state_totals())["sent"] == n
    for c in (got[0], got[n // 2], got[-1]):
        states = [h.state for h in await store.delivery_history(c.id)]
        assert states == ["queued", "rendering", "sending", "sent"]


async def test_retry_wait_is_due_at_retry_at(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 1)
    (got,) = await claim(store, "w1")
    retry_at = NOW + timedelta(minutes=5)
    await record(
        store,
        "w1",
        [DeliveryOutcome(got.id, State.RETRY_WAIT, reason="421 busy", retry_at=retry_at)],
    )
    (row,) = await store.list_deliveries(campaign_id)
    assert (row.state, row.last_error) == ("retry_wait", "421 busy")
    assert await claim(store, "w1", at=retry_at - timedelta(seconds=1)) == []
    assert await store.queue_depth(NOW) == 0
    (again,) = await claim(store, "w2", at=retry_at)
    assert again.id == got.id and again.attempts == 1


async def test_held_waits_for_retry_at_or_for_staff(store: Store) -> None:  # noqa: F811
    await campaign_of(store, 2)
    a, b = await claim(store, "w1")
    until = NOW + timedelta(hours=17)
    await record(
        store,
        "w1",
        [
            DeliveryOutcome(a.id, State.HELD, reason="quiet hours", retry_at=until),
            DeliveryOutcome(b.id, State.HELD, reason="no reviewed translation"),
        ],
    )
    assert await claim(store, "w1", at=until - timedelta(seconds=1)) == []
    later = await claim(store, "w1", at=until + timedelta(days=365))
    assert [c.id for c in later] == [a.id]


async def test_held_claims_are_not_counted_as_attempts(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 2)
    quiet, policy = await claim(store, "w1")
    at = NOW
    # Held for quiet hours night after night: no sending try is made, none is counted.
    for night in range(1, 6):
        until = at + timedelta(hours=9)
        await record(
            store,
            "w1",
            [
                DeliveryOutcome(quiet.id, State.HELD, reason="quiet hours", retry_at=until),
                DeliveryOutcome(policy.id, State.HELD, reason="no reviewed translation"),
            ],
            at,
        )
        rows = {r.id: r for r in await store.list_deliveries(campaign_id)}
        assert (rows[quiet.id].state, rows[quiet.id].attempts) == ("held", 0), night
        assert (rows[policy.id].state, rows[policy.id].attempts) == ("held", 0)
        at = until
        (quiet,) = await claim(store, "w1", at=at)
        assert quiet.attempts == 0
    # A real sending try that fails transiently counts; the next claim sees it.
    await record(
        store,
        "w1",
        [DeliveryOutcome(quiet.id, State.RETRY_WAIT, reason="451 later", retry_at=at)],
        at,
    )
    (again,) = await claim(store, "w2", at=at)
    assert again.attempts == 1
    await record(store, "w2", [DeliveryOutcome(again.id, State.HELD, retry_at=at)], at)
    (row,) = [r for r in await store.list_deliveries(campaign_id) if r.id == quiet.id]
    assert (row.state, row.attempts) == ("held", 1)
    # The history still shows every claim and hold.
    states = [h.state for h in await store.delivery_history(quiet.id)]
    assert states.count("rendering") == 7 and states.count("held") == 6


async def test_a_hold_recorded_without_the_lease_uncounts_nothing(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 1)
    (got,) = await claim(store, "w1")
    later = NOW + timedelta(seconds=LEASE + 1)
    (taken,) = await claim(store, "w2", at=later)  # w1 died; its claim stays counted
    await record(store, "w1", [DeliveryOutcome(got.id, State.HELD, retry_at=later)], later)
    await record(store, "w2", [DeliveryOutcome(taken.id, State.HELD, retry_at=later)], later)
    (row,) = await store.list_deliveries(campaign_id)
    assert (row.state, row.attempts) == ("held", 1)


async def test_release_gives_work_back_without_counting_the_attempt(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 2)
    a, b = await claim(store, "w1")
    await store.release("other", [a.id, b.id], NOW)  # not theirs: ignored
    assert await claim(store, "w2") == []
    await store.release("w1", [a.id, b.id], NOW)
    rows = await store.list_deliveries(campaign_id)
    assert [(r.state, r.attempts) for r in rows] == [("queued", 0), ("queued", 0)]
    again = await claim(store, "w2")
    assert sorted(c.id for c in again) == sorted([a.id, b.id])
    assert all(c.attempts == 0 for c in again)


async def test_send_at_in_the_future_is_scheduled_and_not_claimed(store: Store) -> None:  # noqa: F811
    send_at = datetime.now(UTC) + timedelta(days=2)
    campaign_id = await campaign_of(store, 3, send_at=send_at)
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "scheduled"
    assert campaign.send_at == send_at
    assert await claim(store, "w1", at=send_at - timedelta(seconds=1)) == []
    assert len(await claim(store, "w1", at=send_at)) == 3


async def test_cancel_stops_what_is_not_sent(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 6)
    sent, in_flight, retried, *_ = await claim(store, "w1", limit=3)
    await record(store, "w1", [DeliveryOutcome(sent.id, State.SENT)])
    assert await store.cancel_campaign(campaign_id, NOW) == 3  # the three still queued
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "cancelled"
    assert await claim(store, "w2", at=NOW + timedelta(seconds=1)) == []
    # In-flight deliveries finish their attempt; a non-final outcome becomes cancelled.
    await record(
        store,
        "w1",
        [
            DeliveryOutcome(in_flight.id, State.SENT),
            DeliveryOutcome(retried.id, State.RETRY_WAIT, reason="421", retry_at=NOW),
        ],
    )
    counts = await store.campaign_counts(campaign_id)
    assert (counts.by_state["sent"], counts.by_state["cancelled"]) == (2, 4)
    assert await store.cancel_campaign(campaign_id, NOW) == 0
    history = await store.delivery_history(retried.id)
    assert history[-1].state == "cancelled"
    with pytest.raises(NotFound):
        await store.cancel_campaign("cmp_nope", NOW)


async def test_cancel_after_a_worker_died_closes_its_expired_leases(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 2)
    await claim(store, "dead", limit=1)
    later = NOW + timedelta(seconds=LEASE + 1)
    assert await store.cancel_campaign(campaign_id, later) == 2
    counts = await store.campaign_counts(campaign_id)
    assert counts.by_state["cancelled"] == 2 and await store.queue_depth(later) == 0


async def test_campaign_is_done_when_every_delivery_is_final(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 3)
    a, b, c = await claim(store, "w1")
    await record(
        store,
        "w1",
        [
            DeliveryOutcome(a.id, State.SENT),
            DeliveryOutcome(b.id, State.SKIPPED, reason="opted out"),
        ],
    )
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "sending"
    await record(store, "w1", [DeliveryOutcome(c.id, State.FAILED, reason="550")])
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "done"
    assert await store.cancel_campaign(campaign_id, NOW) == 0
    campaign = await store.get_campaign(campaign_id)
    assert campaign is not None and campaign.status == "done"


async def test_counts_use_the_language_and_format_actually_used(store: Store) -> None:  # noqa: F811
    await store.upsert_members([member("k1", "ko", Format.AUDIO), member("k2", "ko")])
    campaign, _ = await store.create_campaign(
        NewCampaign("x", "refill_reminder", None, [Recipient("k1", {}), Recipient("k2", {})])
    )
    got = {c.member.member_id: c for c in await claim(store, "w1") if c.member}
    await record(
        store,
        "w1",
        [
            DeliveryOutcome(
                got["k1"].id,
                State.SENT,
                language="en",
                format=Format.LARGE_PRINT_EMAIL,
                language_fallback=True,
            ),
            DeliveryOutcome(got["k2"].id, State.RETRY_WAIT, reason="421", retry_at=NOW),
        ],
    )
    counts = await store.campaign_counts(campaign.id)
    assert counts.by_language == {"en": 1, "ko": 1}
    assert counts.by_format == {"large_print_email": 2}
    assert counts.language_fallback == 1
    assert (counts.by_state["sent"], counts.by_state["retry_wait"]) == (1, 1)
    rows = {r.member_id: r for r in await store.list_deliveries(campaign.id)}
    assert rows["k1"].language_fallback and not rows["k2"].language_fallback


async def test_queue_depth_and_state_totals(store: Store) -> None:  # noqa: F811
    await campaign_of(store, 4)
    await campaign_of(store, 2, send_at=NOW + timedelta(hours=1), prefix="s")
    assert await store.queue_depth(NOW) == 4
    a, *_ = await claim(store, "w1", limit=2)
    await record(store, "w1", [DeliveryOutcome(a.id, State.SENT)])
    assert await store.queue_depth(NOW) == 3  # 2 queued + 1 leased
    totals = await store.state_totals()
    assert (totals["queued"], totals["rendering"], totals["sent"]) == (4, 1, 1)
    assert totals["failed"] == 0


# -- errors and processes -------------------------------------------------------------------


async def test_driver_errors_become_store_errors(tmp_path: Path) -> None:
    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "db").mkdir()
    broken = open_store(f"sqlite:///{tmp_path / 'db'}")
    assert not await broken.ping()
    with pytest.raises(StoreError):
        await broken.migrate()
    await broken.close()
    # Nothing listens on port 1: the pool cannot connect.
    unreachable = open_store("postgresql://postgres@127.0.0.1:1/test")
    assert not await unreachable.ping()
    with pytest.raises(StoreError):
        await unreachable.get_member("m0")
    await unreachable.close()


_CLAIMER = """
import asyncio, sys
from datetime import UTC, datetime
from commhub.domain import DeliveryOutcome, State
from commhub.store.factory import open_store

async def main() -> None:
    store = open_store(sys.argv[1])
    await store.ping()
    print("ready", flush=True)
    sys.stdin.readline()  # start together, so the claims really overlap
    now = datetime.now(UTC)
    while batch := await store.claim(sys.argv[2], 20, 60.0, now):
        print(*(c.id for c in batch), flush=True)
        await store.record(sys.argv[2], [DeliveryOutcome(c.id, State.SENT) for c in batch], now)
    await store.close()

asyncio.run(main())
"""


async def test_processes_sharing_a_sqlite_file_never_share_a_delivery(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    shared = open_store(url)
    await shared.migrate()
    await campaign_of(shared, 3000)
    root = Path(__file__).resolve().parent.parent
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CLAIMER,
            url,
            f"proc{i}",
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(3)
    ]
    for p in procs:
        assert p.stdout is not None
        assert await asyncio.wait_for(p.stdout.readline(), 30) == b"ready\n"
    outputs = await asyncio.gather(*(p.communicate(b"go\n") for p in procs))
    assert [p.returncode for p in procs] == [0, 0, 0]
    ids = [int(x) for out, _ in outputs for x in out.split()]
    assert len(ids) == 3000 and len(set(ids)) == 3000
    assert all(out.strip() for out, _ in outputs), "every process should have claimed some"
    totals = await shared.state_totals()
    await shared.close()
    assert totals["sent"] == 3000
