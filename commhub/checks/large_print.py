"""Static checks of a large-print HTML email against the LP and EM rules.

`check_html` parses the HTML once with lxml, computes the effective style of every element
(see `styles.py`) and checks every visible text node and every element that a rule is about.
It does not need a browser; what only a browser can tell (EM-9 reflow, axe-core's rules) is
checked by the test harness in `tests/a11y/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import lxml.html  # type: ignore[import-untyped]

from commhub.checks.base import Collector, Violation, excerpt
from commhub.checks.css import blend, contrast, hex_of, length_px, text_of
from commhub.checks.dark import parse_dark_sheet
from commhub.checks.styles import Style, compute
from commhub.render.bidi import OPENERS, PDI, visible

# LP-1/LP-2: 18pt.
MIN_TEXT_PX = 24.0
# LP-3: 22pt for h1, 20pt for the other headings (rounded down to the pixel hundredth).
MIN_H1_PX = 29.33
MIN_HEADING_PX = 26.66
MIN_LINE_HEIGHT = 1.5  # LP-7
MIN_CONTRAST = 7.0  # LP-16
MIN_PADDING_PX = 24.0  # LP-18
MIN_TARGET_PX = 24.0  # EM-11
MAX_HTML_BYTES = 100 * 1024  # EM-15
# LP-15: about 640px of line at 24px text (≈ 80 characters of Arial counted generously),
# scaled with the text size; CJK glyphs are one em wide: 40 of them.
LATIN_MEASURE_EM = 640.0 / 24.0
CJK_MEASURE_EM = 40.0

ALLOWED_FAMILIES = frozenset({"arial", "helvetica", "verdana"})
GENERIC_SANS = "sans-serif"

# LP-11: all-caps words of 4+ letters that are acronyms read as such (3-letter ones such as
# TTY, HMO, PPO never trip the rule). Callers may add their own.
ACRONYMS = frozenset(
    {
        "AARP",
        "AIDS",
        "CAHPS",
        "CHIP",
        "COBRA",
        "COVID",
        "DSNP",
        "FQHC",
        "HEDIS",
        "HIPAA",
        "NCQA",
        "NEMT",
        "OHSU",
        "PACE",
        "SHIBA",
        "SNAP",
        "TANF",
        "TRICARE",
        "USPS",
    }
)

# EM-7: link texts that do not say where the link goes, in the languages we send.
VAGUE_LINK_TEXTS = frozenset(
    {
        "click",
        "click here",
        "here",
        "learn more",
        "read more",
        "more",
        "more info",
        "more information",
        "link",
        "this link",
        "go",
        "details",
        # es
        "aquí",
        "aqui",
        "haga clic aquí",
        "haz clic aquí",
        "clic aquí",
        "más información",
        "leer más",
        # fr
        "ici",
        "cliquez ici",
        "en savoir plus",
        "lire la suite",
        # de
        "hier",
        "hier klicken",
        "mehr erfahren",
        "weiterlesen",
        # pt / it
        "clique aqui",
        "saiba mais",
        "qui",
        "clicca qui",
        # vi / tl
        "bấm vào đây",
        "nhấp vào đây",
        "dito",
        "i-click dito",
        # zh / ja / ko / ru
        "点击这里",
        "点击此处",
        "按此",
        "这里",
        "了解更多",
        "ここ",
        "こちら",
        "詳しくはこちら",
        "여기",
        "여기를 클릭",
        "здесь",
        "нажмите здесь",
        "подробнее",
    }
)

_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_NOT_RENDERED = frozenset({"head", "script", "style", "template", "noscript", "title", "meta"})
_BLOCKS = frozenset(
    {"p", "div", "ul", "ol", "dl", "table", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
)
_REPLACED = frozenset({"img", "svg", "video", "iframe", "object", "embed", "hr", "br", "input"})
_STRIP = " \t\r\n\f\v\u00a0\u200b\u200c\u200d\u2060\ufeff\u034f\u2066\u2067\u2068\u2069"

# LP-11: a whole word of 4+ capital Latin letters (a letter of any script next to it makes
# it part of a longer word).
_CAPS_WORD = re.compile(r"(?<![^\W\d_])[A-Z\u00c0-\u00d6\u00d8-\u00de]{4,}(?![^\W\d_])")
_ROMAN = re.compile(r"^[IVXLCDM]+$")
_URLISH = re.compile(
    r"^(https?://|www\.|mailto:)|^[\w.-]+\.(com|org|net|gov|edu|us|io|info|health)(/\S*)?$",
    re.IGNORECASE,
)
_FAKE_BULLET = re.compile(r"^([•◦▪▫■□●○‣⁃∙·➢➤►▶✓✔]|[-*]\s)")
# BCP 47 syntax, enough for the tags we use (language, script, region, variants).
_BCP47 = re.compile(
    r"^[a-z]{2,3}(-[a-z]{4})?(-([a-z]{2}|\d{3}))?(-([a-z\d]{5,8}|\d[a-z\d]{3}))*$",
    re.IGNORECASE,
)

# EM-2: the scripts each language is written in; Latin is tolerated everywhere (names,
# acronyms such as TTY), any other script must carry its own lang.
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0E00, 0x0E7F, "thai"),
    (0x1100, 0x11FF, "hangul"),
    (0x3040, 0x30FF, "kana"),
    (0x3130, 0x318F, "hangul"),
    (0x3400, 0x4DBF, "han"),
    (0x4E00, 0x9FFF, "han"),
    (0xAC00, 0xD7AF, "hangul"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"),
)
_LANG_SCRIPTS: dict[str, frozenset[str]] = {
    "ru": frozenset({"cyrillic"}),
    "uk": frozenset({"cyrillic"}),
    "bg": frozenset({"cyrillic"}),
    "sr": frozenset({"cyrillic"}),
    "ar": frozenset({"arabic"}),
    "fa": frozenset({"arabic"}),
    "ur": frozenset({"arabic"}),
    "he": frozenset({"hebrew"}),
    "hi": frozenset({"devanagari"}),
    "ne": frozenset({"devanagari"}),
    "mr": frozenset({"devanagari"}),
    "zh": frozenset({"han"}),
    "ja": frozenset({"han", "kana"}),
    "ko": frozenset({"hangul", "han"}),
    "el": frozenset({"greek"}),
    "th": frozenset({"thai"}),
}


_SCRIPT_RES: dict[str, re.Pattern[str]] = {}
for _lo, _hi, _name in _SCRIPT_RANGES:
    _prev = _SCRIPT_RES.get(_name)
    _cls = f"{chr(_lo)}-{chr(_hi)}"
    _SCRIPT_RES[_name] = re.compile(f"[{_prev.pattern[1:-1] if _prev else ''}{_cls}]")
_NON_LATIN = re.compile("[\u0370-\uffff]")


def _scripts(text: str) -> set[str]:
    if not _NON_LATIN.search(text):
        return set()
    return {name for name, rx in _SCRIPT_RES.items() if rx.search(text)}


_ISOLATED = re.compile(f"[{OPENERS}][^{OPENERS}{PDI}]*(?:{PDI}|$)")


def _outside_isolates(text: str) -> str:
    """`text` without its isolated runs (innermost first, so nested isolates go too)."""
    while True:
        shorter = _ISOLATED.sub(" ", text)
        if shorter == text:
            return text.replace(PDI, "")
        text = shorter


@dataclass
class _Text:
    el: Any
    text: str
    style: Style
    tail: bool = False  # text after a child of `el` (not `el`'s own first text)


@dataclass
class _Page:
    """Everything the walk found, for the rules to look at."""

    texts: list[_Text] = field(default_factory=list)
    styles: dict[Any, Style] = field(default_factory=dict)
    elements: list[Any] = field(default_factory=list)  # visible elements, document order


def _tag(el: Any) -> str:
    tag = el.tag
    return tag.lower() if isinstance(tag, str) else ""


def _where(el: Any, text: str | None = None) -> str:
    shown = text if text is not None else el.text_content()
    quoted = excerpt(shown.strip(_STRIP))
    return f'<{_tag(el)}> "{quoted}"' if quoted else f"<{_tag(el)}>"


def _walk(el: Any, tag: str, parent: Style, page: _Page) -> None:
    style = compute(el, tag, parent)
    page.styles[el] = style
    if style.hidden:
        return
    page.elements.append(el)
    if el.text and el.text.strip(_STRIP):
        page.texts.append(_Text(el, el.text, style))
    for child in el:
        ctag = _tag(child)
        if ctag and ctag not in _NOT_RENDERED:
            _walk(child, ctag, style, page)
        if child.tail and child.tail.strip(_STRIP):
            page.texts.append(_Text(el, child.tail, style, tail=True))


def parse(html: str) -> Any:
    """The lxml document of `html` (raises ValueError on an empty document)."""
    try:
        return lxml.html.document_fromstring(html)
    except Exception as exc:  # lxml raises ParserError, a ValueError, on empty input
        raise ValueError(f"cannot parse HTML: {exc}") from exc


class Analysis:
    """A parsed HTML document and its rendered text nodes with their effective styles."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.root = parse(html)
        html_style = compute(self.root, "html", Style())
        self.page = _Page(styles={self.root: html_style})
        self.body = self.root.find("body")
        if self.body is not None:
            _walk(self.body, "body", html_style, self.page)

    def visible_text(self) -> str:
        """The text a reader sees (hidden elements, head and scripts left out), space-joined."""
        return " ".join(" ".join(visible(t.text).split()) for t in self.page.texts)


