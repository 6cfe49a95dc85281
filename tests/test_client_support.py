"""Every render holds in the mail clients members use, per the Can I email data (issue 17).

Each topic × language (every catalog) × (large print, audio transcript) HTML goes through
doiuse-email (caniemail.com's support tables, npm `@jsx-email/doiuse-email`) for Gmail,
Outlook (all), Apple Mail, Yahoo and Samsung Email, in one node process. A feature a client
does not support fails the test unless docs/email-clients.md keeps it as an exception with its
reason; a partial-support warning fails unless that page reviewed it. Both lists must stay
current: an exception no render needs any more fails too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import replace
from functools import cache

import pytest

from commhub.domain import Format
from commhub.render import Renderer
from commhub.settings import UnsubscribeSettings
from tests.test_render_support import ROOT, TOPICS, member, real_renderer, settings

pytestmark = pytest.mark.real

SCRIPT = ROOT / "tests" / "a11y" / "client_support.mjs"
PACKAGE = ROOT / "tests" / "a11y" / "node_modules" / "@jsx-email" / "doiuse-email"
DOC = ROOT / "docs" / "email-clients.md"
_FINDING = re.compile(r"^`(.+)` is (not supported|only partially supported) by `([\w.-]+)`$")
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|([^|]+)\|")


@cache
def linking_renderer() -> Renderer:
    """The real catalogs with unsubscribe links on (CP-3's link is in every email then)."""
    base = settings()
    linked = replace(base, unsubscribe=UnsubscribeSettings(secret="s" * 32))
    return Renderer(linked, TOPICS, real_renderer().catalogs)


def renders() -> dict[str, str]:
    """Every large-print and transcript HTML: topic × language of every catalog."""
    renderer = linking_renderer()
    out: dict[str, str] = {}
    for name, topic in TOPICS.items():
        values, problems = topic.parse_data(topic.sample)
        assert problems == []
        for lang in renderer.catalogs.languages():
            result = renderer.render_sync(name, member(lang), topic.sample, 1)
            out[f"{name}-{lang}-large_print"] = result.html or ""
            plan = renderer.plan(topic, lang)
            m = member(lang, Format.AUDIO)
            out[f"{name}-{lang}-transcript"] = renderer.transcript_html(
                topic, m, values, plan, (1, "m-1")
            )
    return out


def documented(section: str) -> set[tuple[str, str]]:
    """(feature, client) pairs of one table of docs/email-clients.md, under `## section`."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"## {section}")
    end = text.find("\n## ", start + 1)
    pairs: set[tuple[str, str]] = set()
    for line in text[start : end if end > 0 else None].splitlines():
        m = _ROW.match(line)
        if m:
            for client in m[2].replace("`", "").split(","):
                pairs.add((m[1], client.strip()))
    return pairs


def client_support(htmls: dict[str, str]) -> list[dict[str, object]]:
    node = shutil.which("node")
    if node is None or not PACKAGE.exists():
        pytest.skip("node or @jsx-email/doiuse-email missing: npm ci --prefix tests/a11y")
    payload = json.dumps([{"id": k, "html": v} for k, v in htmls.items()])
    done = subprocess.run(
        [node, str(SCRIPT)], input=payload, capture_output=True, text=True, check=True, timeout=300
    )
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found


def _pairs(findings: object) -> set[tuple[str, str]]:
    assert isinstance(findings, list)
    out = set()
    for f in findings:
        m = _FINDING.match(f)
        assert m, f"unexpected doiuse-email message {f!r}"
        out.add((m[1], m[3]))
    return out


def test_every_render_uses_only_what_the_clients_support_or_the_docs_justify() -> None:
    htmls = renders()
    assert len(htmls) == 2 * len(TOPICS) * len(real_renderer().catalogs.languages())
    assert not any("<bdi" in h for h in htmls.values())
    results = client_support(htmls)
    assert [r["id"] for r in results] == list(htmls)
    exceptions, reviewed = documented("Unsupported, kept"), documented("Partial support, reviewed")
    errors: Counter[tuple[str, str]] = Counter()
    warnings: Counter[tuple[str, str]] = Counter()
    for r in results:
        errors.update(_pairs(r["errors"]))
        warnings.update(_pairs(r["warnings"]))
    unjustified = sorted(set(errors) - exceptions)
    assert unjustified == [], f"unsupported and not in {DOC.name}: {unjustified}"
    unreviewed = sorted(set(warnings) - reviewed)
    assert unreviewed == [], f"partial support not reviewed in {DOC.name}: {unreviewed}"
    stale = sorted(exceptions - set(errors))
    assert stale == [], f"exceptions in {DOC.name} that no render needs: {stale}"


def test_the_check_finds_what_clients_drop() -> None:
    """The check itself: the markup issue 17 replaced is reported as unsupported."""
    old = '<html><body><p><bdi>Wei</bdi> <span style="white-space:nowrap">1-800</span></p></body></html>'
    (result,) = client_support({"old": old})
    errors = _pairs(result["errors"])
    assert ("<bdi> element", "gmail.desktop-webmail") in errors
    assert ("<bdi> element", "outlook.windows") in errors
    assert ("white-space", "samsung-email.android") in errors
