"""Member data and secrets out of text meant for logs and error columns: one scrubber, one
log filter.

Names cannot be recognised in general, so what is removed is what has a shape (email
addresses, phone numbers) plus the values a caller knows belong to the member (the
recipient's address, and its local part, which servers echo alone: "unknown in table for
r5500"). Exceptions are logged by type and frames only (`commhub.errors.loggable`): their
messages may quote a name or an address.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from commhub.errors import loggable

_EMAIL = re.compile(r"<?[^\s<>@\"']+@[^\s<>\"']+>?")
# North American numbers as written: 503-555-0199, (503) 555-0199, +1 503.555.0199,
# 5035550199. A date (2026-12-02) or a duration does not have this shape.
_PHONE = re.compile(r"(?<![\w.-])(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?![\w-])")


# An API token (commhub.tokens: "chub_" + 43 URL-safe characters), e.g. from a header a
# parser logged whole.
_TOKEN = re.compile(r"chub_[A-Za-z0-9_-]{16,}")


def redact(text: str, known: Iterable[str] = ()) -> str:
    """`text` with email addresses, phone numbers, API tokens and the `known` values out.

    A known email address also takes out its local part where it stands alone as a word.
    """
    for value in known:
        if not value:
            continue
        text = re.sub(rf"<?{re.escape(value)}>?", "<address>", text, flags=re.IGNORECASE)
        local = value.rpartition("@")[0]
        if local:
            word = rf"(?<![\w.+-]){re.escape(local)}(?![\w+-]|\.\w)"
            text = re.sub(word, "<address>", text, flags=re.IGNORECASE)
    text = _EMAIL.sub("<address>", text)
    text = _TOKEN.sub("<token>", text)
    return _PHONE.sub("<phone>", text)


class RedactingFilter(logging.Filter):
    """Every log record as it may be kept: message redacted, exceptions without messages.

    Installed on the handlers (`install`), so it sees the records of every logger, commhub's,
    aiohttp's and asyncio's alike, not only the ones logged to one logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info is not None and record.exc_info[0] is not None:
            _, _, tb = record.exc_info
            record.exc_text = loggable(record.exc_info[0], tb)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put one RedactingFilter on every handler of `logger` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
