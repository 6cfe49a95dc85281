"""The studio page in real headless Chromium: chosen by keyboard alone, LTR and RTL cells,
re-rendering on edits, a playable audio source, a translator's approval written to the `.po`
on disk (a copy of the templates in tmp), and no axe-core violations.

One studio serves the module, on its own event loop in a thread (the browser has its own,
see tests/a11y/harness.py), over a copy of the shipped templates with the real speech engine.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from babel.messages.pofile import read_po

from commhub.content.topics import load_topics
from commhub.languages import LANGUAGES
from commhub.render.relay_text import to_tty
from commhub.speech import SpeechService
from commhub.studio.app import create_app
from commhub.studio.content import LiveContent
from tests.a11y import harness
from tests.a11y.harness import AXE_OPTIONS as HARNESS_AXE_OPTIONS
from tests.a11y.harness import A11yBrowser, describe
from tests.test_studio import studio_settings

pytestmark = pytest.mark.real
browser = harness.browser  # the session's headless Chromium (a fixture)
TIMEOUT_MS = 30_000


@dataclass
class Running:
    url: str
    templates: Path


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    settings = studio_settings(tmp_path_factory.mktemp("studio"))
    content = LiveContent(settings, SpeechService(settings.speech, settings.voices_dir))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="studio", daemon=True)
    thread.start()
    runner = web.AppRunner(create_app(content))

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return int(runner.addresses[0][1])

    port = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield Running(f"http://127.0.0.1:{port}", settings.templates_dir)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def translation(studio: Running, lang: str, msgid: str) -> str:
    """The catalog's translation of `msgid` (the copy the studio serves)."""
    with (studio.templates / "i18n" / f"{lang}.po").open("rb") as f:
        return str(read_po(f, locale=LANGUAGES[lang].locale)[msgid].string)


async def open_page(page: Any, url: str, query: str = "") -> None:
    await page.goto(f"{url}/{query}")
    await page.wait_for_selector("body[data-ready] .cell", timeout=TIMEOUT_MS)
    await wait_rendered(page)


async def wait_rendered(page: Any) -> None:
    await page.wait_for_function(
        "() => document.getElementById('grid').getAttribute('aria-busy') === 'false'"
        " && /cells rendered/.test(document.getElementById('status').textContent)",
        timeout=TIMEOUT_MS,
    )


