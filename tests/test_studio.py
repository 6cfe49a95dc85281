"""The QA and translation studio (`commhub preview serve`) without a browser: the app's
guards, its render and translator endpoints, live reload, and the command's refusal to
listen beyond loopback. The page itself is tested in real Chromium in test_studio_browser.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from babel.messages.pofile import read_po, write_po

from commhub import settings as settings_module
from commhub.content.topics import load_topics
from commhub.domain import Role
from commhub.errors import ConfigError
from commhub.settings import Settings
from commhub.speech import piper_engine
from commhub.speech.piper_engine import PiperEngine
from commhub.store.factory import open_store
from commhub.studio import app as app_module
from commhub.studio import cells as cells_module
from commhub.studio.app import create_app, serve
from commhub.studio.content import LiveContent
from commhub.studio.tty import CHARS_PER_SECOND, tty_timing
from commhub.tokens import create_token

ROOT = Path(__file__).resolve().parents[1]
JOE = "en_US-joe-medium"  # the Piper voice voices/en.toml names
JSON = {"Content-Type": "application/json"}


def studio_settings(tmp_path: Path, extra: str = "") -> Settings:
    """Settings over a copy of the shipped templates in `tmp_path` (never the repository's)."""
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[content]\ntemplates_dir = "templates"\nvoices_dir = "{ROOT / "voices"}"\n{extra}',
        encoding="utf-8",
    )
    return settings_module.load(config, env={})


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    content = LiveContent(studio_settings(tmp_path), speech=None)
    async with TestClient(TestServer(create_app(content), host="127.0.0.1")) as c:
        yield c


def test_tty_timing_counts_characters_shifts_and_time() -> None:
    t = tty_timing("CALL 1-800-555-0100 TTY 711\nSK")
    # CR LF sent for the line end; FIGS before "1", LTRS before "TTY", FIGS before "711",
    # LTRS before "SK".
    assert t.chars == len("CALL 1-800-555-0100 TTY 711\r\nSK")
    assert t.shifts == 4
    assert t.seconds == pytest.approx((t.chars + 4) / CHARS_PER_SECOND)
    assert pytest.approx(6.06, abs=0.01) == CHARS_PER_SECOND
    assert t.baudot_safe
    assert not tty_timing("CAFÉ & CO").baudot_safe


async def test_render_returns_every_cell_with_checks_and_string_states(
    client: TestClient[Any, Any],
) -> None:
    r = await client.post(
        "/api/render",
        json={"template": "refill_reminder", "languages": ["es", "ar"], "formats": "all"},
    )
    assert r.status == 200
    body = await r.json()
    cells = {(c["language"], c["format"]): c for c in body["cells"]}
    assert set(cells) == {
        (lang, fmt) for lang in ("es", "ar") for fmt in ("large_print_email", "audio", "relay_text")
    }
    email = cells["ar", "large_print_email"]
    assert email["status"] == "ok" and email["dir"] == "rtl"
    assert 'lang="ar"' in email["html"] and 'dir="rtl"' in email["html"]
    assert email["checks"]["failed"] == [], email["checks"]
    assert {"LP-1", "EM-3", "LA-1"} <= set(email["checks"]["passed"])
    # Shipped catalogs are reviewed by the team and certified by nobody.
    assert email["strings"]["certified"] == 0 and email["strings"]["ready"]
    assert email["strings"]["below"] == []
    relay = cells["es", "relay_text"]["relay"]
    assert relay["baudot_safe"] and relay["text"].rstrip().endswith("SK")
    assert relay["tty_seconds"] == pytest.approx(
        (relay["chars"] + relay["shifts"]) / CHARS_PER_SECOND, abs=0.1
    )
    assert "TT-1" in cells["es", "relay_text"]["checks"]["passed"]
    assert not cells["ar", "relay_text"]["relay"]["baudot_safe"]  # TT-9: not TTY-encodable
    # No speech service in this app: the audio cell says why it is held, it does not fail.
    assert cells["es", "audio"]["status"] == "held"
    # Content parity is checked in every format, with the data of the request.
    for cell in body["cells"]:
        if cell["status"] == "ok":
            assert {"CP-1", "CP-2", "CP-3", "CP-4"} <= set(cell["checks"]["passed"]), cell


