"""Hand-built MIME messages: correct RFC 5322/2045/2047 bytes without `email.message`.

Building a message with the stdlib `EmailMessage` costs ~3 ms (RECIPES.md "SMTP"); writing the
bytes directly costs a small fraction of that. What is constant per builder (From, Reply-To,
MIME-Version) is encoded once; subjects are encoded once per distinct subject. Bodies are
encoded with the C codecs in `binascii`: 7bit when ASCII with short lines, quoted-printable
when mostly Latin text, base64 otherwise.

Header values never carry a line break: one raises RenderError (no header injection).
Boundaries derive from the delivery id and start with `=_`, which quoted-printable and base64
bodies can never contain; a 7bit body is checked.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass
from email.utils import formatdate
from functools import lru_cache
from typing import TYPE_CHECKING, NotRequired, Protocol, TypedDict

from commhub.errors import RenderError

if TYPE_CHECKING:
    # typing.Unpack for **kwargs is Python 3.12; annotations are never evaluated at run time.
    from typing_extensions import Unpack

CRLF = b"\r\n"
_SPECIALS = re.compile(r'[()<>@,;:\\".\[\]]')
_NOT_IN_ADDRESS = re.compile("[ <>\t,]")
# 39 bytes of UTF-8 -> 52 base64 chars -> a 64-char encoded word: `Subject: ` + word < 78.
_WORD_BYTES = 39
_MAX_LINE = 998
AUDIO_NAME = "message.mp3"


def header_safe(value: str, name: str) -> str:
    """The value itself, or RenderError if it could break out of its header line."""
    if "\r" in value or "\n" in value or "\x00" in value:
        raise RenderError(f"{name} must not contain line breaks")
    return value


def _encoded_words(value: str) -> list[str]:
    """RFC 2047 base64 words, never splitting a UTF-8 character between two words."""
    words: list[str] = []
    chunk = b""
    for ch in value:
        b = ch.encode("utf-8")
        if len(chunk) + len(b) > _WORD_BYTES:
            words.append(chunk.decode("utf-8"))
            chunk = b""
        chunk += b
    if chunk:
        words.append(chunk.decode("utf-8"))
    return [
        "=?utf-8?b?" + base64.b64encode(w.encode("utf-8")).decode("ascii") + "?=" for w in words
    ]


def _fold_ascii(value: str, first: int) -> str:
    """Fold a long ASCII header value at spaces so lines stay under 78 characters."""
    if first + len(value) <= 76:
        return value
    lines: list[str] = []
    current = ""
    limit = 76 - first
    for word in value.split(" "):
        if current and len(current) + 1 + len(word) > limit:
            lines.append(current)
            current = word
            limit = 76
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return "\r\n ".join(lines)


@lru_cache(maxsize=4096)
def encode_header_text(value: str, name_len: int = 9) -> str:
    """An unstructured header value (Subject): ASCII as is (folded), else RFC 2047 base64."""
    header_safe(value, "header value")
    if value.isascii() and "=?" not in value and all(32 <= ord(c) < 127 for c in value):
        return _fold_ascii(value, name_len)
    return "\r\n ".join(_encoded_words(value))


def format_address(display_name: str, address: str) -> str:
    """`Name <addr>` with the name quoted or RFC 2047-encoded as needed."""
    header_safe(display_name, "display name")
    header_safe(address, "address")
    if not address.isascii() or _NOT_IN_ADDRESS.search(address):
        raise RenderError("the address must be plain ASCII without spaces")
    if not display_name:
        return address
    if not display_name.isascii():
        return " ".join(_encoded_words(display_name)) + f" <{address}>"
    if _SPECIALS.search(display_name):
        quoted = display_name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'
    return f"{display_name} <{address}>"


_date_second: tuple[int, str] = (0, "")


def _date_now() -> str:
    """The RFC 5322 date of this second, with a numeric zone (`+0000`: RFC 5322 3.3 makes
    `GMT` obsolete, and spam filters count it). Formatting costs ~2 us; a second has
    thousands of messages."""
    global _date_second
    second = int(time.time())
    if _date_second[0] != second:
        _date_second = (second, formatdate(second, usegmt=True)[:-3] + "+0000")
    return _date_second[1]


@dataclass(frozen=True)
class Body:
    """One encoded text body: its transfer encoding and the encoded bytes (CRLF lines)."""

    charset: str
    encoding: str
    data: bytes


def encode_text(text: str, boundary: str, *, ascii_charset: str = "utf-8") -> Body:
    """Encode a text body for a MIME part. Line breaks may be `\\n`, CRLF or a lone CR: all
    come out as CRLF, and only so (OutgoingMessage.crlf_lines)."""
    text = lf_lines(text)
    if text.isascii():
        raw = text.encode("ascii")
        if (
            boundary not in text
            and max(map(len, raw.split(b"\n"))) <= _MAX_LINE
            and "\x00" not in text
        ):
            return Body(ascii_charset, "7bit", raw.replace(b"\n", CRLF))
        return Body(ascii_charset, "quoted-printable", encode_quoted_printable(raw))
    raw = text.encode("utf-8")
    # Mostly-Latin text stays readable and small as quoted-printable; other scripts are 2-3
    # bytes a character, which base64 encodes in a third of the size.
    if (len(raw) - len(text)) * 4 < len(text):
        return Body("utf-8", "quoted-printable", encode_quoted_printable(raw))
    # Text in base64 carries its line breaks in canonical form, CRLF (RFC 2046 4.1.1).
    return Body("utf-8", "base64", encode_base64(raw.replace(b"\n", CRLF)))


class Encodable(Protocol):
    """A body that encodes itself (chunked.Filled: constant chunks encoded once)."""

    def encode(self) -> Body: ...


Text = str | Encodable  # a whole body, or a chunked body with one message's slots


def encode_body(text: Text, boundary: str) -> Body:
    """Encode a body given whole (`encode_text`) or one that encodes itself."""
    if isinstance(text, str):
        return encode_text(text, boundary)
    return text.encode()  # quoted-printable or base64: never holds a `=_` boundary


def lf_lines(text: str) -> str:
    """`text` with `\\n` line breaks only (CRLF and a lone CR become `\\n`)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def encode_quoted_printable(raw: bytes) -> bytes:
    """Quoted-printable of text bytes with `\\n` line breaks, in CRLF lines."""
    encoded = binascii.b2a_qp(raw, quotetabs=False, istext=True, header=False)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", CRLF)


