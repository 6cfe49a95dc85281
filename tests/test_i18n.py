"""Catalogs, review state, readiness, plural forms and the three language policies."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from commhub.content import strings
from commhub.content.i18n import (
    Catalogs,
    check_translation,
    fallback_tagline,
    language_help_lines,
    language_name,
    machine_notice,
    plan_language,
)
from commhub.content.topics import Plural, load_topic
from commhub.errors import ConfigError, PolicyHold, RenderError
from commhub.languages import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
REFILL = load_topic(ROOT / "templates" / "topics" / "refill_reminder.toml")
REFILL_PLURAL = next(p for p in REFILL.content.paragraphs if isinstance(p, Plural))
MESSAGE_IDS = [*REFILL.msgids(), *strings.SHARED]
PHONE = "1-800-555-0100"

# Entry spec: msgid -> (translation or plural forms, fuzzy)
Entries = dict[str, tuple[str | tuple[str, ...], bool]]


def write_catalog(directory: Path, lang: str, entries: Entries) -> Path:
    """Write `directory/<lang>.po` as a translator's PO editor would (Babel, real PO text)."""
    catalog = Catalog(locale=LANGUAGES[lang].locale, project="commhub", fuzzy=False)
    plurals = {REFILL_PLURAL.singular: REFILL_PLURAL.plural}
    for msgid, (value, fuzzy) in entries.items():
        flags = ["fuzzy"] if fuzzy else []
        if isinstance(value, tuple):
            catalog.add((msgid, plurals[msgid]), value, flags=[*flags, "python-format"])
        else:
            catalog.add(msgid, value, flags=flags)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{lang}.po"
    with path.open("wb") as f:
        write_po(f, catalog)
    return path


def fake(lang: str, msgid: str) -> str:
    """A stand-in translation that keeps the placeholders and shows its language."""
    return f"[{lang}] {msgid}"


def all_reviewed(lang: str, msgids: list[str] = MESSAGE_IDS) -> Entries:
    entries: Entries = {m: (fake(lang, m), False) for m in msgids}
    singular = REFILL_PLURAL.singular
    plural = REFILL_PLURAL.plural
    n = Catalog(locale=LANGUAGES[lang].locale).num_plurals
    entries[singular] = (tuple([fake(lang, singular)] + [fake(lang, plural)] * (n - 1)), False)
    for m in strings.LANGUAGE_ACCESS:
        entries[m] = (fake(lang, m), False)
    entries[strings.LANGUAGE_NAME] = (f"<{lang} name>", False)
    return entries


def test_english_is_always_ready_and_identity(tmp_path: Path) -> None:
    catalogs = Catalogs.load(tmp_path / "none")
    assert catalogs.languages() == ["en"]
    r = catalogs.readiness("en", MESSAGE_IDS)
    assert r.ready and r.missing == 0 and r.reviewed == r.total == len(set(MESSAGE_IDS))
    t = catalogs.translator("en")
    assert t.lang == "en"
    assert t.gettext(strings.GREETING) == "Hello %(name)s,"
    assert t.ngettext("one %(n)s", "many %(n)s", 1) == "one %(n)s"
    assert t.ngettext("one %(n)s", "many %(n)s", 0) == "many %(n)s"


def test_review_states_and_readiness(tmp_path: Path) -> None:
    entries = all_reviewed("vi")
    entries[strings.THANKS] = (fake("vi", strings.THANKS), True)  # a machine draft
    del entries[strings.DAYS_EVERY_DAY]
    entries[strings.ALL_DAY] = ("", False)  # present but empty = missing
    write_catalog(tmp_path, "vi", entries)
    catalogs = Catalogs.load(tmp_path)
    assert catalogs.languages() == ["en", "vi"]
    assert catalogs.review_state("vi", strings.GREETING) == "reviewed"
    assert catalogs.review_state("vi", strings.THANKS) == "fuzzy"
    assert catalogs.review_state("vi", strings.DAYS_EVERY_DAY) == "missing"
    assert catalogs.review_state("vi", strings.ALL_DAY) == "missing"
    r = catalogs.readiness("vi", MESSAGE_IDS)
    total = len(set(MESSAGE_IDS))
    assert (r.total, r.reviewed, r.fuzzy, r.missing) == (total, total - 3, 1, 2)
    assert r.translated == total - 2
    assert not r.ready
    assert catalogs.readiness("vi", REFILL.msgids()).ready  # the topic's own strings are fine


