"""A throwaway PostgreSQL cluster for tests that stop the database: initdb in a temporary
folder, a free port, stopped and started at will (the shared server on 5432 is never touched).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.smtp_server import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.skip(f"PostgreSQL server binaries ({name}) are not installed")
    return found[-1]


class PgCluster:
    """initdb + pg_ctl on a free port; `url` reaches its `postgres` database."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: its parents are private to root, and PostgreSQL
        # refuses to run as root, so the cluster runs as the `postgres` user.
        self.folder = Path(tempfile.mkdtemp(prefix="commhub-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._run(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")  # fmt: skip

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        # fsync off: a test does not survive an OS crash. synchronous_commit stays on: with
        # it off, an immediate stop loses commits already acknowledged, which a test that
        # stops the server would count as the hub's fault.
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c full_page_writes=off"
        )
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.folder / "server.log"), "-w", "start")  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """Stop at once ("immediate": like a crash, connections cut without goodbye)."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [*self._as_user, _bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.folder, ignore_errors=True)
