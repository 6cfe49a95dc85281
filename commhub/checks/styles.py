"""Effective (cascaded and inherited) style of every element of an email's HTML.

Email HTML carries all its CSS inline (EM-13), so the cascade is short: the browser's default
style for the tag, then presentational attributes (`bgcolor`, `align`, `<font>`, `cellpadding`),
then the `style` attribute. Inherited properties (font-*, line-height, color, text-align,
text-transform, direction) flow down; backgrounds are composited from the nearest ancestors;
underlines propagate to descendants as CSS text decorations do.

Besides the CSS values, each element's box also records how far its content is inset from the
page edges (LP-18) and the narrowest width that constrains its lines (LP-15).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from commhub.checks.css import (
    RGB,
    RGBA,
    ROOT_FONT_PX,
    WHITE,
    Tokens,
    blend,
    box_sides,
    font_size_px,
    idents,
    length_px,
    parse_color,
    parse_color_uncached,
    parse_style,
    text_of,
)

# Browser default styles that matter for the rules (Chromium's UA sheet, simplified).
_UA: dict[str, str] = {
    "body": "margin: 8px",
    "h1": "font-size: 2em; font-weight: bold; margin: 0.67em 0",
    "h2": "font-size: 1.5em; font-weight: bold; margin: 0.83em 0",
    "h3": "font-size: 1.17em; font-weight: bold; margin: 1em 0",
    "h4": "font-weight: bold; margin: 1.33em 0",
    "h5": "font-size: 0.83em; font-weight: bold; margin: 1.67em 0",
    "h6": "font-size: 0.67em; font-weight: bold; margin: 2.33em 0",
    "p": "margin: 1em 0",
    "ul": "margin: 1em 0",
    "ol": "margin: 1em 0",
    "dl": "margin: 1em 0",
    "blockquote": "margin: 1em 40px",
    "figure": "margin: 1em 40px",
    "b": "font-weight: bold",
    "strong": "font-weight: bold",
    "th": "font-weight: bold; text-align: center",
    "i": "font-style: italic",
    "em": "font-style: italic",
    "cite": "font-style: italic",
    "var": "font-style: italic",
    "dfn": "font-style: italic",
    "address": "font-style: italic",
    "u": "text-decoration: underline",
    "ins": "text-decoration: underline",
    "small": "font-size: smaller",
    "sub": "font-size: smaller",
    "sup": "font-size: smaller",
    "big": "font-size: larger",
    "center": "text-align: center",
    "mark": "background-color: yellow; color: black",
    "code": "font-family: monospace",
    "kbd": "font-family: monospace",
    "samp": "font-family: monospace",
    "tt": "font-family: monospace",
    "pre": "font-family: monospace; margin: 1em 0",
}
_UA_LINK = "color: #0000ee; text-decoration: underline"
# List and definition indents sit on the start side.
_START_INDENT = {"ul": 40.0, "ol": 40.0, "dd": 40.0}

_HEADING_LEVELS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_FONT_TAG_SIZES = {1: 10.0, 2: 13.0, 3: 16.0, 4: 18.0, 5: 24.0, 6: 32.0, 7: 48.0}
_ALIGN_ATTR_TAGS = frozenset(
    {"p", "div", "td", "th", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "caption"}
)
_BGCOLOR_TAGS = frozenset({"body", "table", "tr", "td", "th"})
_NO_WIDTH_TAGS = frozenset({"img", "svg", "hr", "br"})


class Style:
    """The effective style of one element (what its own text nodes are drawn with)."""

    __slots__ = (
        "align",
        "avail",
        "bg",
        "bg_image",
        "color",
        "decl",
        "display",
        "family",
        "font_px",
        "heading",
        "hidden",
        "in_b",
        "in_li",
        "in_strong",
        "inset_b",
        "inset_l",
        "inset_r",
        "inset_t",
        "italic",
        "lang",
        "line_height",
        "link",
        "margin",
        "padding",
        "rtl",
        "small_caps",
        "transform",
        "underline",
        "unknown_colors",
        "weight",
        "width_el",
    )

    def __init__(self) -> None:
        self.font_px: float = ROOT_FONT_PX
        self.weight: int = 400
        self.italic: bool = False
        # None means the browser default family (a serif on most systems).
        self.family: tuple[str, ...] | None = None
        # ("ratio", x) inherits as a number; ("px", y) inherits as an absolute length.
        self.line_height: tuple[str, float] = ("normal", 1.15)
        self.color: RGBA = (0.0, 0.0, 0.0, 1.0)  # as specified; blended over bg when drawn
        self.bg: RGB = WHITE
        self.bg_image: bool = False
        self.align: str = "start"
        self.transform: str = "none"
        self.small_caps: bool = False
        self.underline: bool = False  # propagated text decoration
        self.link: Any = None  # the enclosing <a href>, if any
        self.lang: str | None = None
        self.rtl: bool = False
        self.hidden: bool = False
        # Where the element sits (for rules about headings, emphasis and lists):
        self.heading: int = 0  # level of the enclosing heading, 0 outside headings
        self.in_strong: bool = False  # inside <strong> or a <th> (bold allowed)
        self.in_b: bool = False
        self.in_li: bool = False
        # Per element, not inherited:
        self.display: str = "inline"
        self.decl: dict[str, Tokens] = {}
        self.margin: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self.padding: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        self.unknown_colors: list[str] = []
        # Cumulative insets from the page edges (margins + paddings of self and ancestors).
        self.inset_l = self.inset_r = self.inset_t = self.inset_b = 0.0
        # Narrowest content width constraining this element's lines (px), and who sets it.
        self.avail: float | None = None
        self.width_el: str | None = None  # tag of the element that sets `avail`

    def child(self) -> Style:
        """A new style inheriting the inherited properties of this one."""
        s = Style.__new__(Style)
        s.font_px = self.font_px
        s.weight = self.weight
        s.italic = self.italic
        s.family = self.family
        s.line_height = self.line_height
        s.color = self.color
        s.bg = self.bg
        s.bg_image = self.bg_image
        s.align = self.align
        s.transform = self.transform
        s.small_caps = self.small_caps
        s.underline = self.underline
        s.link = self.link
        s.lang = self.lang
        s.rtl = self.rtl
        s.hidden = self.hidden
        s.heading = self.heading
        s.in_strong = self.in_strong
        s.in_b = self.in_b
        s.in_li = self.in_li
        s.display = "inline"
        s.decl = {}
        s.margin = (0.0, 0.0, 0.0, 0.0)
        s.padding = (0.0, 0.0, 0.0, 0.0)
        s.unknown_colors = []
        s.inset_l, s.inset_r, s.inset_t, s.inset_b = (
            self.inset_l,
            self.inset_r,
            self.inset_t,
            self.inset_b,
        )
        s.avail = self.avail
        s.width_el = self.width_el
        return s

    @property
    def line_height_ratio(self) -> float:
        kind, v = self.line_height
        return v / self.font_px if kind == "px" and self.font_px else v

    @property
    def bold(self) -> bool:
        return self.weight >= 600


def _families(tokens: Tokens) -> tuple[str, ...]:
    return tuple(
        f.strip().strip("'\"").strip().lower() for f in text_of(tokens).split(",") if f.strip()
    )


def _weight(tokens: Tokens, parent: int) -> int | None:
    if len(tokens) != 1:
        return None
    t = tokens[0]
    if t.type == "number":
        return int(t.value)
    if t.type != "ident":
        return None
    return {
        "normal": 400,
        "bold": 700,
        "bolder": 700 if parent < 600 else 900,
        "lighter": 100 if parent < 600 else 400,
        "inherit": parent,
    }.get(t.lower_value)


def _line_height(tokens: Tokens, font_px: float) -> tuple[str, float] | None:
    if len(tokens) != 1:
        return None
    t = tokens[0]
    if t.type == "ident" and t.lower_value == "normal":
        return ("normal", 1.15)
    if t.type == "number":
        return ("ratio", float(t.value))
    px = length_px(t, font_px, font_px)
    return None if px is None else ("px", px)


def _split_font_shorthand(tokens: Tokens) -> dict[str, Tokens]:
    """`font: italic bold 24px/1.5 Arial, sans-serif` → its longhands (unset ones reset)."""
    out: dict[str, Tokens] = {}
    style: Tokens = ()
    weight: Tokens = ()
    variant: Tokens = ()
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.type == "ident" and t.lower_value in ("italic", "oblique"):
            style = (t,)
        elif t.type == "ident" and t.lower_value == "small-caps":
            variant = (t,)
        elif (t.type == "ident" and t.lower_value in ("bold", "bolder", "lighter")) or (
            t.type == "number" and t.value >= 100
        ):
            weight = (t,)
        elif t.type == "ident" and t.lower_value == "normal":
            pass
        else:
            break
        i += 1
    if i < len(tokens):
        out["font-size"] = (tokens[i],)
        i += 1
        if i + 1 < len(tokens) and tokens[i].type == "literal" and tokens[i].value == "/":
            out["line-height"] = (tokens[i + 1],)
            i += 2
        if i < len(tokens):
            out["font-family"] = tuple(tokens[i:])
    out.setdefault("line-height", _NORMAL)
    out["font-style"] = style or _NORMAL
    out["font-weight"] = weight or _NORMAL
    out["font-variant"] = variant or _NORMAL
    return out


_NORMAL: Tokens = tuple(parse_style("x: normal")["x"])


def _attr_decls(el: Any, tag: str) -> Iterable[tuple[str, Tokens]]:
    """Presentational attributes as declarations (they lose to the style attribute)."""
    if tag in _ALIGN_ATTR_TAGS:
        align = el.get("align")
        if align:
            yield "text-align", parse_style(f"x: {align}").get("x", ())
    if tag in _BGCOLOR_TAGS:
        bgcolor = el.get("bgcolor")
        if bgcolor:
            yield "background-color", parse_style(f"x: {bgcolor}").get("x", ())
        if el.get("background"):
            yield "background-image", parse_style("x: url(attr)").get("x", ())
    if tag == "body" and el.get("text"):
        yield "color", parse_style(f"x: {el.get('text')}").get("x", ())
    if tag in ("td", "th"):
        table = next(el.iterancestors("table"), None)
        cellpadding = table.get("cellpadding") if table is not None else None
        if cellpadding and cellpadding.strip().isdigit():
            yield "padding", parse_style(f"x: {cellpadding.strip()}px").get("x", ())
    width = el.get("width")
    if width and tag not in _NO_WIDTH_TAGS and width.strip().isdigit():
        yield "width", parse_style(f"x: {width.strip()}px").get("x", ())
    height = el.get("height")
    if height and tag not in _NO_WIDTH_TAGS:
        yield (
            "height",
            parse_style(f"x: {height.strip()}px" if height.strip().isdigit() else "x: auto").get(
                "x", ()
            ),
        )
    if tag == "font":
        if el.get("face"):
            yield "font-family", parse_style(f"x: {el.get('face')}").get("x", ())
        if el.get("color"):
            yield "color", parse_style(f"x: {el.get('color')}").get("x", ())
        size = (el.get("size") or "").strip()
        if size.isdigit() and int(size) in _FONT_TAG_SIZES:
            yield "font-size", parse_style(f"x: {_FONT_TAG_SIZES[int(size)]}px").get("x", ())


def compute(el: Any, tag: str, parent: Style) -> Style:
    """The effective style of `el` given its parent's."""
    s = parent.child()
    if tag in _HEADING_LEVELS:
        s.heading = _HEADING_LEVELS[tag]
    elif tag in ("strong", "th"):
        s.in_strong = True
    elif tag == "b":
        s.in_b = True
    elif tag == "li":
        s.in_li = True
    decls: list[tuple[str, Tokens]] = []
    ua = _UA.get(tag)
    if ua:
        decls.extend(parse_style(ua).items())
    if tag == "a" and el.get("href") is not None:
        decls.extend(parse_style(_UA_LINK).items())
        s.link = el
    decls.extend(_attr_decls(el, tag))
    style_attr = el.get("style")
    if style_attr:
        decls.extend(parse_style(style_attr).items())

    if el.get("lang") is not None:
        s.lang = el.get("lang").strip()
    dir_attr = (el.get("dir") or "").strip().lower()
    if dir_attr in ("rtl", "ltr"):
        s.rtl = dir_attr == "rtl"
    if el.get("hidden") is not None:
        s.hidden = True
    if tag in _START_INDENT:
        # The UA indent is `padding-inline-start` (ul/ol) or `margin-inline-start` (dd).
        start = _START_INDENT[tag]
        if tag == "dd":
            s.margin = (0.0, 0.0 if not s.rtl else start, 0.0, start if not s.rtl else 0.0)
        else:
            s.padding = (0.0, 0.0 if not s.rtl else start, 0.0, start if not s.rtl else 0.0)

    # font-size first: em-based values of every other property depend on it.
    flat: dict[str, Tokens] = {}
    for name, tokens in decls:
        if name == "font":
            flat.update(_split_font_shorthand(tokens))
        else:
            flat[name] = tokens
    s.decl = flat
    fs_tokens = flat.get("font-size")
    if fs_tokens is not None:
        px = font_size_px(fs_tokens, parent.font_px)
        if px is not None:
            s.font_px = px

    margin = list(s.margin)
    padding = list(s.padding)
    for name, tokens in decls:
        if name in ("margin", "padding"):
            sides = box_sides(tokens, s.font_px)
            if sides is not None:
                if name == "margin":
                    margin = list(sides)
                else:
                    padding = list(sides)
        elif name.startswith(("margin-", "padding-")):
            box, _, side = name.partition("-")
            idx = {"top": 0, "right": 1, "bottom": 2, "left": 3}.get(side)
            if idx is None or len(tokens) != 1:
                continue
            px = length_px(tokens[0], s.font_px)
            target = margin if box == "margin" else padding
            target[idx] = px if px is not None else 0.0
    s.margin = (margin[0], margin[1], margin[2], margin[3])
    s.padding = (padding[0], padding[1], padding[2], padding[3])

    for name, tokens in flat.items():
        _apply(s, parent, name, tokens)

    if s.display == "none":
        s.hidden = True
    if tag in ("td", "th", "tr", "thead", "tbody", "tfoot"):
        # Margins do not apply to table parts.
        s.margin = (0.0, 0.0, 0.0, 0.0)

    s.inset_t += s.margin[0] + s.padding[0]
    s.inset_r += s.margin[1] + s.padding[1]
    s.inset_b += s.margin[2] + s.padding[2]
    s.inset_l += s.margin[3] + s.padding[3]
    _constrain_width(s, tag)
    return s


