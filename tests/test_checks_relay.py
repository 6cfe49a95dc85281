"""Relay text (TT-1…9), speech text (TS-2/3/4/8) and the Baudot codec they are judged by."""

from __future__ import annotations

import pytest

from commhub.checks import check_relay, check_speech_text
from tests import baudot

GOOD_RELAY = (
    "REMINDER: YOU HAVE AN APPOINTMENT\r\n"
    "DATE: TUESDAY DECEMBER 8\r\n"
    "TIME: 10:30 AM\r\n"
    "PLACE: RIVERSIDE FAMILY CLINIC, 1200 RIVER ROAD, PORTLAND, OR 97201\r\n"
    "TO CHANGE IT, CALL 1-800-555-0100 TTY 711.\r\n"
    "WE ARE OPEN MONDAY TO FRIDAY, 8 AM TO 8 PM.\r\n"
    "SK\r\n"
)
GOOD_RELAY_ZH = (
    "预约提醒\r\n"
    "日期：12月8日星期二\r\n"
    "请致电 1-800-555-0100 TTY 711。\r\n"
    "服务时间：周一至周五 8:00-20:00。\r\n"
    "SK\r\n"
)
ALL_TTY_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789\r\n-?:$!'().,;/\""


def relay_rules(text: str, **kw: object) -> set[str]:
    args: dict[str, object] = {"tty_encodable": True, "lang": "en"}
    args.update(kw)
    return {v.rule for v in check_relay(text, **args)}  # type: ignore[arg-type]


def test_good_relay_text_passes() -> None:
    assert check_relay(GOOD_RELAY, tty_encodable=True, lang="en", max_chars=300) == []


def test_non_tty_language_relay_is_utf8_with_the_same_conventions() -> None:
    assert check_relay(GOOD_RELAY_ZH, tty_encodable=False, lang="zh-Hans") == []
    assert "TT-8" in relay_rules(
        GOOD_RELAY_ZH.replace("SK\r\n", ""), tty_encodable=False, lang="zh-Hans"
    )


def bad(old: str, new: str) -> str:
    assert old in GOOD_RELAY, old
    return GOOD_RELAY.replace(old, new, 1)


CASES: list[tuple[str, str, str]] = [
    ("TT-1", "REMINDER:", "REMINDER™:"),
    ("TT-1", "REMINDER:", "REMINDER 👋:"),
    ("TT-2", "PLACE:", "PLACE & ADDRESS:"),
    ("TT-2", "CALL 1-800", "CALL #1-800"),
    ("TT-3", "REMINDER", "Reminder"),
    ("TT-3", "TUESDAY", "MAÑANA"),
    ("TT-3", "PLACE:", "PLACE @"),
    ("TT-3", "8 AM TO 8 PM", "8 AM - 8 PM = 12 HOURS"),
    ("TT-4", "DATE: TUESDAY DECEMBER 8\r\n", "DATE: TUESDAY DECEMBER 8\n"),
    ("TT-4", "DATE:", "    DATE:"),
    ("TT-4", "DATE: TUESDAY", "DATE:\tTUESDAY"),
    ("TT-4", "DATE: TUESDAY", "DATE:      TUESDAY"),
    ("TT-5", "TO CHANGE IT,", "SEE WWW.PLAN.EXAMPLE.ORG OR"),
    ("TT-5", "TO CHANGE IT,", "SEE PLAN.COM/APPOINTMENTS OR"),
    ("TT-6", "1-800-555-0100 TTY 711.", "1-800-555-0100."),
    ("TT-6", "1-800-555-0100", "(800) 555-0100"),
    ("TT-6", "WE ARE OPEN MONDAY TO FRIDAY, 8 AM TO 8 PM.\r\n", ""),
    ("TT-6", "TUESDAY DECEMBER 8", "12/08/2026"),
    ("TT-6", "TUESDAY DECEMBER 8", "2026-12-08"),
    ("TT-8", "SK\r\n", ""),
    ("TT-8", "SK\r\n", "GA\r\n"),
]


@pytest.mark.parametrize(
    ("rule", "old", "new"), CASES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(CASES)]
)
def test_each_relay_fault_is_reported_under_its_rule(rule: str, old: str, new: str) -> None:
    assert rule in relay_rules(bad(old, new))


def test_tt5_email_address_in_non_tty_text() -> None:
    text = GOOD_RELAY_ZH.replace("请致电", "发邮件到 help@plan.example.org 或致电")
    assert "TT-5" in relay_rules(text, tty_encodable=False, lang="zh-Hans")


def test_tt6_a_repeated_number_need_not_repeat_its_hours() -> None:
    text = bad("SK\r\n", "FOR AN INTERPRETER, CALL 1-800-555-0100 TTY 711.\r\nSK\r\n")
    assert relay_rules(text) == set()
    other = bad("SK\r\n", "FOR AN INTERPRETER, CALL 1-800-555-0199 TTY 711.\r\nSK\r\n")
    assert "TT-6" in relay_rules(other)


def test_tt7_only_when_asked() -> None:
    long_text = bad("SK\r\n", "PLEASE BRING YOUR MEMBER CARD.\r\n" * 5 + "SK\r\n")
    assert "TT-7" not in relay_rules(long_text)
    assert "TT-7" in relay_rules(long_text, max_chars=300)


def test_tt8_reply_expected_ends_with_ga() -> None:
    assert "TT-8" not in relay_rules(bad("SK\r\n", "GA\r\n"), expects_reply=True)
    assert "TT-8" in relay_rules(GOOD_RELAY, expects_reply=True)


