"""Bodies built from constant chunks encoded once: valid MIME, the exact text, the smaller
encoding; the slotted HTML head is byte for byte the layout's own rendering."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from commhub.content.variables import Money
from commhub.render import Renderer
from commhub.render.chunked import ChunkedBody, Filled
from commhub.render.mime import MimeBuilder
from commhub.render.values import locale_for, write_value, write_values
from tests.test_render_support import (
    FAKE_LANGS,
    TOPICS,
    fake_renderer,
    member,
    parse_email,
    real_renderer,
)

PIECES = (
    '<p style="font-size:26.67px;">',
    "</p>\n<p>= trailing space \n",
    "</p>\n",
)
SLOTS = [
    ("Ana", "x"),
    ("", ""),
    ("ends with a space ", "=3D not an escape"),
    ("x" * 200, "Привет, 世界, مرحبا " * 8),
    ("a\r\nb\rc", "tab\tend\t"),
]
LATIN_TAIL = "----\nLínea en español para usted, por favor.\n" * 20
CJK_TAIL = "----\n当社の健康保険と処方薬プランに関するご質問にお答えします。\n" * 20


def message(body: Filled) -> str:
    raw = MimeBuilder("Plan", "plan@example.org").alternative(
        text=body,
        html=body,
        delivery_id=1,
        to="a@example.org",
        subject="s",
        message_id="<m@x>",
        lang="en",
    )
    for line in raw.split(b"\r\n"):
        assert len(line) <= 78
    assert b"\r" not in raw.replace(b"\r\n", b"")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    plain, _ = parse_email(raw).iter_parts()
    return str(plain.get_content()).replace("\r\n", "\n")


@pytest.mark.parametrize("encoding", ["quoted-printable", "base64"])
@pytest.mark.parametrize("tail", [LATIN_TAIL, CJK_TAIL, ""])
def test_chunked_bodies_decode_to_exactly_the_text(encoding: str, tail: str) -> None:
    body = ChunkedBody(PIECES, tail)
    body.encoding = encoding
    offsets = set()
    for slots in SLOTS:
        filled = Filled(body, slots)
        assert filled.encode().encoding == encoding
        expected = filled.text()
        assert "\r" not in expected
        assert message(filled) == expected
        offsets.add(len(body.head(slots).replace("\n", "\r\n").encode()) % 3)
    if encoding == "base64":
        assert offsets == {0, 1, 2}  # every way the head can end inside a 3-byte group


def test_constant_chunks_too_short_to_end_a_base64_group_decode_exactly() -> None:
    # Empty and 1-2 byte pieces between slots: a chunk that cannot complete the group the
    # slot before it left open is carried on with the next slot.
    body = ChunkedBody(("", "", "x", "é", "</b>\n"), "tail\n")
    body.encoding = "base64"
    ends = set()
    for n in range(7):
        for slots in (("a" * n, "b", "c" * (n % 3), "d"), ("", "é" * n, "", "")):
            filled = Filled(body, slots)
            assert message(filled) == filled.text()
            ends.add(len(body.head(slots).encode()) % 3)
    assert ends == {0, 1, 2}


def test_the_smaller_encoding_is_chosen_once() -> None:
    latin = ChunkedBody(PIECES, LATIN_TAIL)
    assert Filled(latin, SLOTS[0]).encode().encoding == "quoted-printable"
    cjk = ChunkedBody(PIECES, CJK_TAIL)
    first = Filled(cjk, SLOTS[0]).encode()
    assert first.encoding == "base64"
    as_qp = ChunkedBody(PIECES, CJK_TAIL)
    as_qp.encoding = "quoted-printable"
    assert len(first.data) < 0.6 * len(Filled(as_qp, SLOTS[0]).encode().data)
    # Later messages keep the body's encoding even when they alone would pick the other.
    assert Filled(latin, SLOTS[3]).encode().encoding == "quoted-printable"


CASES = [(real_renderer(), t, "en") for t in TOPICS] + [
    (fake_renderer(), t, lang) for t in TOPICS for lang in FAKE_LANGS
]


@pytest.mark.parametrize(
    ("renderer", "topic", "lang"), CASES, ids=[f"{t}-{lang}" for _, t, lang in CASES]
)
def test_slotted_message_equals_the_layout_rendered_whole(
    renderer: Renderer, topic: str, lang: str
) -> None:
    t = TOPICS[topic]
    sample = dict(t.sample)
    # Two members with different names and values go through the same cached chunks.
    for i, given in enumerate(["Ana", "<b>Zoë</b> & Co"]):
        data = {
            k: (f"{v} {i} <i>" if t.variables[k].type == "text" else v) for k, v in sample.items()
        }
        result = renderer.render_sync(topic, member(lang, given=given), data, 7 + i)
        values, _ = t.parse_data(data)
        prepared = renderer._prepare(t, renderer.plan(t, lang), "print", False)
        parts = renderer._fill(prepared, member(lang, given=given), values, "print")
        assert result.html == renderer.layout.html(parts)
        msg = parse_email(result.message.raw)
        plain, html = msg.iter_parts()
        assert str(html.get_content()).replace("\r\n", "\n") == result.html
        assert str(plain.get_content()).replace("\r\n", "\n") == result.text


def test_memoized_values_are_written_as_before() -> None:
    values = {
        "d": date(2026, 12, 8),
        "t": time(10, 30),
        "m": Money(Decimal("12.50")),
        "n": 3,
        "x": Decimal("3"),
        "s": "text",
    }
    for lang in ("en", "ar", "zh-Hans"):
        for kind in ("print", "speech", "relay"):
            expected = {k: write_value(v, locale_for(lang), kind) for k, v in values.items()}
            assert write_values(values, lang, kind) == expected
            assert write_values(values, lang, kind) == expected
