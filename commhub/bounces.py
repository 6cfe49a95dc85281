"""Bounces and complaints coming back: DSNs (RFC 3464) and ARF reports (RFC 5965).

Reports arrive by SMTP (`bounces.listen`, an aiosmtpd server run by `serve` and `worker`)
or in a Maildir (`bounces.maildir`) that the MTA delivers to. Each report is matched to its
delivery by the VERP token in the address it was sent to (bounces+<token>@domain, checked
with the HMAC secret), or else by the Message-ID of the original message the report quotes
(`<delivery-<id>.<campaign>@...>`, checked against the store's campaign id).

A failed delivery with a 5.x.x status is a hard bounce, one with 4.x.x a soft bounce (the
MTA gave up retrying); "delayed" notices change nothing. A complaint (ARF `abuse`) opts the
member out of all outreach. Diagnostics are kept with addresses blanked out.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.message
import email.parser
import email.policy
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from commhub.audit import Actor, record_audit
from commhub.delivery_tokens import (
    TOKEN_PATTERN,
    VERP_PREFIX,
    DeliveryTokens,
    Purpose,
    find_delivery,
)
from commhub.domain import find_message_id
from commhub.redact import redact
from commhub.settings import BounceSettings
from commhub.store.base import Bounce, DeliveryRef, Store

log = logging.getLogger(__name__)

# The audit log's actor for an opt-out a mailbox provider's complaint report made.
COMPLAINT = Actor("bounces", "complaint report")
_VERP = re.compile(f"{re.escape(VERP_PREFIX)}({TOKEN_PATTERN})@", re.IGNORECASE)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


@dataclass(frozen=True)
class Report:
    """One recipient's verdict from a DSN, or a complaint."""

    kind: str  # "hard" | "soft" | "complaint"
    status: str = ""
    diagnostic: str = ""
    recipient: str | None = None
    token: str | None = None  # the VERP token, when the report came to a VERP address
    message_ref: tuple[int, str] | None = None  # (delivery id, campaign id) from Message-ID


def _address(value: str | None) -> str | None:
    """`rfc822; user@example.org` -> `user@example.org`."""
    if not value:
        return None
    _, _, address = str(value).rpartition(";")
    address = address.strip().strip("<>")
    return address or None


def _original_ref(message: email.message.Message) -> tuple[int, str] | None:
    """The (delivery id, campaign id) of the quoted original message, if any."""
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload and not isinstance(payload[0], str):
                header = str(payload[0].get("Message-ID", ""))
            else:
                raw = part.get_payload(decode=True)
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
                header = text
            found = find_message_id(header)
            if found:
                return found
    return None


def parse_report(raw: bytes, envelope_to: tuple[str, ...] = ()) -> list[Report]:
    """The verdicts in one report message: one per failed recipient of a DSN, one for a
    complaint, none for anything else (delay notices, auto-replies, spam)."""
    # Anything else is dropped on its headers alone, its body never parsed nor searched.
    if _HEADERS.parsebytes(raw).get_content_type() != "multipart/report":
        return []
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    where = " ".join(
        [*envelope_to, *(str(message.get(h, "")) for h in ("To", "Delivered-To", "X-Original-To"))]
    )
    verp = _VERP.search(where)
    token = verp.group(1).lower() if verp else None
    ref = _original_ref(message)
    report_type = str(message.get_param("report-type", "")).lower()
    reports: list[Report] = []
    for part in message.walk():
        ctype = part.get_content_type()
        if report_type == "feedback-report" and ctype == "message/feedback-report":
            fields = _fields(part)
            if fields.get("feedback-type", "abuse").lower() in ("abuse", "fraud", "virus"):
                reports.append(Report("complaint", token=token, message_ref=ref))
        elif ctype == "message/delivery-status":
            for fields in _recipient_blocks(part):
                report = _verdict(fields, token, ref)
                if report is not None:
                    reports.append(report)
    return reports


def _fields(part: email.message.Message) -> dict[str, str]:
    """The header-like fields of a report part, lowercased names."""
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    out: dict[str, str] = {}
    for block in blocks:
        if isinstance(block, str):
            continue
        for name, value in block.items():
            out.setdefault(name.lower(), str(value))
    if not blocks:
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and not name.startswith((" ", "\t")):
                out.setdefault(name.strip().lower(), value.strip())
    return out


