"""axe-core in real headless Chromium and the 320px reflow check (EM-9) on the samples.

The compliant sample must pass the static checks, axe and reflow together; faulty variants
show that the browser side catches what it should (and the static checks agree).
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from commhub.checks import check_html
from tests.a11y.harness import (
    A11yBrowser,
    axe_violations,
    browser,  # noqa: F401  (fixture)
    describe,
    horizontal_overflow,
)
from tests.a11y.samples import ARABIC_HTML, CHINESE_HTML, GOOD_HTML, SUBJECT, bad

pytestmark = pytest.mark.real


async def test_compliant_sample_passes_static_axe_and_reflow(browser: A11yBrowser) -> None:  # noqa: F811
    assert check_html(GOOD_HTML, subject=SUBJECT, lang="en", rtl=False, cjk=False) == []
    found = await axe_violations(browser, GOOD_HTML)
    assert found == [], describe(found)
    assert not await horizontal_overflow(browser, GOOD_HTML)


@pytest.mark.parametrize("html", [ARABIC_HTML, CHINESE_HTML], ids=["ar", "zh-Hans"])
async def test_rtl_and_cjk_samples_pass_axe_and_reflow(browser: A11yBrowser, html: str) -> None:  # noqa: F811
    found = await axe_violations(browser, html)
    assert found == [], describe(found)
    assert not await horizontal_overflow(browser, html)


async def test_grey_text_fails_enhanced_contrast_in_axe_and_lp16(browser: A11yBrowser) -> None:  # noqa: F811
    grey = bad("color: #000000", "color: #777777")
    ids = {v["id"] for v in await axe_violations(browser, grey)}
    assert "color-contrast-enhanced" in ids
    assert "LP-16" in {
        v.rule for v in check_html(grey, subject=SUBJECT, lang="en", rtl=False, cjk=False)
    }


async def test_missing_lang_fails_axe_and_em1(browser: A11yBrowser) -> None:  # noqa: F811
    no_lang = bad('<html lang="en" dir="ltr">', "<html>")
    ids = {v["id"] for v in await axe_violations(browser, no_lang)}
    assert "html-has-lang" in ids


async def test_fixed_width_layout_scrolls_sideways_at_320px(browser: A11yBrowser) -> None:  # noqa: F811
    fixed = bad("max-width: 640px", "width: 640px")
    assert await horizontal_overflow(browser, fixed)
    assert not await horizontal_overflow(browser, fixed, width=800)


async def test_pages_get_no_network(browser: A11yBrowser, aiohttp_server: Any) -> None:  # noqa: F811
    hits: list[str] = []

    async def image(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"GIF89a", content_type="image/gif")

    app = web.Application()
    app.router.add_get("/logo.gif", image)
    server = await aiohttp_server(app)
    url = f"http://127.0.0.1:{server.port}/logo.gif"
    remote = bad("</div>\n</body>", f'<img src="{url}" alt="Sample Health Plan"></div>\n</body>')
    await axe_violations(browser, remote)
    assert not await horizontal_overflow(browser, remote)
    assert hits == []
