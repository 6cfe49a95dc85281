"""Dark mode (issue 17): with `prefers-color-scheme: dark` emulated in real Chromium, the
large-print HTML switches to its dark scheme and keeps AAA contrast (axe-core with
color-contrast-enhanced finds nothing, and every text measures ≥ 7:1), and reflows at 320 px as in the light scheme.

Every topic in English, Arabic (RTL) and Chinese (CJK), plus an audio message's transcript.
"""

from __future__ import annotations

from typing import Any

import pytest

from commhub.domain import Format
from tests.a11y.harness import (
    A11yBrowser,
    axe_violations,
    browser,  # noqa: F401  (fixture)
    describe,
)
from tests.test_render_support import TOPICS, member, real_renderer

pytestmark = pytest.mark.real

RENDERER = real_renderer()
CASES = [(t, lang) for t in TOPICS for lang in ("en", "ar", "zh-Hans")]


def large_print(topic: str, lang: str) -> str:
    return RENDERER.render_sync(topic, member(lang), TOPICS[topic].sample, 1).html or ""


def transcript(topic: str, lang: str) -> str:
    t = TOPICS[topic]
    values, problems = t.parse_data(t.sample)
    assert problems == []
    return RENDERER.transcript_html(
        t, member(lang, Format.AUDIO), values, RENDERER.plan(t, lang), (1, "m-1")
    )


async def colours(browser: A11yBrowser, html: str, scheme: str) -> dict[str, Any]:  # noqa: F811
    """Computed colours of the wrapper, a paragraph and the tel: link in `scheme`."""

    async def read(page: Any) -> dict[str, Any]:
        await page.emulate_media(color_scheme=scheme)
        await page.set_viewport_size({"width": 320, "height": 640})
        await page.set_content(html, wait_until="load")
        found: dict[str, Any] = await page.evaluate(
            r"""() => {
                const cs = el => getComputedStyle(el);
                const wrapper = document.querySelector('body > div');
                const p = wrapper.querySelector('p');
                const a = wrapper.querySelector('a[href^="tel:"]');
                const de = document.documentElement;
                // LP-16: the lowest contrast of any element's own text over its effective
                // background (axe's enhanced rule asks only 4.5:1 of text this large).
                const rgb = c => c.match(/[\d.]+/g).map(Number);
                const lum = ([r, g, b]) => [r, g, b]
                    .map(v => v / 255)
                    .map(v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
                    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
                const ground = el => {
                    for (; el; el = el.parentElement) {
                        const c = rgb(cs(el).backgroundColor);
                        if (c.length < 4 || c[3] > 0) return c;
                    }
                    return [255, 255, 255];
                };
                let lowest = 21;
                for (const el of document.body.querySelectorAll('*')) {
                    const own = [...el.childNodes].some(
                        n => n.nodeType === 3 && n.data.trim());
                    if (!own) continue;
                    const [a, b] = [lum(rgb(cs(el).color)), lum(ground(el))];
                    lowest = Math.min(lowest, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
                }
                return {
                    lowest,
                    wrapper: [cs(wrapper).color, cs(wrapper).backgroundColor],
                    p: [cs(p).color, cs(p).backgroundColor],
                    link: [cs(a).color, cs(a).backgroundColor],
                    overflow: de.scrollWidth > de.clientWidth,
                };
            }"""
        )
        return found

    return await browser.run(read)


WHITE, NEAR_BLACK = "rgb(255, 255, 255)", "rgb(18, 18, 18)"
DARK_LINK = "rgb(158, 203, 255)"


@pytest.mark.parametrize(("topic", "lang"), CASES, ids=[f"{t}-{lang}" for t, lang in CASES])
async def test_dark_scheme_keeps_aaa_contrast(
    browser: A11yBrowser,  # noqa: F811
    topic: str,
    lang: str,
) -> None:
    html = large_print(topic, lang)
    found = await axe_violations(browser, html, color_scheme="dark")
    assert found == [], describe(found)
    dark = await colours(browser, html, "dark")
    assert dark["lowest"] >= 7.0  # the link, 11.1:1
    assert dark["wrapper"] == dark["p"] == [WHITE, NEAR_BLACK]
    assert dark["link"] == [DARK_LINK, NEAR_BLACK]
    assert not dark["overflow"]


async def test_light_scheme_is_unchanged_and_the_transcript_has_a_dark_scheme_too(
    browser: A11yBrowser,  # noqa: F811
) -> None:
    light = await colours(browser, large_print("refill_reminder", "en"), "light")
    assert light["lowest"] >= 7.0  # the link, 8.5:1
    assert light["p"] == ["rgb(0, 0, 0)", WHITE]
    assert light["link"] == ["rgb(6, 69, 173)", WHITE]
    html = transcript("refill_reminder", "ar")
    found = await axe_violations(browser, html, color_scheme="dark")
    assert found == [], describe(found)
    assert (await colours(browser, html, "dark"))["p"] == [WHITE, NEAR_BLACK]


async def test_axe_catches_a_dark_scheme_that_loses_contrast(
    browser: A11yBrowser,  # noqa: F811
) -> None:
    """The browser checks can fail: a dark link at 1.9:1 fails axe; at 5.8:1 axe passes it
    (AAA asks 4.5:1 of large text) but the measured 7:1 floor of LP-16 does not."""
    html = large_print("refill_reminder", "en")
    dim = html.replace("#9ecbff", "#0645ad")
    ids = {v["id"] for v in await axe_violations(browser, dim, color_scheme="dark")}
    assert "color-contrast" in ids
    low = html.replace("#9ecbff", "#6a8fd0")
    assert await axe_violations(browser, low, color_scheme="dark") == []
    assert 5.7 < (await colours(browser, low, "dark"))["lowest"] < 5.8
