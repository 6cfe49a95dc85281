"""The campaign life cycle over HTTP, with real workers, a real SMTP server and both stores:
pause and resume, holds that say what clears them, `held` and `done` statuses, and release
after the settings changed (a restart with another configuration on the same database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.hub_harness import HubEnv, hub_env, write_config
from tests.smtp_server import SmtpTestServer
from tests.store_fixtures import store_url  # noqa: F401  (parametrized: sqlite, postgres)

REFILL = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}


def config(tmp_path: Path, url: str, port: int, name: str, **sections: dict[str, Any]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return write_config(folder, url, port, **sections)


@pytest.fixture
async def env(tmp_path: Path, store_url: str, smtp_server: SmtpTestServer) -> AsyncIterator[HubEnv]:  # noqa: F811
    async for e in hub_env(config(tmp_path, store_url, smtp_server.port, "plain")):
        yield e


async def test_pause_stops_sending_and_resume_finishes_it(
    env: HubEnv, smtp_server: SmtpTestServer
) -> None:
    for i in range(3):
        await env.add_member(f"P-{i}")
    cid = await env.campaign(
        "refill_reminder", [{"member_id": f"P-{i}", "data": REFILL} for i in range(3)]
    )
    status, body = await env.call("POST", f"/v1/campaigns/{cid}/pause")
    assert status == 200, body
    assert body["parked"] == 3 and body["campaign"]["status"] == "paused"
    assert body["campaign"]["paused_at"] is not None
    assert await env.worker().run_until_idle() == 0  # nothing is claimed while paused
    assert smtp_server.messages == []
    status, body = await env.call("POST", f"/v1/campaigns/{cid}/pause")
    assert status == 409 and "cannot pause" in body["error"]["message"]
    assert "paused" in body["error"]["message"]
    status, body = await env.call("POST", f"/v1/campaigns/{cid}/resume")
    assert status == 200 and body["campaign"]["status"] == "sending"
    assert await env.drain(cid) == {"sent": 3}
    status, body = await env.call("GET", f"/v1/campaigns/{cid}")
    assert body["status"] == "done" and body["finished_at"] is not None
    assert len(smtp_server.messages) == 3
    status, body = await env.call("POST", f"/v1/campaigns/{cid}/resume")
    assert status == 409 and "done" in body["error"]["message"]
    status, body = await env.call("POST", "/v1/campaigns/cmp_nope/pause")
    assert status == 404


async def test_a_hold_without_a_time_names_its_fix_and_release_sends_after_it(
    tmp_path: Path,
    store_url: str,  # noqa: F811
    smtp_server: SmtpTestServer,
) -> None:
    # Japanese audio has no offline voice: with no_voice_policy = "hold" it is held.
    holding = config(
        tmp_path, store_url, smtp_server.port, "hold", speech={"no_voice_policy": "hold"}
    )
    async for env in hub_env(holding):
        await env.add_member("J-1", language="ja", format="audio")
        await env.add_member("E-1")
        cid = await env.campaign(
            "refill_reminder", [{"member_id": m, "data": REFILL} for m in ("J-1", "E-1")]
        )
        assert await env.drain(cid) == {"held": 1, "sent": 1}
        status, body = await env.call("GET", f"/v1/campaigns/{cid}")
        assert body["status"] == "held"  # not "sending" for ever
        status, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries?state=held")
        (held,) = body["deliveries"]
        reason = held["last_error"]
        assert "no voice for ja" in reason and 'speech.no_voice_policy = "fallback"' in reason
        assert "release" in reason
        # Releasing with the same settings holds it again: the reason stays true.
        status, body = await env.call("POST", f"/v1/campaigns/{cid}/release")
        assert status == 200 and body["released"] == 1
        assert await env.drain(cid) == {"held": 1, "sent": 1}
    # "Restart" with the fallback policy: release now lets it go (as large print).
    fallback = config(
        tmp_path, store_url, smtp_server.port, "fallback", speech={"no_voice_policy": "fallback"}
    )
    async for env in hub_env(fallback):
        status, body = await env.call("POST", f"/v1/campaigns/{cid}/release")
        assert status == 200 and body["released"] == 1
        assert body["campaign"]["status"] == "sending"
        assert await env.drain(cid) == {"sent": 2}
        status, body = await env.call("GET", f"/v1/campaigns/{cid}")
        assert body["status"] == "done"
        status, body = await env.call("POST", f"/v1/campaigns/{cid}/release")
        assert status == 409
    assert len(smtp_server.messages) == 2


def _quiet_now() -> dict[str, str]:
    """Quiet hours around the current UTC time (members in UTC are asleep now)."""
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    return {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}


async def test_quiet_hours_hold_has_a_time_and_release_after_turning_them_off_sends(
    tmp_path: Path,
    store_url: str,  # noqa: F811
    smtp_server: SmtpTestServer,
) -> None:
    quiet = config(
        tmp_path,
        store_url,
        smtp_server.port,
        "quiet",
        quiet_hours={"enabled": True, **_quiet_now()},
    )
    async for env in hub_env(quiet):
        await env.add_member("Q-1", timezone="UTC")
        cid = await env.campaign("refill_reminder", [{"member_id": "Q-1", "data": REFILL}])
        assert await env.drain(cid) == {"held": 1}
        status, body = await env.call("GET", f"/v1/campaigns/{cid}/deliveries")
        assert "quiet hours" in body["deliveries"][0]["last_error"]
        status, body = await env.call("GET", f"/v1/campaigns/{cid}")
        assert body["status"] == "held"
    awake = config(tmp_path, store_url, smtp_server.port, "awake")  # quiet hours off
    async for env in hub_env(awake):
        status, body = await env.call("POST", f"/v1/campaigns/{cid}/release")
        assert status == 200 and body["released"] == 1
        assert await env.drain(cid) == {"sent": 1}
    assert len(smtp_server.messages) == 1


async def test_a_campaign_may_ignore_quiet_hours(
    tmp_path: Path,
    store_url: str,  # noqa: F811
    smtp_server: SmtpTestServer,
) -> None:
    # The README walk-through works at any hour this way (and urgent notices may).
    quiet = config(
        tmp_path,
        store_url,
        smtp_server.port,
        "quiet",
        quiet_hours={"enabled": True, **_quiet_now()},
    )
    async for env in hub_env(quiet):
        await env.add_member("N-1", timezone="UTC")
        cid = await env.campaign(
            "refill_reminder", [{"member_id": "N-1", "data": REFILL}], ignore_quiet_hours=True
        )
        status, body = await env.call("GET", f"/v1/campaigns/{cid}")
        assert body["ignore_quiet_hours"] is True
        assert await env.drain(cid) == {"sent": 1}
        status, body = await env.call(
            "POST",
            "/v1/campaigns",
            json={
                "template": "refill_reminder",
                "name": "x",
                "ignore_quiet_hours": "yes",
                "recipients": [{"member_id": "N-1", "data": REFILL}],
            },
        )
        assert status == 422 and body["error"]["details"][0]["field"] == "ignore_quiet_hours"
    assert len(smtp_server.messages) == 1
