"""Workers: claim due deliveries with a lease, render, send, record.

The hot path per message is claim (batched) → render → build MIME → send → record (as each
send ends, grouped with the others that ended meanwhile: `OutcomeRecorder`).
Several lanes run the loop concurrently so the store round trips of one lane overlap the
sends of another. A worker renews the leases of the batches it works on (a slow send is not
taken over); one that dies leaves leases that expire, and other workers take them over.
The retry decision reads only the error *type* (TransientError vs PermanentError).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time as _time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from commhub.domain import ClaimedDelivery, DeliveryOutcome, Format, Member, OutgoingMessage, State
from commhub.errors import (
    MaybeSentError,
    PermanentError,
    PolicyHold,
    RenderError,
    SigningFailed,
    SpeechError,
    StoreError,
    StoreUnavailable,
    TransientError,
    loggable,
)
from commhub.settings import QuietHoursSettings, Settings
from commhub.store.base import Store
from commhub.transports.base import Transport

log = logging.getLogger("commhub.worker")

# Messages rendered between two turns of the event loop (~0.1 ms each): bounds how long the
# worker keeps API requests in the same process waiting.
YIELD_EVERY = 8


def utcnow() -> datetime:
    return datetime.now(UTC)


class RenderResult(Protocol):
    """What the worker needs from a rendered delivery."""

    @property
    def message(self) -> OutgoingMessage: ...
    @property
    def lang(self) -> str: ...
    @property
    def fallback(self) -> bool: ...


# async (topic, member, data, delivery_id, campaign_id) -> RenderResult; raises PolicyHold or
# RenderError.
RenderFn = Callable[[str, Member, dict[str, Any], int, str], Awaitable[RenderResult]]
# (outcome, seconds the send took; None when no send was tried: skips, holds, render failures)
OutcomeHook = Callable[[DeliveryOutcome, float | None], None]
# Starts signing a batch's messages (DKIM: commhub.dkim.process.SigningProcess.submit,
# another process); one future per message, in order, awaited just before its send.
SignFn = Callable[[list[OutgoingMessage]], list[asyncio.Future[OutgoingMessage]]]


@dataclass(frozen=True)
class _Signed:
    """A rendered delivery whose message was replaced by its signed copy."""

    message: OutgoingMessage
    lang: str
    fallback: bool


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: attempt 1 → ~base, 2 → ~2·base, … capped at `cap`.

    Half of the delay is fixed and half random ("equal jitter"), so retries of a whole
    campaign after an outage spread out instead of hammering the server together.
    """
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return float(delay / 2 + rng.uniform(0, delay / 2))


def quiet_until(member: Member, now: datetime, quiet: QuietHoursSettings) -> datetime | None:
    """When quiet hours end for this member, or None if it is not quiet time for them now."""
    if not quiet.enabled or quiet.start == quiet.end:
        return None
    local = now.astimezone(member.zone)
    t = local.timetz().replace(tzinfo=None)
    overnight = quiet.start > quiet.end  # e.g. 21:00 → 08:00
    in_quiet = (t >= quiet.start or t < quiet.end) if overnight else (quiet.start <= t < quiet.end)
    if not in_quiet:
        return None
    end_day = local.date()
    if overnight and t >= quiet.start:
        end_day += timedelta(days=1)
    end_local = datetime.combine(end_day, quiet.end, tzinfo=member.zone)
    return end_local.astimezone(UTC)


RELEASE_HOW = "POST /v1/campaigns/{id}/release or commhub campaign release ID"


def hold_reason(hold: PolicyHold) -> str:
    """The reason stored for a hold: one without a retry time says what clears it and how
    to release it (a hold never waits silently for ever)."""
    if hold.until is not None:
        return hold.reason
    clears = hold.clears or "fix the cause"
    return f"{hold.reason}; to send it: {clears}, then release the campaign ({RELEASE_HOW})"


# How the reason of an attempt that may have delivered its message begins (it went out in
# full and no answer came). Only for staff to read: the worker decides on the delivery's
# stored mark (ClaimedDelivery.maybe_sent), never on this text.
MAYBE_SENT = "maybe sent"


