"""Templates, previews, the OpenAPI document and metrics over HTTP."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mutagen.mp3 import MP3

from commhub.domain import DeliveryOutcome, Role, State
from tests.test_api_harness import REFILL_DATA, Api, ClientFactory, open_api


@pytest.fixture
async def api(aiohttp_client: ClientFactory, tmp_path: Path) -> AsyncIterator[Api]:
    async with open_api(aiohttp_client, tmp_path) as running:
        yield running


async def test_templates_list_variables_sample_formats_and_language_readiness(api: Api) -> None:
    r = await api.client.get("/v1/templates", headers=api.auth(Role.QA))
    assert r.status == 200
    templates = {t["name"]: t for t in (await r.json())["templates"]}
    assert set(templates) == {
        "refill_reminder",
        "screening_reminder",
        "coverage_change",
        "appointment_reminder",
    }
    refill = templates["refill_reminder"]
    assert refill["variables"] == {
        "refill_date": "date",
        "pharmacy_name": "text",
        "refills_left": "integer",
    }
    assert refill["sample"] == REFILL_DATA
    assert refill["formats"] == ["large_print_email", "audio", "relay_text"]
    en = refill["languages"]["en"]
    assert en["ready"] is True and en["missing"] == 0 and en["fuzzy"] == 0
    # Counted over every string a message uses, not only the topic's own (shared greeting,
    # phone lines, footer): otherwise "ready" could be shown for a message that falls back.
    topic = api.deps.topics["refill_reminder"]
    assert en["reviewed"] > len(set(topic.msgids()))
    for lang, state in refill["languages"].items():
        assert set(state) == {
            "ready",
            "reviewed",
            "certified",
            "certified_by",
            "fuzzy",
            "missing",
            "voice",
            "formats",
        }, lang
        assert state["ready"] == (state["fuzzy"] == 0 and state["missing"] == 0)
        assert state["formats"] == {
            "large_print_email": state["ready"],
            "audio": state["ready"] and state["voice"] is not None,
            "relay_text": state["ready"],
        }, lang
    # The shipped catalogs are honestly reviewed by the team, certified by nobody.
    assert refill["languages"]["es"]["certified"] == 0
    assert refill["languages"]["es"]["certified_by"] == []
    # Readiness per format: Somali is reviewed but has no voice; French has a voice but
    # ships only the footer strings.
    so, fr = refill["languages"]["so"], refill["languages"]["fr"]
    assert so["formats"] == {"large_print_email": True, "audio": False, "relay_text": True}
    assert fr["formats"] == {"large_print_email": False, "audio": False, "relay_text": False}
    # The voice named is the one the speech service would use for that language.
    assert refill["languages"]["es"]["voice"] == api.deps.voices.describe("es")  # type: ignore[union-attr]
    assert refill["languages"]["es"]["voice"] == "espeak-ng:es-419"
    assert refill["languages"]["en"]["voice"] == "piper:en_US-joe-medium"


async def preview(api: Api, role: Role = Role.QA, **body: Any) -> tuple[int, Any]:
    r = await api.client.post("/v1/previews", json=body, headers=api.auth(role))
    return r.status, await r.json()


async def test_preview_large_print_with_sample_data(api: Api) -> None:
    status, out = await preview(api, template="refill_reminder", language="en")
    assert status == 200, out
    assert out["subject"] == "Time to refill your prescription"
    assert "Main Street Pharmacy" in out["text"]
    assert out["html"] and 'lang="en"' in out["html"]
    assert out["audio_mp3_base64"] is None
    assert out["language_fallback"] is False


async def test_preview_uses_the_data_given(api: Api) -> None:
    data = {**REFILL_DATA, "pharmacy_name": "Harbor Drugs"}
    status, out = await preview(api, template="refill_reminder", format="relay_text", data=data)
    assert status == 200, out
    assert "HARBOR DRUGS" in out["text"].upper()
    assert "MAIN STREET" not in out["text"].upper()


@pytest.mark.real
async def test_preview_audio_returns_a_playable_mp3(api: Api) -> None:
    status, out = await preview(api, template="refill_reminder", language="en", format="audio")
    assert status == 200, out
    mp3 = base64.b64decode(out["audio_mp3_base64"])
    info = MP3(io.BytesIO(mp3)).info
    assert info.length > 2 and info.channels == 1
    assert out["voice"] == "piper:en_US-joe-medium"  # the neural English voice
    assert out["spoken_text"]


async def test_preview_wrong_variable_type_names_the_field(api: Api) -> None:
    status, out = await preview(
        api, template="refill_reminder", data={**REFILL_DATA, "refill_date": "soon"}
    )
    assert status == 422
    assert [d["field"] for d in out["error"]["details"]] == ["data.refill_date"]


async def test_openapi_document_lists_every_route_the_app_serves(api: Api) -> None:
    r = await api.client.get("/v1/openapi.json", headers=api.auth(Role.QA))
    assert r.status == 200
    doc = json.loads(await r.text())
    assert doc["openapi"].startswith("3.1")
    served: dict[str, set[str]] = {}
    for route in api.client.app.router.routes():
        resource = route.resource
        assert resource is not None
        served.setdefault(resource.canonical, set()).add(route.method.lower())
    documented = {
        path: {m for m in item if m in {"get", "put", "post", "delete", "patch"}}
        for path, item in doc["paths"].items()
    }
    assert documented == served
    # Every $ref points at something that exists.
    refs = {m for m in _refs(doc)}
    for ref in refs:
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_metrics_report_deliveries_latency_and_queue_depth(api: Api) -> None:
    ids = await api.add_members(3)
    body = {
        "template": "refill_reminder",
        "name": "n",
        "recipients": [{"member_id": m, "data": REFILL_DATA} for m in ids],
    }
    assert (await api.client.post("/v1/campaigns", json=body, headers=api.auth())).status == 201
    api.deps.metrics.observe_outcome(DeliveryOutcome(1, State.SENT), 0.03)
    api.deps.metrics.observe_outcome(DeliveryOutcome(2, State.HELD), 9.0)
    r = await api.client.get("/metrics")
    assert r.status == 401
    r = await api.client.get("/metrics", headers=api.auth(Role.QA))
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await r.text()
    lines = set(text.splitlines())
    assert 'commhub_deliveries{state="queued"} 3' in lines
    assert 'commhub_deliveries{state="sent"} 0' in lines
    assert "commhub_queue_depth 3" in lines
    assert 'commhub_delivery_outcomes_total{state="sent"} 1' in lines
    assert 'commhub_send_latency_seconds_bucket{le="0.025"} 0' in lines
    assert 'commhub_send_latency_seconds_bucket{le="0.05"} 1' in lines
    assert 'commhub_send_latency_seconds_bucket{le="+Inf"} 1' in lines  # the hold is not a send
    assert "commhub_send_latency_seconds_count 1" in lines
    assert any(
        line.startswith(
            'commhub_http_requests_total{method="POST",route="/v1/campaigns",status="201"}'
        )
        for line in lines
    )
