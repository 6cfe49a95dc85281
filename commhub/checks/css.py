"""The little CSS the checkers need: inline declarations, lengths, colours and contrast.

Only what email HTML uses is understood. Inline `style` strings repeat across elements and
messages, so parsing is cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import tinycss2  # type: ignore[import-untyped]
import tinycss2.color3  # type: ignore[import-untyped]

RGB = tuple[float, float, float]  # 0..1 each
RGBA = tuple[float, float, float, float]

WHITE: RGB = (1.0, 1.0, 1.0)
BLACK: RGB = (0.0, 0.0, 0.0)

# tinycss2 nodes are untyped; they are handled as `Any` in this module only.
Tokens = tuple[Any, ...]


@lru_cache(maxsize=4096)
def parse_style(style: str) -> Mapping[str, Tokens]:
    """Inline `style` attribute → {lowercased property: value tokens}; the last one wins.

    `!important` is irrelevant inline (nothing else competes), so it is dropped.
    """
    out: dict[str, Tokens] = {}
    for node in tinycss2.parse_blocks_contents(style, skip_comments=True, skip_whitespace=True):
        if node.type == "declaration":
            out[node.lower_name] = tuple(
                t for t in node.value if t.type not in ("whitespace", "comment")
            )
    return MappingProxyType(out)


# Token tuples come from the cached `parse_style`, so the same tuple objects recur across
# elements and messages: results derived from them are memoized by identity (some tinycss2
# tokens define __eq__ and are unhashable, so lru_cache cannot key on them).
_MEMO: dict[tuple[str, int], tuple[Tokens, Any]] = {}
_MEMO_MAX = 50_000


def _memo(kind: str, tokens: Tokens, make: Any) -> Any:
    key = (kind, id(tokens))
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is tokens:
        return hit[1]
    value = make(tokens)
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.clear()
    _MEMO[key] = (tokens, value)  # holding `tokens` keeps its id from being reused
    return value


def text_of(tokens: Tokens) -> str:
    """The value as lowercased CSS text, e.g. "arial, sans-serif"."""
    text: str = _memo("text", tokens, lambda t: str(tinycss2.serialize(t)).strip().lower())
    return text


def idents(tokens: Tokens) -> tuple[str, ...]:
    """The identifiers of a value, lowercased."""
    found: tuple[str, ...] = _memo(
        "idents", tokens, lambda ts: tuple(t.lower_value for t in ts if t.type == "ident")
    )
    return found


# Keyword font sizes as Chromium computes them with a 16px default.
_FONT_KEYWORDS = {
    "xx-small": 9.0,
    "x-small": 10.0,
    "small": 13.0,
    "medium": 16.0,
    "large": 18.0,
    "x-large": 24.0,
    "xx-large": 32.0,
    "xxx-large": 48.0,
}

ROOT_FONT_PX = 16.0


def length_px(token: Any, font_px: float, percent_of: float | None = None) -> float | None:
    """A single length token in CSS px, or None when it is not an absolute-able length.

    `font_px` resolves em; `percent_of` resolves percentages when given.
    """
    if token.type == "number" and token.value == 0:
        return 0.0
    if token.type == "percentage":
        return None if percent_of is None else percent_of * token.value / 100.0
    if token.type != "dimension":
        return None
    unit = token.lower_unit
    v = float(token.value)
    if unit == "px":
        return v
    if unit == "pt":
        return v * 4.0 / 3.0
    if unit == "em":
        return v * font_px
    if unit == "rem":
        return v * ROOT_FONT_PX
    if unit == "pc":
        return v * 16.0
    if unit == "in":
        return v * 96.0
    if unit == "cm":
        return v * 96.0 / 2.54
    if unit == "mm":
        return v * 96.0 / 25.4
    if unit == "ex":
        return v * font_px / 2.0
    if unit == "ch":
        return v * font_px / 2.0
    return None


def font_size_px(tokens: Tokens, parent_px: float) -> float | None:
    """A `font-size` value in px, relative to the parent's computed size."""
    if len(tokens) != 1:
        return None
    t = tokens[0]
    if t.type == "ident":
        kw = t.lower_value
        if kw in _FONT_KEYWORDS:
            return _FONT_KEYWORDS[kw]
        if kw == "smaller":
            return parent_px / 1.2
        if kw == "larger":
            return parent_px * 1.2
        if kw == "inherit":
            return parent_px
        return None
    return length_px(t, parent_px, parent_px)


def box_sides(tokens: Tokens, font_px: float) -> tuple[float, float, float, float] | None:
    """`margin`/`padding` shorthand → (top, right, bottom, left) px; `auto` and % count as 0."""
    vals: list[float] = []
    for t in tokens:
        if t.type == "ident" and t.lower_value == "auto":
            vals.append(0.0)
            continue
        px = length_px(t, font_px)
        vals.append(px if px is not None else 0.0)
    if not vals or len(vals) > 4:
        return None
    if len(vals) == 1:
        vals *= 4
    elif len(vals) == 2:
        vals = [vals[0], vals[1], vals[0], vals[1]]
    elif len(vals) == 3:
        vals = [vals[0], vals[1], vals[2], vals[1]]
    return (vals[0], vals[1], vals[2], vals[3])


def parse_color(tokens: Tokens | str) -> RGBA | str | None:
    """A colour value → RGBA (0..1), "currentcolor", or None when unrecognised."""
    if isinstance(tokens, str):
        return parse_color_uncached(tokens)
    found: RGBA | str | None = _memo("color", tokens, parse_color_uncached)
    return found


def parse_color_uncached(tokens: Tokens | str) -> RGBA | str | None:
    """`parse_color` for throwaway token tuples (not memoized)."""
    if isinstance(tokens, str):
        value: Any = tokens.strip()
    else:
        if len(tokens) != 1:
            return None
        value = tokens[0]
    c = tinycss2.color3.parse_color(value)
    if c is None:
        return None
    if isinstance(c, str):
        return "currentcolor"
    return (float(c.red), float(c.green), float(c.blue), float(c.alpha))


def blend(top: RGBA, under: RGB) -> RGB:
    """Composite a possibly translucent colour over an opaque one."""
    a = top[3]
    return (
        top[0] * a + under[0] * (1 - a),
        top[1] * a + under[1] * (1 - a),
        top[2] * a + under[2] * (1 - a),
    )


def _channel(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance."""
    r, g, b = (_channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio, 1..21."""
    la, lb = luminance(a), luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def hex_of(rgb: RGB) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)
