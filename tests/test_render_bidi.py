"""Inserted values keep their own direction and phone numbers stay on one line (EM-2, EM-3).

An Arabic reminder showed `1200 River Road, Portland, OR 97201` as `River Road, ..., 97201
1200`, and broke `1-800-555-0100` after `1-` at a line end. Values are now isolated (`<bdi>` in
the HTML, Unicode isolates in the text part) and printed numbers are `white-space:nowrap`.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from lxml import html as lxml_html

from commhub.checks import check_message
from commhub.render import RenderResult
from commhub.render.bidi import FSI, LRI, PDI, inline_html, isolate
from tests.a11y.harness import A11yBrowser, browser  # noqa: F401  (fixture)
from tests.test_render_support import TOPICS, member, parse_email, real_renderer

ADDRESS = "1200 River Road, Portland, OR 97201"
PHONE = "1-800-555-0100"


def appointment(lang: str, **data: object) -> RenderResult:
    sample = {**TOPICS["appointment_reminder"].sample, **data}
    m = member(lang, given="Wei", family="Chen")
    return real_renderer().render_sync("appointment_reminder", m, sample, 3)


def decoded_parts(result: RenderResult) -> tuple[str, str]:
    plain, html = parse_email(result.message.raw).iter_parts()
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    return str(plain.get_content()), str(html.get_content())


def test_arabic_html_isolates_the_address_name_and_phone_numbers() -> None:
    result = appointment("ar")
    assert check_message(result.message.raw) == []
    _, html = decoded_parts(result)
    doc = lxml_html.document_fromstring(html)
    ltr = {b.text_content() for b in doc.xpath("//bdi[@dir='ltr']")}
    assert {ADDRESS, "Wei Chen", "Riverside Family Clinic", PHONE} <= ltr
    # A value in Arabic script gets a first-strong bdi (the date).
    assert any("2026" in b.text_content() for b in doc.xpath("//bdi[not(@dir)]"))
    # Every printed phone number (the call line's link and each LA-3 footer line) is one
    # unbreakable left-to-right run.
    phones = [
        el
        for el in doc.xpath("//bdi | //a[starts-with(@href, 'tel:')]")
        if el.text_content() == PHONE
    ]
    footer_lines = doc.xpath("//p[@lang]")
    assert len(phones) == 2 + len(footer_lines)  # the call line, CP-3's line, LA-3 lines
    for el in phones:
        assert el.get("dir") == "ltr" and "white-space:nowrap" in el.get("style")


def test_arabic_text_part_isolates_inserted_values_and_subject_has_none() -> None:
    result = appointment("ar")
    plain, _ = decoded_parts(result)
    assert f"{LRI}{ADDRESS}{PDI}" in plain and f"{LRI}Wei Chen{PDI}" in plain
    assert plain.replace("\r\n", "\n") == result.text
    assert not any(c in result.message.subject for c in LRI + FSI + PDI)


def test_english_is_unchanged_but_an_arabic_value_is_isolated() -> None:
    en = appointment("en")
    plain, html = decoded_parts(en)
    assert not any(c in plain for c in LRI + FSI + PDI)
    assert f"</strong> {ADDRESS}</li>" in html  # a Latin value in an LTR message: as is
    assert f'<bdi dir="ltr" style="white-space:nowrap;">{PHONE}</bdi>' in html
    arabic_place = "عيادة النهر"
    mixed = appointment("en", location_name=arabic_place)
    assert f"<bdi>{arabic_place}</bdi>" in (mixed.html or "")
    assert f"{FSI}{arabic_place}{PDI}" in mixed.text


def test_inline_html_escapes_and_always_balances_bdi() -> None:
    assert str(inline_html("a < b & c")) == "a &lt; b &amp; c"
    assert str(inline_html(f"x {LRI}<i>{PDI} y")) == 'x <bdi dir="ltr">&lt;i&gt;</bdi> y'
    # Stray isolates (say, from a translation) never leave an unbalanced tag.
    assert str(inline_html(f"{PDI}a{FSI}b")) == "a<bdi>b</bdi>"
    # An isolated phone value becomes one nowrap bdi, not two nested ones.
    assert str(inline_html(f"call {LRI}{PHONE}{PDI}.")) == (
        f'call <bdi dir="ltr" style="white-space:nowrap;">{PHONE}</bdi>.'
    )
    assert "nowrap" not in str(inline_html("on 2026-12-08 at 10:30"))


def test_member_data_cannot_smuggle_isolates() -> None:
    assert isolate(f"A{PDI}{PDI}b", rtl_message=True) == f"{LRI}Ab{PDI}"
    assert isolate("", rtl_message=True) == ""
    result = appointment("ar", location_name=f"Clinic{PDI}</bdi><b>x")
    _, html = decoded_parts(result)
    doc = lxml_html.document_fromstring(html)
    assert not doc.xpath("//b")
    assert "Clinic</bdi><b>x" in {b.text_content() for b in doc.xpath("//bdi")}


@pytest.mark.real
@pytest.mark.parametrize("width", [320, 800])
async def test_chromium_shows_the_address_in_order_and_the_number_on_one_line(
    browser: A11yBrowser,  # noqa: F811
    width: int,
) -> None:
    html = appointment("ar").html or ""

    async def measure(page: Any) -> dict[str, Any]:
        await page.set_viewport_size({"width": width, "height": 900})
        await page.set_content(html, wait_until="load")
        found: dict[str, Any] = await page.evaluate(
            """([address, phone]) => {
                const box = (node, start, len) => {
                    const r = document.createRange();
                    r.setStart(node, start); r.setEnd(node, start + len);
                    return r.getBoundingClientRect();
                };
                const el = [...document.querySelectorAll('bdi')]
                    .find(b => b.textContent === address);
                const text = el.firstChild;
                const phones = [...document.querySelectorAll('bdi, a')]
                    .filter(b => b.textContent === phone);
                return {
                    street: box(text, 0, 4).left,
                    road: box(text, 5, 5).left,
                    zip: box(text, address.length - 5, 5).left,
                    phones: phones.length,
                    lines: phones.map(b => b.getClientRects().length),
                };
            }""",
            [ADDRESS, PHONE],
        )
        return found

    found = await browser.run(measure)
    # Left to right as written: 1200, then River Road, ..., then 97201 (when on one line).
    assert found["street"] < found["road"]
    if width == 800:
        assert found["road"] < found["zip"]
    assert found["phones"] > 1 and set(found["lines"]) == {1}


def test_an_english_message_to_a_member_named_in_arabic_script_meets_every_rule() -> None:
    m = member("en", given="محمد", family="حداد")
    sample = TOPICS["appointment_reminder"].sample
    result = real_renderer().render_sync("appointment_reminder", m, sample, 3)
    _, html = decoded_parts(result)
    assert "<bdi>محمد حداد</bdi>" in html
    assert check_message(result.message.raw) == []
