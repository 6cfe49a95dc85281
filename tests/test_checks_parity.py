"""Content parity (docs/ACCESSIBILITY.md CP-1…CP-5): every fact reaches every member.

The check (commhub/checks/parity.py) runs on every topic × language × format with the
templates' sample data and with data of our own (long names, an `&`, another year, an amount
over a thousand); and it is shown to fail on what was sent before it existed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from commhub.checks.parity import check_parity
from commhub.domain import Format
from commhub.languages import LANGUAGES, display_name
from commhub.preview import run_checks
from commhub.render import Renderer, RenderResult
from commhub.render.romanize import romanize
from commhub.speech import SpeechService
from tests.test_render_support import ROOT, TOPICS, member, real_renderer, settings

LANGS = ["en", "es", "vi", "zh-Hans", "zh-Hant", "ru", "ko", "uk", "ar", "tl", "so", "ja"]
# Data unlike the samples: long values, an ampersand and a number sign, another year, a
# four-digit amount and a zero one, a time that is not on the hour, a count of one.
OTHER: dict[str, dict[str, Any]] = {
    "appointment_reminder": {
        "appointment_date": "2027-03-09",
        "appointment_time": "14:05",
        "location_name": "Smith & Jones Women's Health Center at Northwest Medical Plaza",
        "location_address": "12345 Northwest Cornell Road, Suite 400, Portland, OR 97229-6543",
    },
    "coverage_change": {"effective_date": "2028-02-01", "premium": "1234.50", "copay": "0.00"},
    "refill_reminder": {
        "refill_date": "2027-01-04",
        "pharmacy_name": "Fred Meyer Pharmacy & Clinic #622 Hollywood",
        "refills_left": 1,
    },
    "screening_reminder": {
        "due_date": "2028-06-30",
        "clinic_name": "Outside In & Friends Community Clinic",
    },
}
DATA = {"sample": None, "other": OTHER}

RENDERER = real_renderer()
CASES = [
    (fmt, topic, lang, data)
    for fmt in (Format.LARGE_PRINT_EMAIL, Format.RELAY_TEXT)
    for topic in TOPICS
    for lang in LANGS
    for data in DATA
]


def _data(topic: str, which: str) -> dict[str, Any]:
    return TOPICS[topic].sample if which == "sample" else OTHER[topic]


def _render(renderer: Renderer, topic: str, lang: str, fmt: Format, data: dict[str, Any]) -> Any:
    return renderer.render_sync(topic, member(lang, fmt), data, delivery_id=5)


@pytest.mark.parametrize(("fmt", "topic", "lang", "data"), CASES)
def test_every_fact_reaches_large_print_and_relay_members(
    fmt: Format, topic: str, lang: str, data: str
) -> None:
    values = _data(topic, data)
    result = _render(RENDERER, topic, lang, fmt, values)
    assert result.lang == lang  # every shipped language is ready: no fallback hides a gap
    assert (
        check_parity(
            result, TOPICS[topic], values, catalogs=RENDERER.catalogs, plan=RENDERER.settings.plan
        )
        == []
    )
    # And every other rule, as `commhub preview` and the preview API run them.
    assert run_checks(RENDERER, topic, result, values) == []


VOICED = [lang for lang in LANGS if lang not in ("tl", "so", "ja")]  # no offline voice there


@pytest.fixture(scope="module")
def speaking_renderer() -> Renderer:
    s = settings()
    return Renderer(s, TOPICS, RENDERER.catalogs, SpeechService(s.speech, ROOT / "voices"))


@pytest.mark.real
@pytest.mark.parametrize("data", list(DATA))
@pytest.mark.parametrize("topic", list(TOPICS))
async def test_every_fact_is_spoken_and_in_the_transcript(
    speaking_renderer: Renderer, topic: str, data: str
) -> None:
    values = _data(topic, data)
    for lang in VOICED:
        m = member(lang, Format.AUDIO)
        result = await speaking_renderer.render(topic, m, values, delivery_id=6)
        assert result.audio is not None and result.lang == lang
        where = f"{topic} {lang} {data} ({result.audio.duration_s:.0f} s)"
        assert run_checks(speaking_renderer, topic, result, values) == [], where


def _korean_audio_as_sent_before(renderer: Renderer) -> RenderResult:
    """Today's check on yesterday's message: the Korean appointment audio as main sent it on
    2026-12-01. Its script (the transcript is the same text) never says where to go."""
    script = "\n".join(
        [
            "Evergreen Community Health Plan에서 Chen Wei 님께 드리는 메시지입니다.",
            "알림: 예약이 있습니다.",
            "2026년 12월 8일 오전 10:30에 예약이 있습니다.",
            "15분 일찍 오시고 회원 카드를 꼭 가져오세요.",
            "예약을 변경하거나 취소하려면 회원 서비스 센터에 전화해 주세요.",
            "회원 서비스 센터(1, 8 0 0, 5 5 5, 0 1 0 0)에 전화해 주세요.",
            "다시 한번 알려 드립니다. 전화번호는 1, 8 0 0, 5 5 5, 0 1 0 0입니다.",
            "감사합니다. 안녕히 계세요.",
        ]
    )
    html = f'<!DOCTYPE html><html lang="ko"><body><p>{script}</p></body></html>'
    envelope = {
        "delivery_id": 7,
        "to": "m@example.org",
        "subject": "알림: 예약이 있습니다",
        "message_id": "<d-7@example.org>",
        "lang": "ko",
    }
    raw = renderer.mime.with_audio(text=script, html=html, mp3=b"ID3", **envelope)  # type: ignore[arg-type]
    current = _render(
        renderer,
        "appointment_reminder",
        "ko",
        Format.LARGE_PRINT_EMAIL,
        TOPICS["appointment_reminder"].sample,
    )
    message = replace(current.message, raw=raw, format=Format.AUDIO, text=script)
    return replace(current, message=message, spoken=script, text=script)


def test_the_check_fails_on_the_korean_audio_reminder_that_dropped_the_place() -> None:
    before = _korean_audio_as_sent_before(RENDERER)
    topic = TOPICS["appointment_reminder"]
    found = check_parity(
        before, topic, topic.sample, catalogs=RENDERER.catalogs, plan=RENDERER.settings.plan
    )
    messages = [str(v) for v in found]
    for where in ("spoken script", "transcript text part", "transcript HTML"):
        assert f"CP-1: {where}: location_name ('Riverside Family Clinic') is missing" in messages
        assert any(m.startswith(f"CP-1: {where}: location_address") for m in messages)
        assert any(m.startswith(f"CP-3: {where}: no 'how to change or stop'") for m in messages)


def _edited(result: Any, old: str, new: str) -> Any:
    """`result` with its relay text edited (what a faulty renderer might have written)."""
    return replace(result, text=result.text.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("PHARMACY: MAIN STREET PHARMACY\r\n", "", "CP-1"),  # a fact line dropped
        ("YOU HAVE 2 REFILLS LEFT.\r\n", "", "CP-1"),  # a count no fact line says
        ("THURSDAY DECEMBER 3 2026", "THURSDAY DECEMBER 3", "CP-1"),  # the year dropped
        ("CHANGE LANGUAGE OR FORMAT, OR STOP MESSAGES:", "", "CP-3"),
    ],
)
def test_the_check_names_what_a_relay_text_left_out(old: str, new: str, rule: str) -> None:
    sample = TOPICS["refill_reminder"].sample
    result = _render(RENDERER, "refill_reminder", "en", Format.RELAY_TEXT, sample)
    assert old in result.text
    found = check_parity(
        _edited(result, old, new),
        TOPICS["refill_reminder"],
        sample,
        catalogs=RENDERER.catalogs,
        plan=RENDERER.settings.plan,
    )
    assert [v.rule for v in found][:1] == [rule], found


def test_amounts_read_as_on_the_bill_in_every_language() -> None:
    """CP-4: `$1,234.50`, never `1.234,50 US$`; and the check catches the locale form."""
    data = OTHER["coverage_change"]
    for lang in ("vi", "ru", "es", "ar", "ko"):
        result = _render(RENDERER, "coverage_change", lang, Format.LARGE_PRINT_EMAIL, data)
        assert "$1,234.50" in result.text and "$0.00" in result.text
    vi = _render(RENDERER, "coverage_change", "vi", Format.RELAY_TEXT, data)
    found = check_parity(
        _edited(vi, "$1,234.50", "1.234,50 US$"),
        TOPICS["coverage_change"],
        data,
        catalogs=RENDERER.catalogs,
        plan=RENDERER.settings.plan,
    )
    assert {v.rule for v in found} >= {"CP-1", "CP-4"}


def test_dates_carry_their_year_in_every_format_and_language() -> None:
    """CP-2, with a date in another year than the samples'."""
    data = OTHER["screening_reminder"]
    for lang in LANGS:
        for fmt in (Format.LARGE_PRINT_EMAIL, Format.RELAY_TEXT):
            result = _render(RENDERER, "screening_reminder", lang, fmt, data)
            assert "2028" in result.text, (lang, fmt)


