"""Static large-print checks (LP-1…18, EM-*) on a compliant sample and one-fault variants."""

from __future__ import annotations

from typing import Any

import pytest

from commhub.checks import Violation, check_html, css, dark
from tests.a11y.samples import (
    ARABIC_HTML,
    ARABIC_SUBJECT,
    CHINESE_HTML,
    CHINESE_SUBJECT,
    GOOD_HTML,
    SUBJECT,
    bad,
)


def rules(html: str, **kw: object) -> set[str]:
    args: dict[str, object] = {"subject": SUBJECT, "lang": "en", "rtl": False, "cjk": False}
    args.update(kw)
    return {v.rule for v in check_html(html, **args)}  # type: ignore[arg-type]


def test_compliant_sample_passes_every_static_check() -> None:
    assert check_html(GOOD_HTML, subject=SUBJECT, lang="en", rtl=False, cjk=False) == []


def test_rtl_sample_passes_and_cjk_sample_passes_with_its_wider_measure() -> None:
    assert check_html(ARABIC_HTML, subject=ARABIC_SUBJECT, lang="ar", rtl=True, cjk=False) == []
    assert (
        check_html(CHINESE_HTML, subject=CHINESE_SUBJECT, lang="zh-Hans", rtl=False, cjk=True) == []
    )


