"""Webhook transport: POST a signed JSON description of each message (SMS, IVR, relay providers).

The body is JSON (UTF-8)::

    {"delivery_id", "message_id", "format", "language", "tty_encodable", "recipients",
     "subject", "text", "audio_base64" (audio messages only), "meta", "timestamp"}

Headers: `X-Commhub-Signature: sha256=<hex HMAC-SHA256 of the body with the shared secret>`
and `X-Commhub-Timestamp: <unix seconds>`. The timestamp is also inside the signed body, so a
receiver can refuse replays of old requests; `verify_signature` checks the signature.

2xx means delivered; 408, 429, 5xx, timeouts and connection errors are transient; any other
answer (other 4xx, redirects) is permanent: the provider refused this request as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp

from commhub.domain import OutgoingMessage
from commhub.errors import ConfigError, PermanentError, TransientError
from commhub.settings import WebhookSettings

SIGNATURE_HEADER = "X-Commhub-Signature"
TIMESTAMP_HEADER = "X-Commhub-Timestamp"
_TRANSIENT_STATUSES = frozenset({408, 425, 429})


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body`: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """For receivers: True if `header` is the signature of `body` under `secret`.

    Compare in constant time; then check the body's "timestamp" against your clock (for example
    within five minutes) to refuse replayed requests.
    """
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def payload(message: OutgoingMessage, timestamp: int) -> bytes:
    """The JSON body describing `message`."""
    doc: dict[str, Any] = {
        "delivery_id": message.delivery_id,
        "message_id": message.message_id,
        "format": str(message.format),
        "language": message.language,
        "tty_encodable": message.tty_encodable,
        "recipients": list(message.recipients),
        "subject": message.subject,
        "text": message.text,
        "meta": message.meta,
        "timestamp": timestamp,
    }
    if message.audio is not None:
        doc["audio_base64"] = base64.b64encode(message.audio).decode("ascii")
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookTransport:
    """POSTs each message to the configured URL over one long-lived aiohttp session."""

    name = "webhook"

    def __init__(self, settings: WebhookSettings) -> None:
        if not settings.url:
            raise ConfigError("transports.webhook.url must be set to use the webhook transport")
        if not settings.secret:
            raise ConfigError(
                "transports.webhook.secret must be set: webhook requests are always signed"
            )
        self.settings = settings
        self._secret = settings.secret
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the HTTP session (connection pool) used for the transport's life."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_seconds),
                headers={"User-Agent": "commhub-webhook/1"},
            )

    async def send(self, message: OutgoingMessage) -> None:
        """POST the message description; raise by the answer's status."""
        if self._session is None:
            await self.start()
        session = self._session
        assert session is not None
        timestamp = int(time.time())
        body = payload(message, timestamp)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(self._secret, body),
            TIMESTAMP_HEADER: str(timestamp),
        }
        try:
            async with session.post(
                self.settings.url, data=body, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                await response.read()  # drain, so the connection goes back to the pool
        except TimeoutError:
            raise TransientError("webhook timeout") from None
        except aiohttp.ClientError as exc:
            raise TransientError(f"webhook request failed: {type(exc).__name__}") from None
        if 200 <= status < 300:
            return
        # The status only: a response body could echo the message back.
        if status >= 500 or status in _TRANSIENT_STATUSES:
            raise TransientError(f"webhook answered {status}")
        raise PermanentError(f"webhook answered {status}")

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
