"""Typed settings, read once from config.toml plus COMMHUB_<SECTION>__<KEY> overrides.

Everything else in commhub receives these objects, never raw dicts. An invalid value stops
start-up with a ConfigError naming the key (e.g. ``transports.smtp.port``).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import time
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from commhub.errors import ConfigError

ENV_PREFIX = "COMMHUB_"


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_mb: float = 256.0  # member imports stream (1,000,000 rows ≈ 90 MB)
    max_json_body_mb: float = 16.0
    base_domain: str = "commhub.example.org"  # right-hand side of Message-IDs
    # Several `commhub serve` processes on one machine listen on the same port and the
    # kernel spreads connections over them (SO_REUSEPORT): the API then uses every core.
    # Off by default, so a second hub started by mistake fails with "address in use".
    reuse_port: bool = False


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///var/commhub.db"


@dataclass(frozen=True)
class DeliverySettings:
    """Which transport carries each format."""

    large_print_email: str = "outbox"
    audio: str = "outbox"
    relay_text: str = "outbox"


@dataclass(frozen=True)
class WorkerSettings:
    concurrency: int = 16  # messages in flight per worker process
    batch_size: int = 64  # deliveries claimed per round trip to the store
    lease_seconds: float = 60.0
    poll_seconds: float = 0.5
    max_attempts: int = 8
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 3600.0


@dataclass(frozen=True)
class QuietHoursSettings:
    enabled: bool = True
    start: time = time(21, 0)
    end: time = time(8, 0)


@dataclass(frozen=True)
class PhoneLine:
    label: str
    number: str  # as printed: 1-800-555-0100
    days: str = "mon-fri"  # "mon-fri", "mon-sun", ...
    opens: time = time(8, 0)
    closes: time = time(20, 0)
    tty: str = "711"


@dataclass(frozen=True)
class PlanSettings:
    name: str = "Evergreen Community Health Plan"
    from_address: str = "outreach@evergreen-health.example"
    reply_to: str = ""
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
    policy: str = "fallback"  # fallback | block | machine_with_notice
    footer_languages: tuple[str, ...] = CMS_INSERT_LANGUAGES
    # short: one TTY-sized line in the member's language + one in English (TT-7) | full
    relay_footer: str = "short"


@dataclass(frozen=True)
class SpeechSettings:
    rate_wpm: int = 133  # espeak-ng speaks ~10% faster than asked: 133 measures ~150 wpm
    gtts_enabled: bool = False  # sends message text to Google: off unless the plan opts in
    gtts_timeout_seconds: float = 15.0
    gtts_tld: str = "com"
    cache_entries: int = 512
    mp3_bitrate_kbps: int = 48
    no_voice_policy: str = "hold"  # hold | fallback (send the transcript as large print)


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
    port: int = 25
    username: str = ""
    password: str = ""
    starttls: bool = False  # upgrade with STARTTLS after connecting
    tls: bool = False  # implicit TLS (port 465)
    validate_certs: bool = True
    pool_size: int = 8
    rate_limit_per_second: float = 0.0  # 0 = unlimited
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class OutboxSettings:
    path: str = "var/outbox"


@dataclass(frozen=True)
class WebhookSettings:
    url: str = ""
    secret: str = ""
    timeout_seconds: float = 15.0


@dataclass(frozen=True)
class TransportSettings:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)


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


_POLICIES = {
    "language.policy": ("fallback", "block", "machine_with_notice"),
    "speech.no_voice_policy": ("hold", "fallback"),
}
_TRANSPORTS = ("smtp", "outbox", "webhook")


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
            node[parts[-1]] = _EnvString(value)
    settings = _build(Settings, raw, "")
    settings = _replace_root(settings, root)
    _check(settings)
    return settings


class _EnvString(str):
    """A value from the environment: converted to the field's type, unlike TOML values."""


def _replace_root(settings: Settings, root: Path) -> Settings:
    from dataclasses import replace

    return replace(settings, root=root)