# (rule, fragment of GOOD_HTML, replacement): each replacement breaks the named rule.
BODY_P = '<p style="margin: 0 0 1em">Please'
CASES: list[tuple[str, str, str]] = [
    ("LP-1", "font-size: 26.67px", "font-size: 16px"),
    ("LP-1", "Sample Health Plan, PO Box", "<small>Sample Health Plan</small>, PO Box"),
    ("LP-1", "font-size: 26.67px", "font-size: 12pt"),
    ("LP-2", "font-size: 26.67px", "font-size: 0.8em"),
    ("LP-3", "font-size: 32px", "font-size: 26px"),
    ("LP-3", "font-size: 28px; font-weight: bold", "font-size: 28px; font-weight: normal"),
    ("LP-3", "margin: 0 0 24px; text-align: left", "margin: 0 0 24px; text-align: center"),
    ("LP-4", '<h2 style="', '<h3 style="'),
    ("LP-4", '<h1 style="', '<h2 style="'),
    (
        "LP-5",
        f"{'font-family: Arial, Helvetica, Verdana, sans-serif'}; font-size: 26.67px",
        "font-family: Georgia, serif; font-size: 26.67px",
    ),
    ("LP-5", "<title>", "<style>@font-face { font-family: X; src: url(x.woff) }</style><title>"),
    ("LP-6", "line-height: 1.5; font-weight: normal", "line-height: 1.5; font-weight: bold"),
    ("LP-6", "line-height: 1.5; font-weight: normal", "line-height: 1.5; font-weight: 300"),
    ("LP-7", "line-height: 1.5; font-weight: normal", "line-height: 1.2; font-weight: normal"),
    ("LP-7", "line-height: 1.5; font-weight: normal", "line-height: 30px; font-weight: normal"),
    ("LP-8", BODY_P, '<p style="margin: 0 0 4px">Please'),
    ("LP-9", "padding: 24px; text-align: left", "padding: 24px; text-align: justify"),
    ("LP-9", "padding: 24px; text-align: left", "padding: 24px; text-align: center"),
    ("LP-10", BODY_P, '<p style="margin: 0 0 1em; font-style: italic">Please'),
    ("LP-10", "<strong>member card</strong>", "<em>member card</em>"),
    ("LP-10", "<strong>member card</strong>", "<i>member card</i>"),
    ("LP-11", "Please come", "PLEASE come"),
    ("LP-11", BODY_P, '<p style="margin: 0 0 1em; text-transform: uppercase">Please'),
    ("LP-11", BODY_P, '<p style="margin: 0 0 1em; font-variant: small-caps">Please'),
    ("LP-12", "<strong>member card</strong>", "<u>member card</u>"),
    ("LP-12", "<strong>member card</strong>", "<b>member card</b>"),
    ("LP-13", '<tr><td style="padding: 0; ', '<tr><td>Box</td><td style="padding: 0; '),
    ("LP-13", BODY_P, '<p style="margin: 0 0 1em; float: left">Please'),
    (
        "LP-13",
        "padding: 24px; text-align: left",
        "padding: 24px; text-align: left; column-count: 2",
    ),
    ("LP-14", BODY_P, '<p style="margin: 0 0 1em">• Please'),
    (
        "LP-14",
        '<ul style="margin: 0 0 1em; padding-left: 1.5em">',
        '<ul style="margin: 0 0 1em; padding-left: 1.5em; list-style: none">',
    ),
    ("LP-15", "max-width: 640px", "max-width: 900px"),
    ("LP-15", "max-width: 640px", "margin-top: 0"),
    ("LP-16", "color: #000000", "color: #777777"),
    ("LP-16", "color: #000000", "color: rgba(0, 0, 0, 0.5)"),
    (
        "LP-16",
        'color: #0645ad; text-decoration: underline">1-800',
        'color: #3b82f6; text-decoration: underline">1-800',
    ),
    ("LP-17", "background-color: #ffffff; max-width", "background: url(cid:bg) #fff; max-width"),
    (
        "LP-17",
        "</div>\n</body>",
        '<svg role="img" aria-label="Call"><text x="0" y="20">Call</text></svg></div>\n</body>',
    ),
    ("LP-18", "padding: 24px;", "padding: 8px;"),
    ("LP-18", "padding: 24px;", "padding: 0 24px;"),
    ("EM-1", '<html lang="en" dir="ltr">', "<html>"),
    ("EM-1", '<html lang="en" dir="ltr">', '<html lang="english" dir="ltr">'),
    ("EM-1", '<div lang="en" dir="ltr"', '<div dir="ltr"'),
    ("EM-2", "Where</h2>", "Где</h2>"),
    ("EM-2", "Where</h2>", "\u2068Where\u2069 أين</h2>"),  # after the isolated value
    ("EM-2", "Where</h2>", "\u2068Where\u2069 أين \u2066Wei\u2069</h2>"),  # between two
    ("EM-2", "Where</h2>", "<bdi>محمد</bdi></h2>"),  # <bdi> isolates nothing in most clients
    ("EM-3", '<html lang="en" dir="ltr">', '<html lang="en" dir="rtl">'),
    ("EM-4", "<title>Reminder", "<title>Hello"),
    ("EM-4", f"<title>{SUBJECT}</title>", ""),
    ("EM-5", '<table role="presentation" ', "<table "),
    ("EM-6", "</div>\n</body>", '<img src="cid:logo" width="100" height="40"></div>\n</body>'),
    ("EM-7", "See your appointments on our website", "click here"),
    ("EM-7", "See your appointments on our website", "Learn more."),
    ("EM-7", "See your appointments on our website", "https://plan.example/appointments"),
    (
        "EM-8",
        'color: #0645ad; text-decoration: underline">1-800',
        'color: #0645ad; text-decoration: none">1-800',
    ),
    (
        "EM-10",
        '<li style="margin: 0 0 0.5em">Riverside',
        '<li style="margin: 0 0 0.5em; height: 30px">Riverside',
    ),
    ("EM-10", "<tr><td ", '<tr><td height="40" '),
    (
        "EM-11",
        'text-decoration: underline">1-800-555-0100</a>',
        'text-decoration: underline">1-800-555-0100</a> <a href="tel:711" '
        'style="color: #0645ad; text-decoration: underline; font-size: 24px; line-height: 0.5">'
        "7</a>",
    ),
    ("EM-13", "<title>", "<style>p { color: red }</style><title>"),
    ("EM-13", "<title>", '<link rel="stylesheet" href="cid:x.css"><title>'),
    ("EM-14", "</div>\n</body>", "</div><script>alert(1)</script>\n</body>"),
    (
        "EM-14",
        "</div>\n</body>",
        '<img src="https://plan.example/logo.png" alt="Sample Health Plan"></div>\n</body>',
    ),
    ("EM-14", '<meta charset="utf-8">', '<meta charset="iso-8859-1">'),
    ("EM-14", BODY_P, '<p style="margin: 0 0 1em" onclick="x()">Please'),
]


