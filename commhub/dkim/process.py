"""DKIM signing in a process of its own, beside the worker.

Why a process: an RSA-2048 signature costs about 1 ms of CPU on a small VM (OpenSSL; 0.3 ms
on a fast one), as much as everything else the worker does for a message. A thread cannot
take that off the worker's core: OpenSSL releases the GIL while it signs, but the thread
needs the GIL back after every signature, and a busy event loop hands it over only every
`sys.getswitchinterval()` (5 ms), so threads signed at a few hundred messages a second and
the campaign rate fell by 34-43% (benchmarks/dkim_cost.py). A child process signs on the
other core with no lock shared; the worker only copies each message down a pipe and reads
back the DKIM-Signature fields.

The pipe protocol, in both directions a stream of frames, answered in order:
  worker -> child: 4-byte big-endian length, then the raw message.
  child -> worker: 1 status byte (0 = signed, 1 = failed), 4-byte length, then the
                   DKIM-Signature fields (status 0) or the error's type name (status 1).
The child is started with the `[dkim]` settings as JSON (paths to keys, never key bytes) and
exits at end of input. If it dies, the messages waiting for it fail with a TransientError (the
worker retries them later) and the next batch starts a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import json
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import cast

from commhub.dkim.signer import DkimSigner
from commhub.domain import OutgoingMessage
from commhub.errors import ConfigError, SigningFailed, TransientError
from commhub.settings import DkimSettings

log = logging.getLogger("commhub.dkim")

_LENGTH = 4
# The child answers in groups: at most this many messages, or this long after the first.
ANSWER_EVERY = 16
ANSWER_AFTER = 0.002
# Seconds without a single answer, messages waiting, after which the child counts as stuck.
STALL_SECONDS = 30.0
_SIGNED, _FAILED = 0, 1
# A pipe holds 64 KiB by default: about two messages. A larger one lets a whole chunk of a
# batch go down in one write (Linux: up to /proc/sys/fs/pipe-max-size, 1 MiB by default).
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (named in the fcntl module from Python 3.10 on Linux)


class SigningProcess:
    """The worker's side: start the child, send it messages, hand back signed copies."""

    def __init__(
        self, settings: DkimSettings, root: Path, *, stall_seconds: float = STALL_SECONDS
    ) -> None:
        # The keys are loaded here as well as in the child: a bad key file is a ConfigError
        # at start, in this process, naming the setting (the child would only die). The
        # signer also gives the DNS records to publish.
        signer = DkimSigner.from_settings(settings, root)
        if signer is None:
            raise ConfigError("dkim.domain is not set: there is nothing to sign")
        self.signer = signer
        self._argv = [
            sys.executable,
            "-m",
            "commhub.dkim.process",
            json.dumps({"settings": asdict(settings), "root": str(root)}),
        ]
        self._protocol: _ChildProtocol | None = None
        self._transport: asyncio.SubprocessTransport | None = None
        self._starting: asyncio.Task[None] | None = None
        self._stall_seconds = stall_seconds

    async def start(self) -> None:
        """Start the child (again, after it died)."""
        if self._transport is not None:
            self._transport.close()
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.subprocess_exec(
            lambda: _ChildProtocol(self._stall_seconds), *self._argv, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=None,
        )  # fmt: skip
        self._transport, self._protocol = transport, protocol

    def submit(self, messages: list[OutgoingMessage]) -> list[asyncio.Future[OutgoingMessage]]:
        """Send `messages` to be signed; one future per message, in order. Call from the
        event loop; the caller awaits each future when it is about to send that message."""
        protocol = self._protocol
        if protocol is not None and not protocol.closed:
            return protocol.sign(messages)
        # The child died (or was never started): one restart, which these messages wait for.
        loop = asyncio.get_running_loop()
        if self._starting is None or self._starting.done():
            log.warning("dkim: starting the signing process")
            self._starting = loop.create_task(self.start())
        starting = self._starting
        return [loop.create_task(self._after(starting, m)) for m in messages]

    async def _after(
        self, starting: asyncio.Task[None], message: OutgoingMessage
    ) -> OutgoingMessage:
        try:
            await asyncio.shield(starting)
        except Exception as exc:  # retried later, like a mail server that is away
            raise TransientError("dkim: the signing process could not start") from exc
        if self._protocol is None:  # closed meanwhile (the worker is stopping)
            raise TransientError("dkim: the signing process stopped")
        return await self._protocol.sign([message])[0]

    async def close(self) -> None:
        """End the child's input and wait for it (killed if it has not ended in 5 s)."""
        transport, protocol = self._transport, self._protocol
        self._transport = self._protocol = None
        if transport is None or protocol is None:
            return
        stdin = transport.get_pipe_transport(0)
        if stdin is not None:
            stdin.close()
        try:
            await asyncio.wait_for(protocol.exited.wait(), timeout=5)
        except TimeoutError:
            transport.kill()
        transport.close()


