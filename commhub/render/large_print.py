"""Large-print email: the HTML part from a jinja2 layout and the complete text part (EM-12).

The layout is compiled once per process (autoescape on, StrictUndefined). The message
pipeline renders it once per (prepared strings, shape) with a marker in place of each
per-message string (`slotted_head`), so each message only escapes its own strings into the
slots; `html()` renders a whole document (previews, audio transcripts).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from pathlib import Path

import jinja2

from commhub.render.bidi import inline_html
from commhub.render.message_parts import Fact, Parts

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LAYOUT = "large_print.html.j2"
# LP-15: ~640px holds well under 80 Latin characters at 26.67px; CJK glyphs are about 1em wide,
# so 560px keeps a line near 21 characters, under the 40 allowed.
MAX_WIDTH = "640px"
MAX_WIDTH_CJK = "560px"
# Outlook for Windows (Word) ignores max-width and padding on a <div>: the layout's
# conditional-comment table holds the column there, its cell padded 24px on each side (LP-18).
PADDING_PX = 24


class LargePrintLayout:
    """The compiled large-print layout."""

    def __init__(self, templates_dir: Path = DEFAULT_TEMPLATES) -> None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir / "layouts"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        env.filters["bidi"] = inline_html
        self._template = env.get_template(LAYOUT)

    def html(self, parts: Parts, section: str = "all") -> str:
        """The HTML document for these parts, or its `head`/`tail` section.

        `head` + `tail` == the whole document, and `head` ends with a line break, so the two
        can be encoded apart (quoted-printable works line by line) and the tail, the same for
        every member of a language, encoded once.
        """
        width = MAX_WIDTH_CJK if parts.cjk else MAX_WIDTH
        outer = int(width.removesuffix("px")) + 2 * PADDING_PX
        return self._template.render(p=parts, max_width=width, outer_px=outer, section=section)

    def slotted_head(self, parts: Parts) -> SlottedHead | None:
        """The head of `parts`' shape with a slot per message string (None if the layout
        does not show each of them exactly once: then render each message whole).

        The strings are numbered in the order `Prepared.fill` writes `Parts.html`: subject,
        heading, greeting, paragraphs, fact values, action, thanks (empty ones left out).
        """
        numbers = itertools.count()

        def mark() -> str:
            return _MARK.format(next(numbers))

        skeleton = replace(
            parts,
            subject=mark(),
            heading=mark(),
            greeting=mark() if parts.greeting else "",
            paragraphs=tuple(mark() for _ in parts.paragraphs),
            facts=tuple(Fact(f.label, mark()) for f in parts.facts),
            action=mark() if parts.action else "",
            thanks=mark() if parts.thanks else "",
            html=None,
        )
        count = next(numbers)
        split = _MARK_RE.split(self.html(skeleton, "head"))
        order = tuple(int(i) for i in split[1::2])
        if sorted(order) != list(range(count)):
            return None
        return SlottedHead(tuple(split[0::2]), order)


# Slot markers: NUL never reaches a layout from a translation or a value's written form.
_MARK = "\x00{}\x00"
_MARK_RE = re.compile("\x00(\\d+)\x00")


def head_shape(parts: Parts) -> tuple[object, ...]:
    """What decides the HTML head's markup beyond its prepared strings (the skeleton key)."""
    return (
        bool(parts.greeting),
        len(parts.paragraphs),
        tuple(f.label for f in parts.facts),
        bool(parts.action),
        bool(parts.thanks),
    )


@dataclass(frozen=True)
class SlottedHead:
    """The HTML head of one (prepared strings, shape) rendered once, with slots for the
    per-message strings: `pieces[0] slot pieces[1] ... pieces[n]`.

    `order[i]` is the index in `Parts.html` of slot i.
    """

    pieces: tuple[str, ...]
    order: tuple[int, ...]

    def slots(self, parts: Parts) -> tuple[str, ...]:
        """The slot values: `parts.html` (written by `Prepared.fill` for print) in slot order."""
        if parts.html is None:
            raise ValueError("slots need print parts (Prepared.fill writes their HTML)")
        return tuple(parts.html[i] for i in self.order)


def text_part(parts: Parts) -> str:
    """The text/plain alternative: everything the HTML says, in the same order (EM-12)."""
    return text_head(parts) + text_tail(parts)


def text_tail(parts: Parts) -> str:
    """How to change or stop (CP-3) and the LA-3 footer of the text part (the same for every
    member of a language)."""
    out = f"\n{parts.change_line}\n" if parts.change_line else ""
    if parts.stop_url:
        out = (out or "\n") + f"{parts.stop_label}: {parts.stop_url}\n"
    if not parts.footer:
        return out
    return out + "\n----\n" + "\n\n".join(f.text for f in parts.footer) + "\n"


def text_head(parts: Parts) -> str:
    """The text part up to its footer; ends with a line break."""
    out: list[str] = [n.text for n in parts.notices]
    out.append(parts.heading)
    if parts.greeting:
        out.append(parts.greeting)
    out.extend(parts.paragraphs)
    if parts.facts:
        out.append("\n".join(f"- {parts.fact_line(f)}" for f in parts.facts))
    if parts.action:
        out.append(parts.action)
    c = parts.contact
    out.append(f"{c.before}{c.printed}{c.after}\n{c.tty_line}\n{c.hours_line}")
    if parts.thanks:
        out.append(parts.thanks)
    return "\n\n".join(out) + "\n"
