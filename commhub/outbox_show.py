"""`commhub outbox show [FILE]`: a message in the outbox, decoded for a terminal.

The outbox holds complete RFC 5322 messages (`.eml`), whose bodies are base64 or
quoted-printable: `cat` shows encoded text. This prints the headers staff check (From, To,
Subject, Date, Message-ID, language), the plain-text body decoded, and the other parts
(HTML, MP3) by type and size. Without FILE, the newest message in the outbox.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from commhub.errors import NotFound

HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "Content-Language")


def newest(folder: Path) -> Path:
    """The most recently written message in the Maildir `folder` (new/ or cur/)."""
    files = [p for sub in ("new", "cur") for p in (folder / sub).glob("*") if p.is_file()]
    files = [p for p in files if not p.name.startswith(".")]
    if not files:
        raise NotFound(f"the outbox {folder} holds no messages yet")
    return max(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def show(raw: bytes) -> str:
    """A message decoded: headers, the text/plain body, then a line per other part."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    lines = [f"{name}: {msg[name]}" for name in HEADERS if msg[name] is not None]
    body = msg.get_body(preferencelist=("plain",))
    lines.append("")
    if body is not None:
        text = body.get_content()
        lines.append(text.replace("\r\n", "\n").rstrip("\n"))
    others = [part for part in msg.walk() if not part.is_multipart() and part is not body]
    if others:
        lines.append("")
        for part in others:
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            name = part.get_filename()
            label = f" {name}" if name else ""
            lines.append(f"[{part.get_content_type()}{label}, {size:,} bytes]")
    return "\n".join(lines)


def show_file(path: Path) -> str:
    """`show` for a file (NotFound naming it when it is missing)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"no file {path}") from None
    return f"{path}\n" + show(raw)
