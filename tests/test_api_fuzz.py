"""Property: whatever Unicode, sizes and CSV shapes reach the member, import and campaign
endpoints, the answer is never a 5xx (hypothesis, bounded examples).

The server is `commhub serve` as a user runs it (real SQLite file, outbox), started once
for the module; requests go over a real socket.
"""

from __future__ import annotations

import http.client
import json
import string
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commhub.domain import MEMBER_FIELDS
from tests.serve_process import serve_process

EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: CI does not flap
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TOPICS = ["refill_reminder", "screening_reminder", "coverage_change", "appointment_reminder"]


class Server:
    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token

    def request(self, method: str, path: str, body: bytes, ctype: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(
                method,
                path,
                body=body,
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": ctype},
            )
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve_process(tmp_path_factory.mktemp("fuzz")) as hub:
        yield Server(hub.port, hub.token)
    assert "Traceback" not in hub.log.read_text(encoding="utf-8", errors="replace")


# Any code point, lone surrogates included (JSON carries them as \ud800 escapes).
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)
some_text = st.one_of(
    any_text,
    st.builds(lambda a, b: f"{a}\ud800{b}", any_text, any_text),  # a lone surrogate inside
    st.sampled_from(["", " ", "\u202eAna", "\x85", "\u2028", "Ana\r\nBcc: x", "\ud800"]),
    st.integers(min_value=1, max_value=200_000).map(lambda n: "A" * n),
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | some_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=10,
)
member_value = st.one_of(
    json_value,
    st.sampled_from(["es", "en", "vi", "large_print_email", "relay_text", "a@example.org"]),
    st.lists(st.sampled_from([*TOPICS, "refills"]) | some_text, max_size=120),
)
VALID = {"given_name": "Ana", "language": "es", "format": "large_print_email", "email": "a@b.org"}
# A valid member with some fields replaced, now and then an unknown field, or fields alone.
member_body = st.builds(
    lambda base, changes, extra: {**base, **changes, **extra},
    st.sampled_from([VALID, VALID, VALID, {}]),
    st.dictionaries(st.sampled_from(MEMBER_FIELDS), some_text | member_value, max_size=4),
    st.sampled_from([{}, {}, {}]) | st.dictionaries(any_text, json_value, max_size=2),
)
member_id = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,70}", fullmatch=True),
    st.text(min_size=1, max_size=80),
    st.just("import"),
)


def _no_5xx(status: int, body: bytes) -> None:
    assert status < 500, body[:500]
    json.loads(body)  # every answer, error or not, is JSON


@FUZZ
@given(mid=member_id, body=member_body)
def test_put_member_never_5xx(server: Server, mid: str, body: dict[str, Any]) -> None:
    path = "/v1/members/" + urllib.parse.quote(mid, safe="")
    status, out = server.request("PUT", path, json.dumps(body).encode(), "application/json")
    if status != 404:  # a path that is not a member route at all has no JSON promise
        _no_5xx(status, out)
    assert status < 500


line_end = st.sampled_from(["\n", "\r\n", "\r"])
cell = st.one_of(some_text, st.sampled_from(["es", "large_print_email", "a@example.org", "M1", ""]))


@st.composite
def csv_documents(draw: st.DrawFn) -> str:
    """A header (valid columns or not) and rows of any width, quoting and line ends."""
    header = draw(
        st.lists(st.sampled_from(MEMBER_FIELDS) | st.text(max_size=12), min_size=0, max_size=11)
    )
    rows = draw(st.lists(st.lists(cell, max_size=12), max_size=6))
    quote = draw(st.booleans())
    end = draw(line_end)

    def render(values: list[str]) -> str:
        if quote:
            return ",".join('"' + v.replace('"', '""') + '"' for v in values)
        return ",".join(values)

    text = end.join(render(r) for r in [header, *rows])
    return text + draw(st.sampled_from(["", end, '"', "\x00"]))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogatepass")  # lone surrogates: invalid UTF-8


@FUZZ
@given(text=csv_documents())
def test_csv_import_never_5xx(server: Server, text: str) -> None:
    _no_5xx(*server.request("POST", "/v1/members/import", _utf8(text), "text/csv"))


ndjson_line = st.one_of(member_body.map(json.dumps), some_text, json_value.map(json.dumps))


@FUZZ
@given(lines=st.lists(ndjson_line, max_size=6), end=line_end)
def test_ndjson_import_never_5xx(server: Server, lines: list[str], end: str) -> None:
    body = _utf8(end.join(lines))
    _no_5xx(*server.request("POST", "/v1/members/import", body, "application/x-ndjson"))


send_at = st.one_of(
    st.sampled_from(
        ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-12-03T09:00:00Z", ""]
    ),
    st.datetimes().map(lambda d: d.isoformat() + "+23:59"),
    some_text,
)
recipient = st.fixed_dictionaries(
    {"member_id": member_id | json_value},
    optional={"data": st.dictionaries(any_text | st.sampled_from(["refill_date"]), json_value)},
)


@FUZZ
@given(
    template=st.sampled_from(TOPICS) | some_text,
    name=some_text | json_value,
    when=send_at,
    recipients=st.lists(recipient, max_size=5) | json_value,
)
def test_json_campaign_never_5xx(
    server: Server, template: Any, name: Any, when: Any, recipients: Any
) -> None:
    body = {"template": template, "name": name, "send_at": when, "recipients": recipients}
    raw = json.dumps(body).encode()
    _no_5xx(*server.request("POST", "/v1/campaigns", raw, "application/json"))


@FUZZ
@given(
    text=csv_documents(),
    name=st.text(string.printable, max_size=20),
    when=send_at.filter(lambda s: isinstance(s, str)),
)
def test_csv_campaign_never_5xx(server: Server, text: str, name: str, when: str) -> None:
    query = urllib.parse.urlencode(
        {"template": "refill_reminder", "name": name, "send_at": when}, errors="surrogatepass"
    )
    _no_5xx(*server.request("POST", f"/v1/campaigns?{query}", _utf8(text), "text/csv"))


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(["refill_date", "pharmacy_name", "refills_left"]) | any_text, json_value
    )
)
def test_preview_data_never_5xx(server: Server, data: dict[str, Any]) -> None:
    body = json.dumps({"template": "refill_reminder", "data": data}).encode()
    _no_5xx(*server.request("POST", "/v1/previews", body, "application/json"))