def check_html(
    html: str,
    *,
    subject: str | None,
    lang: str,
    rtl: bool,
    cjk: bool,
    acronyms: Iterable[str] = (),
) -> list[Violation]:
    """Check a large-print HTML email against LP-1…LP-18 and the statically checkable EM rules.

    `subject` is the message's Subject (EM-4; None skips the equality check), `lang` the BCP 47
    tag the message was rendered for, `rtl` and `cjk` that language's properties (EM-3, LP-9,
    LP-15). `acronyms` extends the LP-11 allow-list. Returns the violations grouped by rule
    check, in document order within each; an empty list means every static check passed.
    """
    try:
        analysis = Analysis(html)
    except ValueError as exc:
        return [Violation("EM-1", str(exc))]
    return check_analysis(analysis, subject=subject, lang=lang, rtl=rtl, cjk=cjk, acronyms=acronyms)


def check_analysis(
    analysis: Analysis,
    *,
    subject: str | None,
    lang: str,
    rtl: bool,
    cjk: bool,
    acronyms: Iterable[str] = (),
) -> list[Violation]:
    """`check_html` on an already analysed document (the message check reuses its walk)."""
    out = Collector()
    size = len(analysis.html.encode("utf-8"))
    if size >= MAX_HTML_BYTES:
        out.add("EM-15", f"HTML is {size / 1024:.0f} KB; Gmail clips messages over ~100 KB")
    root, page = analysis.root, analysis.page
    _check_document(root, out, subject=subject, lang=lang, rtl=rtl)
    if analysis.body is None:
        out.add("EM-1", "no <body>")
        return out.items
    allowed = ACRONYMS | {a.upper() for a in acronyms}
    for t in page.texts:
        _check_text(t, out, rtl=rtl, cjk=cjk, acronyms=allowed)
    _check_elements(page, out, rtl=rtl)
    _check_wrapper(root, page, out, rtl=rtl)
    _check_dark(root, page, out)
    return out.items