def test_russian_relay_goes_romanised_beside_the_utf8_text() -> None:
    result = _render(RENDERER, "coverage_change", "ru", Format.RELAY_TEXT, OTHER["coverage_change"])
    assert result.tty_text is not None
    assert "ДАТА" not in result.tty_text and result.tty_text.isascii()
    assert "1 FEVRALIA 2028 G. (VTORNIK)" in result.tty_text  # ICAO 9303: я -> IA
    assert "$1,234.50" in result.tty_text


def test_a_latin_name_keeps_its_apostrophe_in_ukrainian_relay_text() -> None:
    """The romanised TTY text drops the apostrophe inside Ukrainian words only: a place named
    St. Mary's reaches the member as ST. MARY'S (the TTY prints it), not as ST. MARYS."""
    data = {**OTHER["appointment_reminder"], "location_name": "St. Mary's Hospital – Cardiology"}
    result = _render(RENDERER, "appointment_reminder", "uk", Format.RELAY_TEXT, data)
    assert result.tty_text is not None
    assert "ST. MARY'S HOSPITAL - CARDIOLOGY" in result.tty_text
    assert "St. Mary's Hospital" in result.text  # the UTF-8 part, as given


@pytest.mark.parametrize(
    ("text", "lang", "latin"),
    [
        ("Щёлково Юрий Подъячев Хабаровск", "ru", "Shchelkovo Iurii Podieiachev Khabarovsk"),
        # KMU 2010's own examples: initial Є Ю Я Ї Й, зг, and the apostrophe.
        (
            "Єнакієве Юрій Згорани Знам'янка Київ Ґорґани",
            "uk",
            "Yenakiieve Yurii Zghorany Znamianka Kyiv Gorgany",
        ),
        # An apostrophe outside a Ukrainian word is part of a Latin name: it stays.
        ("St. Mary's, O’Brien, Об'єднана, 'Мрія'", "uk", "St. Mary's, O’Brien, Obiednana, 'Mriia'"),
    ],
)
def test_romanisation_follows_the_national_standards(text: str, lang: str, latin: str) -> None:
    assert romanize(text, lang) == latin


