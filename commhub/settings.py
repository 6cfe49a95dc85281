"""Typed settings, read once from config.toml plus COMMHUB_<SECTION>__<KEY> overrides.

Everything else in commhub receives these objects, never raw dicts. An invalid value stops
start-up with a ConfigError naming the key, what is allowed and the value given
(``workers.lease_seconds: expected `float` >= 1.0, not -5``).

To add a setting: add a field to the section's dataclass below, with its default, a type that
says what is allowed and a comment saying why, then document it in config.toml (and README.md
if users need it). The type is the check, converted by msgspec (commhub/typed_config.py):
  - bounds:   ``Annotated[int, Meta(ge=1)]`` or the aliases below (``Port``, ``Seconds`` ...)
  - choices:  ``Literal["full", "short"]``
  - a rule within one section: ``__post_init__`` raising ``ValueError("field: must ...")``
  - a rule across sections: ``_check`` at the end of this file.
A new section is a new dataclass and a field of ``Settings``. The environment override
(COMMHUB_SECTION__KEY) works for every field without further code.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec
from msgspec import Meta

from commhub.errors import ConfigError
from commhub.typed_config import convert, describe, field_names, field_type, strip

ENV_PREFIX = "COMMHUB_"

# Bounds shared by many settings: the type names the rule, msgspec enforces it.
Port = Annotated[int, Meta(ge=1, le=65535)]
AtLeastOne = Annotated[int, Meta(ge=1)]
Count = Annotated[int, Meta(ge=0)]  # sizes and limits where 0 means "none"
Seconds = Annotated[float, Meta(gt=0)]  # a wait or timeout; 0 or less would never wait
SecondsOrZero = Annotated[float, Meta(ge=0)]
Megabytes = Annotated[float, Meta(gt=0)]
NonEmpty = Annotated[str, Meta(min_length=1)]
Transport = Literal["smtp", "outbox", "webhook"]


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: Port = 8080
    max_body_mb: Megabytes = 256.0  # member imports stream (1,000,000 rows ≈ 90 MB)
    max_json_body_mb: Megabytes = 16.0
    base_domain: NonEmpty = "commhub.example.org"  # right-hand side of Message-IDs
    # Several `commhub serve` processes on one machine listen on the same port and the
    # kernel spreads connections over them (SO_REUSEPORT): the API then uses every core.
    # Off by default, so a second hub started by mistake fails with "address in use".
    reuse_port: bool = False
    # A client must send a request's line and headers within this many seconds of connecting
    # (or of the previous response): slow senders ("slowloris") cannot hold connections.
    # Also how long an idle keep-alive connection stays open. Bodies are not limited by it.
    header_timeout_seconds: Seconds = 10.0
    # Base of the links in messages (the unsubscribe page): how members reach this server.
    public_url: Annotated[str, Meta(pattern=r"^https?://")] = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class DatabaseSettings:
    url: Annotated[str, Meta(pattern=r"^(sqlite:///|postgresql://|postgres://)")] = (
        "sqlite:///var/commhub.db"
    )


@dataclass(frozen=True)
class DeliverySettings:
    """Which transport carries each format."""

    large_print_email: Transport = "outbox"
    audio: Transport = "outbox"
    relay_text: Transport = "outbox"


@dataclass(frozen=True)
class WorkerSettings:
    concurrency: AtLeastOne = 16  # messages in flight per worker process
    batch_size: AtLeastOne = 64  # deliveries claimed per round trip to the store
    # How long a dead worker's deliveries wait before another takes them over; a live worker
    # renews the leases of what it works on every third of this, however slow its sends.
    lease_seconds: Annotated[float, Meta(ge=1)] = 60.0
    poll_seconds: Seconds = 0.5
    max_attempts: AtLeastOne = 8
    backoff_base_seconds: SecondsOrZero = 5.0
    backoff_max_seconds: SecondsOrZero = 3600.0

    def __post_init__(self) -> None:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError(
                "backoff_max_seconds: must be at least backoff_base_seconds"
                f" ({self.backoff_base_seconds:g}), not {self.backoff_max_seconds:g}"
            )


@dataclass(frozen=True)
class QuietHoursSettings:
    enabled: bool = True
    start: time = time(21, 0)
    end: time = time(8, 0)


@dataclass(frozen=True)
class PhoneLine:
    label: NonEmpty
    number: str  # as printed: 1-800-555-0100
    days: Literal["mon-fri", "mon-sat", "mon-sun"] = "mon-fri"
    opens: time = time(8, 0)
    closes: time = time(20, 0)
    tty: str = "711"

    def __post_init__(self) -> None:
        from commhub.content.variables import Phone

        try:
            Phone.parse(self.number)
        except ValueError as exc:
            raise ValueError(f"number: {exc}, not {self.number!r}") from None


@dataclass(frozen=True)
class PlanSettings:
    name: str = "Evergreen Community Health Plan"
    from_address: str = "outreach@evergreen-health.example"
    reply_to: str = ""
    # The plan's part of every message's Feedback-ID (campaign:topic:plan), which mailbox
    # providers' complaint reports group by.
    feedback_id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9._-]+$")] = "evergreen"
    website: str = "https://evergreen-health.example"
    phones: dict[str, PhoneLine] = field(
        default_factory=lambda: {
            "member_services": PhoneLine("Member Services", "1-800-555-0100"),
            "pharmacy": PhoneLine("Pharmacy", "1-800-555-0101"),
            "nurse_advice": PhoneLine(
                "Nurse Advice Line", "1-800-555-0102", "mon-sun", time(0, 0), time(23, 59)
            ),
            "behavioral_health": PhoneLine("Behavioral Health", "1-800-555-0103"),
        }
    )

    def __post_init__(self) -> None:
        if "member_services" not in self.phones:
            raise ValueError("phones: member_services is required (it is in every footer)")


# CMS multi-language insert languages (45 CFR 92.11 top languages), as commhub tags.
CMS_INSERT_LANGUAGES = (
    "es",
    "zh-Hans",
    "tl",
    "fr",
    "vi",
    "de",
    "ko",
    "ru",
    "ar",
    "it",
    "pt",
    "ht",
    "pl",
    "hi",
    "ja",
)


@dataclass(frozen=True)
class LanguageSettings:
    policy: Literal["fallback", "block", "machine_with_notice"] = "fallback"
    footer_languages: tuple[str, ...] = CMS_INSERT_LANGUAGES
    # short: one TTY-sized line in the member's language + one in English (TT-7) | full
    relay_footer: Literal["full", "short"] = "short"
    # The lowest review level that may be sent: "reviewed" (checked by the team) or
    # "certified" (approved by a qualified translator, named in the catalog). Below it, the
    # policy above applies.
    require: Literal["reviewed", "certified"] = "reviewed"

    def __post_init__(self) -> None:
        from commhub.languages import LANGUAGES

        for tag in self.footer_languages:
            if tag not in LANGUAGES:
                raise ValueError(f"footer_languages: unknown language {tag!r}")


@dataclass(frozen=True)
class SpeechSettings:
    rate_wpm: Annotated[int, Meta(ge=100, le=250)] = (
        133  # espeak-ng speaks ~10% faster than asked: 133 measures ~150 wpm
    )
    gtts_enabled: bool = False  # sends message text to Google: off unless the plan opts in
    gtts_timeout_seconds: Seconds = 15.0
    gtts_tld: NonEmpty = "com"
    cache_entries: Count = 512  # 0 = no cache
    mp3_bitrate_kbps: Literal[32, 40, 48, 56, 64] = 48
    no_voice_policy: Literal["hold", "fallback"] = "hold"  # fallback: transcript as large print


@dataclass(frozen=True)
class TranslateSettings:
    packages_dir: str = "var/argos-packages"


@dataclass(frozen=True)
class ContentSettings:
    """Where topics, layouts, catalogs and voice files live ("" = the ones shipped)."""

    templates_dir: str = ""
    voices_dir: str = ""


# The folders shipped beside the package (a checkout or an editable install).
SHIPPED_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: Port = 25
    username: str = ""
    password: str = ""
    starttls: bool = False  # upgrade with STARTTLS after connecting
    tls: bool = False  # implicit TLS (port 465)
    validate_certs: bool = True
    pool_size: AtLeastOne = 8
    rate_limit_per_second: SecondsOrZero = 0.0  # 0 = unlimited
    timeout_seconds: Seconds = 30.0
    # How long the answer to a message's final dot may take (never less than timeout_seconds).
    # The server has the whole message then, so giving up sends it a second copy on the retry
    # ("maybe sent"); RFC 5321 4.5.3.2.6 asks for 10 minutes. The lease is renewed meanwhile;
    # a graceful stop waits for sends in flight, up to this long.
    final_reply_timeout_seconds: Seconds = 120.0
    # The EHLO name ("" = this host's fully qualified name): receivers check it against
    # the sending address's reverse DNS.
    helo_name: Annotated[str, Meta(pattern=r"^[A-Za-z0-9.\[\]:-]*$")] = ""

    def __post_init__(self) -> None:
        if self.tls and self.starttls:
            raise ValueError("tls: choose tls or starttls, not both")


@dataclass(frozen=True)
class OutboxSettings:
    path: str = "var/outbox"


@dataclass(frozen=True)
class WebhookSettings:
    url: str = ""
    secret: str = ""
    timeout_seconds: Seconds = 15.0


@dataclass(frozen=True)
class TransportSettings:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)


@dataclass(frozen=True)
class UnsubscribeSettings:
    """One-click unsubscribe (RFC 8058): links signed with `secret`; "" turns them off."""

    # Every serve and worker of one hub needs the same secret; too short a one can be guessed.
    secret: str = ""
    mailto: str = ""  # an address for mailto: unsubscribes, beside the link (optional)

    def __post_init__(self) -> None:
        if self.secret and len(self.secret) < 32:
            raise ValueError("secret: must be at least 32 characters (or empty: off)")


@dataclass(frozen=True)
class BounceSettings:
    """Where DSNs and complaint reports come back (VERP: bounces+<token>@domain)."""

    domain: str = ""  # "" = the envelope sender is the From address (no VERP)
    # "127.0.0.1:2526": accept DSNs and ARF reports by SMTP (serve and worker run it).
    listen: Annotated[str, Meta(pattern=r"^$|^.+:\d{1,5}$")] = ""
    maildir: str = ""  # or read them from a Maildir the MTA delivers to
    poll_seconds: Seconds = 5.0  # how often the Maildir is read
    soft_limit: AtLeastOne = 3  # soft bounces in a row that make an address undeliverable


@dataclass(frozen=True)
class DkimSettings:
    """DKIM signing: rsa-sha256 with `selector`, plus ed25519-sha256 when its key is set."""

    domain: str = ""  # "" = do not sign
    selector: str = ""
    private_key_file: str = ""  # PEM, RSA (2048 bits recommended)
    ed25519_selector: str = ""
    ed25519_private_key_file: str = ""  # PEM; a second signature (RFC 8463)

    def __post_init__(self) -> None:
        if self.domain and not (self.selector and self.private_key_file):
            raise ValueError("domain: is set, so selector and private_key_file are needed")
        if bool(self.ed25519_selector) != bool(self.ed25519_private_key_file):
            raise ValueError("ed25519_selector: goes with ed25519_private_key_file")


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    workers: WorkerSettings = field(default_factory=WorkerSettings)
    quiet_hours: QuietHoursSettings = field(default_factory=QuietHoursSettings)
    plan: PlanSettings = field(default_factory=PlanSettings)
    language: LanguageSettings = field(default_factory=LanguageSettings)
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    translate: TranslateSettings = field(default_factory=TranslateSettings)
    content: ContentSettings = field(default_factory=ContentSettings)
    transports: TransportSettings = field(default_factory=TransportSettings)
    unsubscribe: UnsubscribeSettings = field(default_factory=UnsubscribeSettings)
    bounces: BounceSettings = field(default_factory=BounceSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)
    # Directory the relative paths above are resolved against (the config file's folder).
    root: Path = field(default_factory=Path.cwd)

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    @property
    def templates_dir(self) -> Path:
        d = self.content.templates_dir
        return self.path(d) if d else SHIPPED_ROOT / "templates"

    @property
    def voices_dir(self) -> Path:
        d = self.content.voices_dir
        return self.path(d) if d else SHIPPED_ROOT / "voices"

    @property
    def database_url(self) -> str:
        """The database URL with a relative SQLite path resolved against `root`."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url[len(prefix) :].startswith("/"):
            return prefix + str(self.path(url[len(prefix) :]))
        return url