def test_translator_uses_reviewed_entries_only_and_never_english(tmp_path: Path) -> None:
    entries = all_reviewed("vi")
    entries[strings.THANKS] = (fake("vi", strings.THANKS), True)
    write_catalog(tmp_path, "vi", entries)
    catalogs = Catalogs.load(tmp_path)
    reviewed = catalogs.translator("vi")
    assert reviewed.lang == "vi"
    assert reviewed.gettext(strings.GREETING) == "[vi] Hello %(name)s,"
    with pytest.raises(RenderError):
        reviewed.gettext(strings.THANKS)  # fuzzy: not without include_fuzzy
    with pytest.raises(RenderError):
        reviewed.gettext("A string nobody translated")
    drafts = catalogs.translator("vi", include_fuzzy=True)
    assert drafts.gettext(strings.THANKS) == fake("vi", strings.THANKS)


def test_entry_with_broken_placeholders_is_not_usable(tmp_path: Path) -> None:
    entries = all_reviewed("es")
    entries[strings.CALL_LINE] = ("Llame a %(linea)s al %(phone)s.", False)  # renamed
    entries[strings.TTY_LINE] = ("Los usuarios de TTY pueden llamar.", False)  # lost
    entries[strings.THANKS] = ("Gracias, 100% %(plan)s.", False)  # stray %
    write_catalog(tmp_path, "es", entries)
    catalogs = Catalogs.load(tmp_path)
    for msgid in (strings.CALL_LINE, strings.TTY_LINE, strings.THANKS):
        assert catalogs.review_state("es", msgid) == "missing"
    problems = "\n".join(catalogs.problems("es"))
    assert "lost %(line)s" in problems and "unknown %(linea)s" in problems
    assert "lost %(tty)s" in problems
    assert "does not format" in problems
    with pytest.raises(RenderError):
        catalogs.translator("es").gettext(strings.CALL_LINE)


def test_check_translation_rules() -> None:
    assert check_translation("Hi %(name)s", None, "Chào %(name)s") is None
    assert check_translation("Hi %(name)s", None, "%(name)s, %(name)s!") is None  # repeats ok
    assert "lost %(name)s" in str(check_translation("Hi %(name)s", None, "Chào"))
    assert "python-format" in str(check_translation("Hi %(name)s", None, "Chào %(name)s %s"))
    assert check_translation("1 %(n)s", "%(n)s many", ("%(n)s a", "%(n)s b")) is None
    assert "form 1" in str(check_translation("1 %(n)s", "%(n)s many", ("%(n)s a", "b")))


def test_unknown_catalog_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "xx.po").write_text('msgid ""\nmsgstr ""\n')
    with pytest.raises(ConfigError, match="xx"):
        Catalogs.load(tmp_path)


RU_FORMS = (
    "У вас остался %(refills_left)s рецепт.",
    "У вас осталось %(refills_left)s рецепта.",
    "У вас осталось %(refills_left)s рецептов.",
)
AR_FORMS = tuple(f"ar-form-{i} %(refills_left)s" for i in range(6))


@pytest.mark.parametrize(
    ("lang", "forms", "expected"),
    [
        ("ru", RU_FORMS, {1: 0, 2: 1, 4: 1, 5: 2, 11: 2, 12: 2, 21: 0, 22: 1, 25: 2, 111: 2}),
        ("ar", AR_FORMS, {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 99: 4, 100: 5, 102: 5, 103: 3}),
        ("ja", ("残り%(refills_left)s回",), {0: 0, 1: 0, 7: 0}),
    ],
)
def test_plural_forms_follow_babel_rules(
    tmp_path: Path, lang: str, forms: tuple[str, ...], expected: dict[int, int]
) -> None:
    singular = REFILL_PLURAL.singular
    plural = REFILL_PLURAL.plural
    path = write_catalog(tmp_path, lang, {singular: (forms, False)})
    text = path.read_text(encoding="utf-8")
    assert f"nplurals={len(forms)};" in text  # Babel wrote the locale's rule into the header
    catalogs = Catalogs.load(tmp_path)
    assert catalogs.review_state(lang, singular) == "reviewed"
    t = catalogs.translator(lang)
    for n, index in expected.items():
        assert t.ngettext(singular, plural, n) == forms[index], n


