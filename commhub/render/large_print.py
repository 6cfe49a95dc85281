"""Large-print email: the HTML part from a jinja2 layout and the complete text part (EM-12).

The layout is compiled once per process; each message is one `render()` call on plain-text
parts (autoescape on, StrictUndefined), about 0.1-0.2 ms.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from commhub.render.bidi import inline_html
from commhub.render.message_parts import Parts

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LAYOUT = "large_print.html.j2"
# LP-15: ~640px holds well under 80 Latin characters at 26.67px; CJK glyphs are about 1em wide,
# so 560px keeps a line near 21 characters, under the 40 allowed.
MAX_WIDTH = "640px"
MAX_WIDTH_CJK = "560px"


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
        return self._template.render(p=parts, max_width=width, section=section)


def text_part(parts: Parts) -> str:
    """The text/plain alternative: everything the HTML says, in the same order (EM-12)."""
    return text_head(parts) + text_tail(parts)


def text_tail(parts: Parts) -> str:
    """The LA-3 footer of the text part (the same for every member of a language)."""
    if not parts.footer:
        return ""
    return "\n----\n" + "\n\n".join(f.text for f in parts.footer) + "\n"


def text_head(parts: Parts) -> str:
    """The text part up to its footer; ends with a line break."""
    out: list[str] = [n.text for n in parts.notices]
    out.append(parts.heading)
    if parts.greeting:
        out.append(parts.greeting)
    out.extend(parts.paragraphs)
    if parts.facts:
        out.append("\n".join(f"- {f.label}: {f.value}" for f in parts.facts))
    if parts.action:
        out.append(parts.action)
    c = parts.contact
    out.append(f"{c.before}{c.printed}{c.after}\n{c.tty_line}\n{c.hours_line}")
    if parts.thanks:
        out.append(parts.thanks)
    return "\n\n".join(out) + "\n"
