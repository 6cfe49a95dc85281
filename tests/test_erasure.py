"""Erasure (DELETE /v1/members/{id}) leaves no copy of the member's data the hub controls.

Real SQLite file (its -wal too), real PostgreSQL schema, the real outbox Maildir: the bytes
of the erased member's name, address, phone and template data are searched for in each.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.hub_harness import HubEnv, hub_env, write_config
from tests.store_fixtures import store_url  # noqa: F401  (parametrized: sqlite, postgres)

# Distinctive values, so finding their bytes anywhere can only mean a copy of this member.
ERASED = {
    "given_name": "Quillonia",
    "family_name": "Vantablackwood",
    "email": "quillonia.vantablackwood@example.org",
    "phone": "503-555-0199",
    "language": "es",
}
ERASED_DATA = {
    "refill_date": "2026-12-03",
    "pharmacy_name": "Zarquon Apothecary",
    "refills_left": 2,
}
KEPT = {"given_name": "Bartholomew", "family_name": "Keepsworth", "email": "bart.keep@example.org"}
KEPT_DATA = {**ERASED_DATA, "pharmacy_name": "Oakhollow Dispensary"}
SECRETS = [
    b"Quillonia",
    b"Vantablackwood",
    b"quillonia.vantablackwood",
    b"503-555-0199",
    b"5035550199",
    b"Zarquon",
]


async def outbox_hub(tmp_path: Path, url: str) -> AsyncIterator[HubEnv]:
    # Every format to the outbox: the Maildir then holds a copy of each message sent.
    outbox = {"large_print_email": "outbox", "audio": "outbox", "relay_text": "outbox"}
    async for e in hub_env(write_config(tmp_path, url, 25, delivery=outbox)):
        yield e


@pytest.fixture
async def env(tmp_path: Path, store_url: str) -> AsyncIterator[HubEnv]:  # noqa: F811
    async for e in outbox_hub(tmp_path, store_url):
        yield e


@pytest.fixture
async def sqlite_env(tmp_path: Path) -> AsyncIterator[HubEnv]:
    async for e in outbox_hub(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}"):
        yield e


def outbox_bytes(env: HubEnv) -> dict[Path, bytes]:
    """Each outbox file: its raw bytes plus its decoded headers and text (bodies are base64)."""
    folder = env.settings.path(env.settings.transports.outbox.path)
    found = {}
    for p in folder.rglob("*"):
        if p.is_file():
            raw = p.read_bytes()
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            decoded = [str(v) for v in msg.values()]
            for part in msg.walk():
                if part.get_content_maintype() == "text":
                    decoded.append(part.get_content())
            found[p] = raw + "\n".join(decoded).encode("utf-8")
    return found


def files_of(path: str) -> dict[str, bytes]:
    """The SQLite database file and its WAL, as they are on disk now."""
    found = {}
    for suffix in ("", "-wal", "-journal"):
        p = Path(path + suffix)
        if p.exists():
            found[p.name] = p.read_bytes()
    return found


def holding(files: dict[object, bytes], needle: bytes) -> list[str]:
    return [str(name) for name, data in files.items() if needle in data]


async def send_to_both(env: HubEnv) -> str:
    await env.add_member("M-ERASE", **ERASED)
    await env.add_member("M-KEEP", **KEPT)
    cid = await env.campaign(
        "refill_reminder",
        [
            {"member_id": "M-ERASE", "data": ERASED_DATA},
            {"member_id": "M-KEEP", "data": KEPT_DATA},
        ],
    )
    assert await env.drain(cid) == {"sent": 2}
    return cid


async def test_erasure_removes_the_members_outbox_messages_and_delivery_details(
    env: HubEnv,
) -> None:
    cid = await send_to_both(env)
    before = outbox_bytes(env)
    assert len(before) == 2
    assert holding(before, b"Quillonia") and holding(before, b"Keepsworth")  # the copies exist

    status, _ = await env.call("DELETE", "/v1/members/M-ERASE")
    assert status == 204

    after = outbox_bytes(env)
    assert len(after) == 1  # only the kept member's message is left
    for needle in SECRETS:
        assert holding(after, needle) == [], needle
    assert holding(after, b"Keepsworth")
    status, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
    rows = {row["member_id"]: row for row in body["deliveries"]}
    # What the member reads and needs (Spanish, large print) is personal data too.
    assert rows["M-ERASE"]["language"] is None and rows["M-ERASE"]["format"] is None
    assert rows["M-ERASE"]["state"] == "sent"  # the history of what was done stays
    assert rows["M-KEEP"]["language"] == "en" and rows["M-KEEP"]["format"] == "large_print_email"


async def test_erased_members_bytes_leave_the_sqlite_file_and_wal(sqlite_env: HubEnv) -> None:
    # (PostgreSQL keeps dead row versions until VACUUM reuses the space: docs/erasure.md.)
    env = sqlite_env
    path = env.settings.database_url.removeprefix("sqlite:///")
    await send_to_both(env)
    before = files_of(path)
    assert holding(before, b"Quillonia") and holding(before, b"Zarquon")  # the copies exist

    status, _ = await env.call("DELETE", "/v1/members/M-ERASE")
    assert status == 204

    after = files_of(path)
    for needle in SECRETS:
        assert holding(after, needle) == [], needle
    assert holding(after, b"Keepsworth") and holding(after, b"Oakhollow")