def _check_dark(root: Any, page: _Page, out: Collector) -> None:
    """EM-13 and LP-16 for the one `<style>` allowed: the dark scheme (see `dark.py`)."""
    styles = list(root.iter("style"))
    if not styles:
        return
    if len(styles) > 1:
        out.add("EM-13", f"{len(styles)} <style> elements: only one, the dark scheme, is allowed")
    el = styles[0]
    if el.getparent() is None or _tag(el.getparent()) != "head":
        out.add("EM-13", "the <style> element must be in <head> (Gmail drops it from <body>)")
    sheet = parse_dark_sheet(el.text or "")
    for problem in sheet.problems:
        out.add("EM-13", problem)
    for problem in sheet.contrast_problems():
        out.add("LP-16", problem)
    for x in page.elements:
        inline = page.styles[x].decl
        coloured = "color" in inline or "background-color" in inline or x.get("bgcolor")
        if coloured and not sheet.covers(set((x.get("class") or "").split())):
            out.add(
                "LP-16",
                f"{_where(x)} sets its colours inline but no dark-scheme class overrides "
                "both its text and background colour",
            )


def _check_document(
    root: Any, out: Collector, *, subject: str | None, lang: str, rtl: bool
) -> None:
    """Rules about the document as a whole: lang, dir, title, CSS and scripts."""
    html_lang = (root.get("lang") or "").strip()
    if not html_lang:
        out.add("EM-1", "<html> has no lang attribute")
    elif not _BCP47.match(html_lang):
        out.add("EM-1", f"<html lang={html_lang!r}> is not a valid BCP 47 tag")
    elif not (
        html_lang.lower() == lang.lower() or html_lang.lower().startswith(lang.lower() + "-")
    ):
        out.add("EM-1", f"<html lang={html_lang!r}> but the message language is {lang!r}")
    html_dir = (root.get("dir") or "").strip().lower()
    if rtl and html_dir != "rtl":
        out.add("EM-3", f'<html> needs dir="rtl" for {lang!r} (has {html_dir or "none"})')
    if not rtl and html_dir == "rtl":
        out.add("EM-3", f'<html dir="rtl"> on a left-to-right language ({lang!r})')

    title_el = root.find(".//title")
    title = " ".join((title_el.text_content() if title_el is not None else "").split())
    if not title:
        out.add("EM-4", "no <title>")
    elif subject is not None and title != " ".join(subject.split()):
        out.add("EM-4", f"<title> {excerpt(title)!r} differs from the Subject {excerpt(subject)!r}")

    charset_ok = False
    for meta in root.iter("meta"):
        charset = meta.get("charset")
        if charset is None and (meta.get("http-equiv") or "").lower() == "content-type":
            m = re.search(r"charset=([\w-]+)", meta.get("content") or "", re.IGNORECASE)
            charset = m.group(1) if m else None
        if charset is not None:
            if charset.strip().lower() in ("utf-8", "utf8"):
                charset_ok = True
            else:
                out.add("EM-14", f"<meta> declares charset {charset!r}, not UTF-8")
    if not charset_ok:
        out.add("EM-14", 'no <meta charset="utf-8">')

    for el in root.iter():
        tag = _tag(el)
        if not tag:
            continue
        if tag == "style":
            if "@font-face" in (el.text or "").lower():
                out.add("LP-5", "@font-face web font in a <style> element")
        elif tag == "link" and "stylesheet" in (el.get("rel") or "").lower().split():
            href = el.get("href") or ""
            out.add("EM-13", f"<link rel=stylesheet href={excerpt(href)!r}>: put all CSS inline")
            out.add("EM-14", f"external CSS {excerpt(href)!r}")
            if "font" in href.lower():
                out.add("LP-5", f"web font stylesheet {excerpt(href)!r}")
        elif tag == "script":
            out.add("EM-14", "a <script> element")
        elif tag in ("iframe", "object", "embed", "applet"):
            out.add("EM-14", f"<{tag}> cannot be read in email")
        for name, value in el.attrib.items():
            if name.lower().startswith("on"):
                out.add("EM-14", f"event handler {name}= on <{tag}>")
            elif name.lower() in ("href", "src") and value.strip().lower().startswith(
                "javascript:"
            ):
                out.add("EM-14", f"javascript: URL on <{tag}>")


