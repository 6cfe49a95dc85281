"""The domain: members, campaigns, deliveries and the messages they produce.

Plain frozen dataclasses and enums, no I/O. Everything else in commhub speaks these types.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from commhub.errors import Problem
from commhub.fields import FORBIDDEN_CLASS, WS_CLASS, TextField
from commhub.languages import LANGUAGES


class Format(enum.StrEnum):
    LARGE_PRINT_EMAIL = "large_print_email"
    AUDIO = "audio"
    RELAY_TEXT = "relay_text"


class State(enum.StrEnum):
    """A delivery's state; commhub.lifecycle says which are waiting, leased and final."""

    QUEUED = "queued"
    RENDERING = "rendering"
    SENDING = "sending"
    SENT = "sent"
    RETRY_WAIT = "retry_wait"
    FAILED = "failed"
    HELD = "held"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    BOUNCED = "bounced"  # the server accepted it, then a DSN reported it undeliverable


class Role(enum.StrEnum):
    OUTREACH = "outreach"
    QA = "qa"
    ADMIN = "admin"


# The plan's member id is opaque, but it travels in URLs, CSV and logs: keep it printable.
MEMBER_ID_PATTERN = "[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"
MEMBER_ID_RE = re.compile(f"^{MEMBER_ID_PATTERN}$")
MEMBER_ID_REASON = "must be 1-64 letters, digits or . _ : - and start with a letter or digit"
# Ids that name a route under /v1/members/ rather than a member.
RESERVED_MEMBER_IDS = frozenset({"import"})
# The local part allows what mail systems do, less white space, separators and the
# characters no text field may hold; the domain is plain DNS labels.
EMAIL_PATTERN = (
    f'[^@<>(),;:"\\[\\]\\\\{FORBIDDEN_CLASS}{WS_CLASS}]+'
    "@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
PHONE_PATTERN = "\\+?[0-9][0-9 ()./-]{6,24}"
# Most topics one member may list in `opted_out` (repeats included): a bound, not a need.
MAX_OPTED_OUT = 100
_TIMEZONES: frozenset[str] | None = None


def member_id_problem(member_id: Any) -> str | None:
    """Why `member_id` cannot name a member, or None."""
    if not isinstance(member_id, str) or not MEMBER_ID_RE.fullmatch(member_id):
        return MEMBER_ID_REASON
    if member_id in RESERVED_MEMBER_IDS:
        return f"{member_id!r} is reserved (it names a route)"
    return None


def _timezones() -> frozenset[str]:
    global _TIMEZONES
    if _TIMEZONES is None:
        _TIMEZONES = frozenset(available_timezones())
    return _TIMEZONES


# A member record's fields, in the order of JSON objects, CSV columns and `Member.record()`.
MEMBER_FIELDS = (
    "member_id",
    "given_name",
    "family_name",
    "language",
    "format",
    "email",
    "phone",
    "relay_address",
    "timezone",
    "opted_out",
)


@dataclass(frozen=True)
class Member:
    member_id: str
    given_name: str
    family_name: str
    language: str
    format: Format
    email: str | None
    timezone: str
    phone: str | None = None
    relay_address: str | None = None
    # True = opted out of all outreach; a tuple = opted out of these topics only.
    opted_out: bool | tuple[str, ...] = False
    erased: bool = False
    # Addresses reported undeliverable (a hard bounce, or soft ones in a row): deliveries to
    # them are skipped until the member's address changes. Kept by the store, not the API.
    undeliverable: tuple[str, ...] = ()

    def is_opted_out(self, topic: str) -> bool:
        if isinstance(self.opted_out, bool):
            return self.opted_out
        return topic in self.opted_out

    @property
    def address(self) -> str | None:
        """Where this member's format is sent: relay text to the relay address if any."""
        if self.format is Format.RELAY_TEXT:
            return self.relay_address or self.email
        return self.email

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def record(self) -> tuple[Any, ...]:
        """The values of MEMBER_FIELDS, in order, as JSON values (format a string, lists)."""
        opted = self.opted_out if isinstance(self.opted_out, bool) else list(self.opted_out)
        return (
            self.member_id,
            self.given_name,
            self.family_name,
            self.language,
            str(self.format),
            self.email,
            self.phone,
            self.relay_address,
            self.timezone,
            opted,
        )

    @classmethod
    def from_record(cls, values: Sequence[Any]) -> Member:
        """The member whose `record()` gave `values` (already validated: no checks here)."""
        mid, given, family, lang, fmt, email, phone, relay, tz, opted = values
        return cls(
            member_id=mid,
            given_name=given,
            family_name=family,
            language=lang,
            format=Format(fmt),
            email=email,
            phone=phone,
            relay_address=relay,
            timezone=tz,
            opted_out=opted if isinstance(opted, bool) else tuple(opted),
        )

    def to_json(self) -> dict[str, Any]:
        return dict(zip(MEMBER_FIELDS, self.record(), strict=True))


# The text fields of a member record: what validation checks and the API document shows.
MEMBER_TEXT_FIELDS: tuple[TextField, ...] = (
    TextField("given_name", "Given name, as the member writes it", required=True),
    TextField("family_name", "Family name (may be left out)"),
    TextField(
        "language",
        "BCP 47 language the member reads and hears",
        required=True,
        choices=lambda: LANGUAGES,
        choice_label="language",
    ),
    TextField(
        "format",
        "How messages reach the member",
        required=True,
        choices=lambda: [f.value for f in Format],
        choice_label="format",
    ),
    TextField(
        "email",
        "Email address; required unless format is relay_text with a relay_address",
        max_length=254,
        pattern=EMAIL_PATTERN,
        pattern_reason="is not a valid email address",
    ),
    TextField(
        "phone",
        "Phone number (digits, spaces and ( ) . / - ; optional leading +)",
        max_length=32,
        pattern=PHONE_PATTERN,
        pattern_reason="is not a valid phone number",
    ),
    TextField(
        "relay_address",
        "An email-to-relay or SMS gateway address for relay_text",
        max_length=254,
        pattern=EMAIL_PATTERN,
        pattern_reason="must be an email-to-relay or SMS gateway address",
    ),
    TextField(
        "timezone",
        "IANA time zone (quiet hours are in it)",
        max_length=64,
        choices=_timezones,
        choice_label="IANA time zone",
        list_choices=False,
        default="America/Los_Angeles",
    ),
)


def parse_opted_out(raw: Any, topics: Collection[str]) -> tuple[bool | tuple[str, ...], str | None]:
    """`opted_out` as True/False or a sorted tuple of known topics, else (False, reason)."""
    if raw is None:
        return False, None
    if isinstance(raw, bool):
        return raw, None
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        return False, "must be true/false or a list of topic names"
    if len(raw) > MAX_OPTED_OUT:
        return False, f"must list at most {MAX_OPTED_OUT} topics"
    unknown = sorted({t for t in raw if t not in topics}, key=str)
    if unknown:
        shown = ", ".join(repr(t[:64]) for t in unknown[:5])
        known = ", ".join(sorted(topics)) or "none"
        return False, f"unknown topic {shown}; known topics: {known}"
    return tuple(sorted(set(raw))), None


def parse_member(
    member_id: str,
    body: Any,
    *,
    topics: Collection[str],
    line: int | None = None,
    index: int | None = None,
) -> tuple[Member | None, list[Problem]]:
    """Validate one member record from JSON/CSV; return it, or every problem found.

    `topics` are the outreach topics a member may opt out of one by one.
    """
    problems: list[Problem] = []

    def bad(fld: str, reason: str) -> None:
        problems.append(Problem(field=fld, reason=reason, line=line, index=index))

    if not isinstance(body, dict):
        bad("body", "must be a JSON object")
        return None, problems
    for key in body:
        if key not in MEMBER_FIELDS:
            bad(key, "unknown field")
    id_problem = member_id_problem(member_id)
    if id_problem is not None:
        bad("member_id", id_problem)
    if "member_id" in body and body["member_id"] != member_id:
        bad("member_id", "does not match the member id in the URL")
    values: dict[str, str | None] = {}
    for spec in MEMBER_TEXT_FIELDS:
        values[spec.name], reason = spec.parse(body.get(spec.name))
        if reason is not None:
            bad(spec.name, reason)
    opted, reason = parse_opted_out(body.get("opted_out"), topics)
    if reason is not None:
        bad("opted_out", reason)
    email, relay, fmt = values["email"], values["relay_address"], values["format"]
    no_address = email is None and not (fmt == Format.RELAY_TEXT and relay)
    if fmt is not None and no_address and "email" not in {p.field for p in problems}:
        bad("email", "is required for this format (relay_text may use relay_address instead)")
    given, language, tz = values["given_name"], values["language"], values["timezone"]
    if problems or given is None or language is None or fmt is None or tz is None:
        return None, problems
    return Member(
        member_id=member_id,
        given_name=given,
        family_name=values["family_name"] or "",
        language=language,
        format=Format(fmt),
        email=email,
        phone=values["phone"],
        relay_address=relay,
        timezone=tz,
        opted_out=opted,
    ), problems


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    template: str
    status: str  # a commhub.lifecycle.CampaignStatus
    created_at: datetime
    send_at: datetime | None
    total: int
    paused_at: datetime | None = None
    finished_at: datetime | None = None  # when it became done or was cancelled
    content_hash: str | None = None  # the pinned template and catalog content (sha256)
    ignore_quiet_hours: bool = False


@dataclass(frozen=True)
class Recipient:
    """One recipient of a new campaign: a member and the template data for them."""

    member_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery a worker holds a lease on, with everything needed to render it."""

    id: int
    campaign_id: str
    template: str
    attempts: int  # attempts made before this one
    data: dict[str, Any]
    member: Member | None  # None when the member was erased
    quiet_hours: bool = True  # False when its campaign may be sent at any hour
    # An earlier attempt may have delivered the message (the server had all of it and gave
    # no answer): a second such attempt is the last one (commhub.worker decides).
    maybe_sent: bool = False


@dataclass(frozen=True)
class DeliveryOutcome:
    """What happened to one claimed delivery; the store records it in one batch."""

    delivery_id: int
    state: State
    reason: str | None = None
    retry_at: datetime | None = None  # for RETRY_WAIT and timed HELD
    language: str | None = None  # the language actually used (fallback shows here)
    format: Format | None = None
    language_fallback: bool = False
    message_id: str | None = None
    # This attempt may have delivered the message: the store keeps the mark for good
    # (ClaimedDelivery.maybe_sent), whatever happens to the delivery afterwards.
    maybe_sent: bool = False


@dataclass(frozen=True)
class OutgoingMessage:
    """A fully built message, ready for a transport.

    `raw` is the complete RFC 5322 message (CRLF line endings); transports send it as is,
    so a retry sends the very same bytes and Message-ID.
    """

    delivery_id: int
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    format: Format
    language: str
    subject: str
    tty_encodable: bool = True
    audio: bytes | None = None  # the MP3, for transports that carry it separately (webhook)
    text: str = ""  # the plain text body, for webhook providers (SMS, relay)
    meta: dict[str, str] = field(default_factory=dict)
    # True when `raw` is known to end every line with CRLF, the last one included, with no
    # lone CR or LF (the renderer's MIME builder writes only such messages): transports
    # then skip checking it, three byte counts over 30 KB, ~50 us a message.
    crlf_lines: bool = False

    def with_raw(self, raw: bytes) -> OutgoingMessage:
        """This message with other raw bytes (e.g. signed). Copies the fields directly:
        `dataclasses.replace` runs `__init__` again, ~25 us a message at thousands a second."""
        copy = object.__new__(OutgoingMessage)
        copy.__dict__.update(self.__dict__, raw=raw)
        return copy


def message_id_for(delivery_id: int, domain: str, campaign_id: str = "") -> str:
    """The stable Message-ID of a delivery: a retry after a crash sends the same id.

    The campaign id (random, 80 bits) makes it unique beyond one database: delivery ids
    start again at 1 in a new database (a reset SQLite file, a move to PostgreSQL), and a
    mail provider may drop a message whose Message-ID it has seen before. Previews, which
    belong to no campaign, leave it out.
    """
    campaign = f".{campaign_id}" if campaign_id else ""
    return f"<delivery-{delivery_id}{campaign}@{domain}>"


# What `message_id_for` writes for a campaign's delivery, found in a bounce's quoted headers.
_CAMPAIGN_MESSAGE_ID = re.compile(r"<delivery-(\d+)\.(cmp_[0-9a-f]+)@[^>\s]+>")


def find_message_id(text: str) -> tuple[int, str] | None:
    """The (delivery id, campaign id) of the first campaign Message-ID in `text`."""
    found = _CAMPAIGN_MESSAGE_ID.search(text)
    return (int(found.group(1)), found.group(2)) if found else None


TOKEN_ID_PREFIX = "tok_"


def token_id(token_hash: str) -> str:
    """A token's public id: `tok_` and the first 12 hex digits of its SHA-256 digest.

    Safe to show and log (it reveals nothing usable about the token), stable, and derived,
    so tokens created before ids existed have one too.
    """
    return TOKEN_ID_PREFIX + token_hash[:12]


TOKEN_ID_RE = re.compile(r"^tok_[0-9a-f]{12}$")


@dataclass(frozen=True)
class TokenInfo:
    """An API token as staff see it: never the secret."""

    id: str
    role: Role
    label: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """Who did what and when: an actor (token id or "cli"), an action, the object's id and
    the outcome. Never message content or member data (a member id is an object id)."""

    at: datetime
    actor: str
    action: str
    outcome: str
    object_id: str | None = None
    actor_label: str = ""
    id: int = 0
