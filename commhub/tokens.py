"""API tokens: random, shown once, stored only as their SHA-256 digest.

A token is `chub_` plus 32 random bytes in URL-safe base64; the prefix lets secret scanners
recognise a leaked token. The store never sees the token itself, only `hash_token(token)`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from commhub.domain import Role, TokenInfo
from commhub.errors import ValidationError
from commhub.store.base import Store

TOKEN_PREFIX = "chub_"


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token (not stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


_DURATION = re.compile(r"^([1-9][0-9]{0,4})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expires(text: str) -> timedelta:
    """A lifetime like `90d`, `12h`, `30m` or `2w` (ValidationError naming the option)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValidationError(
            f"--expires {text!r}: give a number and a unit, like 90d, 12h, 30m or 2w"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


async def issue_token(
    store: Store, role: Role | str, label: str = "", expires_in: timedelta | None = None
) -> tuple[str, TokenInfo]:
    """Create a token with `role` (expiring after `expires_in`, if given), store its hash;
    return the token (shown once) and what is stored about it."""
    token = new_token()
    expires_at = None if expires_in is None else datetime.now(UTC) + expires_in
    info = await store.add_token(hash_token(token), Role(role), label, expires_at)
    return token, info


async def create_token(store: Store, role: Role | str, label: str = "") -> str:
    """Create a token with `role`, store its hash, and return the token (shown once)."""
    token, _ = await issue_token(store, role, label)
    return token
