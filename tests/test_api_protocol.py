"""Requests that are not valid HTTP: a token in a broken `Authorization` header must reach
neither the logs nor the response.

aiohttp's parser refuses a header with a control byte before any middleware runs; by
itself it logs the raw header line (the bearer token) and echoes it in the 400 body.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp import web

from commhub.api import create_app
from commhub.api.protocol import ApiRunner
from commhub.domain import Role
from tests.serve_process import exchange, serve_process
from tests.test_api_harness import ClientFactory, open_api

BAD_BYTES = [b"\x01", b"\x7f", b"\x00"]


def raw_request(port: int, token: str, bad: bytes) -> bytes:
    """Send a GET whose Authorization header holds `bad` after the token; the whole answer."""
    request = (
        b"GET /v1/templates HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + b"Authorization: Bearer "
        + token.encode()
        + bad
        + b"\r\nConnection: close\r\n\r\n"
    )
    return exchange(port, request)


@pytest.mark.parametrize("bad", BAD_BYTES)
async def test_a_control_byte_in_authorization_leaks_no_token_in_process(
    aiohttp_client: ClientFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture, bad: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    async with open_api(aiohttp_client, tmp_path) as api:
        token = api.tokens[Role.ADMIN]
        runner = ApiRunner(create_app(api.deps), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            answer = await asyncio.to_thread(raw_request, port, token, bad)
        finally:
            await runner.cleanup()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", answer
    assert b"application/json" in head
    assert b'"bad_request"' in body
    assert token.encode() not in answer
    assert token not in caplog.text
    assert caplog.records  # the refusal is logged, by kind only


def test_a_control_byte_in_authorization_leaks_no_token_from_commhub_serve(
    tmp_path: Path,
) -> None:
    with serve_process(tmp_path) as hub:
        token = hub.token
        answers = [raw_request(hub.port, token, bad) for bad in BAD_BYTES]
    for answer in answers:
        assert answer.split(b" ")[1] == b"400", answer
        assert token.encode() not in answer
    output = hub.log.read_bytes()
    assert token.encode() not in output
    assert token[:12].encode() not in output  # not even a part of it