@pytest.mark.parametrize(
    ("rule", "old", "new"), CASES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(CASES)]
)
def test_each_fault_is_reported_under_its_rule(rule: str, old: str, new: str) -> None:
    assert rule in rules(bad(old, new))


def test_messages_name_the_element_and_its_text() -> None:
    found = check_html(
        bad("color: #000000", "color: #777"), subject=SUBJECT, lang="en", rtl=False, cjk=False
    )
    contrast = [v for v in found if v.rule == "LP-16"]
    assert any('<p> "You have an appointment' in v.message and "4.48:1" in v.message
               for v in contrast)  # fmt: skip


def test_one_bad_wrapper_style_is_reported_a_bounded_number_of_times() -> None:
    found = check_html(
        bad("color: #000000", "color: #777"), subject=SUBJECT, lang="en", rtl=False, cjk=False
    )
    contrast = [v for v in found if v.rule == "LP-16"]
    assert 2 <= len(contrast) <= 6
    assert contrast[-1].message.startswith("… and ")


def test_em2_leaves_isolated_inserted_values_alone() -> None:
    # A member's name in Arabic script inside an English message: the renderer isolates it
    # with Unicode isolates and cannot know its language (WCAG 3.1.2 exempts proper names).
    name = bad("Where</h2>", "Where \u2068محمد حداد\u2069 \u2066Wei\u2069</h2>")
    assert "EM-2" not in rules(name)
    nested = bad("Where</h2>", "Where \u2066Wei \u2068محمد\u2069 Chen\u2069</h2>")
    assert "EM-2" not in rules(nested)


def test_em15_html_over_100_kb() -> None:
    big = bad("</div>\n</body>", "<!-- " + "x" * 110_000 + " --></div>\n</body>")
    assert "EM-15" in rules(big)
    assert "EM-15" not in rules(GOOD_HTML)


def test_lp11_allows_acronyms_and_ignores_non_latin_scripts() -> None:
    ok = bad("Please come", "Call TTY 711 about HIPAA and COVID shots. Please come")
    assert "LP-11" not in rules(ok)
    assert "LP-11" not in rules(ok.replace("COVID", "ACME"), acronyms=["ACME"])
    assert "LP-11" in rules(ok.replace("COVID", "ACME"))
    cyrillic = bad("Where</h2>", '<span lang="ru">ВАЖНО</span></h2>')
    assert rules(cyrillic) == set()


def test_passage_in_another_script_with_its_own_lang_is_fine() -> None:
    assert rules(bad("Where</h2>", '<span lang="ru">Где</span></h2>')) == set()


def test_em1_message_language_must_match_html_lang() -> None:
    assert "EM-1" in rules(GOOD_HTML, lang="es")
    assert "EM-1" not in rules(GOOD_HTML, lang="en")


def test_rtl_needs_dir_and_right_alignment() -> None:
    def ar(html: str) -> set[str]:
        return {
            v.rule for v in check_html(html, subject=ARABIC_SUBJECT, lang="ar", rtl=True, cjk=False)
        }

    assert "EM-3" in ar(ARABIC_HTML.replace('<html lang="ar" dir="rtl">', '<html lang="ar">'))
    assert "EM-3" in ar(ARABIC_HTML.replace('<div lang="ar" dir="rtl"', '<div lang="ar"'))
    assert "LP-9" in ar(ARABIC_HTML.replace("padding: 24px; text-align: right", "padding: 24px; text-align: left"))  # fmt: skip
    assert "LP-3" in ar(ARABIC_HTML.replace("margin: 0 0 24px; text-align: right", "margin: 0 0 24px; text-align: left"))  # fmt: skip


def test_cjk_measure_is_40_characters_not_640px() -> None:
    kw = {"subject": CHINESE_SUBJECT, "lang": "zh-Hans", "rtl": False}
    assert "LP-15" in {v.rule for v in check_html(CHINESE_HTML, cjk=False, **kw)}  # type: ignore[arg-type]
    too_wide = CHINESE_HTML.replace("max-width: 1000px", "max-width: 1400px")
    assert "LP-15" in {v.rule for v in check_html(too_wide, cjk=True, **kw)}  # type: ignore[arg-type]


