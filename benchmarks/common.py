"""Shared benchmark harness: databases, configs, hub subprocesses, members, timing, memory.

Every benchmark starts what it needs and cleans up after itself: a temporary folder with a
config.toml, a SQLite file or a throwaway PostgreSQL schema, `commhub serve`/`worker`
subprocesses (the real command line, as an operator runs it), and postfix's `smtp-sink`.
Figures are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from commhub.domain import Format, Member, Recipient  # noqa: E402
from commhub.lifecycle import FINAL  # noqa: E402
from commhub.store.base import NewCampaign, Store  # noqa: E402
from commhub.store.factory import open_store  # noqa: E402

PG_URL = os.environ.get("COMMHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEMPLATE = "refill_reminder"
DATA = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}
GIVEN = ("Alex", "María", "Linh", "Wei", "Olga", "Ahmed", "Grace", "Jun", "Rosa", "Tomás")
FAMILY = ("Rivera", "García", "Nguyen", "Chen", "Ivanova", "Haddad", "Okafor", "Kim", "Silva")


def run(coro: Any) -> Any:
    """Run a coroutine on uvloop, the event loop the hub itself uses."""
    import uvloop

    return uvloop.run(coro)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without COMMHUB_* overrides (the config file alone decides)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMHUB_")}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> str:
    """One line about the machine the figures come from."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores ({model or 'unknown CPU'}), load average {load:.1f}"


# -- configuration and databases ----------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def write_config(folder: Path, database_url: str, **sections: dict[str, Any]) -> Path:
    """A config.toml in `folder`: quiet hours off, outbox under `folder`, then `sections`
    (keys like `transports__smtp` name the table `transports.smtp`)."""
    tables: dict[str, dict[str, Any]] = {
        "database": {"url": database_url},
        "quiet_hours": {"enabled": False},
        "transports.outbox": {"path": str(folder / "outbox")},
    }
    for name, values in sections.items():
        tables.setdefault(name.replace("__", "."), {}).update(values)
    lines: list[str] = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
        lines.append("")
    path = folder / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def smtp_section(host: str, port: int, pool_size: int = 8) -> dict[str, dict[str, Any]]:
    """Config sections sending every format over SMTP to host:port."""
    return {
        "delivery": {"large_print_email": "smtp", "audio": "smtp", "relay_text": "smtp"},
        "transports__smtp": {"host": host, "port": port, "pool_size": pool_size},
    }


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A URL for an empty store: a SQLite file in `folder`, or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'commhub.db'}"
        return
    schema = "bench_" + secrets.token_hex(5)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}search_path={schema}"
    finally:
        asyncio.run(admin(f"DROP SCHEMA {schema} CASCADE"))


def postgres_available() -> bool:
    async def ping() -> bool:
        try:
            conn = await asyncpg.connect(PG_URL, timeout=3)
        except (OSError, TimeoutError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return bool(asyncio.run(ping()))


def usable_stores(kinds: list[str]) -> list[str]:
    """`kinds` without PostgreSQL when it is unreachable (said once, not per benchmark)."""
    if "postgres" in kinds and not postgres_available():
        print("PostgreSQL unreachable: its runs are skipped")
        return [k for k in kinds if k != "postgres"]
    return kinds


@contextlib.contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"commhub-bench-{prefix}-") as d:
        yield Path(d)


# -- members and campaigns ----------------------------------------------------------------


