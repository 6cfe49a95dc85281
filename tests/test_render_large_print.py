"""Large-print email for every topic and language: the produced MIME message, checked.

Languages: English, whatever real catalogs exist under templates/i18n (coverage grows as they
land), and made-up catalogs for the scripts that matter (RTL, CJK, Cyrillic, accents).
"""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from lxml import html as lxml_html

from commhub.checks import check_message
from commhub.content.i18n import Catalogs
from commhub.domain import Format
from commhub.errors import PolicyHold, RenderError
from commhub.languages import LANGUAGES
from commhub.render import Renderer, RenderResult
from commhub.render.bidi import visible
from tests.test_render_support import (
    FAKE_LANGS,
    TOPICS,
    fake_catalog,
    fake_renderer,
    member,
    parse_email,
    real_renderer,
    settings,
)

REAL_RENDERER = real_renderer()
REAL = REAL_RENDERER.catalogs
FAKE_RENDERER = fake_renderer()


def parts_of(result: RenderResult) -> tuple[EmailMessage, str, str]:
    msg = parse_email(result.message.raw)
    plain, html = list(msg.iter_parts())
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    return msg, str(plain.get_content()), str(html.get_content())


def render(renderer: Renderer, topic: str, lang: str, **data: object) -> RenderResult:
    sample = {**TOPICS[topic].sample, **data}
    return renderer.render_sync(topic, member(lang), sample, delivery_id=11)


CASES = [(REAL_RENDERER, t, lang) for t in TOPICS for lang in REAL.languages()] + [
    (FAKE_RENDERER, t, lang) for t in TOPICS for lang in FAKE_LANGS
]


@pytest.mark.parametrize(
    ("renderer", "topic", "lang"), CASES, ids=[f"{t}-{lang}" for _, t, lang in CASES]
)
def test_large_print_message_meets_every_static_rule(
    renderer: Renderer, topic: str, lang: str
) -> None:
    result = render(renderer, topic, lang)
    msg, plain, html = parts_of(result)
    assert check_message(result.message.raw) == []
    # EM-12: text first, html second, in one multipart/alternative.
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    # EM-1/EM-3/EM-4: lang and dir on <html> and the wrapper; title is the subject.
    doc = lxml_html.document_fromstring(html)
    language = LANGUAGES[result.lang]
    direction = "rtl" if language.rtl else "ltr"
    wrapper = doc.body.find("div")
    assert doc.get("lang") == wrapper.get("lang") == result.lang
    assert doc.get("dir") == wrapper.get("dir") == direction
    assert doc.findtext(".//title") == msg["Subject"] == result.message.subject
    assert msg["Content-Language"] == result.lang
    # LP-1: no font size under 24px anywhere; LP-5 one font stack, no web fonts.
    sizes = [float(s) for s in re.findall(r"font-size:\s*([\d.]+)px", html)]
    assert sizes and min(sizes) >= 24
    assert "@font-face" not in html and "<script" not in html
    # EM-13: one <style>, in <head>, for the dark scheme only (checked by check_message).
    assert html.count("<style") == 1 and doc.find("head/style") is not None
    # The phone line with TTY and hours, in both parts (EM-12); a tel: link with the number.
    line = renderer.settings.plan.phones[TOPICS[topic].phone_line]
    assert line.number in plain and "711" in plain
    link = doc.xpath("//a[starts-with(@href, 'tel:')]")[0]
    assert visible(link.text_content()) == line.number
    assert link.get("href") == "tel:+1" + line.number.replace("-", "")[1:]
    # Every value of the sample data shows in both parts (full address included).
    for value in TOPICS[topic].sample.values():
        if isinstance(value, str) and not value[:1].isdigit():
            assert value in plain and value in doc.text_content()
    assert len(html.encode()) < 100_000  # EM-15
    assert result.message.recipients == ("ana@example.org",)
    assert result.message.format is Format.LARGE_PRINT_EMAIL


def test_facts_are_a_real_list_with_strong_labels() -> None:
    result = render(REAL_RENDERER, "appointment_reminder", "en")
    doc = lxml_html.document_fromstring(result.html or "")
    items = doc.xpath("//ul/li")
    assert [li.findtext("strong") for li in items] == ["Date:", "Time:", "Place:", "Address:"]
    assert "1200 River Road, Portland, OR 97201" in items[3].text_content()
    assert "Tuesday, December 8, 2026" in items[0].text_content()
    assert "10:30 AM" in items[1].text_content()