def test_tt9_claim_must_fit_the_language() -> None:
    assert "TT-9" in relay_rules(GOOD_RELAY_ZH, tty_encodable=True, lang="zh-Hans")
    assert "TT-9" in relay_rules(GOOD_RELAY, tty_encodable=False, lang="en")


def test_charset_findings_are_grouped_not_per_character() -> None:
    found = check_relay(GOOD_RELAY.lower(), tty_encodable=True, lang="en")
    tt3 = [v for v in found if v.rule == "TT-3"]
    assert len(tt3) == 1 and "first at 0" in tt3[0].message


# -- Baudot --------------------------------------------------------------------------------


def test_baudot_round_trips_every_tty_safe_character() -> None:
    assert baudot.decode(baudot.encode(ALL_TTY_SAFE)) == ALL_TTY_SAFE


def test_baudot_encodes_every_good_relay_sample_without_loss() -> None:
    assert baudot.decode(baudot.encode(GOOD_RELAY)) == GOOD_RELAY
    for _, old, new in CASES:
        text = bad(old, new)
        if not relay_rules(text) & {"TT-1", "TT-2", "TT-3"}:
            assert baudot.decode(baudot.encode(text)) == text


def test_baudot_codes_are_five_bit_and_distinct_per_shift() -> None:
    codes = baudot.encode(ALL_TTY_SAFE)
    assert all(0 <= c < 32 for c in codes)
    assert len(set(baudot.LETTERS.values())) == 26
    assert len(set(baudot.FIGURES.values())) == 26
    # A–Z then the US figures in the same code order (ACCESSIBILITY.md's table).
    assert baudot.decode([baudot.FIGS, baudot.LETTERS["A"], baudot.LETTERS["Z"]]) == '-"'


def test_baudot_has_ampersand_and_hash_but_relay_check_rejects_them() -> None:
    for ch in "&#":
        assert baudot.decode(baudot.encode(ch)) == ch
        assert "TT-2" in relay_rules(bad("PLACE:", f"PLACE {ch}"))


def test_baudot_refuses_what_it_cannot_send() -> None:
    for ch in ("a", "@", "Ñ", "%", "\t"):
        with pytest.raises(ValueError):
            baudot.encode(ch)


def test_baudot_resends_the_shift_after_a_space() -> None:
    # "1 2": FIGS 1 SPACE FIGS 2, so a TTY that unshifts on space still prints "2".
    assert baudot.encode("1 2") == [
        baudot.FIGS,
        baudot.FIGURES["1"],
        baudot.SPACE,
        baudot.FIGS,
        baudot.FIGURES["2"],
    ]


# -- speech text ---------------------------------------------------------------------------

GOOD_SPEECH = (
    "This is Sample Health Plan with a reminder for Wei Chen. "
    "You have an appointment on Tuesday, December 8, 2026, at 10:30 AM, "
    "at Riverside Family Clinic. To change it, call Member Services at "
    "1, 8 0 0, 5 5 5, 0 1 0 0. Again, the number is 1, 8 0 0, 5 5 5, 0 1 0 0."
)


def speech_rules(text: str, **kw: object) -> set[str]:
    args: dict[str, object] = {"lang": "en", "callback_number": "1-800-555-0100"}
    args.update(kw)
    return {v.rule for v in check_speech_text(text, **args)}  # type: ignore[arg-type]


def test_good_speech_text_passes() -> None:
    assert check_speech_text(GOOD_SPEECH, lang="en", callback_number="1-800-555-0100") == []
    assert check_speech_text(GOOD_SPEECH, lang="en") == []
    gtts_style = GOOD_SPEECH.replace("1, 8 0 0, 5 5 5, 0 1 0 0", "1 8 0 0 5 5 5 0 1 0 0")
    assert check_speech_text(gtts_style, lang="en", callback_number="18005550100") == []


def test_ts2_phone_written_for_reading_not_speaking() -> None:
    assert "TS-2" in speech_rules(
        GOOD_SPEECH.replace("1, 8 0 0, 5 5 5, 0 1 0 0", "1-800-555-0100", 1)
    )
    assert "TS-2" in speech_rules(GOOD_SPEECH + " Or call 8005550100.")


def test_ts3_numeric_date() -> None:
    assert "TS-3" in speech_rules(GOOD_SPEECH.replace("Tuesday, December 8, 2026", "12/08/2026"))


def test_ts4_callback_number_heard_twice() -> None:
    once = GOOD_SPEECH.replace(" Again, the number is 1, 8 0 0, 5 5 5, 0 1 0 0.", "")
    assert "TS-4" in speech_rules(once)
    assert "TS-4" in speech_rules(once, callback_number=None)
    assert "TS-4" in speech_rules(GOOD_SPEECH, callback_number="1-800-555-0199")


def test_ts8_about_a_minute_at_the_speech_rate() -> None:
    long_text = GOOD_SPEECH + " Please bring your member card and a list of your medicines." * 12
    assert "TS-8" in speech_rules(long_text)
    assert "TS-8" not in speech_rules(long_text, max_seconds=200)
    assert "TS-8" not in speech_rules(GOOD_SPEECH)


def test_ts8_counts_cjk_characters() -> None:
    zh = "您在十二月八日有一个预约。" * 30 + " 1, 8 0 0, 5 5 5, 0 1 0 0。" * 2
    assert "TS-8" in speech_rules(zh, lang="zh-Hans")
    assert "TS-8" not in speech_rules(zh[:60] + " 1, 8 0 0, 5 5 5, 0 1 0 0。" * 2, lang="zh-Hans")