async def test_string_states_are_worked_out_once_per_language_not_per_cell(
    client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    real = cells_module.strings_state

    def counted(renderer: Any, topic: Any, lang: str) -> dict[str, Any]:
        asked.append(lang)
        return real(renderer, topic, lang)

    # Counted under both names a grid render could call it by.
    monkeypatch.setattr(app_module, "strings_state", counted)
    monkeypatch.setattr(cells_module, "strings_state", counted)
    body = {"template": "refill_reminder", "languages": ["es", "ar"], "formats": "all"}
    cells = (await (await client.post("/api/render", json=body)).json())["cells"]
    assert len(cells) == 6 and all(c["strings"]["total"] > 0 for c in cells)
    assert sorted(asked) == ["ar", "es"]  # two languages: twice, not once per cell
    for lang in ("es", "ar"):
        states = [c["strings"] for c in cells if c["language"] == lang]
        assert len(states) == 3 and states[0] == states[1] == states[2]


async def test_a_cell_names_the_strings_that_keep_its_language_from_being_ready(
    client: TestClient[Any, Any],
) -> None:
    # French ships only the footer strings: the cell names the strings it still lacks.
    body = {"template": "coverage_change", "languages": ["fr"], "formats": ["relay_text"]}
    [fr] = (await (await client.post("/api/render", json=body)).json())["cells"]
    assert fr["fallback"] and not fr["strings"]["ready"]
    assert fr["strings"]["below"] and {b["level"] for b in fr["strings"]["below"]} == {"missing"}


async def test_cyrillic_relay_text_shows_its_romanised_tty_alternative(
    client: TestClient[Any, Any],
) -> None:
    body = {"template": "coverage_change", "languages": ["ru"], "formats": ["relay_text"]}
    [cell] = (await (await client.post("/api/render", json=body)).json())["cells"]
    relay = cell["relay"]
    assert not relay["baudot_safe"]  # Cyrillic: not for a TTY line
    alternative = relay["tty_alternative"]
    assert alternative["baudot_safe"] and alternative["text"].rstrip().endswith("SK")


async def test_wrong_values_are_named_per_field(client: TestClient[Any, Any]) -> None:
    r = await client.post(
        "/api/render",
        json={
            "template": "refill_reminder",
            "languages": ["en"],
            "formats": ["large_print_email"],
            "data": {"refill_date": "tomorrow", "pharmacy_name": "Oak & Pine", "refills_left": "x"},
        },
    )
    body = await r.json()
    assert body["cells"] == []
    assert {p["field"]: p["reason"] for p in body["problems"]} == {
        "refill_date": "must be a date like 2026-12-03",
        "refills_left": "must be a whole number",
    }


async def test_guards_refuse_other_hosts_other_origins_and_forms(
    client: TestClient[Any, Any],
) -> None:
    r = await client.get("/api/state", headers={"Host": "evil.example:8090"})
    assert r.status == 421  # DNS rebinding: the page of another site cannot read the studio
    body = {"template": "refill_reminder", "languages": ["en"], "formats": ["relay_text"]}
    r = await client.post("/api/render", json=body, headers={"Origin": "http://evil.example"})
    assert r.status == 403
    r = await client.post(
        "/api/strings",
        data="lang=es",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status == 415  # a cross-site form cannot rewrite a catalog
    r = await client.get("/")
    assert r.status == 200 and "script-src 'self'" in r.headers["Content-Security-Policy"]


async def test_translator_review_writes_the_po_and_reloads(
    client: TestClient[Any, Any], tmp_path: Path
) -> None:
    po = tmp_path / "templates" / "i18n" / "es.po"
    before = po.read_text(encoding="utf-8")
    r = await client.get("/api/strings", params={"template": "refill_reminder", "lang": "es"})
    view = await r.json()
    entry = next(e for e in view["entries"] if "%(" in e["msgid"])
    assert entry["level"] == "reviewed" and entry["certified_by"] is None
    version = view["version"]

    async def act(action: str, **extra: Any) -> tuple[int, Any]:
        body = {"template": "refill_reminder", "lang": "es", "msgid": entry["msgid"]}
        r = await client.post("/api/strings", json={**body, "action": action, **extra})
        return r.status, await r.json()

    # A translation that loses a placeholder is refused, and the file is untouched.
    status, problem = await act("approve", name="Ana López", msgstr="Sin marcadores.")
    assert status == 422 and problem["error"]["field"] == "msgstr"
    assert "lost" in problem["error"]["message"]
    assert po.read_text(encoding="utf-8") == before
    status, problem = await act("certify", name="")
    assert status == 422 and problem["error"]["field"] == "name"

    status, done = await act("certify", name="Ana López")
    assert status == 200 and done["entry"]["level"] == "certified"
    assert done["entry"]["certified_by"]["name"] == "Ana López"
    assert done["version"] > version  # the studio reloaded the catalog it wrote
    with po.open("rb") as f:
        catalog = read_po(f, locale="es_US")
    message = catalog.get(entry["msgid"])
    assert message is not None and not message.fuzzy
    assert any(c.startswith("certified: Ana López, ") for c in message.user_comments)

    status, done = await act("send_back", name="Ana López")
    assert status == 200 and done["entry"]["level"] == "fuzzy"
    with po.open("rb") as f:
        message = read_po(f, locale="es_US").get(entry["msgid"])
    assert message.fuzzy and not any(c.startswith("certified:") for c in message.user_comments)


async def test_catalog_changes_on_disk_are_picked_up(
    client: TestClient[Any, Any], tmp_path: Path
) -> None:
    body = {"template": "refill_reminder", "languages": ["es"], "formats": ["relay_text"]}
    first = await (await client.post("/api/render", json=body)).json()
    po = tmp_path / "templates" / "i18n" / "es.po"
    # As a translator saving in another PO editor would: the subject changes on disk.
    with po.open("rb") as f:
        catalog = read_po(f, locale="es_US")
    subject = load_topics(tmp_path / "templates" / "topics")["refill_reminder"].content.subject
    catalog[subject.msgid].string = "Asunto cambiado en disco"
    with po.open("wb") as f:
        write_po(f, catalog)
    second = await (await client.post("/api/render", json=body)).json()
    assert second["version"] > first["version"]
    assert "ASUNTO CAMBIADO EN DISCO" in second["cells"][0]["relay"]["text"]


async def test_serve_refuses_to_listen_beyond_loopback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="allow-remote"):
        await serve(studio_settings(tmp_path), "0.0.0.0", 0, allow_remote=False)


@pytest.mark.real
async def test_serve_loads_the_voice_in_the_background_without_delaying_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(piper_engine, "_loaded", {})  # as in a fresh process
    started, go_on = threading.Event(), threading.Event()
    real_load = PiperEngine.load

    def slow_load(engine: PiperEngine, voice: str) -> None:
        # The real load, held until the page has answered: a studio that waited for its
        # voices before serving would never answer.
        started.set()
        go_on.wait(30)
        real_load(engine, voice)

    monkeypatch.setattr(PiperEngine, "load", slow_load)
    running = asyncio.ensure_future(
        serve(studio_settings(tmp_path), "127.0.0.1", 0, allow_remote=False)
    )
    try:
        url = None
        for _ in range(600):
            found = re.search(r"http://127\.0\.0\.1:\d+/", capsys.readouterr().out)
            if found or running.done():
                url = found.group(0) if found else None
                break
            await asyncio.sleep(0.05)
        assert url is not None, "the studio did not start"
        async with aiohttp.ClientSession() as session, session.get(url + "api/state") as r:
            assert r.status == 200  # served while the voice is still loading
        assert await asyncio.to_thread(started.wait, 30)  # the warm-up began at start
        assert JOE not in piper_engine._loaded
        go_on.set()
        for _ in range(1200):
            if JOE in piper_engine._loaded:
                break
            await asyncio.sleep(0.05)
        assert JOE in piper_engine._loaded  # loaded before any audio cell asked for it
    finally:
        go_on.set()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_beyond_loopback_every_request_needs_a_qa_token(tmp_path: Path) -> None:
    settings = studio_settings(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'commhub.db'}")
    await store.migrate()
    try:
        qa = await create_token(store, Role.QA, "qa")
        outreach = await create_token(store, Role.OUTREACH, "outreach")
        app = create_app(LiveContent(settings, None), loopback=False, store=store)
        async with TestClient(TestServer(app, host="127.0.0.1")) as c:
            assert (await c.get("/api/state")).status == 401
            r = await c.get("/api/state", headers={"Authorization": f"Bearer {outreach}"})
            assert r.status == 403
            r = await c.get("/api/state", headers={"Authorization": f"Bearer {qa}"})
            assert r.status == 200
            r = await c.get("/", allow_redirects=False)
            assert r.status == 303 and r.headers["Location"] == "/login"
            r = await c.post("/login", data={"token": qa}, allow_redirects=False)
            assert r.status == 303
            assert (await c.get("/api/state")).status == 200  # the cookie now signs in
    finally:
        await store.close()


def test_command_serves_on_loopback_and_refuses_other_addresses(tmp_path: Path) -> None:
    settings_dir = tmp_path / "site"
    studio_settings(settings_dir)
    config = str(settings_dir / "config.toml")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "commhub", "--config", config, "preview", "serve"]
    refused = subprocess.run(
        [*command, "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert refused.returncode == 2 and "allow-remote" in refused.stderr
    with subprocess.Popen(
        [*command, "--port", "0"], stdout=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            url = re.search(r"http://127\.0\.0\.1:\d+/", line)
            assert url, line
            with urllib.request.urlopen(url.group(0) + "api/state", timeout=30) as r:
                state = json.load(r)
            assert "refill_reminder" in [t["name"] for t in state["templates"]]
            assert state["require"] == "reviewed"
        finally:
            proc.send_signal(signal.SIGTERM)  # Ctrl-C or a service manager stopping it
        assert proc.wait(timeout=30) == 0
