"""Pinned content: the exact template and catalog content a campaign was created with.

A hub reads its content files once at start (`ContentFiles.read`): each topic's `.toml` and
every language's `.po`. Creating a campaign pins the files its messages are rendered from —
its topic and every catalog (the member's language, the fallback tagline and the LA-3
footer languages all come from catalogs) — as a `PinnedContent`:

- `blobs`: each file by the SHA-256 of its bytes; the store keeps each distinct file once,
  however many campaigns pin it (an unchanged `.po` is stored once for all of them);
- `manifest`: which blob is the topic and which is each language's catalog;
- `hash`: the SHA-256 of the manifest — the campaign's content hash. Two campaigns with the
  same hash send the same words.

Workers render a campaign from its pinned content (`commhub.pinning`), so editing a `.po`
or a topic while a campaign sends changes only campaigns created afterwards.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from commhub.content.i18n import Catalogs, po_files
from commhub.content.topics import Topic, topic_from_text
from commhub.errors import ConfigError, StoreError


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class PinnedContent:
    """A campaign's content: its hash, the manifest naming the files, and the files."""

    hash: str
    manifest: dict[str, Any]
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def topic_name(self) -> str:
        return str(self.manifest["topic"]["name"])

    def blob_hashes(self) -> list[str]:
        """Every blob the manifest names (topic first)."""
        return [self.manifest["topic"]["blob"], *self.manifest["catalogs"].values()]

    def load(self) -> tuple[Topic, Catalogs]:
        """The topic and catalogs as pinned (StoreError if a blob is missing or altered)."""
        for digest in self.blob_hashes():
            body = self.blobs.get(digest)
            if body is None or sha256(body) != digest:
                raise StoreError(f"pinned content {self.hash}: file {digest} missing or altered")
        name = self.topic_name
        text = self.blobs[self.manifest["topic"]["blob"]].decode("utf-8")
        topic = topic_from_text(text, Path(f"{name}.toml"))
        catalogs = Catalogs.from_po(
            {tag: self.blobs[digest] for tag, digest in self.manifest["catalogs"].items()}
        )
        return topic, catalogs


def manifest_hash(manifest: dict[str, Any]) -> str:
    """The content hash: SHA-256 of the manifest's canonical JSON."""
    return sha256(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())


@dataclass(frozen=True)
class ContentFiles:
    """The content files a hub loaded at start, as bytes: topics by name, catalogs by tag."""

    topics: dict[str, bytes]
    catalogs: dict[str, bytes]

    @classmethod
    def read(cls, templates_dir: Path) -> ContentFiles:
        topics = {p.stem: p.read_bytes() for p in sorted((templates_dir / "topics").glob("*.toml"))}
        return cls(topics, po_files(templates_dir / "i18n"))

    def load(self, templates_dir: Path) -> tuple[dict[str, Topic], Catalogs]:
        """The topics and catalogs these files hold (what the hub renders and validates with:
        exactly the bytes it pins)."""
        if not self.topics:
            raise ConfigError(f"no topics found in {templates_dir / 'topics'}")
        topics = {
            name: topic_from_text(body.decode("utf-8"), templates_dir / "topics" / f"{name}.toml")
            for name, body in self.topics.items()
        }
        return topics, Catalogs.from_po(self.catalogs)

    def pin(self, topic: str) -> PinnedContent:
        """What a campaign of `topic` created now pins."""
        body = self.topics[topic]
        blobs = {sha256(body): body}
        catalogs: dict[str, str] = {}
        for tag, po in sorted(self.catalogs.items()):
            digest = sha256(po)
            blobs[digest] = po
            catalogs[tag] = digest
        manifest = {"topic": {"name": topic, "blob": sha256(body)}, "catalogs": catalogs}
        return PinnedContent(manifest_hash(manifest), manifest, blobs)