# Up to 76 base64 characters: `findall` cuts the lines in one C call (a slice per line in
# Python costs about twice as much on a 6 KB body).
_B64_LINE = re.compile(b".{1,76}", re.DOTALL)


def encode_base64(raw: bytes) -> bytes:
    """Base64 in lines of at most 76 characters, each ending with CRLF (RFC 2045)."""
    if not raw:
        return b""
    if len(raw) <= 57:  # one line (most of a message's slots): no cutting
        return binascii.b2a_base64(raw, newline=False) + CRLF
    return CRLF.join(_B64_LINE.findall(binascii.b2a_base64(raw, newline=False))) + CRLF


def _part(content_type: str, body: Body, extra: str = "") -> bytes:
    head = (
        f'Content-Type: {content_type}; charset="{body.charset}"\r\n'
        f"Content-Transfer-Encoding: {body.encoding}\r\n{extra}\r\n"
    )
    # The CRLF before a boundary delimiter belongs to the delimiter (RFC 2046 5.1.1): always
    # add one, so a body's own final line break survives the round trip.
    return head.encode("ascii") + body.data + CRLF


class Envelope(TypedDict):
    """What every message's header block needs, whatever its body (keyword arguments)."""

    delivery_id: int  # boundaries derive from it
    to: str
    subject: str
    message_id: str
    lang: str  # Content-Language
    date: NotRequired[str | None]  # RFC 5322 date; now when absent
    extra: NotRequired[dict[str, str] | None]  # more header lines, checked for line breaks


