"""SMTP transport: a pool of persistent aiosmtplib connections with a rate limit.

Persistent connections matter most: a new connection per message is ~4x slower than reusing
one (see the measurements in benchmarks/smtp_raw.py). Each connection serves one send at a
time; idle connections wait in an asyncio.Queue. Connections open lazily on first use and
reopen after the server drops them.

Errors are translated at this boundary: SMTP 4xx, refused/reset/timed-out connections and
disconnects are TransientError; 5xx answers to the message are PermanentError. Failures while
*opening* a connection (greeting, EHLO, STARTTLS, AUTH) are always transient: they concern the
server or our configuration, never this message, and must not fail a whole campaign for good.
Reasons carry the SMTP code and text with any address blanked out, never message content.

Why aiosmtplib and not a thread pool of stdlib smtplib connections (measured with
benchmarks/smtp_raw.py against postfix's C smtp-sink, 20,000 x 3.6 KB, 2 cores, uvloop):
this pool first reached ~7,300 messages/s at ~136 us of CPU per message (pool 4 or 8; with the
payload built once per message and no line-ending scan of the renderer's messages, ~9,800/s
at ~80 us with 30 KB emails); smtplib in 2-4 threads ~9,000-10,000/s at ~95-115 us. Its
threads would also compete for the GIL with the event loop that renders and records
deliveries, and would need their own timeout, shutdown and error plumbing: aiosmtplib stays.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import re
import time
from collections.abc import Sequence
from typing import cast

import aiosmtplib
import aiosmtplib.email
import aiosmtplib.protocol
import aiosmtplib.smtp

from commhub.domain import OutgoingMessage
from commhub.errors import MaybeSentError, PermanentError, TransientError
from commhub.redact import redact
from commhub.settings import SmtpSettings

log = logging.getLogger(__name__)

_MAX_REASON = 200
# 5xx answers about our session, not the message (authentication or TLS required, credentials
# refused): fixing the configuration makes them go away, so retrying is right.
_CONFIG_CODES = frozenset({530, 534, 535, 538})


# -- the DATA payload, built with as few whole-message passes as possible ------------------------
# Profiling a worker (py-spy --gil, 30 KB large-print emails to smtp-sink) showed ~45% of the
# event loop's time in whole-message byte passes: aiosmtplib's sendmail normalizes line endings
# with a regex (twice with SIZE), dot-stuffs with another, appends the terminator (a copy of the
# message), then writes. The transport therefore runs the SMTP transaction itself on
# aiosmtplib's public commands (MAIL, RCPT, RSET; the protocol's write and read_response) and
# builds the payload once: three `count`s find a CRLF-only message (nothing to normalize) —
# skipped for the renderer's messages, which are CRLF-only by construction (the counts alone
# took ~50 us of a 30 KB message, a third of its send) —, one `replace` dot-stuffs (no copy
# when no line starts with a dot), and the terminator goes out as its own write. The bytes on
# the wire are the same as aiosmtplib's (tests/test_smtp_wire.py).
def wire_payload(raw: bytes, crlf_lines: bool = False) -> tuple[int, bytes]:
    """The SIZE of `raw` and the bytes DATA sends before the final `.` line.

    As aiosmtplib does it: lone CR or LF become CRLF and a final CRLF is added (the SIZE is
    that length, RFC 1870), then a dot starting a line is doubled (RFC 5321 4.5.2).
    `crlf_lines`: the caller knows `raw` is already so (OutgoingMessage.crlf_lines).
    """
    if not crlf_lines:
        crlf = raw.count(b"\r\n")
        if raw.count(b"\n") != crlf or raw.count(b"\r") != crlf:  # a lone CR or LF somewhere
            raw = aiosmtplib.protocol.normalize_message_line_endings(raw)
        elif not raw.endswith(b"\r\n"):
            raw += b"\r\n"
    size = len(raw)
    if not _starts_a_line_with_dot(raw):
        return size, raw
    stuffed = raw.replace(b"\n.", b"\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return size, stuffed


def _starts_a_line_with_dot(raw: bytes, most: int = 32) -> bool:
    """True when a line of `raw` starts with a dot (or may: after `most` dots, say yes).

    Looks at each dot (`find` of one byte runs at memchr speed) instead of searching for the
    two bytes LF-dot, a byte-by-byte scan three times slower; a message has few dots outside
    its text parts, and base64 parts have none.
    """
    at = raw.find(b".")
    for _ in range(most):
        if at == -1:
            return False
        if at == 0 or raw[at - 1] == 0x0A:
            return True
        at = raw.find(b".", at + 1)
    return at != -1


# aiosmtplib parses each address with `email.utils.parseaddr` four times per message (sendmail
# validates sender and recipients, then MAIL and RCPT quote them): ~9% of a worker's event loop
# in a py-spy profile. The parse is a pure function of the string, so a bounded memo gives the
# same result (and the same ValueError: exceptions are not cached) for one parse per address.
_parse_slow = aiosmtplib.email.parse_address
_quote_slow = aiosmtplib.email.quote_address


# A bare dot-atom address (what almost every member has) parses to itself: checked against
# aiosmtplib's parse on ~10,000 random such strings (tests/test_smtp_wire.py keeps the check).
# Anything else takes the memoized library parse.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


def parse_address(address: str) -> str:
    """aiosmtplib's `parse_address`: a plain address as is, anything else memoized."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    return _parse_memo(address)