def load(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read settings from `path` (else $COMMHUB_CONFIG, else ./config.toml if present)."""
    env = dict(os.environ if env is None else env)
    chosen = path or env.get("COMMHUB_CONFIG")
    if chosen is None and Path("config.toml").exists():
        chosen = "config.toml"
    raw: dict[str, Any] = {}
    root = Path.cwd()
    if chosen is not None:
        cfg = Path(chosen)
        try:
            raw = tomllib.loads(cfg.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {cfg} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {cfg} is not valid TOML: {exc}") from None
        root = cfg.resolve().parent
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and "__" in key:
            parts = [p.lower() for p in key[len(ENV_PREFIX) :].split("__")]
            node = raw
            for part in parts[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(
                        f"environment variable {key}: {'.'.join(parts)} is not a table"
                    )
            node[parts[-1]] = _EnvString(value, key)
    settings = convert(_prepare(Settings, raw, ""), Settings)
    settings = dataclasses.replace(settings, root=root)
    _check(settings)
    return settings


class _EnvString(str):
    """A value from the environment: converted to the field's type, unlike TOML values."""

    variable: str

    def __new__(cls, value: str, variable: str) -> _EnvString:
        self = super().__new__(cls, value)
        self.variable = variable
        return self


_CLOCK = re.compile(r"^\d{1,2}:\d{2}$")
_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True}
_BOOL_WORDS.update({"0": False, "false": False, "no": False, "off": False})