def make_members(
    n: int, *, fmt: Format = Format.LARGE_PRINT_EMAIL, prefix: str = "M-", language: str = "en"
) -> list[Member]:
    """`n` members with varied names (names differ, so messages differ)."""
    return [
        Member(
            member_id=f"{prefix}{i}",
            given_name=GIVEN[i % len(GIVEN)],
            family_name=FAMILY[(i // len(GIVEN)) % len(FAMILY)],
            language=language,
            format=fmt,
            email=f"member{i}@example.org",
            timezone="America/Los_Angeles",
        )
        for i in range(n)
    ]


async def add_members(url: str, members: Sequence[Member], batch: int = 5000) -> None:
    store = open_store(url)
    await store.migrate()
    try:
        for i in range(0, len(members), batch):
            await store.upsert_members(members[i : i + batch])
    finally:
        await store.close()


async def enqueue(
    url: str,
    members: Sequence[Member],
    data: Sequence[dict[str, Any]] | None = None,
    *,
    send_at: datetime | None = None,
) -> str:
    """Store the members and a campaign to all of them (queued); return the campaign id."""
    await add_members(url, members)
    store = open_store(url)
    try:
        recipients = [
            Recipient(m.member_id, dict(data[i] if data else DATA)) for i, m in enumerate(members)
        ]
        campaign, _ = await store.create_campaign(
            NewCampaign(name="benchmark", template=TEMPLATE, send_at=send_at, recipients=recipients)
        )
        return campaign.id
    finally:
        await store.close()


async def counts(url: str, campaign_id: str) -> dict[str, int]:
    store = open_store(url)
    try:
        return (await store.campaign_counts(campaign_id)).by_state
    finally:
        await store.close()


async def _all_final(store: Store, campaign_id: str) -> tuple[bool, dict[str, int]]:
    by_state = (await store.campaign_counts(campaign_id)).by_state
    unfinished = sum(v for k, v in by_state.items() if k not in FINAL)
    return unfinished == 0, by_state


async def wait_done(
    url: str, campaign_id: str, procs: Sequence[subprocess.Popen[bytes]], timeout: float = 600
) -> dict[str, int]:
    """Poll until every delivery of the campaign is final; fail if a worker process died."""
    store = open_store(url)
    try:
        deadline = time.monotonic() + timeout
        while True:
            done, by_state = await _all_final(store, campaign_id)
            if done:
                return {k: v for k, v in by_state.items() if v}
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"worker process {p.pid} exited with {p.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"campaign not done after {timeout}s: {by_state}")
            await asyncio.sleep(0.25)
    finally:
        await store.close()


async def send_window(url: str, campaign_id: str) -> float:
    """Seconds from the campaign's first claim to its last recorded outcome (from the store's
    own timestamps: the first delivery's `rendering` entry and the latest `updated_at`)."""
    store = open_store(url)
    try:
        first = await store.list_deliveries(campaign_id, limit=1)
        history = await store.delivery_history(first[0].id)
        started = min(h.at for h in history if h.state == "rendering")
        last = started
        after = 0
        while page := await store.list_deliveries(campaign_id, limit=1000, after_id=after):
            last = max(last, max(d.updated_at for d in page))
            after = page[-1].id
        return (last - started).total_seconds()
    finally:
        await store.close()


# -- processes ----------------------------------------------------------------------------


def commhub(config: Path, *args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start `python -m commhub --config <config> <args>` (output to `log`)."""
    out = log.open("wb") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "commhub", "--config", str(config), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(),
            cwd=config.parent,
        )
    finally:
        if log and not isinstance(out, int):
            out.close()


def stop(procs: Sequence[subprocess.Popen[bytes]], timeout: float = 15) -> None:
    """SIGTERM (graceful), then SIGKILL what did not exit."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def child_pids(pid: int) -> list[int]:
    """The process's children (e.g. a worker's DKIM signing process)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process in MB (`VmHWM` = peak since start or the last reset)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not found for {pid}")


def reset_peak_rss(pid: int) -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so the next peak is this request's own."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def create_token(config: Path, role: str = "admin") -> str:
    """`commhub token create`: the token is the last line of its output."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "commhub",
            "--config",
            str(config),
            "token",
            "create",
            "--role",
            role,
            "--label",
            "benchmark",
        ],
        check=True,
        capture_output=True,
        env=clean_env(),
        cwd=config.parent,
    ).stdout
    return out.decode().strip().splitlines()[-1]


@dataclass
class Server:
    """A running `commhub serve` subprocess."""

    proc: subprocess.Popen[bytes]
    base: str
    token: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}


@contextlib.contextmanager
def serve(config: Path, port: int, log: Path | None = None, processes: int = 1) -> Iterator[Server]:
    """Run `commhub serve` with `config` (which must set server.port = port) until ready.

    With `processes` > 1 (the config must set server.reuse_port), that many share the port;
    each is ready when its log says it listens. `log` names the first one's log; the others
    get `-1`, `-2`, ... before its suffix."""
    if processes > 1 and log is None:
        raise ValueError("several serve processes need a log: it tells when each one listens")
    token = create_token(config)
    logs = [
        (log if i == 0 else log.with_stem(f"{log.stem}-{i}")) if log else None
        for i in range(processes)
    ]
    procs = [commhub(config, "serve", log=each) for each in logs]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _serving(base, logs):
            if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                raise RuntimeError("commhub serve did not start" + (f"; see {log}" if log else ""))
            time.sleep(0.1)
        yield Server(procs[0], base, token)
    finally:
        stop(procs)


def _serving(base: str, logs: Sequence[Path | None]) -> bool:
    """Whether the API answers, and every serve process with a log says it listens."""
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
            if resp.status != 200:
                return False
    except OSError:
        return False
    return len(logs) == 1 or all(
        log.exists() and b"commhub listening" in log.read_bytes() for log in logs if log
    )


def rate(n: float, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s" if seconds > 0 else "n/a"


def header(title: str) -> None:
    print(f"\n== {title} ==", flush=True)