async def tab_to(page: Any, element_id: str, limit: int = 40) -> None:
    """Press Tab until the element has focus: the keyboard alone, as a user would."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement && document.activeElement.id") == (
            element_id
        ):
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


async def choose_by_keyboard(page: Any, element_id: str, label_start: str) -> None:
    """Focus a select with Tab, then press the arrow keys until the option named is chosen."""
    await tab_to(page, element_id)
    where = await page.evaluate(
        """([id, start]) => { const s = document.getElementById(id);
          return [s.selectedIndex, [...s.options].findIndex(o => o.text.startsWith(start))]; }""",
        [element_id, label_start],
    )
    current, target = where
    assert target >= 0, f"no option {label_start!r} in #{element_id}"
    key = "ArrowDown" if target > current else "ArrowUp"
    for _ in range(abs(target - current)):
        await page.keyboard.press(key)
    chosen = await page.evaluate(
        "(id) => { const s = document.getElementById(id); return s.options[s.selectedIndex].text; }",
        element_id,
    )
    assert chosen.startswith(label_start), chosen


async def test_keyboard_choice_and_ltr_and_rtl_cells(browser: A11yBrowser, studio: Running) -> None:
    async def check(page: Any) -> dict[str, Any]:
        # Start on cheap cells (relay text): each arrow key renders the grid again.
        await open_page(page, studio.url, "?language=de&format=relay_text")
        await page.evaluate("() => document.activeElement.blur()")
        await choose_by_keyboard(page, "template", "screening_reminder")
        await wait_rendered(page)
        await choose_by_keyboard(page, "language", "Spanish")
        await wait_rendered(page)
        spanish_relay = await page.evaluate(
            """() => [...document.querySelectorAll('.cell')].map(c => ({
                format: c.dataset.format,
                lang: c.querySelector('pre.tty')?.getAttribute('lang'),
                text: c.querySelector('pre.tty')?.textContent,
                checks: c.querySelector('details.checks summary')?.textContent,
            }))"""
        )
        await page.keyboard.press("Shift+Tab")  # back to the language select
        await choose_by_keyboard(page, "format", "Large-print email")
        await wait_rendered(page)
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Shift+Tab")
        await choose_by_keyboard(page, "language", "Arabic")
        await wait_rendered(page)
        await page.wait_for_function(
            "() => document.querySelector('.cell.email iframe')?.contentDocument?.body",
            timeout=TIMEOUT_MS,
        )
        arabic_email = await page.evaluate(
            """() => { const f = document.querySelector('.cell.email iframe.frame-real');
              const d = f.contentDocument; return {
                cells: document.querySelectorAll('.cell').length,
                row_lang: document.querySelector('.lang-row').dataset.lang,
                lang: d.documentElement.getAttribute('lang'),
                dir: d.documentElement.getAttribute('dir'),
                heading: d.querySelector('h1').textContent,
                subject_lang: document.querySelector('.cell .meta dd span[lang]').getAttribute('lang'),
                subject_dir: document.querySelector('.cell .meta dd span[lang]').getAttribute('dir'),
                sandbox: f.getAttribute('sandbox'),
                narrow: document.querySelector('.frame-320').getBoundingClientRect().width,
              }; }"""
        )
        return {"relay": spanish_relay, "email": arabic_email}

    seen = await browser.run_site(studio.url, check)
    topic = load_topics(studio.templates / "topics")["screening_reminder"]
    [relay] = seen["relay"]
    assert relay["format"] == "relay_text" and relay["lang"] == "es"
    assert "SK" in relay["text"] and relay["text"] == relay["text"].upper()
    # The Spanish subject, as a TTY prints it, opens the relay text.
    subject = to_tty(translation(studio, "es", topic.content.subject.msgid))
    assert relay["text"].startswith(subject), (subject, relay["text"][:80])
    assert "0 failed" in relay["checks"]
    email = seen["email"]
    assert email["cells"] == 1 and email["row_lang"] == "ar"
    assert (email["lang"], email["dir"]) == ("ar", "rtl")
    assert email["heading"].strip() == translation(studio, "ar", topic.content.heading.msgid)
    assert (email["subject_lang"], email["subject_dir"]) == ("ar", "rtl")
    assert email["sandbox"] == "allow-same-origin"  # no script runs in a rendered email
    assert 320 <= email["narrow"] <= 330


async def test_an_edit_re_renders_and_a_wrong_value_is_named_at_its_field(
    browser: A11yBrowser, studio: Running
) -> None:
    async def check(page: Any) -> dict[str, Any]:
        await open_page(page, studio.url, "?template=refill_reminder&language=en&format=relay_text")
        await page.fill("#var-pharmacy_name", "Oak & Pine Pharmacy of Greater Portland")
        await page.wait_for_function(
            "() => /OAK AND PINE|OAK & PINE/.test(document.querySelector('pre.tty')?.textContent)",
            timeout=TIMEOUT_MS,
        )
        relay = await page.text_content("pre.tty")
        await page.fill("#var-refill_date", "next tuesday")
        await page.wait_for_function(
            "() => document.getElementById('var-refill_date-error').textContent !== ''",
            timeout=TIMEOUT_MS,
        )
        return {
            "relay": relay,
            "error": await page.text_content("#var-refill_date-error"),
            "invalid": await page.get_attribute("#var-refill_date", "aria-invalid"),
            "described": await page.get_attribute("#var-refill_date", "aria-describedby"),
        }

    seen = await browser.run_site(studio.url, check)
    assert "PINE PHARMACY OF GREATER PORTLAND" in seen["relay"]
    assert seen["error"] == "refill date must be a date like 2026-12-03"
    assert seen["invalid"] == "true" and "var-refill_date-error" in seen["described"]


async def test_play_as_tty_types_the_relay_text_at_tty_speed(
    browser: A11yBrowser, studio: Running
) -> None:
    async def check(page: Any) -> dict[str, Any]:
        await open_page(page, studio.url, "?template=refill_reminder&language=en&format=relay_text")
        full = await page.text_content("pre.tty")
        await page.get_by_role("button", name="Play as TTY").press("Enter")
        await page.wait_for_timeout(1000)
        shown = await page.text_content("pre.tty")
        focused = await page.evaluate("() => document.activeElement.textContent")
        await page.keyboard.press("Enter")  # Stop has the focus
        return {
            "full": full,
            "shown": shown,
            "focused": focused,
            "after": await page.text_content("pre.tty"),
            "status": await page.text_content("#status"),
        }

    seen = await browser.run_site(studio.url, check)
    # About 6 characters a second: a second in, a few characters, the start of the text.
    assert 2 <= len(seen["shown"]) <= 14 and seen["full"].startswith(seen["shown"])
    assert seen["focused"] == "Stop" and seen["after"] == seen["full"]
    assert "Stopped" in seen["status"]


async def test_audio_cell_has_a_playable_source(browser: A11yBrowser, studio: Running) -> None:
    async def check(page: Any) -> dict[str, Any]:
        await open_page(page, studio.url, "?template=refill_reminder&language=es&format=audio")
        return await page.evaluate(
            """async () => {
              const a = document.querySelector('.cell.audio audio');
              if (a.readyState < 1) await new Promise((ok, fail) => {
                a.addEventListener('loadedmetadata', ok); a.addEventListener('error', fail); });
              const r = await fetch(a.currentSrc);
              return { can: a.canPlayType('audio/mpeg'), duration: a.duration,
                       type: r.headers.get('Content-Type'), error: a.error,
                       voice: document.querySelector('.cell.audio').textContent,
                       transcript_lang: document.querySelector('.transcript').getAttribute('lang') };
            }"""
        )

    seen = await browser.run_site(studio.url, check)
    assert seen["can"] in ("maybe", "probably") and seen["error"] is None
    assert seen["type"] == "audio/mpeg" and seen["duration"] > 5
    assert "espeak-ng" in seen["voice"] and seen["transcript_lang"] == "es"


async def test_translator_approves_a_string_and_the_po_file_changes(
    browser: A11yBrowser, studio: Running
) -> None:
    po = studio.templates / "i18n" / "vi.po"
    with po.open("rb") as f:
        before = read_po(f, locale="vi")

    async def check(page: Any) -> str:
        await open_page(page, studio.url, "?template=refill_reminder&language=vi&format=relay_text")
        await page.select_option("#tr-language", "vi")
        await page.wait_for_selector(
            '#tr-strings article.string textarea[lang="vi"]', timeout=TIMEOUT_MS
        )
        msgid = await page.get_attribute("#tr-strings article.string", "data-msgid")
        await page.fill("#tr-name", "Lan Nguyen")
        # Send it back, then approve it: each writes the file.
        first = page.locator("#tr-strings article.string").first
        await first.get_by_role("button", name="Send back (fuzzy)").click()
        await first.get_by_text("Sent back (fuzzy)").wait_for(timeout=TIMEOUT_MS)
        await first.get_by_role("button", name="Approve (reviewed)").click()
        await first.get_by_text("Approved (reviewed)").wait_for(timeout=TIMEOUT_MS)
        return str(msgid)

    msgid = await browser.run_site(studio.url, check)
    with po.open("rb") as f:
        after = read_po(f, locale="vi")  # still a valid catalog
    message = after[msgid]
    assert not message.fuzzy
    assert message.string == before[msgid].string
    assert any(c.startswith("reviewed: Lan Nguyen, ") for c in message.user_comments)
    assert not any(c.startswith("sent back:") for c in message.user_comments)
    assert after.last_translator == "Lan Nguyen"
    # Every other entry is as it was.
    for m in before:
        if m.id and m.id != msgid:
            assert after[m.id].string == m.string and after[m.id].fuzzy == m.fuzzy, m.id


async def test_axe_finds_no_violations(browser: A11yBrowser, studio: Running) -> None:
    async def audit(page: Any) -> list[dict[str, Any]]:
        await open_page(page, studio.url, "?template=appointment_reminder&language=ar")
        await page.wait_for_selector("#tr-strings article.string", timeout=TIMEOUT_MS)
        await browser.inject_axe(page)
        options = {**HARNESS_AXE_OPTIONS, "iframes": False}  # the emails have their own tests
        result: list[dict[str, Any]] = await page.evaluate(
            """async (options) => {
                const r = await axe.run(document, options);
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => ({target: n.target, html: n.html,
                                               summary: n.failureSummary}))}));
            }""",
            options,
        )
        return result

    violations = await browser.run_site(studio.url, audit)
    assert violations == [], describe(violations)
