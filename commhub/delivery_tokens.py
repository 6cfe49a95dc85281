"""Signed tokens naming one delivery: unsubscribe links and VERP bounce addresses.

A token is base32 (lowercase, no padding: safe in a URL path and in an address local part,
which some MTAs lowercase) of a version byte, the delivery id (6 bytes) and an HMAC-SHA256
tag (12 bytes) over the purpose, the delivery id and its campaign id. The delivery id says
which member and topic without revealing the member id; the campaign id, random and never in
the token, binds the tag to this database's delivery, so a token cannot be changed to name
another delivery, nor outlive a reset database whose delivery ids start again at 1.

Reading a token is two steps: `delivery_id` (no secret needed; may be forged), then, with
the campaign id the store has for that delivery, `verify`; `find_delivery` does both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from commhub.store.base import DeliveryRef, Store

_VERSION = 1
_ID_BYTES = 6
_TAG_BYTES = 12
_LENGTH = 1 + _ID_BYTES + _TAG_BYTES
# A token as it stands in a URL or an address (base32: 5 bits a character, 31 of them).
TOKEN_PATTERN = f"[a-z2-7]{{{-(-_LENGTH * 8 // 5)}}}"
TOKEN_RE = re.compile(f"^{TOKEN_PATTERN}$")
# The local part of a VERP envelope sender is this and a BOUNCE token (bounces+<token>@domain).
VERP_PREFIX = "bounces+"


class Purpose(StrEnum):
    """What a token may be used for: one purpose's token is never valid for another."""

    UNSUBSCRIBE = "unsubscribe"
    BOUNCE = "bounce"


class DeliveryTokens:
    """Makes and checks the tokens of one secret."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a token secret is needed")
        self._key = hashlib.sha256(b"commhub delivery tokens\0" + secret.encode()).digest()

    def _tag(self, purpose: Purpose, delivery_id: int, campaign_id: str) -> bytes:
        message = f"{purpose}\0{delivery_id}\0{campaign_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_TAG_BYTES]

    def make(self, purpose: Purpose, delivery_id: int, campaign_id: str) -> str:
        """The token for this delivery of this campaign."""
        if not 0 <= delivery_id < 1 << (8 * _ID_BYTES):
            raise ValueError("delivery id out of range")
        raw = (
            bytes([_VERSION])
            + delivery_id.to_bytes(_ID_BYTES, "big")
            + self._tag(purpose, delivery_id, campaign_id)
        )
        return base64.b32encode(raw).decode("ascii").rstrip("=").lower()

    def verify(self, purpose: Purpose, token: str, campaign_id: str) -> bool:
        """True when `token` was made by `make(purpose, its delivery id, campaign_id)`."""
        raw = _decode(token)
        if raw is None:
            return False
        delivery_id = int.from_bytes(raw[1 : 1 + _ID_BYTES], "big")
        expected = self._tag(purpose, delivery_id, campaign_id)
        return hmac.compare_digest(raw[1 + _ID_BYTES :], expected)


async def find_delivery(
    store: Store, tokens: DeliveryTokens | None, purpose: Purpose, token: str
) -> DeliveryRef | None:
    """The delivery `token` names when it is genuine (made by `tokens` for `purpose` and that
    delivery's campaign); None otherwise, and when there is no secret to check it with."""
    named = delivery_id(token)
    if tokens is None or named is None:
        return None
    ref = await store.delivery_ref(named)
    if ref is None or not tokens.verify(purpose, token, ref.campaign_id):
        return None
    return ref


def delivery_id(token: str) -> int | None:
    """The delivery id a token names (unverified), or None when it is not a token at all."""
    raw = _decode(token)
    return None if raw is None else int.from_bytes(raw[1 : 1 + _ID_BYTES], "big")


def _decode(token: str) -> bytes | None:
    token = token.lower()
    if not TOKEN_RE.match(token):
        return None
    try:
        raw = base64.b32decode(token.upper() + "=", casefold=False)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _LENGTH or raw[0] != _VERSION:
        return None
    # The last character carries 3 bits of padding: only the canonical spelling is a token
    # (else four spellings of each would be accepted).
    if base64.b32encode(raw).decode("ascii").rstrip("=").lower() != token:
        return None
    return raw
