"""Two review levels, recorded in the catalog: `reviewed` (the team) and `certified` (a
qualified translator, named with the date), shown by `translate status` and GET /v1/templates,
and `language.require` deciding which level may be sent. Always on copies of the shipped
catalogs in a temporary folder, never on the repository's files.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po

from commhub.api.deps import ApiDeps
from commhub.api.templates import language_state
from commhub.content import strings
from commhub.content.i18n import Catalogs
from commhub.content.review import CERTIFIED, REVIEWED, Record, latest_record
from commhub.content.topics import Plural, Text, load_topics
from commhub.errors import ConfigError, PolicyHold
from commhub.render.pipeline import Renderer
from commhub.translate.review import ReviewError, review
from commhub.translate.status import format_status, status
from tests.test_studio import studio_settings

DAY = date(2026, 12, 2)


def test_shipped_catalogs_are_reviewed_and_certified_by_nobody() -> None:
    root = Path(__file__).resolve().parents[1] / "templates"
    catalogs = Catalogs.load(root / "i18n")
    topic = load_topics(root / "topics")["refill_reminder"]
    msgids = Renderer.message_msgids(topic)
    r = catalogs.readiness("es", msgids)
    assert r.ready and r.certified == 0
    assert {catalogs.level("es", m) for m in msgids} == {"reviewed"}
    assert not catalogs.requiring("certified").readiness("es", msgids).ready


def test_certify_records_the_translator_and_status_shows_it(tmp_path: Path) -> None:
    settings = studio_settings(tmp_path)
    i18n, topics = settings.templates_dir / "i18n", settings.templates_dir / "topics"
    subject = load_topics(topics)["refill_reminder"].content.subject.msgid
    change = review(i18n / "es.po", "es", subject, "certify", name="Ana López", today=DAY)
    assert change.user_comments[-1] == "certified: Ana López, 2026-12-02"
    with (i18n / "es.po").open("rb") as f:
        catalog = read_po(f, locale="es_US")  # still a valid catalog for any PO tool
    assert catalog.last_translator == "Ana López"
    assert "certified: Ana López, 2026-12-02" in catalog[subject].user_comments

    es = next(s for s in status(i18n, topics) if s.lang == "es")
    assert es.certified == 1 and es.certified_by == (("Ana López", "2026-12-02", 1),)
    assert "es: 1 strings certified by Ana López on 2026-12-02" in format_status([es])

    # A changed translation loses the certification: it was given to other words.
    review(i18n / "es.po", "es", subject, "save", name="Bo Park", msgstr="Otro asunto", today=DAY)
    catalogs = Catalogs.load(i18n)
    assert (
        catalogs.level("es", subject) == "fuzzy" and catalogs.certification("es", subject) is None
    )


def test_the_latest_record_of_each_kind_is_read_from_the_comments() -> None:
    comments = [
        "reviewed: Bo Park, 2026-11-01",
        "certified: Ana López, 2026-11-02",
        "a note for translators",
        "reviewed: Cy Diaz, 2026-11-03",
        "certified: nobody, not a date",  # not a record: passed over
        "sent back: Ana López, 2026-11-04",
    ]
    assert latest_record(comments, CERTIFIED) == Record(CERTIFIED, "Ana López", date(2026, 11, 2))
    assert latest_record(comments, REVIEWED) == Record(REVIEWED, "Cy Diaz", date(2026, 11, 3))
    assert latest_record(["a note for translators"], CERTIFIED) is None


def test_review_refuses_bad_input_without_touching_the_file(tmp_path: Path) -> None:
    settings = studio_settings(tmp_path)
    po = settings.templates_dir / "i18n" / "es.po"
    before = po.read_bytes()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"action": "certify", "name": "  "}, "name"),
        ({"action": "certify", "name": "Ana\nLópez"}, "name"),
        ({"action": "publish", "name": "Ana"}, "action"),
        (
            {"action": "approve", "name": "Ana", "msgstr": "Llame al %(phone)s y %(nuevo)s"},
            "msgstr",
        ),
    ]
    msgid = strings.CALL_LINE
    for kwargs, field in cases:
        with pytest.raises(ReviewError) as exc:
            review(po, "es", msgid, **kwargs)
        assert exc.value.field == field, kwargs
    with pytest.raises(ReviewError, match="not in the catalog"):
        review(po, "es", "No such string", "approve", name="Ana")
    assert po.read_bytes() == before


async def test_require_certified_sends_only_certified_translations(tmp_path: Path) -> None:
    settings = studio_settings(tmp_path, '[language]\nrequire = "certified"\npolicy = "block"\n')
    root = settings.templates_dir
    topics = load_topics(root / "topics")
    topic = topics["refill_reminder"]

    def renderer() -> Renderer:
        return Renderer(settings, topics, Catalogs.load(root / "i18n"), templates_dir=root)

    with pytest.raises(
        PolicyHold, match=r"language es not ready for refill_reminder: \d+ strings not certified"
    ):
        await renderer().render_preview(topic.name, "es", "relay_text")
    for msgid in dict.fromkeys(Renderer.message_msgids(topic)):
        review(root / "i18n" / "es.po", "es", msgid, "certify", name="Ana López", today=DAY)
    result = await renderer().render_preview(topic.name, "es", "relay_text")
    assert result.lang == "es" and not result.fallback and not result.machine

    # GET /v1/templates shows the level and who certified, with the date.
    catalogs = Catalogs.load(root / "i18n", require="certified")
    deps = ApiDeps(settings=settings, store=None, topics=topics, catalogs=catalogs)  # type: ignore[arg-type]
    state = language_state(deps, topic, "es")
    assert state["ready"] and state["certified"] == state["reviewed"]
    assert state["certified_by"] == [
        {"name": "Ana López", "date": "2026-12-02", "strings": len(set(topic.msgids()))}
    ]


def test_plural_entries_are_reviewed_with_every_form(tmp_path: Path) -> None:
    settings = studio_settings(tmp_path)
    po = settings.templates_dir / "i18n" / "es.po"
    topic = load_topics(settings.templates_dir / "topics")["refill_reminder"]
    plural = next(m for m in topic.content.paragraphs if not isinstance(m, Text))
    assert isinstance(plural, Plural)
    forms = [
        "Le queda %(refills_left)s resurtido.",
        "Le quedan %(refills_left)s resurtidos.",
        "Le quedan %(refills_left)s resurtidos.",
    ]
    with pytest.raises(ReviewError, match="3 plural forms"):
        review(po, "es", plural.singular, "approve", name="Ana", msgstr=forms[:2])
    with pytest.raises(ReviewError, match="lost"):
        review(po, "es", plural.singular, "approve", name="Ana", msgstr=[*forms[:2], "Le quedan."])
    review(po, "es", plural.singular, "certify", name="Ana", msgstr=forms, today=DAY)
    with po.open("rb") as f:
        message = read_po(f, locale="es_US")[plural.singular]
    assert list(message.string) == forms and not message.fuzzy
    assert Catalogs.load(po.parent).level("es", plural.singular) == "certified"


def test_language_require_accepts_two_levels_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"language\.require"):
        studio_settings(tmp_path, '[language]\nrequire = "approved"\n')