def _prepare(tp: Any, value: Any, key: str) -> Any:
    """`value` ready for msgspec: unknown keys refused, environment strings typed, "21:00"
    clock times in the ISO form msgspec reads. The rules themselves are on the types."""
    bare = strip(tp)
    if dataclasses.is_dataclass(bare):
        if not isinstance(value, dict):
            raise ConfigError(f"{key or 'config'} must be a table")
        known = [n for n in field_names(bare) if n != "root"]
        out = {}
        for name, item in value.items():
            if name not in known:
                where = f"{key}.{name}" if key else name
                raise ConfigError(f"unknown setting {where} (known: {', '.join(known)})")
            out[name] = _prepare(field_type(bare, name), item, f"{key}.{name}" if key else name)
        return out
    if get_origin(bare) is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table")
        item_tp = get_args(bare)[1]
        return {name: _prepare(item_tp, item, f"{key}.{name}") for name, item in value.items()}
    if isinstance(value, _EnvString):
        return _from_env(tp, value, key)
    if bare is time and isinstance(value, str) and _CLOCK.match(value.strip()):
        return value.strip().zfill(5) + ":00"
    return value


def _from_env(tp: Any, value: _EnvString, key: str) -> Any:
    """An environment string as the field's type (lists are comma-separated)."""
    bare = strip(tp)
    text = str(value).strip()
    if get_origin(bare) is tuple:
        return [v.strip() for v in text.split(",") if v.strip()]
    if bare is bool and text.lower() in _BOOL_WORDS:
        return _BOOL_WORDS[text.lower()]
    if bare is time and _CLOCK.match(text):
        text = text.zfill(5) + ":00"
    try:
        return msgspec.convert(text, tp, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(
            f"{key}: {describe(exc, str(value), tp)} (from {value.variable})"
        ) from None


def _check(s: Settings) -> None:
    """Rules that span sections (rules within one section are on its dataclass)."""
    for fmt in ("large_print_email", "audio", "relay_text"):
        if getattr(s.delivery, fmt) == "webhook" and not s.transports.webhook.url:
            raise ConfigError(f"delivery.{fmt} is webhook but transports.webhook.url is empty")
