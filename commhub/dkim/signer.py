"""DKIM signatures (RFC 6376, relaxed/relaxed; rsa-sha256 and ed25519-sha256, RFC 8463).

Written for commhub's own messages rather than through dkimpy's signer, which re-parses and
re-canonicalizes the whole message in Python and signs with its pure-Python RSA (~3 ms a
message). Here, per message: the header block is split once; the body is hashed once, whole,
where it lies (in the signing child's read buffer, uncopied), after a check that it is
already in relaxed form, which the MIME builder's output nearly always is (base64 and
quoted-printable lines, no trailing blanks); the DKIM-Signature field's folds are worked out
once per list of signed fields (`_Layout`); the signature is OpenSSL's (`cryptography`).
What is left is mostly the signature itself: RSA-2048 is ~0.3 ms of CPU, ~80% of the
child's time. The worker runs this in a process of its own (commhub.dkim.process), so
signing takes the other core, not the event loop's. Tests verify the result with dkimpy, an
independent implementation.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from commhub.errors import ConfigError
from commhub.settings import DkimSettings

# The fields signed when present (RFC 6376 5.4.1 and the list), in this order.
SIGNED_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "reply-to",
    "feedback-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
)
_SIGNED = [(name, name.encode("ascii")) for name in SIGNED_HEADERS]
_WSP_RUN = re.compile(rb"[ \t]+")
_WSP_EOL = re.compile(rb"[ \t]+\r\n")
# A message, or the signing child's read buffer holding it among others.
Bytes = bytes | bytearray


def _needs_relaxing(data: Bytes, start: int = 0, end: int | None = None) -> bool:
    """True when `data[start:end]` has a tab, a run of spaces or a space before a line end:
    what relaxed canonicalization changes. Walks the spaces, which are few in a MIME body
    (base64 parts): ~6 us for 30 KB, where three `in` tests for two-byte patterns take
    ~65 us. Searches in place: the child signs bodies inside its read buffer, uncopied."""
    end = len(data) if end is None else end
    if data.find(b"\t", start, end) != -1:
        return True
    i = data.find(b" ", start, end)
    while i != -1:
        if i + 1 < end and data[i + 1] in (0x20, 0x0D, 0x0A):
            return True
        i = data.find(b" ", i + 2, end)
    return False


def relaxed_body(body: bytes) -> bytes:
    """The relaxed canonical body (RFC 6376 3.4.4)."""
    if _needs_relaxing(body):
        body = _WSP_EOL.sub(b"\r\n", _WSP_RUN.sub(b" ", body))
    stripped = body.rstrip(b"\r\n")
    return stripped + b"\r\n" if stripped else b""


def body_hash(body: Bytes, start: int = 0, end: int | None = None) -> bytes:
    """SHA-256 of the relaxed canonical form of `body[start:end]`, without copying a body
    already in that form (what the MIME builder writes: no tabs, no runs of blanks, no
    blank before a line end)."""
    end = len(body) if end is None else end
    if _needs_relaxing(body, start, end):
        return hashlib.sha256(relaxed_body(bytes(body[start:end]))).digest()
    while end > start and body[end - 1] in (0x0D, 0x0A):
        end -= 1
    if end == start:
        return hashlib.sha256(b"").digest()
    with memoryview(body) as view:  # released at once: a bytearray under a view cannot grow
        digest = hashlib.sha256(view[start:end])
    digest.update(b"\r\n")
    return digest.digest()


def relaxed_header(name: bytes, value: bytes) -> bytes:
    """`name:value` in relaxed canonical form (RFC 6376 3.4.2), with the final CRLF."""
    if b"\r\n" in value or b"\t" in value or b"  " in value:  # folded, tabs or runs
        value = _WSP_RUN.sub(b" ", value.replace(b"\r\n", b""))
    value = value.strip(b" \t")
    return name.strip().lower() + b":" + value + b"\r\n"


def latest_fields(head: bytes) -> dict[bytes, bytes]:
    """The header block's fields, by lower-case name, each its last instance (the one a
    signature covers, RFC 6376 5.4.2) with its raw value, folding kept."""
    latest: dict[bytes, bytes] = {}
    name = b""
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):  # a folded field's next line
            if name:
                latest[name] += b"\r\n" + line
        elif line:
            field, _, value = line.partition(b":")
            name = field.strip().lower()
            latest[name] = value
    return latest


@dataclass(frozen=True)
class _Key:
    algorithm: str  # "rsa-sha256" | "ed25519-sha256"
    selector: str
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

    def sign(self, digest: bytes) -> bytes:
        if isinstance(self.key, rsa.RSAPrivateKey):
            return self.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        return self.key.sign(digest)  # RFC 8463: Ed25519 over the SHA-256 of the header data


@dataclass(frozen=True)
class _Layout:
    """One key's DKIM-Signature field for one list of signed fields, with gaps where the
    two tags that change per message go (t= and bh=): folded, and in the relaxed form that
    is hashed. Both are the same every message but for those two values, whose lengths do
    not change (t= has 10 digits until 2286; bh= is always 44 characters), so the folds
    fall in the same places: worked out once, not per message (~20 us a message)."""

    folded: tuple[bytes, bytes, bytes]
    canonical: tuple[bytes, bytes, bytes]

    @classmethod
    def of(cls, key: _Key, domain: str, names: tuple[str, ...], stamp_length: int) -> _Layout:
        stamp, bh = "\x00" * stamp_length, "\x01" * 44  # stand-ins: neither is folded on
        tags = (
            f"v=1; a={key.algorithm}; c=relaxed/relaxed; d={domain};"
            f" s={key.selector}; t={stamp}; h={':'.join(names)}; bh={bh}; b="
        )
        folded = _fold(tags).encode("ascii")
        canonical = relaxed_header(b"DKIM-Signature", b" " + folded)[:-2]
        return cls(_gaps(folded, stamp, bh), _gaps(canonical, stamp, bh))


def _gaps(text: bytes, stamp: str, bh: str) -> tuple[bytes, bytes, bytes]:
    """`text` cut where the stand-ins for t= and bh= are."""
    before, _, rest = text.partition(stamp.encode("ascii"))
    middle, _, after = rest.partition(bh.encode("ascii"))
    return before, middle, after


class DkimSigner:
    """Signs messages for one domain with one or two keys (RSA, and Ed25519 if configured)."""

    def __init__(self, domain: str, keys: list[_Key], *, clock: float | None = None) -> None:
        if not keys:
            raise ValueError("a DKIM signer needs a key")
        self.domain = domain
        self._keys = keys
        self._clock = clock  # a fixed signing time (tests)
        self._layouts: dict[tuple[int, tuple[str, ...], int], _Layout] = {}  # by key index

    @classmethod
    def from_settings(cls, settings: DkimSettings, root: Path) -> DkimSigner | None:
        """The signer `[dkim]` asks for, or None when `dkim.domain` is empty."""
        if not settings.domain:
            return None
        keys = [_load(settings.selector, root / settings.private_key_file, "dkim.private_key_file")]
        if settings.ed25519_private_key_file:
            keys.append(
                _load(
                    settings.ed25519_selector,
                    root / settings.ed25519_private_key_file,
                    "dkim.ed25519_private_key_file",
                )
            )
        return cls(settings.domain, keys)

    def sign(self, raw: bytes) -> bytes:
        """`raw` with DKIM-Signature fields added on top (one per key)."""
        return self.signature_fields(raw) + raw

    def signature_fields(self, raw: Bytes, start: int = 0, end: int | None = None) -> bytes:
        """The DKIM-Signature fields (one per key, each ending CRLF) to put on top of the
        message `raw[start:end]`. The body is hashed where it lies (the signing child passes
        its read buffer and a frame's bounds; only the header block is copied)."""
        end = len(raw) if end is None else end
        split = raw.find(b"\r\n\r\n", start, end)
        head_end, body_start = (end, end) if split == -1 else (split + 2, split + 4)
        latest = latest_fields(bytes(raw[start:head_end]))
        bh = base64.b64encode(body_hash(raw, body_start, end))
        present = [(name, field) for name, field in _SIGNED if field in latest]
        names = tuple(name for name, _ in present)
        canonical = b"".join([relaxed_header(field, latest[field]) for _, field in present])
        stamp = str(int(self._clock if self._clock is not None else time.time())).encode()
        added = []
        for index, key in enumerate(self._keys):
            layout = self._layouts.get((index, names, len(stamp)))
            if layout is None:
                layout = self._layouts[index, names, len(stamp)] = _Layout.of(
                    key, self.domain, names, len(stamp)
                )
            (f0, f1, f2), (c0, c1, c2) = layout.folded, layout.canonical
            digest = hashlib.sha256(canonical + c0 + stamp + c1 + bh + c2).digest()
            signature = base64.b64encode(key.sign(digest))
            folded = f0 + stamp + f1 + bh + f2
            added.append(b"DKIM-Signature: " + _append_signature(folded, signature) + b"\r\n")
        return b"".join(added)

    def dns_records(self) -> dict[str, str]:
        """The TXT records to publish: `{selector}._domainkey.{domain}` -> `v=DKIM1; ...`."""
        records = {}
        for key in self._keys:
            public = key.key.public_key()
            if isinstance(public, rsa.RSAPublicKey):
                der = public.public_bytes(
                    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                kind = "rsa"
            else:
                der = public.public_bytes(
                    serialization.Encoding.Raw, serialization.PublicFormat.Raw
                )
                kind = "ed25519"
            name = f"{key.selector}._domainkey.{self.domain}"
            records[name] = f"v=DKIM1; k={kind}; p={base64.b64encode(der).decode('ascii')}"
        return records


def _fold(tags: str, first: int = 16) -> str:
    """Fold the tags (up to an empty `b=`) at their spaces, and h= after its colons (FWS is
    allowed there, RFC 6376 3.5). The signature covers this folded text as relaxed
    canonicalization sees it, so any fold is safe."""
    tokens: list[tuple[str, str]] = []  # (separator before, text)
    for part in tags.split(" "):
        if part.startswith("h="):
            names = part.split(":")
            tokens.append((" ", names[0]))
            tokens.extend((":", name) for name in names[1:])
        else:
            tokens.append((" ", part))
    lines: list[str] = []
    line = ""
    limit = 76 - first
    for sep, text in tokens:
        if not line:
            line = text
        elif len(line) + len(sep) + len(text) > limit:
            lines.append(line + (":" if sep == ":" else ""))
            line, limit = text, 75
        else:
            line += sep + text
    lines.append(line)
    return "\r\n\t".join(lines)


def _append_signature(folded: bytes, signature: bytes) -> bytes:
    """The folded tags with the base64 signature after their final `b=`, in lines of at
    most 76 characters (whitespace inside b= is ignored, RFC 6376 3.5)."""
    last = len(folded) - folded.rfind(b"\n") - 1 if b"\n" in folded else len(folded) + 16
    room = max(0, 76 - last)
    rest = signature[room:]
    return (
        folded
        + signature[:room]
        + b"".join(b"\r\n\t" + rest[i : i + 74] for i in range(0, len(rest), 74))
    )


def _load(selector: str, path: Path, setting: str) -> _Key:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{setting}: {path} is not an unencrypted PEM private key") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 1024:
            raise ConfigError(f"{setting}: an RSA key needs at least 1024 bits (2048 advised)")
        return _Key("rsa-sha256", selector, key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return _Key("ed25519-sha256", selector, key)
    raise ConfigError(f"{setting}: the key must be RSA or Ed25519")
