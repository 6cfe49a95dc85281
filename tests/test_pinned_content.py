"""Pinned content, on both stores: a campaign sends the template and catalog content it was
created with, whatever changes on disk later (a restart with edited files included); the
campaign shows its content hash; `commhub preview --campaign ID` renders what it sends.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
from pathlib import Path

import pytest

from commhub.cli import main
from commhub.content.pinned import ContentFiles
from commhub.settings import SHIPPED_ROOT
from tests.hub_harness import hub_env, write_config
from tests.smtp_server import SmtpTestServer
from tests.store_fixtures import store, store_url  # noqa: F401  (parametrized: sqlite, postgres)

REFILL = {"refill_date": "2026-12-03", "pharmacy_name": "Main Street Pharmacy", "refills_left": 2}
OLD_EN, NEW_EN = "Time to refill your prescription", "Your refill is due: edited topic"
OLD_ES, NEW_ES = "Es hora de resurtir su receta", "Su resurtido vence: catalogo editado"


def subjects(smtp_server: SmtpTestServer) -> dict[str, str]:
    out = {}
    for r in smtp_server.messages:
        msg = email.message_from_bytes(r.content, policy=email.policy.default)
        out[r.rcpt_tos[0]] = str(msg["Subject"])
    return out


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


async def test_a_campaign_sends_what_it_was_created_with(
    tmp_path: Path,
    store_url: str,  # noqa: F811
    smtp_server: SmtpTestServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(SHIPPED_ROOT / "templates", templates)
    config = write_config(
        tmp_path, store_url, smtp_server.port, content={"templates_dir": str(templates)}
    )
    async for env in hub_env(config):
        await env.add_member("P-es", language="es")
        await env.add_member("P-en")
        first = await env.campaign(
            "refill_reminder", [{"member_id": m, "data": REFILL} for m in ("P-es", "P-en")]
        )
        _, body = await env.call("GET", f"/v1/campaigns/{first}")
        first_hash = body["content_hash"]
        assert first_hash == ContentFiles.read(templates).pin("refill_reminder").hash
        await env.call("POST", f"/v1/campaigns/{first}/pause")  # nothing sent yet
    # Staff edit the topic and the Spanish catalog, and restart the hub.
    replace_in(templates / "topics" / "refill_reminder.toml", OLD_EN, NEW_EN)
    replace_in(templates / "i18n" / "es.po", f'msgstr "{OLD_ES}"', f'msgstr "{NEW_ES}"')
    async for env in hub_env(config):
        await env.add_member("N-en")
        second = await env.campaign("refill_reminder", [{"member_id": "N-en", "data": REFILL}])
        _, body = await env.call("GET", f"/v1/campaigns/{second}")
        assert body["content_hash"] not in (None, first_hash)
        await env.call("POST", f"/v1/campaigns/{first}/resume")
        assert await env.drain(first) == {"sent": 2}
        assert await env.drain(second) == {"sent": 1}
    got = subjects(smtp_server)
    assert got["p-es@example.org"] == OLD_ES  # pinned: the catalog as it was
    assert got["p-en@example.org"] == OLD_EN  # pinned: the topic as it was
    assert got["n-en@example.org"] == NEW_EN  # created after the edit

    # `commhub preview --campaign ID` renders the pinned content, not the files on disk.
    out_dir = tmp_path / "preview"
    capsys.readouterr()
    code = await asyncio.to_thread(
        main,
        ["--config", str(config), "preview", "--campaign", first, "--lang", "es",
         "--out", str(out_dir)],
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert f"content {first_hash}" in printed
    (eml,) = out_dir.glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert str(msg["Subject"]) == OLD_ES
    code = await asyncio.to_thread(
        main, ["--config", str(config), "preview", "--campaign", "cmp_nope"]
    )
    assert code == 2


async def test_content_is_stored_once_however_many_campaigns_pin_it(store) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from commhub.domain import Recipient
    from commhub.store.base import NewCampaign
    from tests.test_store import member

    pinned = ContentFiles.read(SHIPPED_ROOT / "templates").pin("refill_reminder")
    await store.upsert_members([member("s1")])
    for name in ("a", "b"):
        campaign, _ = await store.create_campaign(
            NewCampaign(
                name=name,
                template="refill_reminder",
                send_at=None,
                recipients=[Recipient("s1", {"drug": "x"})],
                content=pinned,
            )
        )
        assert campaign.content_hash == pinned.hash
    again = await store.pinned_content(pinned.hash)
    assert again is not None and again.manifest == pinned.manifest
    assert again.blobs == {h: pinned.blobs[h] for h in pinned.blob_hashes()}
    topic, catalogs = again.load()
    assert topic.name == "refill_reminder" and "es" in catalogs.languages()
    assert await store.pinned_content("0" * 64) is None
