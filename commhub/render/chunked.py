"""Text bodies built from constant chunks encoded once and per-message slots.

A large-print body is mostly constant for a (topic, language): the HTML head's markup and
styles, the contact block and the LA-3 footer (in 16 languages). Only the member's name and
values change. `ChunkedBody` keeps the constant chunks encoded and encodes only the slots
per message; the concatenation is one valid transfer-encoded body:

- quoted-printable works line by line; a chunk that does not end with a line break is
  followed by a soft line break (`=` CRLF), which decoders remove, so every chunk's encoding
  starts a fresh line.
- base64 is one stream of 3-byte groups, and lines may be shorter than 76 characters
  (RFC 2045 6.8 only caps them). Per message, a slot's bytes plus the 0-2 bytes that the
  next constant chunk needs to start on a group boundary are encoded; the rest of each
  constant chunk is encoded once per those 3 offsets (what it leaves over, 0-2 bytes, goes
  with the next slot). Decoded, the stream is the same bytes as the whole body's.

The encoding of each chunked body is chosen once, from its first message: whichever of
quoted-printable and base64 is smaller (non-Latin scripts are ~3x in QP, ~1.33x in base64).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commhub.render.mime import CRLF, Body, encode_base64, encode_quoted_printable, lf_lines

_SOFT = b"=" + CRLF


def _qp_chunk(text: str) -> bytes:
    """Quoted-printable of one chunk, always ending at the start of a new encoded line."""
    if not text:
        return b""
    encoded = encode_quoted_printable(text.encode("utf-8"))
    return encoded if text.endswith("\n") else encoded + _SOFT


def _canonical(text: str) -> bytes:
    """UTF-8 with CRLF line breaks: base64 text carries canonical line breaks (RFC 2046)."""
    raw = text.encode("utf-8")
    return raw.replace(b"\n", CRLF) if b"\n" in raw else raw


class ChunkedBody:
    """One text part: `pieces[0] slot[0] pieces[1] ... slot[n-1] pieces[n]` + `tail`.

    `pieces` and `tail` are constant; `encode(slots)` is called per message. Text uses `\n`
    line breaks (no `\r`).
    """

    def __init__(self, pieces: Sequence[str], tail: str) -> None:
        if not pieces:
            raise ValueError("a chunked body needs at least one piece")
        self.pieces = tuple(lf_lines(p) for p in pieces)
        self.tail = lf_lines(tail)
        self.encoding = ""  # chosen on the first message: "quoted-printable" or "base64"
        self._format = "%s".join(p.replace("%", "%%") for p in self.pieces)
        self._qp_pieces = tuple(_qp_chunk(p) for p in self.pieces)
        self._qp_tail = _qp_chunk(self.tail)
        # base64: the constant chunks as canonical bytes (the last piece and the tail are
        # one chunk); their encodings are built on first use (`_groups`).
        self._raw = [_canonical(p) for p in self.pieces[:-1]]
        self._raw.append(_canonical(self.pieces[-1]) + _canonical(self.tail))
        self._b64: list[tuple[_Groups, _Groups, _Groups]] | None = None

    def _check(self, slots: Sequence[str]) -> None:
        if len(slots) != len(self.pieces) - 1:
            raise ValueError(f"expected {len(self.pieces) - 1} slots, got {len(slots)}")

    def head(self, slots: Sequence[str]) -> str:
        """The body before the tail, as text: the pieces and slots in one `%` (C) call."""
        self._check(slots)
        return lf_lines(self._format % tuple(slots))

    def encode(self, slots: Sequence[str]) -> Body:
        """The encoded body with these slot values (one per gap between pieces)."""
        self._check(slots)
        if not self.encoding:
            qp, b64 = self._quoted_printable(slots), self._base64(slots)
            self.encoding = "quoted-printable" if len(qp) <= len(b64) else "base64"
            if self.encoding != "base64":
                self._b64 = None  # never needed again
            return Body("utf-8", self.encoding, qp if len(qp) <= len(b64) else b64)
        if self.encoding == "base64":
            return Body("utf-8", "base64", self._base64(slots))
        return Body("utf-8", "quoted-printable", self._quoted_printable(slots))

    def _quoted_printable(self, slots: Sequence[str]) -> bytes:
        out: list[bytes] = [self._qp_pieces[0]]
        for slot, piece in zip(slots, self._qp_pieces[1:], strict=True):
            out.append(_qp_chunk(lf_lines(slot)))
            out.append(piece)
        out.append(self._qp_tail)
        return b"".join(out)

    def _base64(self, slots: Sequence[str]) -> bytes:
        if "\r" in "".join(slots):
            # A CR ending one slot and the LF starting the next chunk make one line break
            # in the whole text: encode the text as a whole (rare: values have no CRs).
            return encode_base64(_canonical(self.head(slots) + self.tail))
        if self._b64 is None:
            self._b64 = [_groups(raw) for raw in self._raw]
        # The first chunk starts the stream, at a group boundary (offset 0).
        _, out_first, pending = self._b64[0][0]
        out = [out_first]
        # `pending`: bytes not yet encoded (a chunk's 0-2 left over, then a slot).
        for slot, groups in zip(slots, self._b64[1:], strict=True):
            pending += _canonical(slot)
            lead, encoded, left = groups[-len(pending) % 3]
            pending += lead
            if len(pending) % 3:  # the chunk was too short to complete the group: carry on
                continue
            out.append(encode_base64(pending))
            out.append(encoded)
            pending = left
        out.append(encode_base64(pending))
        return b"".join(out)


# One constant chunk's base64 at one offset (the 0-2 bytes the slot before it leaves short
# of a whole group): its first `offset` bytes (they complete that group, or are all of a
# chunk too short to), its following whole groups encoded, and the 0-2 bytes left over.
_Groups = tuple[bytes, bytes, bytes]


def _groups(raw: bytes) -> tuple[_Groups, _Groups, _Groups]:
    """`raw`'s _Groups at offsets 0, 1 and 2."""

    def at(offset: int) -> _Groups:
        whole = offset + max(len(raw) - offset, 0) // 3 * 3
        return raw[:offset], encode_base64(raw[offset:whole]), raw[whole:]

    return at(0), at(1), at(2)


@dataclass(frozen=True)
class Filled:
    """A chunked body with one message's slot values (what MimeBuilder encodes)."""

    body: ChunkedBody
    slots: tuple[str, ...]

    def encode(self) -> Body:
        return self.body.encode(self.slots)

    def text(self) -> str:
        """The whole decoded body, tail included (joined here: encoding does not need it)."""
        return self.body.head(self.slots) + self.body.tail