class OutcomeRecorder:
    """Records outcomes as they happen: one store call at a time, each taking every outcome
    that arrived while the previous one ran (a group commit: one round trip per call however
    busy, and an outcome waits at most for one call before its own).

    Why not once per batch: a worker killed mid-batch lost every outcome of the batch, so
    its messages were sent again after the lease expired (112 duplicates in 2,000). And a
    store outage must not lose them either: while the store does not answer, outcomes are
    kept and recorded when it answers again. The deliveries stay leased to this worker, so
    nobody else takes them over unless the outage outlasts the lease.
    """

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._pending: list[DeliveryOutcome] = []
        self._task: asyncio.Task[None] | None = None
        self.retry_seconds = (0.05, 0.5)  # first and longest wait while the store is away

    @property
    def pending(self) -> int:
        """Outcomes not recorded yet."""
        return len(self._pending)

    def add(self, outcomes: Sequence[DeliveryOutcome]) -> None:
        """Record these soon (they follow every outcome added before them)."""
        if not outcomes:
            return
        self._pending.extend(outcomes)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())

    def abandon(self) -> None:
        """Stop trying to record what is still pending (the worker is stopping)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def drain(self) -> None:
        """Until everything added is recorded; a failure that is not an outage is raised."""
        while self._task is not None:
            task = self._task
            try:
                await asyncio.shield(task)  # cancelling the caller does not lose the outcomes
            finally:
                if self._task is task and task.done():
                    # Outcomes added after a failed call get a call of their own.
                    self._task = asyncio.create_task(self._flush()) if self._pending else None

    async def _flush(self) -> None:
        w = self._worker
        first, longest = self.retry_seconds
        wait = first
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await w.store.record(w.id, batch, w._clock())
                wait = first
            except StoreError as exc:
                if not isinstance(exc, StoreUnavailable) and await _answers(w.store):
                    # The store is there and refused them: not an outage. Their leases
                    # expire and the deliveries are tried again.
                    log.error(
                        "worker %s: %d outcomes not recorded: %s",
                        w.id,
                        len(batch),
                        loggable(type(exc), exc.__traceback__),
                    )
                    raise
                self._pending[:0] = batch
                log.warning(
                    "worker %s: store unreachable; keeping %d outcomes until it answers",
                    w.id,
                    len(self._pending),
                )
                await asyncio.sleep(wait)
                wait = min(longest, wait * 2)


async def _answers(store: Store) -> bool:
    try:
        return await store.ping()
    except Exception:
        return False


class Worker:
    """One worker process's delivery loop (run inside `commhub serve` or `commhub worker`)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        render: RenderFn,
        transports: Mapping[Format, Transport],
        *,
        worker_id: str | None = None,
        on_outcome: OutcomeHook | None = None,
        clock: Callable[[], datetime] = utcnow,
        lanes: int = 2,
        sign: SignFn | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._render = render
        self.transports = transports
        self.id = worker_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self._on_outcome = on_outcome
        self._clock = clock
        self._lanes = max(1, lanes)
        self._sign = sign
        self._rng = random.Random()
        self._held: set[int] = set()  # ids leased and not yet recorded (for release on stop)
        self.recorder = OutcomeRecorder(self)
        # Ids of the batches being worked on now (a Counter: after a lease expired in an
        # outage, two lanes may hold the same id), and the task that renews their leases.
        self._working: Counter[int] = Counter()
        self._renewer: asyncio.Task[None] | None = None
        self._renewing_now = False

    # -- running --------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Process deliveries until `stop` is set; then finish in-flight work or release it."""
        lanes = [
            asyncio.create_task(self._lane(stop), name=f"worker-lane-{i}")
            for i in range(self._lanes)
        ]
        try:
            await asyncio.gather(*lanes)
        finally:
            for lane in lanes:
                lane.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
            # Recorded if the store answers within a lease; after that the outcomes' leases
            # expire anyway, and stopping must not hang on an unreachable store.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.recorder.drain(), timeout=self.settings.workers.lease_seconds
                )
            self.recorder.abandon()
            if self._renewer is not None:  # the lanes' rounds have ended: nothing to renew
                self._renewer.cancel()
                await asyncio.gather(self._renewer, return_exceptions=True)
                self._renewer = None
            if self._held:
                await self.store.release(self.id, sorted(self._held), self._clock())
                self._held.clear()

    async def _lane(self, stop: asyncio.Event) -> None:
        poll = self.settings.workers.poll_seconds
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception as exc:  # the store went away: keep the worker alive, try again
                # Type and frames only: a driver's message can quote a row (member data).
                log.error(
                    "worker %s: round failed; retrying: %s",
                    self.id,
                    loggable(type(exc), exc.__traceback__),
                )
                done = 0
            if done == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll)

    async def run_once(self) -> int:
        """Claim one batch, render it, mark it sending, send it, record the outcomes.

        Returns how many deliveries were claimed. Marking the batch `sending` (one store
        round trip) before the first byte goes out tells staff, after a crash, which
        deliveries may have reached the member; the retry then carries the same Message-ID.
        The batch's leases are renewed while it is worked on (`_renew_leases`).
        """
        working: list[int] = []
        try:
            return await self._round(working)
        finally:
            self._stop_renewing(working)

    async def _round(self, working: list[int]) -> int:
        """`run_once`; the ids it claims go into `working`, renewed until it returns."""
        w = self.settings.workers
        # Outcomes kept through a store outage go first: claiming first could take back
        # their own expired leases and send those messages again.
        await self.recorder.drain()
        batch = await self.store.claim(self.id, w.batch_size, w.lease_seconds, self._clock())
        if not batch:
            return 0
        self._held.update(d.id for d in batch)
        working.extend(d.id for d in batch)
        self._start_renewing(working)
        # DKIM: each message's signature, by delivery id, started as soon as it renders.
        signing: dict[int, asyncio.Future[OutgoingMessage]] = {}
        prepared = await self._prepare_batch(batch, w.concurrency, signing)
        outcomes = [p for p in prepared if isinstance(p, DeliveryOutcome)]
        self.recorder.add(outcomes)
        ready = [
            (d, p)
            for d, p in zip(batch, prepared, strict=True)
            if not isinstance(p, DeliveryOutcome)
        ]
        if ready:
            sending = [self._outcome(d, State.SENDING, None, r) for d, r in ready]
            await self.store.record(self.id, sending, self._clock())
        sent = await self._send_batch(ready, w.concurrency, signing)
        await self.recorder.drain()
        self._held.difference_update(d.id for d in batch)
        if self._on_outcome is not None:
            for outcome in outcomes:
                self._on_outcome(outcome, None)
            for outcome, seconds in sent:
                self._on_outcome(outcome, seconds)
        return len(batch)

    # -- leases ---------------------------------------------------------------------------
    def _start_renewing(self, ids: list[int]) -> None:
        self._working.update(ids)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(self._renew_leases(), name="worker-leases")

    def _stop_renewing(self, ids: list[int]) -> None:
        """These ids are done with (recorded, or left to expire after a failed round); when
        no batch is left, the renewing task stops (if it is not renewing just now: it then
        stops by itself, rather than be cut off in the middle of a store call)."""
        self._working.subtract(ids)
        self._working = +self._working  # drops the ids no batch holds any more
        if not self._working and self._renewer is not None and not self._renewing_now:
            self._renewer.cancel()
            self._renewer = None

    async def _renew_leases(self) -> None:
        """While batches are being worked on, extend their leases every third of a lease,
        all of them in one store call: a batch that takes longer than a lease (a slow SMTP
        server, slow speech) is never taken over, and sent again, by another worker.

        The store extends only what this worker still holds (never another's). A renewal
        that fails (the store is away) is logged and the work goes on, as without renewal:
        the next one, a third of a lease later, may still come in time.
        """
        lease = self.settings.workers.lease_seconds
        interval = lease / 3
        while self._working:
            await asyncio.sleep(interval)
            ids = sorted(self._working)
            if not ids:
                break
            self._renewing_now = True
            try:
                # Bounded: a renewal that comes after the next one is due is of no use.
                await asyncio.wait_for(
                    self.store.renew_leases(self.id, ids, lease, self._clock()), timeout=interval
                )
            except Exception as exc:
                log.warning(  # type only: a driver's message can quote a row
                    "worker %s: lease renewal failed (%s); working on",
                    self.id,
                    type(exc).__name__,
                )
            finally:
                self._renewing_now = False

    async def _prepare_batch(
        self,
        batch: list[ClaimedDelivery],
        concurrency: int,
        signing: dict[int, asyncio.Future[OutgoingMessage]],
    ) -> list[DeliveryOutcome | RenderResult]:
        """Prepare every delivery of the batch, in batch order; with DKIM, start signing
        what is rendered as it goes (futures into `signing`, by delivery id).

        Only audio waits for anything (speech runs in a thread); every other format renders
        without suspending, so a task per delivery would only add event loop work. Those are
        prepared inline, one after the other, giving the event loop a turn every
        YIELD_EVERY messages (a batch renders in ~5 ms: in `serve`, API requests would wait
        that long); audio ones concurrently, `concurrency` at a time. Each group of
        YIELD_EVERY goes to the signing process at once, so it signs while the rest of the
        batch renders, rather than only once the whole batch has.
        """
        prepared: list[DeliveryOutcome | RenderResult | None] = [None] * len(batch)
        waiting: list[int] = []
        rendered: list[tuple[int, RenderResult]] = []  # not yet handed to the signer
        inline = 0
        for i, d in enumerate(batch):
            if d.member is not None and d.member.format is Format.AUDIO:
                waiting.append(i)
                continue
            prepared[i] = p = await self.prepare(d)
            if not isinstance(p, DeliveryOutcome):
                rendered.append((d.id, p))
            inline += 1
            if inline % YIELD_EVERY == 0:
                self._start_signing(rendered, signing)
                rendered = []
                await asyncio.sleep(0)
        if waiting:
            sem = asyncio.Semaphore(concurrency)

            async def one(i: int) -> None:
                async with sem:
                    prepared[i] = await self.prepare(batch[i])

            await asyncio.gather(*(one(i) for i in waiting))
            rendered += [
                (batch[i].id, r)
                for i in waiting
                if (r := prepared[i]) is not None and not isinstance(r, DeliveryOutcome)
            ]
        self._start_signing(rendered, signing)
        return [p for p in prepared if p is not None]

    def _start_signing(
        self,
        rendered: list[tuple[int, RenderResult]],
        signing: dict[int, asyncio.Future[OutgoingMessage]],
    ) -> None:
        """Start signing these (delivery id, rendered) messages, when DKIM is on; their
        futures go into `signing`. The signer works in another process
        (commhub.dkim.process), so they sign on another core while this loop
        renders, records `sending` and sends the messages already signed."""
        if self._sign is None or not rendered:
            return
        try:
            futures = self._sign([r.message for _, r in rendered])
        except Exception as exc:  # a bug must fail its messages, not the batch
            failed: asyncio.Future[OutgoingMessage] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)  # each sender awaits it and fails its own message
            futures = [failed] * len(rendered)
        signing.update(zip((i for i, _ in rendered), futures, strict=True))

    async def _send_batch(
        self,
        ready: list[tuple[ClaimedDelivery, RenderResult]],
        concurrency: int,
        signing: dict[int, asyncio.Future[OutgoingMessage]],
    ) -> list[tuple[DeliveryOutcome, float]]:
        """Send the rendered deliveries, `concurrency` at a time; outcomes in `ready` order.

        A few sender loops take the next message from a shared iterator (one task per
        loop, not per message: the loop's bookkeeping per task costs more than a send's
        own Python work at thousands of messages a second). With DKIM, each message waits
        for its signature (`signing`, by delivery id) just before it is sent.
        """
        sent: list[tuple[DeliveryOutcome, float] | None] = [None] * len(ready)
        items = iter(enumerate(ready))
        clock = _time.perf_counter

        async def sender() -> None:
            for i, (d, r) in items:
                signature = signing.get(d.id)  # none without DKIM
                if signature is not None:
                    try:
                        signed = await signature
                    except TransientError as exc:  # the signing process stopped: later
                        outcome = self._retry_or_fail(d, self._clock(), str(exc), r)
                        self.recorder.add([outcome])
                        sent[i] = (outcome, 0.0)
                        continue
                    except Exception as exc:  # a bug must fail its messages, not the batch
                        log.error(  # type and frames only, like every unexpected error
                            "worker %s: signing delivery %d failed: %s",
                            self.id,
                            d.id,
                            loggable(type(exc), exc.__traceback__),
                        )
                        kind = exc.kind if isinstance(exc, SigningFailed) else type(exc).__name__
                        reason = f"dkim: internal error ({kind})"
                        failed = self._outcome(d, State.FAILED, reason, r)
                        self.recorder.add([failed])
                        sent[i] = (failed, 0.0)
                        continue
                    r = _Signed(signed, r.lang, r.fallback)
                started = clock()
                outcome = await self.send(d, r)
                self.recorder.add([outcome])  # now, not when the batch ends
                sent[i] = (outcome, clock() - started)

        loops = min(concurrency, len(ready))
        if loops == 1:
            await sender()
        elif loops > 1:
            await asyncio.gather(*(sender() for _ in range(loops)))
        return [s for s in sent if s is not None]

    async def run_until_idle(self, max_rounds: int = 100_000) -> int:
        """Process until nothing is due (tests and `commhub worker --until-idle`)."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            if n == 0:
                break
            total += n
        return total

    # -- one delivery ---------------------------------------------------------------------
    async def prepare(self, d: ClaimedDelivery) -> DeliveryOutcome | RenderResult:
        """Decide whether the delivery goes out now and render it; or say why not."""
        now = self._clock()
        member = d.member
        if member is None:
            return DeliveryOutcome(d.id, State.SKIPPED, "member erased")
        if member.is_opted_out(d.template):
            return DeliveryOutcome(d.id, State.SKIPPED, "member opted out")
        if not member.address:
            return DeliveryOutcome(d.id, State.SKIPPED, "no address for the member's format")
        if member.undeliverable and member.address in member.undeliverable:
            # A hard bounce (or soft ones in a row) marked it: until the address changes.
            return DeliveryOutcome(d.id, State.SKIPPED, "address bounced")
        until = quiet_until(member, now, self.settings.quiet_hours) if d.quiet_hours else None
        if until is not None:
            return DeliveryOutcome(
                d.id, State.HELD, "quiet hours in the member's time zone", retry_at=until
            )
        try:
            return await self._render(d.template, member, d.data, d.id, d.campaign_id)
        except PolicyHold as hold:
            return DeliveryOutcome(d.id, State.HELD, hold_reason(hold), retry_at=hold.until)
        except RenderError as exc:
            return DeliveryOutcome(d.id, State.FAILED, f"render: {exc}")
        except SpeechError as exc:  # every speech engine failed: worth another try later
            return self._retry_or_fail(d, now, f"speech: {exc}", None)
        except Exception as exc:  # a bug must fail one delivery, not wedge the batch's leases
            log.error(  # type and frames only: the message may quote the member's data
                "worker %s: rendering delivery %d failed: %s",
                self.id,
                d.id,
                loggable(type(exc), exc.__traceback__),
            )
            return DeliveryOutcome(
                d.id, State.FAILED, f"render: internal error ({type(exc).__name__})"
            )

    async def send(self, d: ClaimedDelivery, result: RenderResult) -> DeliveryOutcome:
        """Hand the rendered message to its transport and say what happened."""
        message = result.message
        transport = self.transports[message.format]
        try:
            await transport.send(message)
        except PermanentError as exc:
            return self._outcome(d, State.FAILED, f"{transport.name}: {exc}", result)
        except TransientError as exc:  # MaybeSentError included
            maybe = isinstance(exc, MaybeSentError)
            reason = f"{transport.name}: {exc}"
            return self._retry_or_fail(d, self._clock(), reason, result, maybe_sent=maybe)
        return self._outcome(d, State.SENT, None, result)

    def _retry_or_fail(
        self,
        d: ClaimedDelivery,
        now: datetime,
        reason: str,
        result: RenderResult | None,
        *,
        maybe_sent: bool = False,
    ) -> DeliveryOutcome:
        """After a transient failure: another try later (backoff with jitter), or the end.

        An ordinary failure is retried until `workers.max_attempts`. One that may have
        delivered the message (`maybe_sent`: it went out in full, no answer came) is marked
        for good and retried once, carefully (same Message-ID, so a receiver can drop the
        copy): a second "maybe" ends it, whatever `max_attempts` says. Ordinary failures in
        between are retried as usual: nothing of those reached the server.
        """
        attempts = d.attempts + 1
        w = self.settings.workers
        if maybe_sent and (d.maybe_sent or attempts >= w.max_attempts):
            ended = f"{MAYBE_SENT}, not tried again: {reason}"
            return self._outcome(d, State.FAILED, ended, result, maybe_sent=True)
        if attempts >= w.max_attempts:
            ended = f"gave up after {attempts} attempts: {reason}"
            return self._outcome(d, State.FAILED, ended, result)
        delay = backoff_seconds(attempts, w.backoff_base_seconds, w.backoff_max_seconds, self._rng)
        return self._outcome(
            d,
            State.RETRY_WAIT,
            f"{MAYBE_SENT}: {reason}" if maybe_sent else reason,
            result,
            retry_at=now + timedelta(seconds=delay),
            maybe_sent=maybe_sent,
        )

    @staticmethod
    def _outcome(
        d: ClaimedDelivery,
        state: State,
        reason: str | None,
        result: RenderResult | None,
        retry_at: datetime | None = None,
        *,
        maybe_sent: bool = False,
    ) -> DeliveryOutcome:
        if result is None:
            return DeliveryOutcome(d.id, state, reason, retry_at=retry_at, maybe_sent=maybe_sent)
        return DeliveryOutcome(
            d.id,
            state,
            reason,
            retry_at=retry_at,
            language=result.lang,
            format=result.message.format,
            language_fallback=result.fallback,
            message_id=result.message.message_id,
            maybe_sent=maybe_sent,
        )
