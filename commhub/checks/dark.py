"""The dark colour scheme of a large-print email: its one `<style>` element (EM-13, LP-16).

Every style is inline (EM-13), with one exception: a dark scheme can only be written as
`@media (prefers-color-scheme: dark)` rules, which need a `<style>` element. Such an element
is accepted when it holds nothing else — only class rules that set colours with
`!important` — so the message reads the same in every client that drops it. The dark
scheme itself must keep LP-16: every dark text colour on every dark background ≥ 7:1, and
every element that sets a colour inline must belong to a class that overrides both its
text and background colours (otherwise black text would stay on a dark background).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import tinycss2  # type: ignore[import-untyped]

from commhub.checks.css import RGBA, blend, contrast, hex_of, parse_color_uncached

DARK_QUERY = "(prefers-color-scheme:dark)"
COLOUR_PROPERTIES = frozenset({"color", "background-color", "border-color"})
MIN_CONTRAST = 7.0  # LP-16
_CLASS_SELECTOR = re.compile(r"^\.[A-Za-z][\w-]*$")


@dataclass(frozen=True)
class Colour:
    """A dark-scheme colour as written (for messages) and as read (parsed once)."""

    written: str
    rgba: RGBA


@dataclass
class DarkSheet:
    """What a dark-scheme `<style>` says: per class, its dark text and background colours."""

    colors: dict[str, Colour] = field(default_factory=dict)
    backgrounds: dict[str, Colour] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def covers(self, classes: set[str]) -> bool:
        """Whether an element of these classes gets both a dark text and background colour."""
        return bool(classes & self.colors.keys()) and bool(classes & self.backgrounds.keys())

    def contrast_problems(self) -> list[str]:
        """Each dark text colour on each dark background below 7:1."""
        out: list[str] = []
        for fg_name, fg in self.colors.items():
            for bg_name, bg in self.backgrounds.items():
                ground = blend(bg.rgba, (0.0, 0.0, 0.0))
                ratio = contrast(blend(fg.rgba, ground), ground)
                if ratio < MIN_CONTRAST:
                    out.append(
                        f"dark scheme: .{fg_name} text {fg.written} on .{bg_name} "
                        f"{hex_of(ground)} has contrast {ratio:.2f}:1; needs ≥ 7:1"
                    )
        return out


def parse_dark_sheet(css: str) -> DarkSheet:
    """Read a `<style>` element's text; anything but dark-scheme colour rules is a problem."""
    sheet = DarkSheet()
    for rule in tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True):
        query = "".join(tinycss2.serialize(rule.prelude).split()).lower() if rule.prelude else ""
        if rule.type != "at-rule" or rule.lower_at_keyword != "media" or query != DARK_QUERY:
            sheet.problems.append(
                f"<style> may hold only @media {DARK_QUERY} rules, not {_describe(rule)}"
            )
            continue
        for inner in tinycss2.parse_rule_list(rule.content or [], True, True):
            _read_rule(inner, sheet)
    return sheet


def _describe(rule: object) -> str:
    text = " ".join(str(tinycss2.serialize([rule])).split())
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def _read_rule(rule: object, sheet: DarkSheet) -> None:
    if getattr(rule, "type", "") != "qualified-rule":
        sheet.problems.append(f"dark scheme: unexpected {_describe(rule)}")
        return
    selector = "".join(tinycss2.serialize(rule.prelude).split())  # type: ignore[attr-defined]
    if not _CLASS_SELECTOR.match(selector):
        sheet.problems.append(f"dark scheme: selector {selector!r} is not one class")
        return
    name = selector[1:]
    decls = tinycss2.parse_blocks_contents(rule.content, True, True)  # type: ignore[attr-defined]
    for decl in decls:
        if decl.type != "declaration":
            continue
        value = str(tinycss2.serialize(decl.value)).strip()
        if decl.lower_name not in COLOUR_PROPERTIES:
            sheet.problems.append(f"dark scheme: .{name} sets {decl.lower_name}, not a colour")
            continue
        if not decl.important:
            sheet.problems.append(f"dark scheme: .{name} {decl.lower_name} needs !important")
        rgba = parse_color_uncached(value)
        if not isinstance(rgba, tuple):  # unknown, or currentcolor (no colour of its own)
            sheet.problems.append(f"dark scheme: cannot read colour {value!r} of .{name}")
            continue
        if decl.lower_name == "color":
            sheet.colors[name] = Colour(value, rgba)
        elif decl.lower_name == "background-color":
            sheet.backgrounds[name] = Colour(value, rgba)
