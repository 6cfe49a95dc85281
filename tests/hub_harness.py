"""A whole hub for end-to-end tests: real store, real SMTP server, the real HTTP API.

`write_config` writes a config.toml that a `commhub` subprocess can use too, so the same
setup serves in-process tests and tests that kill worker processes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from commhub.api.metrics import Metrics
from commhub.domain import Role, State
from commhub.lifecycle import FINAL
from commhub.service import Hub, open_hub
from commhub.settings import Settings, load
from commhub.tokens import create_token
from commhub.worker import Worker


def write_config(
    folder: Path, database_url: str, smtp_port: int, **sections: dict[str, Any]
) -> Path:
    """A config for tests: every format over SMTP to the test server, fast retries."""
    base: dict[str, dict[str, Any]] = {
        "database": {"url": database_url},
        "delivery": {"large_print_email": "smtp", "audio": "smtp", "relay_text": "smtp"},
        "transports.smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "pool_size": 4,
            "timeout_seconds": 5,
        },
        "transports.outbox": {"path": str(folder / "outbox")},
        "quiet_hours": {"enabled": False},
        "workers": {
            "backoff_base_seconds": 0.05,
            "backoff_max_seconds": 0.2,
            "max_attempts": 5,
            "lease_seconds": 30,
            "poll_seconds": 0.05,
            "batch_size": 16,
        },
    }
    for name, values in sections.items():
        base.setdefault(name.replace("__", "."), {}).update(values)
    lines = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            lines.append(f"{key} = {_toml(value)}")
        lines.append("")
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class HubEnv:
    settings: Settings
    hub: Hub
    client: TestClient
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        resp = await self.client.request(method, path, headers=headers, **kwargs)
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, body

    async def add_member(self, member_id: str, **fields: Any) -> None:
        body = {
            "given_name": "Alex",
            "family_name": "Rivera",
            "language": "en",
            "format": "large_print_email",
            "email": f"{member_id.lower()}@example.org",
            "timezone": "America/Los_Angeles",
            **fields,
        }
        status, answer = await self.call("PUT", f"/v1/members/{member_id}", json=body)
        assert status in (200, 201), answer

    async def import_members(self, member_ids: list[str], **fields: Any) -> None:
        """Many members at once, in one NDJSON import (large-print email, English), for
        tests that need hundreds; each gets `<id>@example.org`."""
        body = {"given_name": "A", "family_name": "B", "language": "en",
                "format": "large_print_email", **fields}  # fmt: skip
        lines = (
            json.dumps({"member_id": m, "email": f"{m.lower()}@example.org", **body}) + "\n"
            for m in member_ids
        )
        status, answer = await self.call(
            "POST",
            "/v1/members/import",
            headers={"Content-Type": "application/x-ndjson"},
            data="".join(lines),
        )
        assert status == 200, answer

    async def campaign(self, template: str, recipients: list[dict[str, Any]], **extra: Any) -> str:
        status, body = await self.call(
            "POST",
            "/v1/campaigns",
            json={
                "template": template,
                "name": f"test {template}",
                "recipients": recipients,
                **extra,
            },
        )
        assert status == 201, body
        return str(body["id"])

    def worker(self) -> Worker:
        return self.hub.worker()

    async def counts(self, campaign_id: str) -> dict[str, int]:
        status, body = await self.call("GET", f"/v1/campaigns/{campaign_id}")
        assert status == 200, body
        return {k: v for k, v in body["counts"]["by_state"].items() if v}

    async def drain(
        self, campaign_id: str, worker: Worker | None = None, timeout: float = 30.0
    ) -> dict[str, int]:
        """Run a worker until every delivery is final or held (retries included)."""
        worker = worker or self.worker()
        deadline = time.monotonic() + timeout
        while True:
            await worker.run_until_idle()
            counts = await self.counts(campaign_id)
            if all(state in FINAL or state == State.HELD for state in counts):
                return counts
            if time.monotonic() > deadline:
                raise AssertionError(f"campaign not finished after {timeout}s: {counts}")
            await asyncio.sleep(0.05)


async def hub_env(config: Path) -> AsyncIterator[HubEnv]:
    """Open the hub for `config` and serve its API on a test server."""
    settings = load(config, env={})
    async with open_hub(settings) as hub:
        client = TestClient(TestServer(hub.api_app(Metrics())))
        await client.start_server()
        try:
            token = await create_token(hub.store, Role.ADMIN, "tests")
            yield HubEnv(settings, hub, client, token)
        finally:
            await client.close()