def _apply(s: Style, parent: Style, name: str, tokens: Tokens) -> None:
    if not tokens:
        return
    if name == "font-weight":
        w = _weight(tokens, parent.weight)
        if w is not None:
            s.weight = w
    elif name == "font-style":
        s.italic = idents(tokens)[:1] in (("italic",), ("oblique",))
    elif name == "font-family":
        s.family = _families(tokens)
    elif name == "line-height":
        lh = _line_height(tokens, s.font_px)
        if lh is not None:
            s.line_height = lh
    elif name == "color":
        c = parse_color(tokens)
        if isinstance(c, tuple):
            s.color = c
        elif c is None and text_of(tokens) not in ("inherit", "initial", "unset"):
            s.unknown_colors.append(text_of(tokens))
    elif name in ("background-color", "background"):
        image = name == "background" and _has_url(tokens)
        # Usually one token (memoized); the `background` shorthand is searched token by token.
        candidates = [tokens] if len(tokens) == 1 else [(t,) for t in tokens]
        for one in candidates:
            c = parse_color(one) if one is tokens else parse_color_uncached(one)
            if isinstance(c, tuple):
                s.bg = blend(c, parent.bg)
                if c[3] >= 1 and not image:
                    s.bg_image = False  # an opaque background hides an ancestor's image
                break
        if image:
            s.bg_image = True
    elif name == "background-image":
        if _has_url(tokens):
            s.bg_image = True
    elif name == "text-align":
        s.align = text_of(tokens)
    elif name == "text-transform":
        s.transform = text_of(tokens)
    elif name in ("font-variant", "font-variant-caps"):
        s.small_caps = any(v in ("small-caps", "all-small-caps") for v in idents(tokens))
    elif name in ("text-decoration", "text-decoration-line"):
        if "underline" in idents(tokens):
            s.underline = True
    elif name == "display":
        s.display = text_of(tokens)
    elif name == "visibility":
        if text_of(tokens) in ("hidden", "collapse"):
            s.hidden = True
    elif name == "direction":
        s.rtl = text_of(tokens) == "rtl"


def _has_url(tokens: Tokens) -> bool:
    return any(t.type == "url" or (t.type == "function" and t.lower_name == "url") for t in tokens)


def _constrain_width(s: Style, tag: str) -> None:
    """Narrow `s.avail` by this element's margins, paddings and width/max-width."""
    if s.avail is not None:
        s.avail -= s.margin[1] + s.margin[3] + s.padding[1] + s.padding[3]
    if tag in _NO_WIDTH_TAGS:
        return
    limit: float | None = None
    for prop in ("max-width", "width"):
        tokens = s.decl.get(prop)
        if tokens and len(tokens) == 1:
            px = length_px(tokens[0], s.font_px)
            if px is not None and (limit is None or px < limit):
                limit = px
    if limit is None:
        return
    sizing = s.decl.get("box-sizing")
    if sizing and text_of(sizing) == "border-box":
        limit -= s.padding[1] + s.padding[3]
    if s.avail is None or limit < s.avail:
        s.avail = limit
        s.width_el = tag