def test_plural_entry_with_wrong_number_of_forms_is_not_usable(tmp_path: Path) -> None:
    singular = REFILL_PLURAL.singular
    po = tmp_path / "ru.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: ru\\n"\n'
        '"Plural-Forms: nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 '
        '&& (n%100<10 || n%100>=20) ? 1 : 2);\\n"\n\n'
        "#, python-format\n"
        f'msgid "{singular}"\nmsgid_plural "{REFILL_PLURAL.plural}"\n'
        'msgstr[0] "один %(refills_left)s"\nmsgstr[1] "два %(refills_left)s"\n',
        encoding="utf-8",
    )
    catalogs = Catalogs.load(tmp_path)
    assert catalogs.review_state("ru", singular) == "missing"
    assert any("3 plural forms needed, form 2 empty" in p for p in catalogs.problems("ru"))


# -- policies ----------------------------------------------------------------------------------


@pytest.fixture
def vi_with_draft(tmp_path: Path) -> Catalogs:
    """vi: everything reviewed except one machine draft (fuzzy) of a shared string."""
    entries = all_reviewed("vi")
    entries[strings.HOURS_LINE] = ("[vi-draft] We are open %(days)s, %(hours)s.", True)
    write_catalog(tmp_path, "vi", entries)
    return Catalogs.load(tmp_path)


def test_ready_language_uses_reviewed_translation(tmp_path: Path) -> None:
    write_catalog(tmp_path, "vi", all_reviewed("vi"))
    catalogs = Catalogs.load(tmp_path)
    for policy in ("fallback", "block", "machine_with_notice"):
        plan = plan_language(catalogs, MESSAGE_IDS, "vi", policy, topic="refill_reminder")
        assert (plan.lang, plan.member_lang, plan.fallback, plan.machine) == (
            "vi",
            "vi",
            False,
            False,
        )
        assert plan.translator.gettext(strings.GREETING) == "[vi] Hello %(name)s,"


def test_fallback_policy_gives_english_and_marks_fallback(vi_with_draft: Catalogs) -> None:
    plan = plan_language(vi_with_draft, MESSAGE_IDS, "vi", "fallback")
    assert (plan.lang, plan.member_lang, plan.fallback, plan.machine) == ("en", "vi", True, False)
    # The whole message is English: not one reviewed vi string mixed in.
    assert plan.translator.gettext(strings.GREETING) == strings.GREETING
    assert plan.translator.gettext(strings.HOURS_LINE) == strings.HOURS_LINE
    tagline = fallback_tagline(vi_with_draft, "vi", PHONE)
    assert tagline is not None
    assert tagline == (
        "vi",
        f"[vi] {strings.FALLBACK_TAGLINE}" % {"language": "<vi name>", "phone": PHONE},
    )


def test_block_policy_holds_with_reason(vi_with_draft: Catalogs) -> None:
    with pytest.raises(PolicyHold) as held:
        plan_language(vi_with_draft, MESSAGE_IDS, "vi", "block", topic="refill_reminder")
    assert held.value.reason == "language vi not ready for refill_reminder: 1 strings not reviewed"


def test_machine_policy_uses_drafts_and_marks_machine(vi_with_draft: Catalogs) -> None:
    plan = plan_language(vi_with_draft, MESSAGE_IDS, "vi", "machine_with_notice")
    assert (plan.lang, plan.fallback, plan.machine) == ("vi", False, True)
    assert plan.translator.gettext(strings.HOURS_LINE).startswith("[vi-draft]")
    assert plan.translator.gettext(strings.GREETING).startswith("[vi]")
    lang, notice = machine_notice(vi_with_draft, "vi", PHONE)
    assert lang == "vi" and notice == f"[vi] {strings.MACHINE_NOTICE}" % {"phone": PHONE}


