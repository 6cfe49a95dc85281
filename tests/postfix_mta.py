"""A private Postfix (Debian's `postfix` package) on free loopback ports, for tests that need
real DSNs: commhub hands it mail, it relays `example.net` to a test SMTP server and sends its
bounces for `bounces.test` to commhub's bounce listener.

Nothing of the system's own Postfix is used or changed: the configuration, queue and data
folders are a temporary folder's, and the master runs in the foreground (`master -d`) as a
child of the test, stopped when the context ends. Mail it cannot deliver is returned at once
(`maximal_queue_lifetime = 0`), so a 4xx answer yields a DSN too ("gave up").
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

MASTER = Path("/usr/lib/postfix/sbin/master")
BOUNCE_DOMAIN = "bounces.test"
REMOTE_DOMAIN = "example.net"


def missing_reason() -> str | None:
    """Why Postfix cannot run here, or None when it can."""
    if not MASTER.exists():
        return f"{MASTER} not installed (apt-get install postfix)"
    if os.geteuid() != 0:
        return "the Postfix master must start as root"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _main_cf(folder: Path, remote_port: int, bounce_port: int) -> str:
    return f"""compatibility_level = 3.6
queue_directory = {folder}/queue
data_directory = {folder}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.test
mydomain = mta.test
myorigin = mta.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = {BOUNCE_DOMAIN}
transport_maps = inline:{{ {REMOTE_DOMAIN}=smtp:[127.0.0.1]:{remote_port}, {BOUNCE_DOMAIN}=smtp:[127.0.0.1]:{bounce_port} }}
smtp_dns_support_level = disabled
smtp_host_lookup = native
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
maillog_file = /dev/stdout
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
"""


def _master_cf(smtpd_port: int) -> str:
    """Debian's master.cf with smtpd on our port and no chroot (the queue is ours)."""
    lines = []
    for line in Path("/etc/postfix/master.cf").read_text().splitlines():
        if re.match(r"^smtp\s+inet\s", line):
            line = f"127.0.0.1:{smtpd_port} inet n - n - - smtpd"
        fields = line.split()
        if len(fields) >= 8 and not line.startswith(("#", " ")) and fields[4] == "y":
            fields[4] = "n"
            line = " ".join(fields)
        lines.append(line)
    return "\n".join(lines) + "\n"


# The queue's folders as Debian's postfix-files makes them (`postfix start` would; the
# foreground master does not): (name, owner, group, mode).
_QUEUE = [
    *((name, "postfix", None, 0o700) for name in (
        "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
        "private", "saved", "trace",
    )),
    ("maildrop", "postfix", "postdrop", 0o730),
    ("public", "postfix", "postdrop", 0o710),
    ("pid", "root", None, 0o755),
]  # fmt: skip


def _make_queue(queue: Path) -> None:
    queue.mkdir()
    queue.chmod(0o755)
    for name, owner, group, mode in _QUEUE:
        path = queue / name
        path.mkdir()
        shutil.chown(path, owner, group)
        path.chmod(mode)


@contextlib.contextmanager
def postfix(remote_port: int, bounce_port: int) -> Iterator[int]:
    """Run a private Postfix; yields the port its smtpd listens on."""
    folder = Path(tempfile.mkdtemp(prefix="commhub-postfix-"))
    folder.chmod(0o755)  # the daemons run as `postfix` and must reach the queue
    master: subprocess.Popen[bytes] | None = None
    try:
        (folder / "conf").mkdir()
        (folder / "data").mkdir()
        _make_queue(folder / "queue")
        shutil.chown(folder / "data", "postfix")
        port = _free_port()
        (folder / "conf" / "main.cf").write_text(_main_cf(folder, remote_port, bounce_port))
        (folder / "conf" / "master.cf").write_text(_master_cf(port))
        with (folder / "maillog").open("wb") as log:
            master = subprocess.Popen(
                # -d: stay in the foreground (a child of the test); -s: logs to our file.
                [str(MASTER), "-c", str(folder / "conf"), "-d", "-s"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if master.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "postfix did not start: " + (folder / "maillog").read_text()[-2000:]
                )
            time.sleep(0.1)
        yield port
    finally:
        if master is not None and master.poll() is None:
            master.send_signal(signal.SIGTERM)  # the master stops its daemons
            try:
                master.wait(10)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait(5)
        shutil.rmtree(folder, ignore_errors=True)
