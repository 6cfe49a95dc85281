"""Inserted values keep their own direction and phone numbers stay on one line (EM-2, EM-3).

An Arabic reminder showed `1200 River Road, Portland, OR 97201` as `River Road, ..., 97201
1200`, and broke `1-800-555-0100` after `1-` at a line end. Values are isolated with Unicode
isolates (LRI/FSI ... PDI) in the text itself, in both parts: `<bdi>`, used before, is dropped
by Gmail, Outlook and Yahoo (caniemail), and the isolation with it. Printed numbers carry word
joiners after their hyphens instead of `white-space:nowrap` (dropped by Outlook for Windows
and Samsung Email). Checked two ways: the Unicode bidi algorithm run on each line of the HTML
text (python-bidi), and the visual positions Chromium draws.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest
from bidi import get_display
from lxml import html as lxml_html

from commhub.checks import check_message
from commhub.render import RenderResult
from commhub.render.bidi import FSI, LRI, PDI, WJ, inline_html, isolate, visible
from tests.a11y.harness import A11yBrowser, browser  # noqa: F401  (fixture)
from tests.test_render_support import TOPICS, member, parse_email, real_renderer

ADDRESS = "1200 River Road, Portland, OR 97201"
PHONE = "1-800-555-0100"
PRINTED_PHONE = PHONE.replace("-", "-" + WJ)
NAME = "Wei Chen"
DATE_AR = "الثلاثاء، 8 ديسمبر 2026"


def appointment(lang: str, **data: object) -> RenderResult:
    sample = {**TOPICS["appointment_reminder"].sample, **data}
    m = member(lang, given="Wei", family="Chen")
    return real_renderer().render_sync("appointment_reminder", m, sample, 3)


def decoded_parts(result: RenderResult) -> tuple[str, str]:
    plain, html = parse_email(result.message.raw).iter_parts()
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    return str(plain.get_content()), str(html.get_content())


def test_arabic_html_isolates_the_address_name_date_and_phone_numbers() -> None:
    result = appointment("ar")
    assert check_message(result.message.raw) == []
    _, html = decoded_parts(result)
    assert "<bdi" not in html
    for value in (ADDRESS, NAME, "Riverside Family Clinic"):
        assert f"{LRI}{value}{PDI}" in html
    assert f"{FSI}{DATE_AR}{PDI}" in html
    # Every printed phone number (the call line's link and each LA-3 footer line) is one
    # left-to-right isolate that cannot break at its hyphens.
    doc = lxml_html.document_fromstring(html)
    footer_lines = doc.xpath("//p[@lang]")
    # The call line, CP-3's change-or-stop line, the LA-3 lines.
    assert html.count(f"{LRI}{PRINTED_PHONE}{PDI}") == 2 + len(footer_lines)
    assert PHONE not in html  # no printed number left without its word joiners
    link = doc.xpath("//a[starts-with(@href, 'tel:')]")[0]
    assert link.text_content() == f"{LRI}{PRINTED_PHONE}{PDI}" and link.get("dir") == "ltr"


def test_arabic_text_part_isolates_inserted_values_and_subject_has_none() -> None:
    result = appointment("ar")
    plain, _ = decoded_parts(result)
    assert f"{LRI}{ADDRESS}{PDI}" in plain and f"{LRI}{NAME}{PDI}" in plain
    assert plain.replace("\r\n", "\n") == result.text
    assert not any(c in result.message.subject for c in LRI + FSI + PDI)


def test_english_is_unchanged_but_an_arabic_value_is_isolated() -> None:
    en = appointment("en")
    plain, html = decoded_parts(en)
    assert not any(c in plain for c in LRI + FSI + PDI)
    assert f"</strong> {ADDRESS}</li>" in html  # a Latin value in an LTR message: as is
    assert f"{LRI}{PRINTED_PHONE}{PDI}" in html
    arabic_place = "عيادة النهر"
    mixed = appointment("en", location_name=arabic_place)
    assert f"{FSI}{arabic_place}{PDI}" in (mixed.html or "")
    assert f"{FSI}{arabic_place}{PDI}" in mixed.text


def test_inline_html_escapes_and_always_balances_isolates() -> None:
    assert str(inline_html("a < b & c")) == "a &lt; b &amp; c"
    assert str(inline_html(f"x {LRI}<i>{PDI} y")) == f"x {LRI}&lt;i&gt;{PDI} y"
    # Stray isolates (say, from a translation) are dropped or closed.
    assert str(inline_html(f"{PDI}a{FSI}b")) == f"a{FSI}b{PDI}"
    # An isolated phone value stays one isolate, not two nested ones.
    assert str(inline_html(f"call {LRI}{PHONE}{PDI}.")) == f"call {LRI}{PRINTED_PHONE}{PDI}."
    assert str(inline_html(f"call {PHONE}.")) == f"call {LRI}{PRINTED_PHONE}{PDI}."
    assert WJ not in str(inline_html("on 2026-12-08 at 10:30"))
    assert visible(str(inline_html(f"call {PHONE}."))) == f"call {PHONE}."


def test_member_data_cannot_smuggle_isolates_or_markup() -> None:
    assert isolate(f"A{PDI}{PDI}b", rtl_message=True) == f"{LRI}Ab{PDI}"
    assert isolate("", rtl_message=True) == ""
    result = appointment("ar", location_name=f"Clinic{PDI}</p><b>x")
    _, html = decoded_parts(result)
    doc = lxml_html.document_fromstring(html)
    assert not doc.xpath("//b")
    assert f"{LRI}Clinic&lt;/p&gt;&lt;b&gt;x{PDI}" in html


def _lines(html: str) -> list[str]:
    """The logical text of each line of the HTML's blocks (a <br> ends a line)."""
    doc = lxml_html.document_fromstring(html)
    for br in doc.iter("br"):
        br.tail = "\n" + (br.tail or "")
    out: list[str] = []
    for block in doc.xpath("//body//*[self::p or self::li or self::h1]"):
        out.extend(line for line in block.text_content().split("\n") if line.strip())
    return out


