"""Hand-written HTML samples for the checker and browser tests.

`GOOD_HTML` follows every LP/EM rule the way the renderers are asked to: one wrapper <div>
with lang/dir, inline CSS only, Arial 24px+ black on white, 1.5 line height, 640px measure.
`bad(...)` derives one-rule-broken variants from it, so each test shows exactly one fault.
"""

from __future__ import annotations

SUBJECT = "Reminder: you have an appointment"

FONT = "font-family: Arial, Helvetica, Verdana, sans-serif"
BODY_TEXT = f"{FONT}; font-size: 26.67px; line-height: 1.5; font-weight: normal; color: #000000"

GOOD_HTML = f"""<!DOCTYPE html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{SUBJECT}</title>
</head>
<body style="margin: 0; padding: 0; background-color: #ffffff">
<div lang="en" dir="ltr" style="{BODY_TEXT}; background-color: #ffffff; max-width: 640px; margin: 0 auto; padding: 24px; text-align: left">
<h1 style="{FONT}; font-size: 32px; font-weight: bold; line-height: 1.5; margin: 0 0 24px; text-align: left">Your appointment is coming up</h1>
<p style="margin: 0 0 1em">You have an appointment on Tuesday, December 8, 2026 at 10:30 AM.</p>
<p style="margin: 0 0 1em">Please come 15 minutes early and bring your <strong>member card</strong>.</p>
<h2 style="{FONT}; font-size: 28px; font-weight: bold; line-height: 1.5; margin: 0 0 16px; text-align: left">Where</h2>
<ul style="margin: 0 0 1em; padding-left: 1.5em">
<li style="margin: 0 0 0.5em">Riverside Family Clinic</li>
<li style="margin: 0 0 0.5em">1200 River Road, Portland, OR 97201</li>
</ul>
<p style="margin: 0 0 1em">If you need to change or cancel it, call Member Services at
<a href="tel:+18005550100" style="color: #0645ad; text-decoration: underline">1-800-555-0100</a> (TTY 711),
8 AM to 8 PM, Monday to Friday.</p>
<p style="margin: 0 0 1em"><a href="https://plan.example/appointments" style="color: #0645ad; text-decoration: underline">See your appointments on our website</a></p>
<table role="presentation" style="border-collapse: collapse; width: 100%">
<tr><td style="padding: 0; {BODY_TEXT}">Sample Health Plan, PO Box 100, Portland, OR 97201</td></tr>
</table>
<p lang="es" style="margin: 1em 0 0">Si necesita ayuda en español, llame al 1-800-555-0100 (TTY 711).</p>
</div>
</body>
</html>
"""


def bad(old: str, new: str, html: str = GOOD_HTML) -> str:
    """GOOD_HTML with one fragment replaced (asserting the fragment is there)."""
    assert old in html, old
    return html.replace(old, new, 1)


def _page(lang: str, dir_: str, align: str, title: str, body: str, max_width: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="{lang}" dir="{dir_}">
<head><meta charset="utf-8"><title>{title}</title></head>
<body style="margin: 0; padding: 0; background-color: #ffffff">
<div lang="{lang}" dir="{dir_}" style="{BODY_TEXT}; max-width: {max_width}; margin: 0 auto; padding: 24px; text-align: {align}">
<h1 style="{FONT}; font-size: 32px; font-weight: bold; line-height: 1.5; margin: 0 0 24px; text-align: {align}">{title}</h1>
{body}
</div>
</body>
</html>
"""


ARABIC_SUBJECT = "تذكير بموعدك"
ARABIC_HTML = _page(
    "ar",
    "rtl",
    "right",
    ARABIC_SUBJECT,
    '<p style="margin: 0 0 1em">لديك موعد يوم الثلاثاء.</p>\n'
    '<p style="margin: 0 0 1em">اتصل بخدمات الأعضاء على '
    '<a href="tel:+18005550100" style="color: #0645ad; text-decoration: underline">'
    "1-800-555-0100</a> (TTY 711).</p>",
    "640px",
)

CHINESE_SUBJECT = "预约提醒"
# 40 characters of 26.67px CJK text: a 1067px measure is still within LP-15 for CJK.
CHINESE_HTML = _page(
    "zh-Hans",
    "ltr",
    "left",
    CHINESE_SUBJECT,
    '<p style="margin: 0 0 1em">您在十二月八日星期二上午十点半有一个预约。请提前十五分钟到达。</p>',
    "1000px",
)
