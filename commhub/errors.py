"""The one exception tree of commhub.

    CommhubError
    ├── ConfigError            invalid configuration; names the key
    ├── ValidationError        bad client input; carries every problem found
    ├── NotFound               unknown member, campaign, template
    ├── Conflict               e.g. an Idempotency-Key reused with another body
    ├── RenderError            a template cannot be rendered (missing/wrong data)
    ├── PolicyHold             the message must not go out now (no ready language, no voice)
    ├── DeliveryError          raised by transports; the worker reads only the type
    │   ├── TransientError     retry later with backoff (SMTP 4xx, connection lost)
    │   └── PermanentError     never retry (SMTP 5xx, rejected address)
    ├── SpeechError            a speech engine failed
    ├── TranslationError       a machine draft could not be made or verified
    └── StoreError             the database failed (driver errors are translated to this)

Backends translate library errors into these at their boundary, so callers never catch
aiosmtplib, sqlite3 or asyncpg exceptions.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any


class CommhubError(Exception):
    """Base of every error commhub raises on purpose."""


class ConfigError(CommhubError):
    """The configuration is invalid: the message names the key."""


@dataclass(frozen=True)
class Problem:
    """One problem in client input: where (`line`/`index`), which field, and why."""

    field: str
    reason: str
    line: int | None = None
    index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "reason": self.reason}
        if self.line is not None:
            out["line"] = self.line
        if self.index is not None:
            out["index"] = self.index
        return out


class ValidationError(CommhubError):
    """Client input is invalid; `problems` lists every problem found, not just the first."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = problems or []


class NotFound(CommhubError):
    """The named thing does not exist."""


class Conflict(CommhubError):
    """The request conflicts with the current state."""


class RenderError(CommhubError):
    """A message cannot be rendered from its template and data."""


@dataclass
class PolicyHold(CommhubError):
    """The message must be held by policy (no ready language, no voice, quiet hours)."""

    reason: str
    until: Any = field(default=None)  # datetime when it may be retried, or None (staff action)
    # Without `until`: what would clear the hold (a setting to change, a voice to add); the
    # worker adds how to release it, so every untimed hold names its way out.
    clears: str = ""

    def __str__(self) -> str:
        return self.reason


class DeliveryError(CommhubError):
    """A transport could not deliver the message."""


class TransientError(DeliveryError):
    """Worth retrying later: the receiver or the connection failed for now."""


class MaybeSentError(TransientError):
    """The message went out in full but no answer came (a timeout or a drop after the
    SMTP DATA's final dot): the receiver may have accepted it. Retried once, carefully."""


class SigningFailed(CommhubError):
    """The DKIM signing process could not sign one message (a bug: that message fails, the
    worker goes on). `kind` is the error's type name, all the child sends back."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class PermanentError(DeliveryError):
    """Never worth retrying: the receiver refused the message for good."""


class SpeechError(CommhubError):
    """A speech engine could not synthesize the text."""


class TranslationError(CommhubError):
    """A machine translation could not be made or verified."""


class StoreError(CommhubError):
    """The database failed."""


class StoreUnavailable(StoreError):
    """The database cannot be reached now (connection refused or lost, shutting down, a
    timeout): the request itself may be fine and worth repeating when it is back."""


def loggable(exc_type: type[BaseException] | None, tb: TracebackType | None) -> str:
    """An unexpected error for the log: its type and frames (file, line, function) only.

    Never the message or source lines: either could quote member data (names, addresses,
    message text), which must not reach the logs.
    """
    frames = "\n".join(f"  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb))
    return f"{exc_type.__name__ if exc_type else '?'}\n{frames}"
