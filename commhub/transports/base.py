"""The transport interface: one method that sends one built message.

A transport raises `TransientError` (retry later) or `PermanentError` (never retry); the worker
reads only the type. Library errors never escape a transport.
"""

from __future__ import annotations

from typing import Protocol

from commhub.domain import OutgoingMessage


class Transport(Protocol):
    name: str

    async def start(self) -> None:
        """Open connections or folders; called once before the first send."""

    async def send(self, message: OutgoingMessage) -> None:
        """Deliver `message` or raise TransientError / PermanentError."""

    async def close(self) -> None:
        """Finish in-flight sends and close connections."""
