"""axe-core in real headless Chromium, for tests of rendered HTML.

Debian's `/usr/bin/chromium` is driven by Python playwright (never `playwright install`: no
browser download here) and axe-core comes from npm (`npm ci --prefix tests/a11y`).

The browser runs on its own event loop in a background thread, so one browser serves the
whole test session whatever event loop each test runs on (pytest-asyncio gives each test its
own). Tests use it through the `browser` fixture and two coroutines:

    from tests.a11y.harness import axe_violations, browser, horizontal_overflow  # noqa: F401

    @pytest.mark.real
    async def test_x(browser: A11yBrowser) -> None:
        assert await axe_violations(browser, html) == []
        assert not await horizontal_overflow(browser, html)

Pages get no network: every request the HTML makes (remote images, fonts) is aborted.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
# WCAG 2.2 A/AA plus AAA contrast (LP-16); `region` and `landmark-one-main` fire on every
# email (no landmarks in mail), so they are off.
AXE_OPTIONS: dict[str, Any] = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]},
    "rules": {
        "color-contrast-enhanced": {"enabled": True},
        "region": {"enabled": False},
        "landmark-one-main": {"enabled": False},
    },
    "resultTypes": ["violations"],
}
_TIMEOUT_S = 60.0

T = TypeVar("T")


def missing_reason() -> str | None:
    """Why the browser checks cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not installed (apt-get install chromium)"
    if not AXE_JS.exists():
        return f"axe-core not installed: run `npm ci --prefix {AXE_JS.parents[2]}`"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "python playwright not installed"
    return None


class A11yBrowser:
    """One headless Chromium on a private event loop in a daemon thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="a11y-browser", daemon=True
        )
        self._thread.start()
        self._axe = AXE_JS.read_text(encoding="utf-8")
        self._pw: Any = None
        self._browser: Any = None
        self._submit(self._start()).result(_TIMEOUT_S)

    async def _start(self) -> None:
        from playwright.async_api import async_playwright

        self._pw = await async_playwright().start()
        self._browser = await self._pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )

    def _submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def run(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run `fn(page)` on a fresh page in the browser's loop; await it from any loop."""

        async def on_page() -> T:
            context = await self._browser.new_context(viewport={"width": 1024, "height": 768})
            try:
                await context.route("**/*", lambda route: route.abort())
                page = await context.new_page()
                return await fn(page)
            finally:
                await context.close()

        return await asyncio.wrap_future(self._submit(on_page()))

    async def run_site(self, origin: str, fn: Callable[[Any], Awaitable[T]]) -> T:
        """Run `fn(page)` on a fresh page that may reach `origin` (a local app under test) and
        nothing else. The page's CSP is bypassed so that axe-core can be injected."""

        async def route(r: Any) -> None:
            if r.request.url.startswith(origin):
                await r.continue_()
            else:
                await r.abort()

        async def on_page() -> T:
            context = await self._browser.new_context(
                viewport={"width": 1280, "height": 900}, bypass_csp=True
            )
            try:
                await context.route("**/*", route)
                page = await context.new_page()
                return await fn(page)
            finally:
                await context.close()

        return await asyncio.wrap_future(self._submit(on_page()))

    async def inject_axe(self, page: Any) -> None:
        await page.add_script_tag(content=self._axe)

    def close(self) -> None:
        async def stop() -> None:
            if self._browser is not None:
                await self._browser.close()
            if self._pw is not None:
                await self._pw.stop()

        try:
            self._submit(stop()).result(_TIMEOUT_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(_TIMEOUT_S)
            self._loop.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[A11yBrowser]:
    """A session-wide headless Chromium with axe-core at hand; skips when either is missing."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    b = A11yBrowser()
    try:
        yield b
    finally:
        b.close()


async def axe_violations(
    browser: A11yBrowser, html: str, color_scheme: str = "light"
) -> list[dict[str, Any]]:
    """axe-core's violations for `html`: [{id, impact, help, nodes: [{target, html, summary}]}].

    `color_scheme="dark"` emulates `prefers-color-scheme: dark` (a reader's dark mode).
    """

    async def audit(page: Any) -> list[dict[str, Any]]:
        await page.emulate_media(color_scheme=color_scheme)
        await page.set_content(html, wait_until="load")
        await browser.inject_axe(page)
        result: list[dict[str, Any]] = await page.evaluate(
            """async (options) => {
                const r = await axe.run(document, options);
                return r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => ({
                        target: n.target, html: n.html, summary: n.failureSummary})),
                }));
            }""",
            AXE_OPTIONS,
        )
        return result

    return await browser.run(audit)


async def horizontal_overflow(browser: A11yBrowser, html: str, width: int = 320) -> bool:
    """EM-9 reflow: does `html` scroll sideways in a viewport `width` CSS px wide?"""

    async def measure(page: Any) -> bool:
        await page.set_viewport_size({"width": width, "height": 640})
        await page.set_content(html, wait_until="load")
        overflow: bool = await page.evaluate(
            "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
        )
        return overflow

    return await browser.run(measure)


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable summary of axe violations for assertion messages."""
    lines = []
    for v in violations:
        targets = ", ".join(str(n["target"]) for n in v["nodes"][:3])
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} at {targets}")
    return "\n".join(lines)