@functools.lru_cache(maxsize=4096)
def _parse_memo(address: str) -> str:
    return _parse_slow(address)


def quote_address(address: str) -> str:
    """aiosmtplib's `quote_address` (`<address>`), on the memoized parse."""
    return f"<{parse_address(address)}>"


def _install_fast_paths() -> None:
    """Swap the memoized address parse in (once); a future aiosmtplib without it is left alone."""
    smtp = aiosmtplib.smtp
    if getattr(smtp, "parse_address", None) is _parse_slow:
        setattr(smtp, "parse_address", parse_address)  # noqa: B010
    if getattr(smtp, "quote_address", None) is _quote_slow:
        setattr(smtp, "quote_address", quote_address)  # noqa: B010


_install_fast_paths()


def _reason(code: int, text: str, recipients: Sequence[str] = ()) -> str:
    """Server text without the recipient: servers echo the address, or its local part alone
    ("unknown in table for r5500"), and this text is stored and shown to staff."""
    return f"smtp {code} {redact(' '.join(text.split()), recipients)[:_MAX_REASON]}".rstrip()


class RateLimiter:
    """Spaces calls `1/rate` seconds apart (a token bucket holding one token).

    Each caller reserves the next free slot on an absolute schedule, so oversleeping one wait
    does not slow the long-run rate, and concurrent callers need no lock.
    """

    def __init__(self, rate_per_second: float) -> None:
        self.interval = 1.0 / rate_per_second
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


class _NoAnswerAfterData(aiosmtplib.SMTPException):
    """No reply (timeout or drop) after the DATA's final dot: the message may be delivered."""


class _ClosedAtMail(aiosmtplib.SMTPResponseException):
    """421 in answer to MAIL, the first command of a transaction: the server is closing
    the connection before the message was offered."""


class _Refused(Exception):
    """The server turned a new connection away (busy, too many connections): no fault of
    the message that was to use it."""


# Answers that say "too much mail from you, slow down" (RFC 3463 4.7.x, or the words of
# rate-limiting servers); the pool halves its width on them (AIMD). A 451 for a greylisted
# or busy mailbox concerns one recipient and leaves the pool alone.
_SLOW_DOWN_CODES = frozenset({421, 450, 451, 452})
_SLOW_DOWN_TEXT = re.compile(r"\b4\.7\.\d+|too (?:many|much)|rate|slow", re.IGNORECASE)


def _asks_to_slow_down(code: int, text: str) -> bool:
    return code in _SLOW_DOWN_CODES and _SLOW_DOWN_TEXT.search(text) is not None