def _check_text(
    t: _Text, out: Collector, *, rtl: bool, cjk: bool, acronyms: frozenset[str]
) -> None:
    s = t.style
    text = t.text.strip(_STRIP)
    where = _where(t.el, text)
    heading = s.heading
    in_strong = s.in_strong
    in_b = s.in_b

    if s.font_px < MIN_TEXT_PX - 0.005:
        out.add("LP-1", f"{where} is {s.font_px:.4g}px; every text must be ≥ 24px (18pt)")
        if not heading:
            out.add("LP-2", f"body text {where} is {s.font_px:.4g}px; must be ≥ 24px")

    fam = s.family
    if fam is None:
        out.add("LP-5", f"{where} has no font-family (browser default serif)")
    elif (
        not fam
        or fam[-1] != GENERIC_SANS
        or any(f not in ALLOWED_FAMILIES and f != GENERIC_SANS for f in fam)
        or not any(f in ALLOWED_FAMILIES for f in fam)
    ):
        out.add(
            "LP-5",
            f"{where} font-family is {', '.join(fam)!r}; use Arial, Helvetica, Verdana, sans-serif",
        )

    if heading:
        if not s.bold:
            out.add("LP-6", f"heading text {where} is not bold")
    elif in_b:
        out.add("LP-12", f"{where} uses <b>: emphasis is <strong>")
    elif not in_strong and s.weight != 400:
        kind = "bold" if s.bold else "light"
        out.add("LP-6", f"body text {where} is {kind} (font-weight {s.weight}); use normal")

    lh = s.line_height_ratio
    if lh < MIN_LINE_HEIGHT - 1e-6:
        out.add("LP-7", f"{where} line-height is {lh:.3g}; must be ≥ 1.5")

    align = s.align
    if align == "justify":
        out.add("LP-9", f"{where} is justified")
    elif not heading:
        ok = ("start", "right") if rtl else ("start", "left", "-webkit-left")
        if align not in ok and align not in ("inherit", "initial"):
            side = "right" if rtl else "left"
            out.add("LP-9", f"{where} is aligned {align}; text is flush {side}")

    if s.italic:
        out.add("LP-10", f"{where} is italic")

    if s.transform == "uppercase":
        out.add("LP-11", f"{where} has text-transform: uppercase")
    if s.small_caps:
        out.add("LP-11", f"{where} is in small caps")
    for m in _CAPS_WORD.finditer(text):
        word = m.group(0)
        if word not in acronyms and not _ROMAN.match(word):
            out.add("LP-11", f"all-caps word {word!r} in {where}")

    if s.underline and s.link is None:
        out.add("LP-12", f"{where} is underlined but not a link; underline is for links")
    if s.link is not None and not s.underline:
        out.add("EM-8", f"link text {where} is not underlined")

    if not s.in_li and _FAKE_BULLET.match(text):
        out.add("LP-14", f"{where} looks like a typed bullet; use a real <ul>/<ol>")

    if s.avail is None:
        out.add("LP-15", "no max-width constrains the text lines (≤ 640px at 24px)")
    else:
        measure = (CJK_MEASURE_EM if cjk else LATIN_MEASURE_EM) * s.font_px
        if s.avail > measure + 2:
            chars = s.avail / s.font_px if cjk else s.avail / (s.font_px * 0.5)
            out.add(
                "LP-15",
                f"{where} has lines {s.avail:.0f}px wide at {s.font_px:.4g}px "
                f"(~{chars:.0f} characters; max-width on <{s.width_el}> should be "
                f"≤ {measure:.0f}px)",
            )

    fg = blend(s.color, s.bg)
    ratio = contrast(fg, s.bg)
    if ratio < MIN_CONTRAST:
        out.add(
            "LP-16",
            f"{where} has contrast {ratio:.2f}:1 ({hex_of(fg)} on {hex_of(s.bg)}); needs ≥ 7:1",
        )
    if s.bg_image:
        out.add("LP-17", f"{where} is over a background image")

    if s.inset_l < MIN_PADDING_PX - 0.5 or s.inset_r < MIN_PADDING_PX - 0.5:
        out.add(
            "LP-18",
            f"{where} is {min(s.inset_l, s.inset_r):.0f}px from the edge; needs ≥ 24px padding",
        )

    # An isolated inserted value (between Unicode isolates: the renderer isolates every value
    # in a right-to-left script) is member data such as a name, whose language nobody knows;
    # WCAG 3.1.2 exempts proper names from language tagging. The rest of the text is checked.
    if s.lang and not text.isascii():
        expected = _LANG_SCRIPTS.get(s.lang.split("-")[0].lower(), frozenset())
        own = _outside_isolates(text)
        if own:
            foreign = _scripts(own) - expected
            if foreign:
                out.add(
                    "EM-2",
                    f"{where} is in {'/'.join(sorted(foreign))} script inside lang={s.lang!r}: "
                    "give the passage its own lang",
                )


