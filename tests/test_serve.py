"""`commhub serve` as a user runs it, and graceful shutdown of workers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from commhub.worker import Worker
from tests.hub_harness import hub_env, write_config
from tests.smtp_server import SmtpTestServer, free_port

REFILL = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.status, json.loads(resp.read())


def test_serve_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The README's path: serve on a fresh folder (it migrates), then SIGTERM ends it cleanly."""
    port = free_port()
    config = write_config(
        tmp_path,
        "sqlite:///var/commhub.db",
        25,
        server={"port": port},
        delivery={"large_print_email": "outbox", "audio": "outbox", "relay_text": "outbox"},
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "commhub", "--config", str(config), "serve"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert status == 200 and body["status"] == "ok"
        assert (tmp_path / "var" / "commhub.db").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in log.read_text()


async def test_graceful_stop_finishes_or_releases_in_flight_work(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", smtp_server.port)
    async for env in hub_env(config):
        members = [f"M-{i}" for i in range(200)]
        for m in members:
            await env.add_member(m)
        cid = await env.campaign(
            "refill_reminder", [{"member_id": m, "data": REFILL} for m in members]
        )
        stop = asyncio.Event()
        worker: Worker = env.worker()
        task = asyncio.create_task(worker.run(stop))
        while len(smtp_server.messages) < 20:
            await asyncio.sleep(0.005)
        stop.set()
        await asyncio.wait_for(task, 15)
        counts = await env.counts(cid)
        # Nothing is left leased mid-flight: sent, or back in the queue for the next worker.
        assert set(counts) <= {"sent", "queued"}, counts
        assert counts["sent"] == len(smtp_server.messages)
        assert counts.get("queued", 0) > 0
        assert await env.drain(cid) == {"sent": 200}
        assert len(smtp_server.messages) == 200
