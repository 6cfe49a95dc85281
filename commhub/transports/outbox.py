"""Outbox transport: each message becomes one file in a Maildir folder.

With no mail server configured, a fresh checkout still "sends": any mail client (mutt, Thunderbird
with a Maildir account, Python's `mailbox.Maildir`) opens the folder. The file is written to
`tmp/` and renamed into `new/`, so a reader never sees half a message.

The file name is derived from the Message-ID, which is stable per delivery: a retry after a
crash finds the file already there (in `new/`, or in `cur/` once a client has read it) and
writes nothing, so the outbox never holds the same delivery twice.

Small messages are written on the event loop: a 3.6 KB email costs ~70 us of CPU there
(~14,000 files/s on ext4), while handing it to a thread costs ~300 us. Large ones (audio, ~160
KB of base64 MP3, ~0.7 ms) go to a thread so the loop is not stalled (measured with 16
concurrent sends). Files are not fsynced: the outbox is for development and review, not for
durable delivery.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import socket
from collections.abc import Iterable
from pathlib import Path

from commhub.domain import OutgoingMessage
from commhub.errors import TransientError
from commhub.settings import OutboxSettings

_THREAD_THRESHOLD = 64 * 1024  # bytes; larger writes would stall the loop for ~0.3 ms+


# `.eml`: any mail viewer (and `commhub outbox show`) opens the file. Files written before
# were named `.commhub`; they are still found (no second copy on retry) and erased.
_SUFFIX = ".eml"
_LEGACY_SUFFIX = ".commhub"
_SUFFIXES = (_SUFFIX, _LEGACY_SUFFIX)
OUTBOX = "outbox"  # the transport's name in [delivery]


def writable(folder: Path) -> bool:
    """Whether a message could be stored in the Maildir `folder` now: a real write and
    remove in `tmp/` and `new/` (permission bits alone say nothing for root, nor for a
    read-only mount or a full disk). Dot-files: Maildir readers skip them."""
    probe = f".health-{socket.gethostname()}-{os.getpid()}"
    try:
        for sub in ("tmp", "new"):
            (folder / sub).mkdir(parents=True, exist_ok=True)  # as the transport's start()
            path = folder / sub / probe
            with open(path, "wb") as f:
                f.write(b"x")
            path.unlink()
    except OSError:
        return False
    return True


def file_name(message_id: str) -> str:
    """The Maildir file name of a message: the same for every attempt of one delivery."""
    return _digest(message_id) + _SUFFIX


def _digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32]


def _digest_of(entry_name: str, suffixes: tuple[str, ...] = _SUFFIXES) -> str | None:
    """The Message-ID digest in a Maildir entry's name ending in one of `suffixes` (and any
    flags or tmp prefix)."""
    for suffix in suffixes:
        end = entry_name.find(suffix)
        if end >= 32:
            return entry_name[end - 32 : end]
    return None


def remove_messages(folder: Path, message_ids: Iterable[str]) -> int:
    """Delete these messages' files from the Maildir `folder` (new/, cur/ whatever flags a
    client added, and tmp/ leftovers of a crash); return how many were deleted.

    Erasing a member calls it: the outbox is a copy of their messages the hub controls.
    """
    digests = {_digest(m) for m in message_ids}
    removed = 0
    for sub in ("new", "cur", "tmp"):
        try:
            entries = list(os.scandir(folder / sub))
        except FileNotFoundError:
            continue
        for entry in entries:
            # new/<name>, cur/<name>:2,<flags>, tmp/<host>.<pid>.<n>.<name>
            if _digest_of(entry.name) in digests:
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    return removed


def _legacy_digests(folder: Path) -> frozenset[str]:
    """The Message-ID digests of the files in new/ and cur/ (whatever their flags) named in
    the older `.commhub` way. Nothing is given that name any more, so one listing finds them
    all, and a send then needs no look-up of its own for them."""
    found: set[str] = set()
    for sub in ("new", "cur"):
        for entry in os.scandir(folder / sub):
            digest = _digest_of(entry.name, (_LEGACY_SUFFIX,))
            if digest is not None:
                found.add(digest)
    return frozenset(found)


class OutboxTransport:
    """Writes each message into a Maildir folder (`tmp/`, `new/`, `cur/`)."""

    name = OUTBOX

    def __init__(self, settings: OutboxSettings, root: Path) -> None:
        path = Path(settings.path)
        self.folder = path if path.is_absolute() else root / path
        self._tmp = self.folder / "tmp"
        self._new = self.folder / "new"
        self._cur = self.folder / "cur"
        # Unique temporary names across processes sharing the folder and concurrent sends.
        self._tmp_prefix = f"{socket.gethostname()}.{os.getpid()}."
        self._counter = itertools.count()
        # Digests of the messages already stored under the older name (read by `start`). One
        # that erasure deletes meanwhile stays listed: an erased member is sent nothing more.
        self._legacy: frozenset[str] = frozenset()

    async def start(self) -> None:
        """Create the Maildir folders if needed, and note the files named the older way."""
        try:
            for sub in (self._tmp, self._new, self._cur):
                sub.mkdir(parents=True, exist_ok=True)
            # A listing of a large outbox takes a while: not on the event loop.
            self._legacy = await asyncio.to_thread(_legacy_digests, self.folder)
        except OSError as exc:
            raise TransientError(f"outbox folder not writable: {type(exc).__name__}") from None

    async def send(self, message: OutgoingMessage) -> None:
        """Store `message` in `new/`, unless this Message-ID is already in the folder."""
        if len(message.raw) > _THREAD_THRESHOLD:
            await asyncio.to_thread(self._write, message)
        else:
            self._write(message)

    def _write(self, message: OutgoingMessage) -> None:
        name = file_name(message.message_id)
        if self._exists(name):
            return
        # Maildir files use the local line ending; mail clients expect LF on this platform.
        data = message.raw.replace(b"\r\n", b"\n")
        try:
            try:
                self._store(data, name)
            except FileNotFoundError:
                # The folder was removed under us (e.g. a cleanup): recreate it, try once more.
                for sub in (self._tmp, self._new, self._cur):
                    sub.mkdir(parents=True, exist_ok=True)
                self._store(data, name)
        except OSError as exc:
            raise TransientError(f"outbox write failed: {type(exc).__name__}") from None

    def _store(self, data: bytes, name: str) -> None:
        tmp = self._tmp / f"{self._tmp_prefix}{next(self._counter)}.{name}"
        try:
            with open(tmp, "xb") as f:
                f.write(data)
            os.replace(tmp, self._new / name)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _exists(self, name: str) -> bool:
        if name.removesuffix(_SUFFIX) in self._legacy:
            return True  # stored under the older name before this transport started
        # A client that read the message moved it to cur/ with an info suffix (":2,<flags>");
        # the usual ones are checked by name, which costs a few stat calls, not a listing.
        cur = self._cur
        if os.path.exists(self._new / name):
            return True
        return any(os.path.exists(cur / (name + info)) for info in ("", ":2,", ":2,S", ":2,RS"))

    async def close(self) -> None:
        """Nothing to close: every send finished its file before returning."""
