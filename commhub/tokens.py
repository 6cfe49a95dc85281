"""API tokens: random, shown once, stored only as their SHA-256 digest.

A token is `chub_` plus 32 random bytes in URL-safe base64; the prefix lets secret scanners
recognise a leaked token. The store never sees the token itself, only `hash_token(token)`.
"""

from __future__ import annotations

import hashlib
import secrets

from commhub.domain import Role
from commhub.store.base import Store

TOKEN_PREFIX = "chub_"


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token (not stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_token(store: Store, role: Role | str, label: str = "") -> str:
    """Create a token with `role`, store its hash, and return the token (shown once)."""
    token = new_token()
    await store.add_token(hash_token(token), Role(role), label)
    return token
