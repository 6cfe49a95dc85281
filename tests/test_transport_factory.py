"""build_transports: the configured transport per format, one instance per transport name."""

from __future__ import annotations

import mailbox
from dataclasses import replace
from pathlib import Path

import pytest

from commhub.domain import Format, OutgoingMessage
from commhub.errors import ConfigError
from commhub.settings import (
    DeliverySettings,
    OutboxSettings,
    Settings,
    SmtpSettings,
    TransportSettings,
    WebhookSettings,
    load,
)
from commhub.transports.factory import build_transport, build_transports
from commhub.transports.outbox import OutboxTransport
from commhub.transports.smtp import SmtpTransport
from commhub.transports.webhook import WebhookTransport
from tests.smtp_server import SmtpTestServer


def test_defaults_send_everything_to_one_outbox(tmp_path: Path) -> None:
    transports = build_transports(Settings(root=tmp_path))
    assert set(transports) == set(Format)
    only = transports[Format.LARGE_PRINT_EMAIL]
    assert isinstance(only, OutboxTransport)
    assert all(t is only for t in transports.values())
    assert only.folder == tmp_path / "var" / "outbox"


def test_mixed_configuration_shares_instances(tmp_path: Path) -> None:
    settings = Settings(
        root=tmp_path,
        delivery=DeliverySettings(large_print_email="smtp", audio="webhook", relay_text="smtp"),
        transports=TransportSettings(
            smtp=SmtpSettings(host="127.0.0.1", port=2525),
            outbox=OutboxSettings(),
            webhook=WebhookSettings(url="http://127.0.0.1:9/hook", secret="s"),
        ),
    )
    transports = build_transports(settings)
    assert isinstance(transports[Format.LARGE_PRINT_EMAIL], SmtpTransport)
    assert transports[Format.RELAY_TEXT] is transports[Format.LARGE_PRINT_EMAIL]
    assert isinstance(transports[Format.AUDIO], WebhookTransport)


def test_unknown_transport_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="carrier-pigeon"):
        build_transport("carrier-pigeon", Settings(root=tmp_path))


async def test_config_file_wires_smtp_end_to_end(tmp_path: Path) -> None:
    """From config.toml to bytes on a real SMTP server, and the outbox beside it."""
    with SmtpTestServer() as server:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[delivery]\nlarge_print_email = "smtp"\naudio = "outbox"\nrelay_text = "smtp"\n'
            f'[transports.smtp]\nhost = "{server.host}"\nport = {server.port}\npool_size = 2\n'
            '[transports.outbox]\npath = "mail/outbox"\n'
        )
        settings = load(config, env={})
        transports = build_transports(settings)
        started = {id(t): t for t in transports.values()}.values()
        for t in started:
            await t.start()
        message = OutgoingMessage(
            delivery_id=1,
            message_id="<delivery-1@commhub.example.org>",
            sender="outreach@evergreen-health.example",
            recipients=("member@example.net",),
            raw=b"Message-ID: <delivery-1@commhub.example.org>\r\nSubject: hi\r\n\r\nhello\r\n",
            format=Format.LARGE_PRINT_EMAIL,
            language="en",
            subject="hi",
        )
        try:
            await transports[Format.LARGE_PRINT_EMAIL].send(message)
            await transports[Format.AUDIO].send(replace(message, format=Format.AUDIO))
        finally:
            for t in started:
                await t.close()
        assert server.wait_for(1)[0].content == message.raw
    assert len(mailbox.Maildir(tmp_path / "mail" / "outbox", create=False)) == 1
