"""The SMTP transport's DATA payload is byte for byte what aiosmtplib would send."""

from __future__ import annotations

import random

import aiosmtplib.email
import aiosmtplib.protocol
import pytest

from commhub.transports.smtp import parse_address, wire_payload


def reference(raw: bytes) -> tuple[int, bytes]:
    """aiosmtplib's own steps: normalize (its length is the SIZE), then dot-stuff."""
    normalized = aiosmtplib.protocol.normalize_message_line_endings(raw)
    return len(normalized), aiosmtplib.protocol.PERIOD_REGEX.sub(b"..", normalized)


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: x\r\n\r\nbody\r\n",
        b"Subject: x\r\n\r\nno final line ending",
        b".starts with a dot\r\n..two dots\r\nmiddle . dot\r\n.\r\n",
        b"lone LF\nlone CR\rmixed\r\n.after LF\n.after CR\r.end",
        b"LF before CR\n\rx\r\n",
        b"",
        b".",
        b"\r\n.\r\n",
    ],
)
def test_payload_matches_aiosmtplib(raw: bytes) -> None:
    assert wire_payload(raw) == reference(raw)


def test_random_messages_match_aiosmtplib() -> None:
    rng = random.Random(5)
    alphabet = b"ab.\r\n \xc3\xa9"
    for _ in range(2000):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert wire_payload(raw) == reference(raw), raw


def test_crlf_message_without_leading_dots_is_not_copied() -> None:
    raw = b"Subject: x\r\n\r\n" + b"QUJD\r\n" * 1000
    size, payload = wire_payload(raw)
    assert size == len(raw)
    assert payload is raw


def test_many_dots_before_a_line_starting_with_one() -> None:
    raw = b"Subject: x\r\n\r\n" + b"a. b. c. d.\r\n" * 20 + b".hidden\r\n"
    assert wire_payload(raw) == reference(raw)
    assert wire_payload(raw)[1].endswith(b"\r\n..hidden\r\n")


def test_address_parse_matches_aiosmtplib() -> None:
    rng = random.Random(7)
    plain, odd = "ab.-_+%@9", 'ab.-_+%@9 <>"()é,:'
    samples = ["member.1+x@example-mail.org", "Name <a@b.org>", "a..b@c.org", ".a@b", "a@b."]
    for alphabet in (plain, odd):
        samples += [
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 14))) for _ in range(20000)
        ]
    for address in samples:
        try:
            expected: str | type[ValueError] = aiosmtplib.email.parse_address(address)
        except ValueError:
            expected = ValueError
        try:
            got: str | type[ValueError] = parse_address(address)
        except ValueError:
            got = ValueError
        assert got == expected, address


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: x\r\n\r\nbody\r\n",
        b".starts with a dot\r\n..two dots\r\nmiddle . dot\r\n.\r\n",
        b"\r\n.\r\n",
    ],
)
def test_a_message_known_to_be_crlf_only_goes_out_the_same(raw: bytes) -> None:
    assert wire_payload(raw, crlf_lines=True) == reference(raw)