@pytest.mark.parametrize(
    ("given", "family", "lang", "shown"),
    [
        ("Alex", "Rivera", "vi", "Alex Rivera"),  # a Western name keeps its order
        ("Linh", "Nguyễn", "vi", "Nguyễn Linh"),  # a Vietnamese family name goes first
        ("Linh", "Nguyen", "vi", "Nguyen Linh"),  # … with or without its accents
        ("Alex", "Rivera", "ko", "Alex Rivera"),
        ("민준", "김", "ko", "김 민준"),
        ("Wei", "Chen", "zh-Hans", "Wei Chen"),
        ("伟", "陈", "zh-Hans", "陈伟"),
        ("太郎", "山田", "ja", "山田太郎"),
        ("Taro", "Yamada", "ja", "Taro Yamada"),
        ("Ana", "García", "es", "Ana García"),
    ],
)
def test_name_order_suits_the_name_and_the_language(
    given: str, family: str, lang: str, shown: str
) -> None:
    assert LANGUAGES[lang]
    assert display_name(given, family, lang) == shown


def test_vietnamese_greeting_keeps_a_western_name_in_order() -> None:
    m = replace(member("vi", Format.LARGE_PRINT_EMAIL), given_name="Alex", family_name="Rivera")
    result = RENDERER.render_sync("refill_reminder", m, TOPICS["refill_reminder"].sample, 3)
    assert "Alex Rivera" in result.text and "Rivera Alex" not in result.text