def test_hidden_preheader_is_not_rendered_text() -> None:
    pre = '<div style="display: none; font-size: 1px; color: #ffffff">Preview text</div>\n<h1'
    assert rules(bad("\n<h1", pre)) == set()


def test_font_shorthand_and_font_tag_are_understood() -> None:
    shorthand = bad(
        BODY_P, '<p style="margin: 0 0 1em; font: italic 16px/1.2 Georgia, serif">Please'
    )
    assert {"LP-1", "LP-5", "LP-7", "LP-10"} <= rules(shorthand)
    font_tag = bad(
        "<strong>member card</strong>", '<font size="2" color="#999999">member card</font>'
    )
    assert {"LP-1", "LP-16"} <= rules(font_tag)


def test_violation_prints_rule_and_message() -> None:
    assert str(Violation("LP-1", "x")) == "LP-1: x"


def _rendered() -> str:
    from tests.test_render_support import TOPICS, member, real_renderer

    topic = "appointment_reminder"
    result = real_renderer().render_sync(topic, member("en"), TOPICS[topic].sample, 1)
    return result.html or ""


def test_the_dark_scheme_style_is_the_one_style_allowed() -> None:
    html = _rendered()
    assert "@media (prefers-color-scheme: dark)" in html
    assert rules(html, subject=None) == set()
    # Anything else in the <style> is CSS that some clients drop (EM-13).
    extra = html.replace("</style>", "p { color: red }\n</style>")
    assert "EM-13" in rules(extra, subject=None)
    other_query = html.replace("prefers-color-scheme: dark", "max-width: 600px")
    assert "EM-13" in rules(other_query, subject=None)
    not_important = html.replace("color:#9ecbff !important", "color:#9ecbff")
    assert "EM-13" in rules(not_important, subject=None)
    not_colour = html.replace(".lp-link {", ".lp-link { font-size:12px !important;")
    assert "EM-13" in rules(not_colour, subject=None)
    in_body = html.replace("<body", "<style>p { color: red }</style><body", 1)
    assert "EM-13" in rules(in_body, subject=None)


def test_the_dark_scheme_keeps_7_to_1_and_covers_every_coloured_element() -> None:
    html = _rendered()
    dim_link = html.replace("color:#9ecbff !important", "color:#0645ad !important")
    found = check_html(dim_link, subject=None, lang="en", rtl=False, cjk=False)
    assert {v.rule for v in found} == {"LP-16"}
    assert all(".lp-link text #0645ad" in v.message for v in found)
    grey_ground = html.replace("background-color:#121212 !important", "background-color:#777")
    assert "LP-16" in rules(grey_ground, subject=None)
    # An element that keeps its inline black text in the dark scheme.
    uncovered = html.replace('<h1 class="lp"', "<h1", 1)
    assert "LP-16" in rules(uncovered, subject=None)


def test_the_dark_scheme_reads_each_colour_once(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []

    def counted(value: str) -> Any:
        read.append(value)
        return css.parse_color_uncached(value)

    monkeypatch.setattr(dark, "parse_color_uncached", counted)
    sheet = dark.parse_dark_sheet(
        "@media (prefers-color-scheme: dark) {"
        " .a { color: #fff !important; background-color: rgba(0, 0, 0, 0.5) !important }"
        " .b { color: #333 !important } .c { color: currentcolor !important } }"
    )
    assert sheet.colors["a"] == dark.Colour("#fff", (1.0, 1.0, 1.0, 1.0))
    assert sheet.backgrounds["a"].rgba == (0.0, 0.0, 0.0, 0.5)
    assert "c" not in sheet.colors  # no colour of its own: reported, not compared
    assert any("currentcolor" in p for p in sheet.problems)
    # .b's dark grey on the half-black ground (black under it) is below 7:1, .a's white is not.
    (problem,) = sheet.contrast_problems()
    assert problem.startswith("dark scheme: .b text #333 on .a #000000")
    assert sorted(read) == sorted(["#fff", "rgba(0, 0, 0, 0.5)", "#333", "currentcolor"])
