"""Staff operations over HTTP and at the terminal, on both stores: the campaign list and
status (with a progress bar), tokens (list, revoke within 5 s, expiry) and the audit log.

The CLI runs in-process (`commhub.cli.main` in a thread, with its own event loop) against
the same database as the API under test, as an operator's terminal would.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commhub.cli import main
from commhub.domain import Role
from commhub.tokens import hash_token, issue_token, new_token
from tests.hub_harness import HubEnv, hub_env, write_config
from tests.smtp_server import SmtpTestServer
from tests.store_fixtures import store_url  # noqa: F401  (parametrized: sqlite, postgres)

REFILL = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}


@pytest.fixture
def config(tmp_path: Path, store_url: str, smtp_server: SmtpTestServer) -> Path:  # noqa: F811
    return write_config(tmp_path, store_url, smtp_server.port)


@pytest.fixture
async def env(config: Path) -> AsyncIterator[HubEnv]:
    async for e in hub_env(config):
        yield e


async def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run `commhub --config CONFIG ARGS...`; its exit code and what it printed."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["--config", str(config), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


async def test_campaigns_are_listed_newest_first_with_paging_and_filters(
    env: HubEnv, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await env.add_member("L-1")
    first = await env.campaign("refill_reminder", [{"member_id": "L-1", "data": REFILL}])
    await env.drain(first)
    second = await env.campaign("refill_reminder", [{"member_id": "L-1", "data": REFILL}])
    await env.call("POST", f"/v1/campaigns/{second}/pause")
    third = await env.campaign("refill_reminder", [{"member_id": "L-1", "data": REFILL}])

    status, body = await env.call("GET", "/v1/campaigns")
    assert status == 200
    listed = body["campaigns"]
    assert [c["id"] for c in listed] == [third, second, first]
    assert [c["status"] for c in listed] == ["sending", "paused", "done"]
    done = listed[2]
    assert done["by_state"]["sent"] == 1 and done["finished_at"] is not None
    assert set(done) >= {"name", "template", "created_at", "send_at", "total", "by_state"}
    # Cursor paging: one at a time, to the end.
    seen, after = [], ""
    while True:
        status, page = await env.call("GET", f"/v1/campaigns?limit=1&after={after}")
        seen += [c["id"] for c in page["campaigns"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == [third, second, first]
    status, page = await env.call("GET", "/v1/campaigns?status=paused")
    assert [c["id"] for c in page["campaigns"]] == [second]
    status, page = await env.call("GET", "/v1/campaigns?template=coverage_change")
    assert page["campaigns"] == []
    status, page = await env.call("GET", "/v1/campaigns?status=asleep")
    assert status == 400 and "status must be one of" in page["error"]["message"]
    status, page = await env.call("GET", "/v1/campaigns?after=cmp_nope")
    assert status == 400

    code, out = await cli(config, capsys, "campaign", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["ID", "STATUS"]
    assert [line.split()[0] for line in lines[1:]] == [third, second, first]
    assert lines[3].split()[1] == "done" and "sent=1" in lines[3]
    code, out = await cli(config, capsys, "campaign", "list", "--status", "paused")
    assert [line.split()[0] for line in out.splitlines()[1:]] == [second]
    code, out = await cli(config, capsys, "campaign", "status", first)
    assert code == 0 and "status    done" in out
    assert "[##############################] 100%  1/1 finished" in out
    # --watch on a finished campaign draws once and returns.
    code, out = await cli(config, capsys, "campaign", "status", first, "--watch")
    assert code == 0 and out.splitlines()[0].startswith("done")
    code, out = await cli(config, capsys, "campaign", "status", "cmp_nope")
    assert code == 2 and "no campaign" in out


async def test_watch_follows_a_campaign_until_it_is_done(
    env: HubEnv, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(3):
        await env.add_member(f"W-{i}")
    cid = await env.campaign(
        "refill_reminder", [{"member_id": f"W-{i}", "data": REFILL} for i in range(3)]
    )
    watching = asyncio.create_task(
        cli(config, capsys, "campaign", "status", cid, "--watch", "--interval", "0.1")
    )
    await asyncio.sleep(0.5)
    assert not watching.done()
    await env.drain(cid)
    code, out = await asyncio.wait_for(watching, 30)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("sending") and "0/3 finished" in lines[0]
    assert any(line.startswith("done") and "3/3 finished" in line for line in lines)


async def test_cli_campaign_actions_follow_the_life_cycle(
    env: HubEnv, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await env.add_member("A-1")
    cid = await env.campaign("refill_reminder", [{"member_id": "A-1", "data": REFILL}])
    code, out = await cli(config, capsys, "campaign", "pause", cid)
    assert code == 0 and "status paused" in out
    code, out = await cli(config, capsys, "campaign", "pause", cid)
    assert code == 2 and "cannot pause" in out
    code, out = await cli(config, capsys, "campaign", "resume", cid)
    assert code == 0 and "status sending" in out
    code, out = await cli(config, capsys, "campaign", "release", cid)
    assert code == 0 and "(0 deliveries)" in out
    code, out = await cli(config, capsys, "campaign", "cancel", cid)
    assert code == 0 and "status cancelled" in out
    _, body = await env.call("GET", f"/v1/campaigns/{cid}")
    assert body["status"] == "cancelled"


async def test_tokens_are_listed_without_secrets_revoked_within_5s_and_expire(
    env: HubEnv, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = await cli(
        config,
        capsys,
        "token",
        "create",
        "--role",
        "qa",
        "--label",
        "dashboard",
        "--expires",
        "90d",
    )
    assert code == 0
    token = out.splitlines()[-1]
    token_id = out.split(" token ")[1].split(",")[0]
    assert token_id.startswith("tok_") and token.startswith("chub_")
    headers = {"Authorization": f"Bearer {token}"}
    r = await env.client.get("/v1/templates", headers=headers)
    assert r.status == 200

    code, out = await cli(config, capsys, "token", "list")
    assert code == 0 and token not in out and hash_token(token) not in out
    (line,) = [line for line in out.splitlines() if line.startswith(token_id)]
    assert line.split()[1:3] == ["qa", "dashboard"]
    assert "expires" in line and line.count("Z") >= 3  # created, last used, expiry

    code, out = await cli(config, capsys, "token", "revoke", token_id)
    assert code == 0 and f"Revoked {token_id}" in out
    revoked = time.monotonic()
    while (await env.client.get("/v1/templates", headers=headers)).status == 200:
        assert time.monotonic() - revoked < 5.0, "a revoked token still works after 5 s"
        await asyncio.sleep(0.1)
    r = await env.client.get("/v1/templates", headers=headers)
    assert r.status == 401
    code, out = await cli(config, capsys, "token", "list")
    assert "revoked" in next(line for line in out.splitlines() if line.startswith(token_id))
    code, out = await cli(config, capsys, "token", "revoke", "tok_000000000000")
    assert code == 2 and "no token" in out
    code, out = await cli(config, capsys, "token", "create", "--role", "qa", "--expires", "soon")
    assert code == 2 and "--expires" in out

    # An expired token is refused (created already expired: the same check as any later).
    expired = new_token()
    await env.hub.store.add_token(
        hash_token(expired), Role.QA, "old", datetime.now(UTC) - timedelta(seconds=1)
    )
    r = await env.client.get("/v1/templates", headers={"Authorization": f"Bearer {expired}"})
    assert r.status == 401


async def test_audit_records_who_did_what_without_member_data(
    env: HubEnv, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = env.hub.store
    outreach, out_info = await issue_token(store, Role.OUTREACH, "outreach desk")
    qa, _ = await issue_token(store, Role.QA, "qa desk")
    started = datetime.now(UTC)

    async def call(token: str, method: str, path: str, **kwargs: object) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        r = await env.client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
        return r.status

    member = {
        "given_name": "Zelda",
        "family_name": "Quint",
        "language": "en",
        "format": "large_print_email",
        "email": "zelda.quint@example.org",
    }
    assert await call(outreach, "PUT", "/v1/members/Z-1", json=member) == 201
    csv = "member_id,given_name,language,format,email\nZ-2,Yannick,en,large_print_email,y@example.org\n"
    r = await env.client.post(
        "/v1/members/import",
        data=csv.encode(),
        headers={"Authorization": f"Bearer {outreach}", "Content-Type": "text/csv"},
    )
    assert r.status == 200
    body = {
        "template": "refill_reminder",
        "name": "Audit",
        "recipients": [{"member_id": "Z-1", "data": REFILL}],
    }
    r = await env.client.post(
        "/v1/campaigns", json=body, headers={"Authorization": f"Bearer {outreach}"}
    )
    cid = (await r.json())["id"]
    assert await call(qa, "POST", f"/v1/campaigns/{cid}/pause") == 403
    for action in ("pause", "resume", "release", "cancel"):
        assert await call(outreach, "POST", f"/v1/campaigns/{cid}/{action}") == 200
    assert await call(outreach, "POST", f"/v1/campaigns/{cid}/pause") == 409
    assert await call(outreach, "DELETE", "/v1/members/Z-1") in (200, 204)
    assert await call("chub_" + "x" * 40, "POST", f"/v1/campaigns/{cid}/pause") == 401
    code, _ = await cli(config, capsys, "campaign", "release", cid)
    assert code == 2  # cancelled: refused, and recorded as refused

    assert await call(outreach, "GET", "/v1/audit") == 403
    status, log = await env.call(
        "GET", "/v1/audit?since=" + started.isoformat().replace("+00:00", "Z")
    )
    assert status == 200
    got = [(e["actor"], e["action"], e["object_id"], e["outcome"]) for e in log["entries"]]
    o = out_info.id
    assert got == [
        (o, "member.put", "Z-1", "ok"),
        (o, "member.import", None, "ok"),
        (o, "campaign.create", cid, "ok"),
        (got[3][0], "campaign.pause", cid, "error 403: forbidden"),
        (o, "campaign.pause", cid, "ok"),
        (o, "campaign.resume", cid, "ok"),
        (o, "campaign.release", cid, "ok"),
        (o, "campaign.cancel", cid, "ok"),
        (o, "campaign.pause", cid, "error 409: conflict"),
        (o, "member.erase", "Z-1", "ok"),
        ("cli", "campaign.release", cid, "error: Conflict"),
    ]
    assert got[3][0].startswith("tok_") and got[3][0] != o  # the qa token
    assert log["entries"][0]["actor_label"] == "outreach desk"
    text = json.dumps(log)
    for personal in ("Zelda", "Quint", "zelda.quint", "Yannick", "Main Street"):
        assert personal not in text
    status, log = await env.call("GET", f"/v1/audit?action=campaign.cancel&actor={o}")
    assert [e["object_id"] for e in log["entries"]] == [cid]
    status, log = await env.call("GET", "/v1/audit?since=yesterday")
    assert status == 400 and "since" in log["error"]["message"]

    code, out = await cli(config, capsys, "audit", "--actor", "cli")
    assert code == 0 and "campaign.release" in out and "error: Conflict" in out
    # `--since` reads times as `?since=` does, and refuses what it refuses, with its words.
    since = started.isoformat().replace("+00:00", "Z")
    code, out = await cli(config, capsys, "audit", "--since", since, "--actor", "cli")
    assert code == 0 and "campaign.release" in out
    code, out = await cli(config, capsys, "audit", "--since", "2999-01-01T00:00:00+14:00")
    assert code == 0 and "campaign.release" not in out
    for wrong in ("yesterday", "2026-12-01T00:00:00", "2026-02-30T00:00:00Z"):
        status, log = await env.call("GET", f"/v1/audit?since={wrong}")
        api_reason = log["error"]["message"].removeprefix("query parameter since ")
        code, out = await cli(config, capsys, "audit", "--since", wrong)
        assert (status, code) == (400, 2), wrong
        assert out.strip() == f"commhub: --since {api_reason}", wrong


async def test_a_change_whose_audit_entry_fails_is_still_answered_as_done(
    env: HubEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The member is stored before the audit write; if that write fails the client must not
    get a 5xx (it would retry and, without an Idempotency-Key, create twice)."""
    store = env.hub.store
    token, _ = await issue_token(store, Role.OUTREACH, "outreach desk")

    async def broken(entry: object) -> None:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(store, "add_audit", broken)
    member = {"given_name": "Ada", "language": "en", "format": "large_print_email",
              "email": "ada@example.org"}  # fmt: skip
    r = await env.client.put(
        "/v1/members/A-1", json=member, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status == 201
    assert (await store.get_member("A-1")) is not None