def _check_elements(page: _Page, out: Collector, *, rtl: bool) -> None:
    last_heading = 0
    for el in page.elements:
        tag = _tag(el)
        s = page.styles[el]
        level = _HEADINGS.get(tag)
        if level:
            last_heading = _check_heading(el, level, last_heading, s, out, rtl=rtl)
        if tag == "p" or (tag == "div" and (el.text or "").strip(_STRIP)):
            _check_spacing(el, s, page, out)
        elif tag == "table":
            _check_table(el, page, out)
        elif tag == "img":
            _check_img(el, out)
        elif tag == "a" and el.get("href") is not None:
            _check_link(el, s, page, out)
        elif tag in ("ul", "ol", "li"):
            _check_list(el, s, out)
        elif tag == "svg" and any(_tag(x) == "text" for x in el.iter()):
            out.add("LP-17", "<svg> with text: text in images")
        for unknown in s.unknown_colors:
            out.add("LP-16", f"cannot read colour {unknown!r} on {_where(el)}")
        _check_layout(el, tag, s, out)


def _check_heading(el: Any, level: int, last: int, s: Style, out: Collector, *, rtl: bool) -> int:
    where = _where(el)
    if last == 0 and level != 1:
        out.add("LP-4", f"the first heading is <h{level}> {where}; start with <h1>")
    elif last and level > last + 1:
        out.add("LP-4", f"heading level skips from <h{last}> to <h{level}> at {where}")
    minimum = MIN_H1_PX if level == 1 else MIN_HEADING_PX
    if s.font_px < minimum:
        out.add("LP-3", f"{where} is {s.font_px:.4g}px; <h{level}> needs ≥ {minimum:.4g}px")
    if not s.bold:
        out.add("LP-3", f"{where} is not bold")
    ok = ("start", "right") if rtl else ("start", "left", "-webkit-left")
    if s.align not in ok:
        out.add(
            "LP-3", f"{where} is aligned {s.align}; headings are flush {'right' if rtl else 'left'}"
        )
    return level


