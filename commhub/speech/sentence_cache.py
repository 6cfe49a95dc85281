"""The audio of sentences heard by many members, kept so they are synthesized once.

Most sentences of a campaign's message are the same for every member ("This is a reminder
from …", the call line, goodbye); only a few carry the member's own name, date or place.
A plain LRU would let those one-off sentences push out the shared ones, so this is a
segmented LRU: a sentence enters a small probation segment and moves to the protected
segment the second time it is asked for. One-off sentences churn through probation; the
shared ones stay. Both segments are bounded in entries and, together, in bytes.

Keys are (engine, voice, language, spoken text); the rate is fixed per voice in a service.
The cache lives in memory only and is never logged (member names are in some keys).
"""

from __future__ import annotations

from collections import OrderedDict

from commhub.speech.engine import Pcm

SentenceKey = tuple[str, str, str, str]  # engine, voice, language, spoken text


class SentenceCache:
    """A segmented LRU of sentence audio (see the module docstring)."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max(0, max_entries)
        self.max_bytes = max_bytes
        # A quarter for newcomers: enough to catch a campaign's shared sentences on their
        # second use even when every message also brings two or three one-off sentences.
        self._probation_max = max(1, self.max_entries // 4)
        self._probation: OrderedDict[SentenceKey, Pcm] = OrderedDict()
        self._protected: OrderedDict[SentenceKey, Pcm] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._probation) + len(self._protected)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def protected(self, key: SentenceKey) -> bool:
        """Whether `key` has been asked for more than once and is kept as shared."""
        return key in self._protected

    def get(self, key: SentenceKey) -> Pcm | None:
        """The cached audio, promoting a sentence heard before into the protected segment."""
        pcm = self._protected.get(key)
        if pcm is not None:
            self._protected.move_to_end(key)
            return pcm
        pcm = self._probation.pop(key, None)
        if pcm is not None:
            self._protected[key] = pcm
            self._evict()
        return pcm

    def put(self, key: SentenceKey, pcm: Pcm) -> None:
        """Keep newly synthesized audio (on probation until it is asked for again)."""
        size = len(pcm.samples)
        if self.max_entries <= 0 or size > self.max_bytes:
            return
        if key in self._protected or key in self._probation:
            return
        self._probation[key] = pcm
        self._bytes += size
        self._evict()

    def _evict(self) -> None:
        while len(self._probation) > self._probation_max:
            self._drop(self._probation)
        protected_max = max(0, self.max_entries - self._probation_max)
        while len(self._protected) > protected_max:
            self._drop(self._protected)
        while self._bytes > self.max_bytes and (self._probation or self._protected):
            self._drop(self._probation or self._protected)

    def _drop(self, segment: OrderedDict[SentenceKey, Pcm]) -> None:
        _, old = segment.popitem(last=False)
        self._bytes -= len(old.samples)
