"""The shipped catalogs (templates/i18n/*.po) against the English source and messages.pot.

Parametrized over "en" plus every shipped catalog: with no catalog yet, the English source
itself is still checked (its placeholders are consistent and its template is up to date).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from commhub.content import strings
from commhub.content.i18n import Catalogs, check_translation, placeholders
from commhub.content.topics import load_topics
from commhub.languages import LANGUAGES
from commhub.translate.extract import build_template

ROOT = Path(__file__).resolve().parent.parent
TOPICS = load_topics(ROOT / "templates" / "topics")
I18N = ROOT / "templates" / "i18n"
SHIPPED = sorted(p.stem for p in I18N.glob("*.po")) if I18N.is_dir() else []
TEMPLATE = build_template(TOPICS)


def source_entries() -> list[tuple[str, str | None]]:
    """(msgid, msgid_plural) of every string of the template."""
    out: list[tuple[str, str | None]] = []
    for m in TEMPLATE:
        if not m.id:
            continue
        if isinstance(m.id, (list, tuple)):
            out.append((str(m.id[0]), str(m.id[1])))
        else:
            out.append((str(m.id), None))
    return out


def test_template_holds_every_string_a_message_uses() -> None:
    ids = {msgid for msgid, _ in source_entries()}
    for topic in TOPICS.values():
        assert set(topic.msgids()) <= ids, topic.name
    assert set(strings.SHARED) <= ids
    assert set(strings.LANGUAGE_ACCESS) <= ids


def test_shipped_messages_pot_is_up_to_date() -> None:
    with (ROOT / "templates" / "messages.pot").open("rb") as f:
        shipped = read_po(f)
    assert {str(m.id) for m in shipped if m.id} == {str(m.id) for m in TEMPLATE if m.id}, (
        "run `commhub translate extract` and commit templates/messages.pot"
    )


@pytest.mark.parametrize("lang", ["en", *SHIPPED])
def test_catalog_placeholders_match_source(lang: str) -> None:
    entries = source_entries()
    if lang == "en":
        # The source is its own translation: singular and plural use the same placeholders
        # (every plural form must keep them all), and every string formats with them.
        for msgid, plural in entries:
            if plural is not None:
                assert set(placeholders(msgid)) == set(placeholders(plural)), msgid
                assert check_translation(msgid, plural, (msgid, plural)) is None
            else:
                assert check_translation(msgid, None, msgid) is None, msgid
        assert any(placeholders(m) for m, _ in entries)  # the check has something to check
        return
    assert lang in LANGUAGES, f"{lang}.po: unknown language tag"
    with (I18N / f"{lang}.po").open("rb") as f:
        catalog = read_po(f)
    locale = LANGUAGES[lang].locale
    assert str(catalog.locale) == locale, f"{lang}.po: Language header must be {locale}"
    babel_rule = get_plural(locale)
    assert catalog.num_plurals == babel_rule.num_plurals, f"{lang}.po: Plural-Forms nplurals"
    assert catalog.plural_expr.replace(" ", "") == babel_rule.plural_expr.replace(" ", ""), (
        f"{lang}.po: Plural-Forms differs from Babel's rule for {locale}"
    )
    bad = []
    for m in catalog:
        if not m.id or not m.string or (isinstance(m.string, tuple) and not any(m.string)):
            continue
        if isinstance(m.id, (list, tuple)):
            problem = check_translation(str(m.id[0]), str(m.id[1]), tuple(m.string))
        else:
            problem = check_translation(str(m.id), None, str(m.string))
        if problem:
            bad.append(f"{m.id!r}: {problem}")
    assert not bad, f"{lang}.po:\n" + "\n".join(bad)


# The languages whose topics must be fully translated and reviewed (issue "Language access");
# other shipped catalogs (e.g. de, fr) may carry only the LA-3 footer strings.
TOPIC_LANGUAGES = ("es", "vi", "zh-Hans", "zh-Hant", "ru", "ko", "uk", "ar", "tl", "so", "ja")


def test_every_topic_language_is_shipped() -> None:
    assert sorted(set(TOPIC_LANGUAGES) - set(SHIPPED)) == []


@pytest.mark.parametrize("lang", SHIPPED)
def test_shipped_catalog_is_ready(lang: str) -> None:
    catalogs = Catalogs.load(I18N)
    assert catalogs.problems(lang) == []
    # Every shipped catalog can speak in the LA-3 footer, naming its own language.
    assert catalogs.review_state(lang, strings.LANGUAGE_HELP) == "reviewed"
    assert catalogs.review_state(lang, strings.LANGUAGE_NAME) == "reviewed"
    if lang not in TOPIC_LANGUAGES:
        return
    for topic in TOPICS.values():
        r = catalogs.readiness(lang, [*topic.msgids(), *strings.SHARED])
        assert r.ready, f"{lang}: {topic.name} has {r.fuzzy} fuzzy, {r.missing} missing"
    for msgid in strings.LANGUAGE_ACCESS:
        assert catalogs.review_state(lang, msgid) == "reviewed", msgid
