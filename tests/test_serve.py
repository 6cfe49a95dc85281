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


def _serve(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """`commhub serve` with `config`, its output in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "commhub", "--config", str(config), "serve"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )


def _wait_listening(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    """Until `proc` logs that it listens; fail at once (with its log) if it exits."""
    deadline = time.monotonic() + timeout
    while b"commhub listening" not in log.read_bytes():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"timed out waiting for {log.name}"
        time.sleep(0.1)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Kill what is still running (a failed test must not leave servers behind)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


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
    proc = _serve(config, log)
    try:
        _wait_listening(proc, log)
        status, body = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and body["status"] == "ok"
        assert (tmp_path / "var" / "commhub.db").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, log.read_text()
    finally:
        _stop([proc])
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


def test_serve_processes_share_a_port_only_with_reuse_port(tmp_path: Path) -> None:
    """server.reuse_port: two serve processes on one port both listen and the port answers;
    without it the second one stops at once, saying the address is in use and how to share."""
    port = free_port()
    sections = {
        "server": {"port": port, "reuse_port": True},
        "delivery": {"large_print_email": "outbox", "audio": "outbox", "relay_text": "outbox"},
    }
    for folder in ("shared", "alone"):
        (tmp_path / folder).mkdir()
    shared = write_config(tmp_path / "shared", "sqlite:///var/commhub.db", 25, **sections)
    logs = [tmp_path / f"serve-{i}.log" for i in range(2)]
    procs = [_serve(shared, log) for log in logs]
    try:
        for proc, log in zip(procs, logs, strict=True):
            _wait_listening(proc, log)  # both bound the same port
        # Each new connection goes to one of them (the kernel picks by the client's address).
        answers = [_get(f"http://127.0.0.1:{port}/healthz") for _ in range(20)]
        assert all(status == 200 for status, _ in answers)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc, log in zip(procs, logs, strict=True):
            assert proc.wait(15) == 0, log.read_text()
    finally:
        _stop(procs)

    sections["server"]["reuse_port"] = False
    alone = write_config(tmp_path / "alone", "sqlite:///var/commhub.db", 25, **sections)
    first = _serve(alone, tmp_path / "first.log")
    procs = [first]
    try:
        _wait_listening(first, tmp_path / "first.log")
        second = _serve(alone, tmp_path / "second.log")
        procs.append(second)
        assert second.wait(30) != 0
        said = (tmp_path / "second.log").read_text()
        assert f"cannot listen on 127.0.0.1:{port}: address already in use" in said, said
        assert "server.reuse_port" in said and "Traceback" not in said, said
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(15)
        _stop(procs)


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_serve_loads_the_neural_voice_only_when_english_audio_needs_it(tmp_path: Path) -> None:
    """The English voice (onnxruntime and its model, ~110 MB) is not in a server that has
    not spoken: a hub that imports members or sends email stays small. The first English
    audio preview loads it, and is spoken by it."""
    from tests.serve_process import serve_process

    with serve_process(tmp_path) as hub:
        time.sleep(3)  # a warm-up at start loaded it within ~1.5 s
        assert "onnxruntime" not in _maps(hub.pid)
        body = {"template": "refill_reminder", "language": "en", "format": "audio"}
        request = urllib.request.Request(
            f"http://127.0.0.1:{hub.port}/v1/previews",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {hub.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            preview = json.loads(response.read())
        assert preview["voice"] == "piper:en_US-joe-medium"
        assert "onnxruntime" in _maps(hub.pid)