def _visual(line: str) -> str:
    """The line as the Unicode bidi algorithm lays it out left to right, in an RTL paragraph,
    without the invisible isolates and joiners."""
    return visible(get_display(line, base_dir="R"))


def test_isolates_alone_keep_numbers_names_and_dates_in_order_in_arabic() -> None:
    """Done-when of issue 17: read with the Unicode isolates only (no <bdi> anywhere), each
    line of an Arabic message shows the address, name and every phone number as written, and
    the date reads right to left (day, then year further left)."""
    html = appointment("ar").html or ""
    assert "<bdi" not in html
    lines = [_visual(line) for line in _lines(html)]
    shown = "\n".join(lines)
    assert ADDRESS in shown and NAME in shown and "Riverside Family Clinic" in shown
    footer_phones = sum(line.count(PHONE) for line in lines)
    assert footer_phones == html.count(f"{LRI}{PRINTED_PHONE}{PDI}") >= 2
    date_lines = [line for line in lines if "2026" in line]
    assert date_lines
    for line in date_lines:  # visually: 2026, the month (its letters reversed), then 8
        assert re.search(r"2026 \S+ 8(?!\d)", line), line
    assert all("10:30" in line for line in lines if "10:3" in line)
    # Without the isolates the same algorithm breaks the address: the check can fail.
    bare = [_visual(visible(line)) for line in _lines(html)]
    assert not any(ADDRESS in line for line in bare)


def _reads_before(first: dict[str, Any], then: dict[str, Any], *, rtl: bool) -> bool:
    """Whether a reader meets `first` before `then`: on an earlier line, or on the same line
    further left (`rtl`: further right). Lines are 40 px apart and more at these sizes."""
    if abs(first["top"] - then["top"]) > 8:
        return bool(first["top"] < then["top"])
    return bool(first["left"] > then["left"] if rtl else first["left"] < then["left"])


@pytest.mark.real
@pytest.mark.parametrize("width", [320, 800])
async def test_chromium_draws_values_in_order_and_each_number_on_one_line(
    browser: A11yBrowser,  # noqa: F811
    width: int,
) -> None:
    html = appointment("ar").html or ""

    async def measure(page: Any) -> dict[str, Any]:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.set_content(html, wait_until="load")
        found: dict[str, Any] = await page.evaluate(
            """([pieces, phone]) => {
                const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
                const nodes = [];
                while (walker.nextNode()) nodes.push(walker.currentNode);
                const box = (node, start, len) => {
                    const r = document.createRange();
                    r.setStart(node, start); r.setEnd(node, start + len);
                    return [...r.getClientRects()];
                };
                // Left edge and line of each piece, per value (pieces in logical order).
                const where = pieces.map(group => {
                    const node = nodes.find(n => group.every(p => n.data.includes(p)));
                    return group.map(p => {
                        const rs = box(node, node.data.indexOf(p), p.length);
                        return {left: rs[0].left, top: Math.round(rs[0].top)};
                    });
                });
                const phones = [];
                for (const n of nodes) {
                    let i = n.data.indexOf(phone);
                    while (i >= 0) {
                        const rs = box(n, i, phone.length);
                        phones.push({
                            lines: new Set(rs.map(r => Math.round(r.top))).size,
                            first: box(n, i, 1)[0].left,
                            last: box(n, i + phone.length - 1, 1)[0].left,
                        });
                        i = n.data.indexOf(phone, i + 1);
                    }
                }
                return {where, phones};
            }""",
            [[["1200", "River", "97201"], ["Wei", "Chen"], ["8 ", "2026"]], PRINTED_PHONE],
        )
        return found

    found = await browser.run(measure)
    (street, road, zip_code), (given, family), (day, year) = found["where"]
    # Left to right as written: 1200, then River Road, ..., then 97201. The address wraps
    # (at both widths): a later piece is then on a later line, never on an earlier one.
    assert _reads_before(street, road, rtl=False)
    assert _reads_before(road, zip_code, rtl=False)
    assert _reads_before(given, family, rtl=False)
    # The Arabic date reads right to left: the day of the month before the year.
    assert _reads_before(day, year, rtl=True)
    assert len(found["phones"]) > 1
    for phone in found["phones"]:
        assert phone["lines"] == 1 and phone["first"] < phone["last"]


def test_an_english_message_to_a_member_named_in_arabic_script_meets_every_rule() -> None:
    m = member("en", given="محمد", family="حداد")
    sample = TOPICS["appointment_reminder"].sample
    result = real_renderer().render_sync("appointment_reminder", m, sample, 3)
    _, html = decoded_parts(result)
    assert f"{FSI}محمد حداد{PDI}" in html
    assert check_message(result.message.raw) == []