def _next_element(el: Any) -> Any:
    nxt = el.getnext()
    while nxt is not None and not _tag(nxt):
        nxt = nxt.getnext()
    return nxt


def _check_spacing(el: Any, s: Style, page: _Page, out: Collector) -> None:
    nxt = _next_element(el)
    if nxt is None or _tag(nxt) not in _BLOCKS or nxt not in page.styles:
        return
    ns = page.styles[nxt]
    if ns.hidden:
        return
    gap = max(s.margin[2], ns.margin[0]) + s.padding[2] + ns.padding[0]
    if gap < s.font_px - 0.5:
        out.add(
            "LP-8",
            f"{_where(el)} is followed by {gap:.0f}px of space; paragraphs need ≥ 1em "
            f"({s.font_px:.4g}px)",
        )


def _check_table(el: Any, page: _Page, out: Collector) -> None:
    role = (el.get("role") or "").strip().lower()
    cells = [c for c in el.iter("th", "caption") if _owner_table(c) is el]
    if role in ("presentation", "none"):
        if cells:
            out.add("EM-5", "a role=presentation <table> has <th>/<caption>: data or layout?")
        for tr in el.iter("tr"):
            if _owner_table(tr) is not el:
                continue
            filled = [
                td
                for td in tr
                if _tag(td) in ("td", "th")
                and td.text_content().strip(_STRIP)
                and not (td in page.styles and page.styles[td].hidden)
            ]
            if len(filled) > 1:
                out.add(
                    "LP-13",
                    f"layout table row with {len(filled)} text columns ({_where(tr)}); "
                    "use a single column",
                )
                break
    elif not cells:
        out.add("EM-5", f'layout <table> without role="presentation" ({_where(el)})')


def _owner_table(el: Any) -> Any:
    return next(el.iterancestors("table"), None)


def _check_img(el: Any, out: Collector) -> None:
    src = (el.get("src") or "").strip()
    if el.get("alt") is None:
        out.add("EM-6", f'<img src={excerpt(src)!r}> has no alt (decorative images: alt="")')
    if src.lower().startswith(("http:", "https:", "//")):
        out.add("EM-14", f"remote image {excerpt(src)!r}: attach it (cid:) or drop it")


def _check_link(el: Any, s: Style, page: _Page, out: Collector) -> None:
    words = " ".join(el.text_content().split())
    alts = " ".join((img.get("alt") or "") for img in el.iter("img")).strip()
    label = (words or alts).strip()
    href = excerpt(el.get("href") or "")
    if not label:
        out.add("EM-7", f"link to {href!r} has no text")
        return
    bare = label.lower().strip(" .,:;!?¡¿()[]\"'«»“”")
    if bare in VAGUE_LINK_TEXTS:
        out.add("EM-7", f"link text {label!r} does not say where it goes ({href!r})")
    elif _URLISH.match(bare):
        out.add("EM-7", f"bare URL {excerpt(label)!r} as link text; name the destination")
    # EM-11: an inline link is as tall as its line box, as wide as its text.
    decl = s.decl
    height = max(s.font_px * s.line_height_ratio, s.font_px) + s.padding[0] + s.padding[2]
    h_tokens = decl.get("height")
    if h_tokens and len(h_tokens) == 1 and s.display not in ("inline", ""):
        px = length_px(h_tokens[0], s.font_px)
        height = px if px is not None else height
    width = len(label) * s.font_px * 0.5 + s.padding[1] + s.padding[3]
    if height < MIN_TARGET_PX or width < MIN_TARGET_PX:
        out.add(
            "EM-11",
            f"link {excerpt(label)!r} target is about {width:.0f}×{height:.0f}px; needs ≥ 24×24",
        )