class MimeBuilder:
    """Builds the raw bytes of each format's message for one sender."""

    def __init__(self, sender_name: str, sender_address: str, reply_to: str = "") -> None:
        self.sender = sender_address
        head = f"From: {format_address(sender_name, sender_address)}\r\n"
        if reply_to:
            head += f"Reply-To: {format_address('', reply_to)}\r\n"
        # RFC 3834: machine-sent, so auto-responders (vacation replies) stay silent.
        head += "Auto-Submitted: auto-generated\r\n"
        self._constant = head.encode("ascii")

    def _headers(self, content_type: str, envelope: Envelope) -> bytes:
        message_id, lang = envelope["message_id"], envelope["lang"]
        header_safe(message_id, "Message-ID")
        header_safe(lang, "Content-Language")
        head = (
            f"To: {format_address('', envelope['to'])}\r\n"
            f"Subject: {encode_header_text(envelope['subject'])}\r\n"
            f"Date: {envelope.get('date') or _date_now()}\r\n"
            f"Message-ID: {message_id}\r\n"
            "MIME-Version: 1.0\r\n"
            f"Content-Language: {lang}\r\n"
        )
        for name, value in (envelope.get("extra") or {}).items():
            head += f"{name}: {_fold_ascii(header_safe(value, name), len(name) + 2)}\r\n"
        head += f"Content-Type: {content_type}\r\n\r\n"
        if not head.isascii():
            raise RenderError("header values must be ASCII once encoded")
        return self._constant + head.encode("ascii")

    def alternative(self, *, text: Text, html: Text, **envelope: Unpack[Envelope]) -> bytes:
        """multipart/alternative: text/plain first, then text/html (EM-12).

        `text` and `html` are whole strings or chunked bodies (see `encode_body`).
        """
        boundary = f"=_commhub-{envelope['delivery_id']}-alt"
        head = self._headers(f'multipart/alternative; boundary="{boundary}"', envelope)
        return head + self._alternative_body(boundary, text, html)

    @staticmethod
    def _alternative_body(boundary: str, text: Text, html: Text) -> bytes:
        sep = f"--{boundary}\r\n".encode("ascii")
        return b"".join(
            (
                sep,
                _part("text/plain", encode_body(text, boundary)),
                sep,
                _part("text/html", encode_body(html, boundary)),
                f"--{boundary}--\r\n".encode("ascii"),
            )
        )

    def with_audio(
        self,
        *,
        text: Text,
        html: Text,
        mp3: bytes,
        audio_name: str = AUDIO_NAME,
        **envelope: Unpack[Envelope],
    ) -> bytes:
        """multipart/mixed: [multipart/alternative(text, html transcript), audio/mpeg]."""
        header_safe(audio_name, "audio file name")
        if '"' in audio_name or not audio_name.isascii():
            raise RenderError("the audio file name must be ASCII without quotes")
        mixed = f"=_commhub-{envelope['delivery_id']}-mixed"
        alt = f"=_commhub-{envelope['delivery_id']}-alt"
        head = self._headers(f'multipart/mixed; boundary="{mixed}"', envelope)
        sep = f"--{mixed}\r\n".encode("ascii")
        audio_head = (
            f'Content-Type: audio/mpeg; name="{audio_name}"\r\n'
            f'Content-Disposition: attachment; filename="{audio_name}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode("ascii")
        return b"".join(
            (
                head,
                sep,
                f'Content-Type: multipart/alternative; boundary="{alt}"\r\n\r\n'.encode("ascii"),
                self._alternative_body(alt, text, html),
                sep,
                audio_head,
                encode_base64(mp3),
                f"--{mixed}--\r\n".encode("ascii"),
            )
        )

    def plain(self, *, text: str, ascii_only: bool, **envelope: Unpack[Envelope]) -> bytes:
        """A single text/plain message (relay text): us-ascii when TTY-safe, else utf-8."""
        if ascii_only and not text.isascii():
            raise RenderError("TTY-safe relay text must be ASCII")
        body = encode_text(text, f"=_commhub-{envelope['delivery_id']}", ascii_charset="us-ascii")
        extra = {**(envelope.get("extra") or {}), "Content-Transfer-Encoding": body.encoding}
        head = self._headers(f'text/plain; charset="{body.charset}"', {**envelope, "extra": extra})
        return head + body.data

    def plain_pair(self, *, tty_text: str, text: str, **envelope: Unpack[Envelope]) -> bytes:
        """Relay text in two forms (Cyrillic): multipart/alternative of a TTY-safe us-ascii
        text/plain (romanised) first and the UTF-8 text/plain second. Alternatives go from
        least to most faithful (RFC 2046 5.1.4): a mail client shows the UTF-8 text, and an
        ASCII-only relay gateway takes the first part, which a TTY can print."""
        if not tty_text.isascii():
            raise RenderError("TTY-safe relay text must be ASCII")
        boundary = f"=_commhub-{envelope['delivery_id']}-alt"
        head = self._headers(f'multipart/alternative; boundary="{boundary}"', envelope)
        sep = f"--{boundary}\r\n".encode("ascii")
        return b"".join(
            (
                head,
                sep,
                _part("text/plain", encode_text(tty_text, boundary, ascii_charset="us-ascii")),
                sep,
                _part("text/plain", encode_text(text, boundary)),
                f"--{boundary}--\r\n".encode("ascii"),
            )
        )
