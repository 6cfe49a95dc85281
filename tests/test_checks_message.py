"""Whole-message checks: MIME structure (EM-12), charsets (EM-14), Subject vs title (EM-4)."""

from __future__ import annotations

from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from commhub.checks import check_message
from tests.a11y.samples import ARABIC_HTML, ARABIC_SUBJECT, GOOD_HTML, SUBJECT

GOOD_TEXT = """Your appointment is coming up

You have an appointment on Tuesday, December 8, 2026 at 10:30 AM.
Please come 15 minutes early and bring your member card.

Where
- Riverside Family Clinic
- 1200 River Road, Portland, OR 97201

If you need to change or cancel it, call Member Services at 1-800-555-0100 (TTY 711),
8 AM to 8 PM, Monday to Friday.

See your appointments on our website: https://plan.example/appointments

Sample Health Plan, PO Box 100, Portland, OR 97201

Si necesita ayuda en español, llame al 1-800-555-0100 (TTY 711).
"""


def large_print(
    text: str = GOOD_TEXT, html: str = GOOD_HTML, subject: str = SUBJECT, html_first: bool = False
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = "Sample Health Plan <plan@example.org>"
    msg["To"] = "member@example.org"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if html_first:
        parts = msg.get_payload()
        assert isinstance(parts, list)
        parts.reverse()
    return msg


def rules(raw: bytes) -> set[str]:
    return {v.rule for v in check_message(raw)}


def test_compliant_large_print_message_passes() -> None:
    assert check_message(large_print().as_bytes()) == []


def test_rtl_message_takes_lang_and_dir_from_html() -> None:
    text = (
        "تذكير بموعدك\nلديك موعد يوم الثلاثاء.\nاتصل بخدمات الأعضاء على 1-800-555-0100 (TTY 711).\n"
    )
    raw = large_print(text, ARABIC_HTML, ARABIC_SUBJECT).as_bytes()
    assert check_message(raw) == []


def test_encoded_subject_is_decoded_before_comparing_with_title() -> None:
    subject = "Recordatorio: su cita está próxima"
    html = GOOD_HTML.replace(f"<title>{SUBJECT}</title>", f"<title>{subject}</title>")
    raw = large_print(subject=subject, html=html).as_bytes()
    assert b"=?utf-8?" in raw  # the Subject really is RFC 2047 encoded
    assert "EM-4" not in rules(raw)
    assert "EM-4" in rules(large_print(subject="Something else").as_bytes())


def test_em12_html_before_text_is_reported() -> None:
    assert "EM-12" in rules(large_print(html_first=True).as_bytes())


def test_em12_html_only_message_is_reported() -> None:
    msg = EmailMessage()
    msg["Subject"] = SUBJECT
    msg.set_content(GOOD_HTML, subtype="html")
    assert "EM-12" in rules(msg.as_bytes())


def test_em12_text_part_must_hold_phone_numbers_numbers_and_words() -> None:
    no_phone = GOOD_TEXT.replace("1-800-555-0100 (TTY 711),", "us,")
    no_phone = no_phone.replace("llame al 1-800-555-0100", "llame")
    found = check_message(large_print(no_phone).as_bytes())
    assert any(v.rule == "EM-12" and "1-800-555-0100" in v.message for v in found)
    no_zip = GOOD_TEXT.replace("1200 River Road, Portland, OR 97201", "River Road")
    found = check_message(large_print(no_zip).as_bytes())
    assert any(v.rule == "EM-12" and "1200" in v.message for v in found)
    no_clinic = GOOD_TEXT.replace("Riverside Family Clinic", "the clinic")
    found = check_message(large_print(no_clinic).as_bytes())
    assert any(v.rule == "EM-12" and "riverside" in v.message for v in found)


def test_em12_text_part_may_hold_more_than_the_html() -> None:
    assert check_message(large_print(GOOD_TEXT + "\nThank you.\n").as_bytes()) == []


def test_em14_parts_must_be_utf8() -> None:
    outer = MIMEMultipart("alternative")
    outer["Subject"] = SUBJECT
    outer.attach(MIMEText(GOOD_TEXT, "plain", "iso-8859-1"))
    outer.attach(MIMEText(GOOD_HTML, "html", "utf-8"))
    assert "EM-14" in rules(outer.as_bytes())


def test_html_rules_run_on_the_html_part() -> None:
    html = GOOD_HTML.replace("font-size: 26.67px", "font-size: 16px")
    assert "LP-1" in rules(large_print(html=html).as_bytes())


def audio_message(mp3: bytes, filename: str | None = "message.mp3") -> EmailMessage:
    msg = large_print()
    msg.make_mixed()
    msg.add_attachment(mp3, maintype="audio", subtype="mpeg", filename=filename)
    return msg


def test_audio_message_with_transcript_and_mp3_passes() -> None:
    raw = audio_message(b"\xff\xfb\x90\x00" + b"\x00" * 400).as_bytes()
    assert check_message(raw) == []


def test_ts6_audio_attachment_must_not_be_empty() -> None:
    assert "TS-6" in rules(audio_message(b"").as_bytes())


def test_mixed_message_without_alternative_first_is_reported() -> None:
    msg = EmailMessage()
    msg["Subject"] = SUBJECT
    msg.set_content(GOOD_TEXT)
    msg.add_attachment(b"\xff\xfb" * 10, maintype="audio", subtype="mpeg", filename="a.mp3")
    assert "EM-12" in rules(msg.as_bytes())