def test_member_data_is_escaped_in_html_and_kept_in_text() -> None:
    evil = '<script>alert("x")</script> & <b>Bold</b>'
    result = render(REAL_RENDERER, "refill_reminder", "en", pharmacy_name=evil)
    _, plain, html = parts_of(result)
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Bold&lt;/b&gt;" in html
    assert evil in plain
    doc = lxml_html.document_fromstring(html)
    assert not doc.xpath("//script") and not doc.xpath("//b")


def test_member_name_is_escaped_and_written_in_the_language_order() -> None:
    m = member("en", given="<i>Ana</i>", family="O'Neil & Co")
    result = REAL_RENDERER.render_sync("refill_reminder", m, TOPICS["refill_reminder"].sample, 1)
    assert "&lt;i&gt;Ana&lt;/i&gt; O&#39;Neil &amp; Co" in (result.html or "")
    vi = FAKE_RENDERER.render_sync(
        "refill_reminder",
        member("vi", given="Linh", family="Nguyễn"),
        {**TOPICS["refill_reminder"].sample},
        1,
    )
    assert "Nguyễn Linh" in vi.text


def test_arabic_is_right_to_left_everywhere() -> None:
    result = render(FAKE_RENDERER, "coverage_change", "ar")
    _, _, html = parts_of(result)
    doc = lxml_html.document_fromstring(html)
    assert doc.get("dir") == "rtl" and doc.body.find("div").get("dir") == "rtl"
    for el in doc.xpath("//h1 | //p[not(@lang)] | //ul | //li"):
        style = el.get("style") or ""
        if "text-align" in style:
            assert "text-align:right" in style, el.tag
    assert "padding-right:1.25em" in (doc.xpath("//ul")[0].get("style") or "")
    # Footer lines in left-to-right languages carry their own lang and dir (EM-2).
    footer = doc.xpath("//p[@lang]")
    assert {p.get("lang") for p in footer} >= {"ar", "en", "es", "ru"}
    for p in footer:
        rtl = LANGUAGES[p.get("lang")].rtl
        assert p.get("dir") == ("rtl" if rtl else "ltr")
        assert "text-align:start" in p.get("style")  # start follows the line's own dir


def test_cjk_gets_a_narrower_column() -> None:
    zh = render(FAKE_RENDERER, "refill_reminder", "zh-Hans").html or ""
    en = render(REAL_RENDERER, "refill_reminder", "en").html or ""
    assert "max-width:560px" in zh and "max-width:640px" in en


def test_footer_has_the_la3_line_of_each_reviewed_language_in_its_own_language() -> None:
    result = render(FAKE_RENDERER, "screening_reminder", "es")
    doc = lxml_html.document_fromstring(result.html or "")
    langs = [p.get("lang") for p in doc.xpath("//p[@lang]")]
    # The member's language first, English next, then the configured list (reviewed only).
    assert langs[:2] == ["es", "en"]
    assert set(langs) == {"es", "en", "vi", "ar", "zh-Hans", "ru", "ja"}
    assert "interpreter" in result.text


def test_fallback_to_english_with_a_tagline_in_the_members_language() -> None:
    # Somali: only the language-access strings are reviewed, the topic is not.
    from babel.messages.catalog import Catalog

    from commhub.content import strings

    so = Catalog(locale="so")
    so.add(strings.FALLBACK_TAGLINE, "Fariintan waa Ingiriis. Caawimaad %(language)s: %(phone)s.")
    so.add(strings.LANGUAGE_NAME, "Soomaali")
    renderer = Renderer(settings(), TOPICS, Catalogs({"so": so}))
    result = renderer.render_sync(
        "refill_reminder", member("so"), TOPICS["refill_reminder"].sample, 5
    )
    assert result.fallback and result.lang == "en" and not result.machine
    doc = lxml_html.document_fromstring(result.html or "")
    assert doc.get("lang") == "en"
    tagline = doc.xpath("//p[@lang='so']")[0]
    assert (
        visible(tagline.text_content())
        == "Fariintan waa Ingiriis. Caawimaad Soomaali: 1-800-555-0100."
    )
    assert "Fariintan waa Ingiriis" in result.text
    assert any("fallback" in n for n in result.notes)
    assert check_message(result.message.raw) == []