def test_machine_policy_falls_back_when_a_string_has_no_draft(tmp_path: Path) -> None:
    entries = all_reviewed("vi")
    entries[strings.HOURS_LINE] = ("[vi-draft] %(days)s %(hours)s", True)
    del entries[strings.SPEECH_GOODBYE]
    write_catalog(tmp_path, "vi", entries)
    catalogs = Catalogs.load(tmp_path)
    plan = plan_language(catalogs, MESSAGE_IDS, "vi", "machine_with_notice")
    assert (plan.lang, plan.fallback, plan.machine) == ("en", True, False)
    with pytest.raises(PolicyHold, match="2 strings not reviewed"):
        plan_language(catalogs, MESSAGE_IDS, "vi", "block")


def test_language_without_catalog_follows_policy(tmp_path: Path) -> None:
    catalogs = Catalogs.load(tmp_path)
    plan = plan_language(catalogs, MESSAGE_IDS, "so", "machine_with_notice")
    assert (plan.lang, plan.fallback) == ("en", True)
    assert fallback_tagline(catalogs, "so", PHONE) is None  # nothing reviewed to say it with
    assert machine_notice(catalogs, "so", PHONE) == (
        "en",
        strings.MACHINE_NOTICE % {"phone": PHONE},
    )
    with pytest.raises(ConfigError):
        plan_language(catalogs, MESSAGE_IDS, "so", "sometimes")


def test_english_member_never_needs_a_policy(tmp_path: Path) -> None:
    plan = plan_language(Catalogs.load(tmp_path), MESSAGE_IDS, "en", "block")
    assert (plan.lang, plan.fallback, plan.machine) == ("en", False, False)
    assert fallback_tagline(Catalogs.load(tmp_path), "en", PHONE) is None


# -- LA-3 footer -------------------------------------------------------------------------------


def test_footer_lines_order_languages_and_skip_unreviewed(tmp_path: Path) -> None:
    for lang in ("vi", "es", "ko"):
        write_catalog(tmp_path, lang, all_reviewed(lang))
    zh = all_reviewed("zh-Hans")
    zh[strings.LANGUAGE_HELP] = (fake("zh-Hans", strings.LANGUAGE_HELP), True)  # a draft
    write_catalog(tmp_path, "zh-Hans", zh)
    catalogs = Catalogs.load(tmp_path)
    lines = language_help_lines(catalogs, "vi", ["es", "zh-Hans", "vi", "ko", "ar"], PHONE)
    assert [lang for lang, _ in lines] == ["vi", "en", "es", "ko"]
    texts = dict(lines)
    # The English line does not say "Someone who speaks English can help you".
    assert texts["en"] == strings.LANGUAGE_HELP_ENGLISH % {"phone": PHONE}
    assert texts["vi"] == f"[vi] {strings.LANGUAGE_HELP}" % {
        "phone": PHONE,
        "language": "<vi name>",
    }
    assert PHONE in texts["ko"] and "<ko name>" in texts["ko"]
    # An English member: English first, then the list.
    en_first = language_help_lines(catalogs, "en", ["es", "en"], PHONE)
    assert [lang for lang, _ in en_first] == ["en", "es"]


def test_language_name_prefers_reviewed_entry(tmp_path: Path) -> None:
    entries = all_reviewed("ru")
    entries[strings.LANGUAGE_NAME] = ("русский (черновик)", True)
    write_catalog(tmp_path, "ru", entries)
    write_catalog(tmp_path, "uk", all_reviewed("uk"))
    catalogs = Catalogs.load(tmp_path)
    assert language_name(catalogs, "ru") == LANGUAGES["ru"].native_name  # draft not used
    assert language_name(catalogs, "uk") == "<uk name>"
    assert language_name(catalogs, "en") == "English"
