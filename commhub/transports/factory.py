"""Build the transport that carries each format, from settings.

The one place that names the concrete transports. Formats configured with the same transport
share one instance (one SMTP pool, one HTTP session, one Maildir writer).
"""

from __future__ import annotations

from commhub.domain import Format
from commhub.errors import ConfigError
from commhub.settings import Settings
from commhub.transports.base import Transport
from commhub.transports.outbox import OutboxTransport
from commhub.transports.smtp import SmtpTransport
from commhub.transports.webhook import WebhookTransport


def build_transport(name: str, settings: Settings) -> Transport:
    """The transport called `name` ("smtp", "outbox" or "webhook"), not yet started."""
    configured = settings.transports
    if name == "smtp":
        return SmtpTransport(configured.smtp)
    if name == "outbox":
        return OutboxTransport(configured.outbox, settings.root)
    if name == "webhook":
        return WebhookTransport(configured.webhook)
    raise ConfigError(f"unknown transport {name!r}; one of: smtp, outbox, webhook")


def build_transports(settings: Settings) -> dict[Format, Transport]:
    """One transport per format, as `[delivery]` says; one shared instance per transport name."""
    by_name: dict[str, Transport] = {}
    chosen: dict[Format, Transport] = {}
    for fmt in Format:
        name = getattr(settings.delivery, fmt.value)
        if name not in by_name:
            by_name[name] = build_transport(name, settings)
        chosen[fmt] = by_name[name]
    return chosen