def test_block_policy_holds_and_machine_policy_adds_the_notice() -> None:
    draft = Catalogs({"vi": fake_catalog("vi", fuzzy=True)})
    blocked = Renderer(settings(policy="block"), TOPICS, draft)
    with pytest.raises(PolicyHold) as hold:
        blocked.render_sync("refill_reminder", member("vi"), TOPICS["refill_reminder"].sample, 1)
    assert "vi" in hold.value.reason
    machine = Renderer(settings(policy="machine_with_notice"), TOPICS, draft)
    result = machine.render_sync(
        "refill_reminder", member("vi"), TOPICS["refill_reminder"].sample, 1
    )
    assert result.machine and result.lang == "vi"
    doc = lxml_html.document_fromstring(result.html or "")
    notice = doc.xpath("//p[@lang='vi']")[0]
    assert "1-800-555-0100" in visible(notice.text_content())
    assert "computer" in notice.text_content()


def test_bad_data_and_unknown_template_are_render_errors() -> None:
    m = member("en")
    with pytest.raises(RenderError, match="refill_date"):
        REAL_RENDERER.render_sync("refill_reminder", m, {"pharmacy_name": "x"}, 1)
    with pytest.raises(RenderError, match="refills_left"):
        REAL_RENDERER.render_sync(
            "refill_reminder", m, {**TOPICS["refill_reminder"].sample, "refills_left": "two"}, 1
        )
    with pytest.raises(RenderError, match="unknown template"):
        REAL_RENDERER.render_sync("no_such_topic", m, {}, 1)


def test_a_value_a_string_needs_but_lacks_is_a_render_error_naming_the_string() -> None:
    t = TOPICS["refill_reminder"]
    prepared = REAL_RENDERER._prepare(t, REAL_RENDERER.plan(t, "en"), "print", False)
    values = {k: "x" for k in t.variables}
    counts = {"refills_left": 2}
    assert prepared.fill("Ana", values, counts).paragraphs  # every value given: fills
    without = {k: v for k, v in values.items() if k != "refill_date"}
    with pytest.raises(RenderError, match=r"cannot fill a paragraph: KeyError\('refill_date'\)"):
        prepared.fill("Ana", without, counts)


def test_message_id_is_stable_for_a_delivery() -> None:
    a = render(REAL_RENDERER, "refill_reminder", "en").message
    b = render(REAL_RENDERER, "refill_reminder", "en").message
    assert a.message_id == b.message_id == "<delivery-11@commhub.example.org>"
    assert parse_email(a.raw)["Message-ID"] == a.message_id
    # A campaign delivery's id carries the campaign: unique across databases too.
    sample = TOPICS["refill_reminder"].sample
    c = REAL_RENDERER.render_sync("refill_reminder", member("en"), sample, 11, "cmp_0a1b")
    assert c.message.message_id == "<delivery-11.cmp_0a1b@commhub.example.org>"
    assert parse_email(c.message.raw)["Message-ID"] == c.message.message_id


def test_head_and_tail_sections_make_the_whole_document() -> None:
    result = render(FAKE_RENDERER, "refill_reminder", "ar")
    t = TOPICS["refill_reminder"]
    plan = FAKE_RENDERER.plan(t, "ar")
    values, _ = t.parse_data(t.sample)
    prepared = FAKE_RENDERER._prepare(t, plan, "print", False)
    parts = FAKE_RENDERER._fill(prepared, member("ar"), values, "print")
    head = FAKE_RENDERER.layout.html(parts, "head")
    tail = FAKE_RENDERER.layout.html(parts, "tail")
    assert head.endswith("\n") and head + tail == FAKE_RENDERER.layout.html(parts)
    assert result.html == head + tail


@pytest.mark.parametrize(("lang", "outer"), [("en", 688), ("zh-Hans", 608), ("ar", 688)])
def test_outlook_for_windows_gets_a_width_attributed_single_column(lang: str, outer: int) -> None:
    """Word ignores max-width, margin:auto and div padding: a table only it reads (mso
    conditional comments) holds the column's width, centring and 24px padding (issue 17)."""
    html = render(REAL_RENDERER, "appointment_reminder", lang).html or ""
    doc = lxml_html.document_fromstring(html)
    comments = [c.text for c in doc.iter(lxml_html.etree.Comment)]
    opening = [c for c in comments if c.startswith("[if mso]><table")]
    assert len(opening) == 1 and comments.count("[if mso]></td></tr></table><![endif]") == 1
    table = lxml_html.fragment_fromstring(opening[0].removeprefix("[if mso]>"), create_parent=True)
    t, td = table.find("table"), table.find(".//td")
    assert (t.get("role"), t.get("width"), t.get("align")) == ("presentation", str(outer), "center")
    style = td.get("style")
    assert "padding:24px;" in style and "font-size:26.67px;" in style
    assert "line-height:1.5;" in style and "margin" not in style
    wrapper = doc.body.find("div")
    assert f"max-width:{outer - 48}px;" in wrapper.get("style")
