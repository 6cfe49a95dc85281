"""A bidi override in member data (a name with U+202E) stays inside the name in every
language's message, left-to-right ones included (issue 12, item 8)."""

from __future__ import annotations

from bidi import get_display

from commhub.render.bidi import FSI, PDI, visible
from tests.test_render_bidi import decoded_parts
from tests.test_render_support import TOPICS, member, real_renderer

RLO = "\u202e"


def test_an_override_in_a_name_is_isolated_in_an_english_large_print_message() -> None:
    m = member("en", given=f"{RLO}Ana", family="Rivera")
    sample = TOPICS["appointment_reminder"].sample
    result = real_renderer().render_sync("appointment_reminder", m, sample, 3)
    plain, html = decoded_parts(result)
    isolated = f"{FSI}{RLO}Ana Rivera{PDI}"
    assert isolated in html and isolated in plain
    # Laid out by the Unicode bidi algorithm, the words after the name keep their order:
    # only the name itself is reversed by its own override.
    line = next(ln for ln in plain.splitlines() if "Ana" in ln)
    after = line.split(PDI, 1)[1]
    shown = visible(get_display(line, base_dir="L"))
    assert visible(after).strip() in shown, (line, shown)


def test_an_override_in_a_name_is_isolated_in_arabic_too() -> None:
    m = member("ar", given=f"{RLO}Ana", family="Rivera")
    sample = TOPICS["appointment_reminder"].sample
    result = real_renderer().render_sync("appointment_reminder", m, sample, 3)
    plain, html = decoded_parts(result)
    assert f"{FSI}{RLO}Ana Rivera{PDI}" in html and f"{FSI}{RLO}Ana Rivera{PDI}" in plain