def _build(cls: Any, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a table")
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls) if f.name != "root"}
    for key in raw:
        if key not in names:
            raise ConfigError(f"unknown setting {prefix}{key}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in raw:
            continue
        kwargs[f.name] = _convert(hints[f.name], raw[f.name], prefix + f.name)
    return cls(**kwargs)


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = get_origin(tp)
    from_env = isinstance(value, _EnvString)
    if is_dataclass(tp):
        return _build(tp, value, key + ".")
    if origin is dict:
        _, val_tp = get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table")
        return {k: _convert(val_tp, v, f"{key}.{k}") for k, v in value.items()}
    if origin is tuple:
        if from_env:
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key} must be a list of strings")
        return tuple(value)
    if tp is bool:
        if from_env:
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, not {value!r}")
    if tp is int:
        try:
            if from_env:
                return int(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        except ValueError:
            pass
        raise ConfigError(f"{key} must be an integer, not {value!r}")
    if tp is float:
        try:
            if from_env:
                return float(value)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
        except ValueError:
            pass
        raise ConfigError(f"{key} must be a number, not {value!r}")
    if tp is time:
        if isinstance(value, time):
            return value
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f'{key} must be a time like "21:00", not {value!r}') from None
    if tp is str:
        if isinstance(value, str):
            return str(value)
        raise ConfigError(f"{key} must be a string, not {value!r}")
    raise ConfigError(f"{key}: unsupported setting type {tp}")  # pragma: no cover


def _check(s: Settings) -> None:
    from commhub.content.variables import Phone
    from commhub.languages import LANGUAGES

    if not 0 < s.server.port < 65536:
        raise ConfigError(f"server.port must be between 1 and 65535, not {s.server.port}")
    if not 0 < s.transports.smtp.port < 65536:
        raise ConfigError(
            f"transports.smtp.port must be between 1 and 65535, not {s.transports.smtp.port}"
        )
    if not (
        s.database.url.startswith("sqlite:///")
        or s.database.url.startswith(("postgresql://", "postgres://"))
    ):
        raise ConfigError("database.url must start with sqlite:/// or postgresql://")
    for fmt in ("large_print_email", "audio", "relay_text"):
        name = getattr(s.delivery, fmt)
        if name not in _TRANSPORTS:
            raise ConfigError(
                f"delivery.{fmt} must be one of {', '.join(_TRANSPORTS)}, not {name!r}"
            )
        if name == "webhook" and not s.transports.webhook.url:
            raise ConfigError(f"delivery.{fmt} is webhook but transports.webhook.url is empty")
    for key, allowed in _POLICIES.items():
        section, name = key.split(".")
        value = getattr(getattr(s, section), name)
        if value not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(allowed)}, not {value!r}")
    for tag in s.language.footer_languages:
        if tag not in LANGUAGES:
            raise ConfigError(f"language.footer_languages: unknown language {tag!r}")
    if not 100 <= s.speech.rate_wpm <= 250:
        raise ConfigError(f"speech.rate_wpm must be between 100 and 250, not {s.speech.rate_wpm}")
    if s.speech.mp3_bitrate_kbps not in (32, 40, 48, 56, 64):
        raise ConfigError("speech.mp3_bitrate_kbps must be one of 32, 40, 48, 56, 64")
    if s.workers.concurrency < 1 or s.workers.batch_size < 1 or s.workers.max_attempts < 1:
        raise ConfigError("workers.concurrency, batch_size and max_attempts must be at least 1")
    if s.transports.smtp.pool_size < 1:
        raise ConfigError("transports.smtp.pool_size must be at least 1")
    for key, line in s.plan.phones.items():
        if line.days not in ("mon-fri", "mon-sat", "mon-sun"):
            raise ConfigError(f"plan.phones.{key}.days must be mon-fri, mon-sat or mon-sun")
        try:
            Phone.parse(line.number)
        except ValueError as exc:
            raise ConfigError(f"plan.phones.{key}.number {exc}") from None
    if "member_services" not in s.plan.phones:
        raise ConfigError("plan.phones.member_services is required (it is in every footer)")
    if s.transports.smtp.tls and s.transports.smtp.starttls:
        raise ConfigError("transports.smtp: choose tls or starttls, not both")
