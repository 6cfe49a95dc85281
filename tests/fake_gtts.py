"""A local server speaking Google Translate's batchexecute TTS protocol, for gTTS tests.

It parses gTTS's `f.req` form body, records (text, lang) for each request, and answers like
Google: `)]}'`, a blank line, then a `wrb.fr` line carrying a base64 MP3 (a real MP3 made
with LAME, 24 kHz 32 kbps mono like Google's, 60 ms of tone per character of text). The
`mode` switches to the error answers gTTS must survive: HTTP 500, a `null` audio line, or
an answer slower than the client's timeout. `mp3_info` and `id3` read MP3s back with
mutagen, an independent reader, for every speech test.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

import lameenc
from aiohttp import web
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

Mode = Literal["ok", "http500", "null_audio", "slow"]
RPC_PATH = "/_/TranslateWebserverUi/data/batchexecute"
SAMPLE_RATE = 24000
SECONDS_PER_CHAR = 0.06


def tone_mp3(seconds: float) -> bytes:
    """A real MP3 like Google's: mono, 24 kHz, 32 kbps, a quiet 440 Hz tone."""
    n = max(1, int(seconds * SAMPLE_RATE))
    pcm = b"".join(
        struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / SAMPLE_RATE)))
        for i in range(n)
    )
    enc = lameenc.Encoder()
    enc.set_in_sample_rate(SAMPLE_RATE)
    enc.set_out_sample_rate(SAMPLE_RATE)
    enc.set_channels(1)
    enc.set_bit_rate(32)
    enc.set_quality(7)
    return bytes(enc.encode(pcm)) + bytes(enc.flush())


def mp3_info(data: bytes) -> Any:
    """mutagen's stream info of an MP3 (this one's or commhub's); mutagen is untyped."""
    info = MP3(io.BytesIO(data)).info  # type: ignore[no-untyped-call]
    assert info is not None
    return info


def id3(data: bytes) -> Any:
    """mutagen's ID3 frames."""
    return ID3(io.BytesIO(data))  # type: ignore[no-untyped-call]


def rpc_line(payload: object) -> str:
    """One `wrb.fr` answer line; compact separators, or gTTS's regex misses the audio."""
    inner = json.dumps(payload, separators=(",", ":")) if payload is not None else None
    return json.dumps(
        [["wrb.fr", "jQ1olc", inner, None, None, None, "generic"]], separators=(",", ":")
    )


@dataclass
class FakeGTTS:
    """The running server: `url` to point gTTS at, `requests` it received, `mode` to answer."""

    mode: Mode = "ok"
    slow_seconds: float = 3.0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (text, lang)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> FakeGTTS:
        app = web.Application()
        app.router.add_post(RPC_PATH, self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        form = parse_qs(await request.text())
        rpc = json.loads(form["f.req"][0])
        rpc_id, params, _, _ = rpc[0][0]
        assert rpc_id == "jQ1olc"
        text, lang, _speed, _ = json.loads(params)
        self.requests.append((text, lang))
        if self.mode == "http500":
            return web.Response(status=500, text="upstream error")
        if self.mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        if self.mode == "null_audio":
            line = rpc_line(None)
        else:
            audio = base64.b64encode(tone_mp3(len(text) * SECONDS_PER_CHAR)).decode("ascii")
            line = rpc_line([audio])
        body = ")]}'\n\n" + f"{len(line)}\n" + line + '\n25\n[["e",4,null,null,237]]\n'
        return web.Response(text=body, content_type="application/json")