def _check_list(el: Any, s: Style, out: Collector) -> None:
    tag = _tag(el)
    if tag == "li":
        parent = el.getparent()
        if parent is None or _tag(parent) not in ("ul", "ol", "menu"):
            out.add("LP-14", f"{_where(el)}: <li> outside a <ul>/<ol>")
    for prop in ("list-style", "list-style-type", "list-style-image"):
        tokens = s.decl.get(prop)
        if not tokens:
            continue
        value = text_of(tokens)
        if "url(" in value:
            out.add("LP-14", f"{_where(el)} uses an image bullet; bullets are text-sized")
        elif prop != "list-style-image" and "none" in value.split():
            out.add("LP-14", f"{_where(el)} hides its bullets/numbers (list-style: none)")


def _check_layout(el: Any, tag: str, s: Style, out: Collector) -> None:
    decl = s.decl
    if tag not in _REPLACED:
        for prop in ("height", "max-height"):
            tokens = decl.get(prop)
            if tokens and len(tokens) == 1:
                px = length_px(tokens[0], s.font_px)
                if px is not None and px > 0:
                    out.add(
                        "EM-10",
                        f"{_where(el)} has a fixed {prop} ({text_of(tokens)}): "
                        "text that grows with zoom/spacing is clipped",
                    )
        if text_of(decl.get("overflow", ())) == "hidden" and "height" in decl:
            out.add("EM-10", f"{_where(el)} hides overflow at a fixed height")
        flt = text_of(decl.get("float", ()))
        if flt in ("left", "right"):
            out.add("LP-13", f"{_where(el)} floats {flt}: use a single column")
    display = s.display
    if display in ("grid", "inline-grid"):
        out.add("LP-13", f"{_where(el)} is a grid: use a single column")
    elif display in ("flex", "inline-flex"):
        direction = text_of(decl.get("flex-direction", ()))
        if not direction.startswith("column"):
            out.add("LP-13", f"{_where(el)} lays out in a row (flex): use a single column")
    for prop in ("columns", "column-count", "column-width"):
        value = text_of(decl.get(prop, ()))
        if value and value not in ("auto", "1"):
            out.add("LP-13", f"{_where(el)} has {prop}: {value}: use a single column")
    if s.bg_image and tag != "body" and not (el.text_content() or "").strip(_STRIP):
        out.add("LP-17", f"{_where(el)} has a background image")
    for prop in ("background", "background-image"):
        value = text_of(decl.get(prop, ()))
        if re.search(r"url\(\s*['\"]?(https?:|//)", value):
            out.add("EM-14", f"remote background image on {_where(el)}")
    if tag in ("td", "table", "body") and (el.get("background") or "").lower().startswith(
        ("http:", "https:", "//")
    ):
        out.add("EM-14", f"remote background image on {_where(el)}")


def _check_wrapper(root: Any, page: _Page, out: Collector, *, rtl: bool) -> None:
    """EM-1/EM-3: a wrapper <div lang dir> around all content; LP-18 top and bottom padding."""
    if not page.texts:
        return
    common: list[Any] | None = None
    for t in page.texts:
        chain = [t.el, *t.el.iterancestors()]
        if common is None:
            common = chain
        else:
            ids = {id(x) for x in chain}
            common = [x for x in common if id(x) in ids]
    assert common is not None
    html_lang = (root.get("lang") or "").strip().lower()
    wrapper = next(
        (
            x
            for x in common
            if _tag(x) == "div" and (x.get("lang") or "").strip().lower() == html_lang
        ),
        None,
    )
    if wrapper is None:
        out.add("EM-1", f'no wrapper <div lang="{html_lang}"> around the whole content')
    elif rtl and (wrapper.get("dir") or "").strip().lower() != "rtl":
        out.add("EM-3", 'the wrapper <div> needs dir="rtl"')
    inner = common[0]
    s = page.styles.get(inner)
    if s is not None and (s.inset_t < MIN_PADDING_PX - 0.5 or s.inset_b < MIN_PADDING_PX - 0.5):
        out.add(
            "LP-18",
            f"content has {s.inset_t:.0f}px above and {s.inset_b:.0f}px below; needs ≥ 24px",
        )