class _ChildProtocol(asyncio.SubprocessProtocol):
    """Frames out to the child, answers back to their futures in order. The answers are
    parsed in the pipe's data callback: no task or coroutine per message."""

    def __init__(self, stall_seconds: float) -> None:
        self._transport: asyncio.SubprocessTransport | None = None
        self._waiting: deque[tuple[asyncio.Future[OutgoingMessage], OutgoingMessage]] = deque()
        self._buffer = bytearray()
        self.closed = False
        self.exited = asyncio.Event()
        self._stall_seconds = stall_seconds
        self._answered = 0  # answers received so far (the watchdog's sign of progress)
        self._watchdog: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transport has the interface without subclassing asyncio's class.
        self._transport = cast(asyncio.SubprocessTransport, transport)

    def sign(self, messages: list[OutgoingMessage]) -> list[asyncio.Future[OutgoingMessage]]:
        assert self._transport is not None
        stdin = cast(asyncio.WriteTransport, self._transport.get_pipe_transport(0))
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[OutgoingMessage]] = []
        if self.closed:  # it died since it started: nothing written now would be answered
            for _ in messages:
                futures.append(loop.create_future())
                futures[-1].set_exception(TransientError("dkim: the signing process stopped"))
            return futures
        frames: list[bytes] = []
        for message in messages:
            future: asyncio.Future[OutgoingMessage] = loop.create_future()
            self._waiting.append((future, message))
            futures.append(future)
            frames += (len(message.raw).to_bytes(_LENGTH, "big"), message.raw)
        stdin.writelines(frames)
        self._watch()
        return futures

    def _watch(self) -> None:
        """Arm the watchdog while messages wait (one timer per period, not per message)."""
        if self._watchdog is None and self._waiting and not self.closed:
            loop = asyncio.get_running_loop()
            self._watchdog = loop.call_later(self._stall_seconds, self._check, self._answered)

    def _check(self, answered: int) -> None:
        """A child that answered nothing for `stall_seconds` while messages waited is stuck
        (it never is in a test run, but a worker must not wait on it for ever): kill it, so
        the waiting messages are retried and the next batch starts a new child."""
        self._watchdog = None
        if self._waiting and self._answered == answered and self._transport is not None:
            log.error("dkim: the signing process answered nothing in %.0f s; stopping it",
                      self._stall_seconds)  # fmt: skip
            self.closed = True
            self._transport.kill()
            return
        self._watch()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        buffer = self._buffer
        buffer += data
        start = 0
        while len(buffer) - start >= 1 + _LENGTH:
            size = int.from_bytes(buffer[start + 1 : start + 1 + _LENGTH], "big")
            end = start + 1 + _LENGTH + size
            if len(buffer) < end:
                break
            status, payload = buffer[start], bytes(buffer[start + 1 + _LENGTH : end])
            start = end
            self._answered += 1
            if not self._waiting:  # an answer to nothing: a bug, but never a crash here
                log.error("dkim: the signing process answered a message it was not sent")
                break
            future, message = self._waiting.popleft()
            if future.done():  # its sender was cancelled (the worker is stopping)
                continue
            if status == _SIGNED:
                future.set_result(message.with_raw(payload + message.raw))
            else:
                future.set_exception(SigningFailed(payload.decode("ascii", "replace")))
        del buffer[:start]

    def process_exited(self) -> None:
        self.closed = True  # the next batch starts a new child

    def connection_lost(self, exc: Exception | None) -> None:
        # Called after the child exited *and* its pipes are drained: answers it wrote before
        # dying have reached their futures; what is still waiting will never be answered.
        self.closed = True
        self.exited.set()
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._waiting:
            log.error(
                "dkim: the signing process ended with %d messages unsigned", len(self._waiting)
            )
        while self._waiting:
            future, _ = self._waiting.popleft()
            if not future.done():
                future.set_exception(TransientError("dkim: the signing process stopped"))

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 0:  # its input is gone: it can sign nothing more
            self.closed = True


