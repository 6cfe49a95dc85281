"""WebhookTransport against a real local aiohttp server: signed JSON, status classification."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from commhub.domain import Format, OutgoingMessage, message_id_for
from commhub.errors import ConfigError, PermanentError, TransientError
from commhub.settings import WebhookSettings
from commhub.transports.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookTransport,
    verify_signature,
)

SECRET = "shared-secret-for-tests"
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


class Receiver:
    """A provider endpoint: records requests, answers scripted statuses (else 202)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.statuses: deque[int] = deque()
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.popleft() if self.statuses else 202
        return web.Response(status=status, text="echo: member@example.net")


@pytest.fixture
async def receiver(aiohttp_server: ServerFactory) -> tuple[Receiver, str]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    server = await aiohttp_server(app)
    return rec, str(server.make_url("/hook"))


def make_message(audio: bytes | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        delivery_id=9,
        message_id=message_id_for(9, "commhub.example.org"),
        sender="outreach@evergreen-health.example",
        recipients=("+1 555 0100@relay.example",),
        raw=b"Subject: x\r\n\r\nignored by the webhook\r\n",
        format=Format.AUDIO if audio else Format.RELAY_TEXT,
        language="vi",
        subject="Thuốc của bạn đã sẵn sàng",
        tty_encodable=False,
        audio=audio,
        text="Thuốc của bạn đã sẵn sàng. Gọi 1-800-555-0100.",
        meta={"campaign_id": "c1", "template": "refill_reminder"},
    )


def transport_for(url: str, timeout: float = 5.0) -> WebhookTransport:
    return WebhookTransport(WebhookSettings(url=url, secret=SECRET, timeout_seconds=timeout))


async def test_posts_signed_json_description(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    transport = transport_for(url)
    await transport.start()
    audio = bytes(range(256)) * 4
    try:
        await transport.send(make_message(audio=audio))
    finally:
        await transport.close()

    headers, body = rec.requests[0]
    assert verify_signature(SECRET, body, headers[SIGNATURE_HEADER])
    assert not verify_signature("another-secret", body, headers[SIGNATURE_HEADER])
    assert not verify_signature(SECRET, body + b" ", headers[SIGNATURE_HEADER])
    assert headers["Content-Type"].startswith("application/json")
    doc: dict[str, Any] = json.loads(body)
    assert doc["delivery_id"] == 9
    assert doc["message_id"] == "<delivery-9@commhub.example.org>"
    assert doc["format"] == "audio"
    assert doc["language"] == "vi"
    assert doc["tty_encodable"] is False
    assert doc["recipients"] == ["+1 555 0100@relay.example"]
    assert doc["subject"] == "Thuốc của bạn đã sẵn sàng"
    assert doc["text"].startswith("Thuốc")
    assert doc["meta"] == {"campaign_id": "c1", "template": "refill_reminder"}
    assert base64.b64decode(doc["audio_base64"]) == audio
    assert str(doc["timestamp"]) == headers[TIMESTAMP_HEADER]
    assert abs(doc["timestamp"] - time.time()) < 60


async def test_text_message_has_no_audio_field(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    transport = transport_for(url)
    try:
        await transport.send(make_message())  # started lazily
    finally:
        await transport.close()
    assert "audio_base64" not in json.loads(rec.requests[0][1])


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (200, None),
        (204, None),
        (429, TransientError),
        (500, TransientError),
        (503, TransientError),
        (408, TransientError),
        (400, PermanentError),
        (404, PermanentError),
        (410, PermanentError),
        (302, PermanentError),
    ],
)
async def test_status_classification(
    receiver: tuple[Receiver, str], status: int, error: type[Exception] | None
) -> None:
    rec, url = receiver
    rec.statuses.append(status)
    transport = transport_for(url)
    try:
        if error is None:
            await transport.send(make_message())
        else:
            with pytest.raises(error) as info:
                await transport.send(make_message())
            assert str(status) in str(info.value)
            assert "member@" not in str(info.value)  # the response body is never quoted
        await transport.send(make_message())  # the session stays usable
    finally:
        await transport.close()
    assert len(rec.requests) == 2


async def test_timeout_is_transient(receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    rec.delay = 2.0
    transport = transport_for(url, timeout=0.3)
    try:
        with pytest.raises(TransientError, match="timeout"):
            await transport.send(make_message())
    finally:
        await transport.close()


async def test_connection_refused_is_transient(unused_tcp_port: int) -> None:
    transport = transport_for(f"http://127.0.0.1:{unused_tcp_port}/hook")
    try:
        with pytest.raises(TransientError):
            await transport.send(make_message())
    finally:
        await transport.close()


def test_missing_url_or_secret_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="url"):
        WebhookTransport(WebhookSettings(url="", secret=SECRET))
    with pytest.raises(ConfigError, match="secret"):
        WebhookTransport(WebhookSettings(url="http://127.0.0.1:1/hook", secret=""))


def test_verify_signature_rejects_missing_header() -> None:
    assert not verify_signature(SECRET, b"{}", None)
    assert not verify_signature(SECRET, b"{}", "")
    assert not verify_signature(SECRET, b"{}", "sha256=00")