# A pooled connection the server closed (idle timeout, restart) is reopened in place, at most
# this many times for one message; a server that keeps closing them makes a transient error.
_MAX_REOPENS = 3


class AdaptivePool:
    """How many connections the SMTP pool may use now: additive increase, multiplicative
    decrease (AIMD), like TCP's congestion window.

    A refused connection shrinks the width to the connections that work and stops growth for
    a back-off time that doubles with each refusal in a row (up to `max_backoff`); a "slow
    down" answer (450/451) halves it. Every `width` sends in a row that succeed, after the
    back-off time, widen it by one, up to `size`: the pool probes for more room again.
    """

    def __init__(self, size: int, *, base_backoff: float = 0.25, max_backoff: float = 30.0):
        self.size = size
        self.width = size
        self._base = base_backoff
        self._max = max_backoff
        self._backoff = base_backoff
        self._calm_after = 0.0  # monotonic time before which the width does not grow
        self._streak = 0

    def refused(self, working: int) -> None:
        """A new connection was turned away while `working` others were open."""
        self.width = max(1, min(self.width, working))
        self._calm_after = time.monotonic() + self._backoff
        self._backoff = min(self._max, self._backoff * 2)
        self._streak = 0

    def slow_down(self) -> None:
        """The server asked us to send less (450/451/421 to a command)."""
        self.width = max(1, self.width // 2)
        self._calm_after = time.monotonic() + self._backoff
        self._streak = 0

    def succeeded(self) -> bool:
        """One send went through; True when the width grew."""
        self._streak += 1
        if self.width >= self.size or self._streak < self.width:
            return False
        if time.monotonic() < self._calm_after:
            return False
        self._streak = 0
        self._backoff = self._base  # a connection more was allowed: back-off starts over
        self.width += 1
        return True

    def backoff_seconds(self) -> float:
        """How long to wait before trying to connect again when nothing is open."""
        return max(0.0, self._calm_after - time.monotonic())


class SmtpTransport:
    """Sends each message's final bytes over a pool of persistent SMTP connections.

    The pool adapts to the server (`AdaptivePool`): only `width` connections are used at
    a time. A connection the server refuses (421 at greeting, refused, reset) is never
    charged to a message: the message waits for a connection that works. Only when no
    connection is open at all and reconnecting keeps failing (the server is down) does the
    send fail, as a transient error.
    """

    name = "smtp"
    # Retries to open a first connection when none is open (0.1, 0.2, 0.4 s apart).
    CONNECT_RETRIES = 3

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._limiter = (
            RateLimiter(settings.rate_limit_per_second)
            if settings.rate_limit_per_second > 0
            else None
        )
        self.pool = AdaptivePool(settings.pool_size)
        self._final_reply_timeout = max(
            settings.timeout_seconds, settings.final_reply_timeout_seconds
        )
        self._clients: list[aiosmtplib.SMTP] = []
        self._free: list[aiosmtplib.SMTP] = []  # not lent out; connected ones are reused first
        self._busy = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._started = False
        self._closed = False

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.tls,
            # STARTTLS and AUTH are done by _connect, not by connect(): when they fail,
            # aiosmtplib would close the connection gracefully and drop it (see _drop).
            # Explicit False: the default (None) would upgrade whenever the server offers it.
            start_tls=False,
            validate_certs=s.validate_certs,
            timeout=s.timeout_seconds,
            local_hostname=s.helo_name or None,
        )

    async def start(self) -> None:
        """Create the pool; connections open on first use."""
        if self._started:
            return
        self._started = True
        self._closed = False  # start() after close() reopens the pool
        self._clients = [self._new_client() for _ in range(self.settings.pool_size)]
        self._free = list(self._clients)
        self._busy = 0

    # -- lending connections ---------------------------------------------------------------
    def _take(self) -> aiosmtplib.SMTP | None:
        """A free connection within the pool's width, an open one if any; None if none."""
        if self._busy >= self.pool.width or not self._free:
            return None
        free = self._free
        client = free.pop()  # the most recently used: open, if any is
        if not client.is_connected:
            for i in range(len(free) - 1, -1, -1):
                if free[i].is_connected:
                    free[i], client = client, free[i]
                    break
        self._busy += 1
        return client

    async def _acquire(self) -> aiosmtplib.SMTP:
        while True:
            if self._closed:
                raise TransientError("smtp transport is closed")
            client = self._take()
            if client is not None:
                return client
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if not waiter.done():
                    waiter.cancel()
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)

    def _release(self, client: aiosmtplib.SMTP) -> None:
        self._busy -= 1
        self._free.append(client)
        self._wake(1)

    def _wake(self, count: int) -> None:
        while count > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    def _open_count(self) -> int:
        return sum(1 for c in self._clients if c.is_connected)

    # -- sending ---------------------------------------------------------------------------
    async def send(self, message: OutgoingMessage) -> None:
        """Send `message.raw` as is to `message.recipients`."""
        if self._closed:
            raise TransientError("smtp transport is closed")
        if not self._started:
            await self.start()
        if self._limiter is not None:
            await self._limiter.wait()
        failures = 0
        while True:
            client = await self._acquire()
            try:
                await self._send_on(client, message)
                if self.pool.succeeded():
                    self._wake(1)
                return
            except _Refused:
                # Not this message's fault: wait for a connection that works. With none
                # open, the server is down or refuses us entirely: after a few tries with
                # back-off, that is a transient failure of the send.
                if self._open_count() == 0:
                    failures += 1
                    if failures > self.CONNECT_RETRIES:
                        raise TransientError("smtp connect refused") from None
                    await asyncio.sleep(0.05 * 2**failures)
            finally:
                self._release(client)
            if self._closed:
                raise TransientError("smtp transport is closed")

    async def _send_on(self, client: aiosmtplib.SMTP, message: OutgoingMessage) -> None:
        reopened = 0
        while True:
            fresh = not client.is_connected
            if fresh:
                await self._connect(client)
            try:
                await self._transaction(client, message)
                # Partial acceptance returns normally: the accepted recipients have the
                # message, so a retry would duplicate it; the refused ones are logged by id.
                return
            except aiosmtplib.SMTPRecipientsRefused as exc:
                codes = [r.code for r in exc.recipients]
                first = exc.recipients[0] if exc.recipients else None
                reason = (
                    _reason(first.code, first.message, message.recipients)
                    if first
                    else "smtp recipients refused"
                )
                if codes and all(500 <= c < 600 for c in codes):
                    raise PermanentError(reason) from None
                if first is not None and _asks_to_slow_down(first.code, first.message):
                    self.pool.slow_down()
                raise TransientError(reason) from None
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code == 421:
                    await self._drop(client)  # the server is closing this connection
                    if isinstance(exc, _ClosedAtMail) and not fresh and reopened < _MAX_REOPENS:
                        # A pooled connection the server closed while it sat idle (postfix:
                        # "421 4.4.2 timeout exceeded", read as the answer to our MAIL):
                        # the message was never offered. Reopen and resend, uncharged.
                        reopened += 1
                        log.info("smtp server had closed the idle connection; reconnecting")
                        continue
                if _asks_to_slow_down(exc.code, exc.message):
                    self.pool.slow_down()
                if 500 <= exc.code < 600 and exc.code not in _CONFIG_CODES:
                    raise PermanentError(
                        _reason(exc.code, exc.message, message.recipients)
                    ) from None
                raise TransientError(_reason(exc.code, exc.message, message.recipients)) from None
            except _NoAnswerAfterData as exc:
                await self._drop(client)
                raise MaybeSentError(
                    f"no answer after the message was sent in full ({exc}): it may have been"
                    " delivered"
                ) from None
            except aiosmtplib.SMTPTimeoutError:
                # The message may or may not have been accepted; the connection state is
                # unknown, so it is dropped. The retry sends the same Message-ID.
                await self._drop(client)
                raise TransientError("smtp timeout") from None
            except (aiosmtplib.SMTPServerDisconnected, OSError) as exc:
                await self._drop(client)
                if fresh or reopened >= _MAX_REOPENS:
                    raise TransientError(f"smtp connection lost: {type(exc).__name__}") from None
                # A pooled connection the server closed while idle: reconnect in place.
                # (Had the server dropped it after accepting DATA, the copy it receives now
                # carries the same Message-ID, which lets receivers drop the duplicate.)
                reopened += 1
                log.info("smtp connection was closed by the server; reconnecting")
            except (ValueError, aiosmtplib.SMTPNotSupported) as exc:
                # An address that cannot be sent (e.g. non-ASCII without SMTPUTF8 support).
                raise PermanentError(f"smtp cannot send: {type(exc).__name__}") from None
            except aiosmtplib.SMTPException as exc:
                await self._drop(client)
                raise TransientError(f"smtp error: {type(exc).__name__}") from None

    async def _transaction(self, client: aiosmtplib.SMTP, message: OutgoingMessage) -> None:
        """MAIL, RCPT for each recipient, DATA: aiosmtplib's `sendmail` (same commands, same
        errors, RSET after a refusal) with the payload built once (see `wire_payload`).

        Raises SMTPRecipientsRefused only when every recipient was refused; a partial
        acceptance returns normally. No lock: the pool lends a connection to one send at a time.
        """
        # Check every address before the envelope starts (ValueError: cannot be sent).
        parse_address(message.sender)
        for recipient in message.recipients:
            parse_address(recipient)
        options = self._mail_options(client, message) or []
        utf8 = "SMTPUTF8" in options
        if utf8 and not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
        size, payload = wire_payload(message.raw, message.crlf_lines)
        if client.supports_extension("size"):
            options.insert(0, f"size={size}")
        encoding = "utf-8" if utf8 else "ascii"
        try:
            try:
                await client.mail(message.sender, options=options, encoding=encoding)
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code == 421:
                    raise _ClosedAtMail(exc.code, exc.message) from None
                raise
            refused: list[aiosmtplib.SMTPRecipientRefused] = []
            for recipient in message.recipients:
                try:
                    await client.rcpt(recipient, encoding=encoding)
                except aiosmtplib.SMTPRecipientRefused as exc:
                    refused.append(exc)
            if len(refused) == len(message.recipients):
                raise aiosmtplib.SMTPRecipientsRefused(refused)
            await self._data(client, payload, self._final_reply_timeout)
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
            # Reset the envelope for the connection's next message; a failing RSET would
            # only hide the error that matters.
            with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
                await client.rset()
            raise

    @staticmethod
    async def _data(client: aiosmtplib.SMTP, payload: bytes, final_reply_timeout: float) -> None:
        """DATA, the payload, the `.` line (aiosmtplib's data command without its passes);
        the answer to the `.` may take `final_reply_timeout` seconds."""
        protocol = client.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("Connection lost")
        try:
            # read_response arms the protocol for the reply before it first yields, so a
            # reply cannot arrive unnoticed between a write and its read.
            protocol.write(b"DATA\r\n")
            start = await protocol.read_response(timeout=client.timeout)
            if start.code != 354:
                raise aiosmtplib.SMTPDataError(start.code, start.message)
            protocol.write(payload)
            protocol.write(b".\r\n")
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            client.close()  # the reply stream is out of step: never reuse the connection
            raise
        try:
            # The whole message and its final dot are out: the server may be delivering it
            # (RFC 5321 4.5.3.2.6: a timeout here "would typically result in delivery of
            # multiple copies"), so it gets longer than the other commands to answer.
            done = await protocol.read_response(timeout=final_reply_timeout)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            # Not an ordinary failure: the worker retries it once only.
            client.close()
            raise _NoAnswerAfterData(type(exc).__name__) from None
        if done.code != 250:
            raise aiosmtplib.SMTPDataError(done.code, done.message)

    @staticmethod
    def _mail_options(client: aiosmtplib.SMTP, message: OutgoingMessage) -> list[str] | None:
        if message.raw.isascii() and message.sender.isascii():
            if all(r.isascii() for r in message.recipients):
                return None
            return ["SMTPUTF8"]
        options = []
        if not (message.sender.isascii() and all(r.isascii() for r in message.recipients)):
            options.append("SMTPUTF8")
        if not message.raw.isascii() and client.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        return options

    async def _connect(self, client: aiosmtplib.SMTP) -> None:
        """Open, STARTTLS, AUTH, EHLO. Raises _Refused when the server turns the connection
        away (the pool narrows), TransientError for anything else (configuration, TLS)."""
        s = self.settings
        try:
            await client.connect()
            if s.starttls:
                await client.starttls()  # EHLO first; fails if the server does not offer it
            if s.username and s.password:
                await client.login(s.username, s.password)
            # EHLO now, so the server's extensions (SIZE, SMTPUTF8, 8BITMIME) are known before
            # the first MAIL; HELO when the server does not speak ESMTP.
            if client.is_ehlo_or_helo_needed:
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    if not client.is_connected:
                        raise
                    await client.helo()
        except Exception as exc:
            await self._drop(client)
            if _is_refusal(exc):
                working = self._open_count()
                self.pool.refused(working)
                log.info("smtp server refused a connection; pool width now %d", self.pool.width)
                raise _Refused() from None
            if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                raise TransientError(
                    f"smtp authentication failed: {_reason(exc.code, exc.message)}"
                ) from None
            if isinstance(exc, aiosmtplib.SMTPResponseException):
                raise TransientError(f"smtp connect: {_reason(exc.code, exc.message)}") from None
            if isinstance(exc, aiosmtplib.SMTPException | OSError):
                # Unreachable, timed out, TLS handshake failed, STARTTLS not offered.
                raise TransientError(f"smtp connect failed: {type(exc).__name__}") from None
            raise

    @staticmethod
    async def _drop(client: aiosmtplib.SMTP) -> None:
        """Discard a connection after an error: abort, not close. A graceful close of a TLS
        connection first waits for the server's close_notify (up to 30 s), with the socket
        held open meanwhile; abort lets it go on the loop's next turn."""
        if client.transport is not None:
            # A socket or TLS transport (typed as the base class; uvloop's do not subclass it).
            cast(asyncio.Transport, client.transport).abort()
        client.close()

    async def close(self) -> None:
        """Wait for in-flight sends, then QUIT every open connection."""
        if not self._started or self._closed:
            self._closed = True
            return
        self._closed = True
        self._wake(len(self._waiters))  # waiting sends see the pool closed
        while self._busy:  # sends in flight finish first
            await asyncio.sleep(0.01)
        for client in self._clients:
            if client.is_connected:
                try:
                    await asyncio.wait_for(client.quit(), timeout=5)
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()
        self._started = False
        self._free = []
        # A closed transport lets go of its socket in a callback on the loop's next turn
        # (also one closed by asyncio itself when a TLS handshake failed): give it that turn,
        # so a loop that ends right after close() (a CLI command, a test) leaks no socket.
        await asyncio.sleep(0)


def _is_refusal(exc: BaseException) -> bool:
    """Whether a failure to open a connection means "not now" from a working server: a
    4xx greeting (421 too many connections), a refused or reset connection, or the server
    hanging up during the greeting or EHLO."""
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        return 400 <= exc.code < 500
    if isinstance(exc, aiosmtplib.SMTPConnectTimeoutError):
        return False
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        cause = exc.__cause__
        return isinstance(
            cause, ConnectionRefusedError | ConnectionResetError | aiosmtplib.SMTPServerDisconnected
        )
    if isinstance(exc, aiosmtplib.SMTPHeloError | aiosmtplib.SMTPResponseException):
        return exc.code == 421
    return isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionResetError)