# -- the child ---------------------------------------------------------------------------
def serve(
    signer: DkimSigner, readinto: Callable[[memoryview], int], write: Callable[[bytes], object]
) -> None:
    """Sign the frames `readinto` puts in a buffer (what is there, up to the view's length;
    0 at the end) until the input ends, answering each in order with `write`.

    Reads whole pipefuls into one buffer kept for the child's life, and signs each message
    where it lies: a fresh 1 MiB string per read cost page faults on every read, and a copy
    per message. Answers in groups (every ANSWER_EVERY messages, or after ANSWER_AFTER
    seconds, or when no whole frame is left): a system call and a wake-up of the worker per
    message cost as much as an Ed25519 signature on a small VM."""
    buffer = bytearray(_PIPE_SIZE)  # grows to the largest message (an audio email: MBs)
    filled = 0  # buffer[:filled] was read and is not answered yet
    while True:
        if filled >= _LENGTH:  # room for the whole of the frame begun (it may be large)
            need = _LENGTH + int.from_bytes(buffer[:_LENGTH], "big")
            if need > len(buffer):
                buffer.extend(bytes(need - len(buffer)))
        with memoryview(buffer) as view:
            count = readinto(view[filled:])
        if not count:
            return
        filled += count
        answers: list[bytes] = []
        since = 0.0
        start = 0
        while filled - start >= _LENGTH:
            end = start + _LENGTH + int.from_bytes(buffer[start : start + _LENGTH], "big")
            if filled < end:
                break
            try:
                status, payload = _SIGNED, signer.signature_fields(buffer, start + _LENGTH, end)
            except Exception as exc:  # answered, so the worker fails that message only
                status, payload = _FAILED, type(exc).__name__.encode("ascii")
            start = end
            if not answers:
                since = time.monotonic()
            answers.append(bytes((status,)) + len(payload).to_bytes(_LENGTH, "big") + payload)
            if len(answers) >= ANSWER_EVERY or time.monotonic() - since >= ANSWER_AFTER:
                write(b"".join(answers))
                answers.clear()
        if answers:
            write(b"".join(answers))
        if start:  # the part of a frame read so far moves to the front
            buffer[: filled - start] = buffer[start:filled]
            filled -= start


def _read_into(view: memoryview) -> int:
    """Read from standard input into `view` (os.readinto only comes with Python 3.14)."""
    return os.readv(0, [view])


def _write_all(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def main(argv: list[str]) -> int:
    config = json.loads(argv[0])
    settings = DkimSettings(**config["settings"])
    signer = DkimSigner.from_settings(settings, Path(config["root"]))
    assert signer is not None
    # What was loaded at start lives as long as the child: kept out of the collector's
    # full passes, which otherwise walk it again and again while messages are signed.
    gc.freeze()
    for fd in (0, 1):  # the child's ends of its two pipes (either end may size a pipe)
        with contextlib.suppress(OSError):  # a smaller pipe only costs more system calls
            fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        serve(signer, _read_into, _write_all)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
