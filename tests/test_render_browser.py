"""The rendered large-print HTML in real headless Chromium: axe-core (WCAG 2.2 AA tags plus
color-contrast-enhanced) finds nothing, and at 320 CSS px nothing scrolls sideways (EM-9).

Every language with a catalog under templates/i18n, plus Arabic (RTL) and Chinese (CJK) from
made-up catalogs.
"""

from __future__ import annotations

import pytest

from commhub.render import Renderer
from tests.a11y.harness import (
    A11yBrowser,
    axe_violations,
    browser,  # noqa: F401  (fixture)
    describe,
    horizontal_overflow,
)
from tests.test_render_support import TOPICS, fake_renderer, member, real_renderer

pytestmark = pytest.mark.real

REAL_RENDERER = real_renderer()
REAL = REAL_RENDERER.catalogs
FAKE_RENDERER = fake_renderer("ar", "zh-Hans")
# Every topic in English, Arabic and Chinese; the longest topic in every other language (the
# layout is shared, so more pairs would only add browser time).
CASES = (
    [(REAL_RENDERER, t, "en") for t in TOPICS]
    + [(FAKE_RENDERER, t, lang) for t in TOPICS for lang in ("ar", "zh-Hans")]
    + [(REAL_RENDERER, "appointment_reminder", lang) for lang in REAL.languages()[1:]]
)


@pytest.mark.parametrize(
    ("renderer", "topic", "lang"), CASES, ids=[f"{t}-{lang}" for _, t, lang in CASES]
)
async def test_rendered_html_passes_axe_and_reflows_at_320px(
    browser: A11yBrowser,  # noqa: F811
    renderer: Renderer,
    topic: str,
    lang: str,
) -> None:
    result = renderer.render_sync(topic, member(lang), TOPICS[topic].sample, 1)
    html = result.html or ""
    found = await axe_violations(browser, html)
    assert found == [], describe(found)
    assert not await horizontal_overflow(browser, html)