def _recipient_blocks(part: email.message.Message) -> Iterator[dict[str, str]]:
    """The per-recipient field blocks of a message/delivery-status part (RFC 3464 2.3)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        # The stdlib parses the part into blocks: the per-message one first.
        for block in payload[1:]:
            if not isinstance(block, str):
                yield {k.lower(): str(v) for k, v in block.items()}
        return
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    blocks = re.split(r"\r?\n\s*\r?\n", text.strip())
    for block in blocks[1:]:
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, sep, value = line.partition(":")
            if sep and not name.startswith((" ", "\t")):
                fields[name.strip().lower()] = value.strip()
        yield fields


def _verdict(
    fields: dict[str, str], token: str | None, ref: tuple[int, str] | None
) -> Report | None:
    action = fields.get("action", "").strip().lower()
    if action != "failed":
        return None  # delayed, delivered, relayed, expanded: not a bounce
    status_match = _STATUS.search(fields.get("status", ""))
    diagnostic = fields.get("diagnostic-code", "")
    if status_match is None:
        status_match = _STATUS.search(diagnostic)
    status = status_match.group(0) if status_match else "5.0.0"
    kind = "soft" if status.startswith("4") else "hard"
    _, _, diagnostic_text = diagnostic.partition(";")
    recipient = _address(fields.get("final-recipient") or fields.get("original-recipient"))
    # Servers echo the recipient back, sometimes its local part alone: the one scrubber
    # the SMTP errors and the logs use takes both out (and phone numbers, tokens).
    text = " ".join((diagnostic_text or diagnostic).split())
    return Report(
        kind=kind,
        status=status,
        diagnostic=redact(text, [recipient] if recipient else ())[:200],
        recipient=recipient,
        token=token,
        message_ref=ref,
    )


class BounceIntake:
    """Applies reports to the store: finds each one's delivery and records it."""

    def __init__(self, store: Store, tokens: DeliveryTokens | None, settings: BounceSettings):
        self.store = store
        self.tokens = tokens
        self.settings = settings

    async def _delivery(self, report: Report) -> DeliveryRef | None:
        """The delivery a report is about, verified; None when it names none of ours."""
        if report.token is not None:
            ref = await find_delivery(self.store, self.tokens, Purpose.BOUNCE, report.token)
            if ref is not None:
                return ref
        if report.message_ref is not None:
            delivery_id, campaign_id = report.message_ref
            ref = await self.store.delivery_ref(delivery_id)
            if ref is not None and ref.campaign_id == campaign_id:
                return ref
        return None

    async def handle(self, raw: bytes, envelope_to: tuple[str, ...] = ()) -> int:
        """Apply every verdict of one report message; return how many were applied."""
        applied = 0
        now = datetime.now(UTC)
        for report in parse_report(raw, envelope_to):
            ref = await self._delivery(report)
            if ref is None:
                log.info("bounce report names no delivery of this hub; ignored")
                continue
            if report.kind == "complaint":
                skipped = await self.store.opt_out(ref.member_id, None, now)
                await record_audit(self.store, COMPLAINT, "unsubscribe.all", ref.member_id)
                log.info(
                    "complaint for delivery %d: member opted out (%d skipped)", ref.id, skipped
                )
                applied += 1
                continue
            result = await self.store.record_bounce(
                ref.id,
                Bounce(report.kind == "hard", report.status, report.diagnostic, report.recipient),
                now,
                self.settings.soft_limit,
            )
            if result.bounced:
                applied += 1
                log.info(
                    "delivery %d bounced (%s %s)%s",
                    ref.id,
                    report.kind,
                    report.status,
                    "; address undeliverable" if result.undeliverable else "",
                )
        return applied

    async def read_maildir(self, folder: Path) -> int:
        """Apply every report in the Maildir's new/ and cur/ not flagged seen, moving each to
        cur/ with the seen flag once applied; return how many messages were read."""
        count = 0
        for sub in ("new", "cur"):
            directory = folder / sub
            if not directory.is_dir():
                continue
            for path in sorted(directory.iterdir()):
                if not path.is_file() or _seen(path.name):
                    continue
                raw = await asyncio.to_thread(path.read_bytes)
                await self.handle(raw)
                with contextlib.suppress(FileNotFoundError):
                    path.rename(folder / "cur" / _with_seen(path.name))
                count += 1
        return count

    async def watch_maildir(self, folder: Path, stop: asyncio.Event) -> None:
        """Read the Maildir every `poll_seconds` until `stop` is set."""
        (folder / "cur").mkdir(parents=True, exist_ok=True)
        while not stop.is_set():
            try:
                await self.read_maildir(folder)
            except Exception:  # a broken file must not stop the watcher
                log.exception("reading the bounce Maildir failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.poll_seconds)


def _seen(name: str) -> bool:
    """Whether a Maildir file name (`<unique>:2,<flags>`) has the seen flag `S` among its
    flags, which a client may have written with others (`:2,RS`, `:2,ST`)."""
    return "S" in name.partition(":2,")[2]


def _with_seen(name: str) -> str:
    """The file name with the seen flag added to the flags it has (kept in ASCII order, as
    Maildir wants them)."""
    unique, _, flags = name.partition(":2,")
    return f"{unique}:2,{''.join(sorted({*flags, 'S'}))}"


class _SmtpHandler:
    """aiosmtpd handler: accept reports for the bounce domain, apply them."""

    def __init__(self, intake: BounceIntake, loop: asyncio.AbstractEventLoop) -> None:
        self.intake = intake
        self.loop = loop

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content or b"")
        future = asyncio.run_coroutine_threadsafe(
            self.intake.handle(raw, tuple(envelope.rcpt_tos)), self.loop
        )
        try:
            await asyncio.wrap_future(future)
        except Exception:
            log.exception("applying a bounce report failed")
            return "451 4.3.0 could not record the report; try again later"
        return "250 2.0.0 report recorded"


@contextlib.asynccontextmanager
async def bounce_listener(intake: BounceIntake, listen: str) -> Any:
    """Run an aiosmtpd server on `listen` ("host:port") while the context is open.

    aiosmtpd runs in its own thread and loop; reports are applied on the caller's loop,
    where the store lives."""
    from aiosmtpd.controller import Controller

    host, _, port = listen.rpartition(":")
    loop = asyncio.get_running_loop()
    # aiosmtpd logs every command at INFO (addresses included): ids and states only here.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(
        _SmtpHandler(intake, loop),
        hostname=host.strip("[]"),
        port=int(port),
        server_hostname="commhub-bounces",
        ready_timeout=5.0,
    )
    await asyncio.to_thread(controller.start)
    log.info("accepting bounce reports by SMTP on %s", listen)
    try:
        yield controller
    finally:
        await asyncio.to_thread(controller.stop)
