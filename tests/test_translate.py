"""`translate extract`, `update`, `status`, and placeholder protection (no model needed)."""

from __future__ import annotations

from pathlib import Path

from commhub.content import strings
from commhub.content.topics import load_topics
from commhub.translate.draft import protect, restore, verify
from commhub.translate.extract import extract, update
from commhub.translate.status import format_status, status
from tests.tiny_argos import VI_PO_START, read_po_file

ROOT = Path(__file__).resolve().parent.parent
TOPICS_DIR = ROOT / "templates" / "topics"
TOPICS = load_topics(TOPICS_DIR)
REFILL_PLURAL = "You have %(refills_left)s refill left."


def test_extract_writes_every_string_with_comments_flags_and_plurals(tmp_path: Path) -> None:
    out = tmp_path / "messages.pot"
    count = extract(TOPICS_DIR, out, extra_msgids=["An extra string for %(plan)s"])
    pot = read_po_file(out)
    entries = {m.id[0] if isinstance(m.id, tuple) else m.id: m for m in pot if m.id}
    assert count == len(entries)
    for topic in TOPICS.values():
        for msgid in topic.msgids():
            assert msgid in entries
            assert any(topic.name in c for c in entries[msgid].auto_comments), msgid
    for msgid in (*strings.SHARED, *strings.LANGUAGE_ACCESS, "An extra string for %(plan)s"):
        assert msgid in entries
    greeting = entries[strings.GREETING]
    assert "python-format" in greeting.flags
    assert any("%(name)s = the member's name" in c for c in greeting.auto_comments)
    assert "python-format" not in entries[strings.SPEECH_GOODBYE].flags
    plural = entries[REFILL_PLURAL]
    assert plural.id == (REFILL_PLURAL, "You have %(refills_left)s refills left.")
    assert any("plural form chosen by %(refills_left)s" in c for c in plural.auto_comments)
    # The LA-3 footer line tells the translator what it is.
    assert any("LA-3" in c for c in entries[strings.LANGUAGE_HELP].auto_comments)


def test_extract_does_not_rewrite_an_unchanged_template(tmp_path: Path) -> None:
    out = tmp_path / "messages.pot"
    extract(TOPICS_DIR, out)
    out.write_bytes(out.read_bytes().replace(b"POT-Creation-Date: ", b"POT-Creation-Date: 1"))
    before = out.read_bytes()
    extract(TOPICS_DIR, out)
    assert out.read_bytes() == before  # only the date would differ: file left alone


VI_PO = (
    "# Vietnamese translations for commhub (test).\n"
    + VI_PO_START
    + """
# machine draft: argostranslate 1.12.1, model translate-en_vi 1.9
#, fuzzy
msgid "Thank you. Goodbye."
msgstr "Cảm ơn. Tạm biệt."

msgid "A string that was removed from the source"
msgstr "Một chuỗi đã bị xóa"
"""
)


def vi_catalog(tmp_path: Path) -> tuple[Path, Path]:
    """A fresh template and an i18n folder holding VI_PO (not yet updated to the template)."""
    pot = tmp_path / "messages.pot"
    extract(TOPICS_DIR, pot)
    i18n = tmp_path / "i18n"
    i18n.mkdir()
    (i18n / "vi.po").write_text(VI_PO, encoding="utf-8")
    return pot, i18n


def test_update_merges_new_strings_and_keeps_translations(tmp_path: Path) -> None:
    pot, i18n = vi_catalog(tmp_path)
    [result] = update(pot, i18n)
    assert result.lang == "vi" and result.changed
    assert "A string that was removed from the source" in result.obsolete
    assert strings.CALL_LINE in result.added
    po = read_po_file(i18n / "vi.po")
    assert po.get(strings.GREETING).string == "Xin chào %(name)s,"
    assert "fuzzy" not in po.get(strings.GREETING).flags
    assert po.get(strings.GREETING).user_comments == ["Reviewed by A. Translator"]
    draft = po.get(strings.SPEECH_GOODBYE)
    assert draft.fuzzy and draft.user_comments[0].startswith("machine draft:")
    assert po.get(strings.CALL_LINE).string == ""  # new entries are empty
    assert po.get(REFILL_PLURAL).string == ("",)  # vi has one plural form
    text = (i18n / "vi.po").read_text(encoding="utf-8")
    assert '#~ msgid "A string that was removed from the source"' in text
    # A second update changes nothing.
    [again] = update(pot, i18n)
    assert not again.added and not again.obsolete and not again.changed


def test_status_counts_and_ready_topics(tmp_path: Path) -> None:
    pot, i18n = vi_catalog(tmp_path)
    update(pot, i18n)
    # Review everything the refill reminder needs, in a copy of the catalog, by hand.
    po_text = (i18n / "vi.po").read_text(encoding="utf-8")
    ko_text = po_text.replace('"Language: vi\\n"', '"Language: ko\\n"')
    (i18n / "ko.po").write_text(ko_text, encoding="utf-8")
    statuses = {s.lang: s for s in status(i18n, TOPICS_DIR, extra_languages=["so"])}
    assert list(statuses) == ["en", "ko", "vi", "so"]
    total = statuses["en"].total
    assert statuses["en"].reviewed == total and statuses["en"].all_ready
    assert statuses["en"].footer_reviewed
    vi = statuses["vi"]
    assert (vi.total, vi.reviewed, vi.fuzzy, vi.missing) == (total, 1, 1, total - 2)
    assert vi.translated == 2 and vi.machine_drafts == 1
    assert vi.ready_topics == () and not vi.footer_reviewed
    assert statuses["so"].missing == total
    table = format_status(list(statuses.values()))
    header, en_row, *_ = table.splitlines()
    assert header.split()[:8] == [
        "lang",
        "language",
        "total",
        "translated",
        "reviewed",
        "certified",
        "fuzzy",
        "missing",
    ]
    assert en_row.split()[:8] == [
        "en",
        "English",
        str(total),
        str(total),
        str(total),
        "0",
        "0",
        "0",
    ]
    assert "all 4" in en_row
    assert "vi: 1 machine drafts" in table
    assert "vi: left out of the LA-3 footer" in table


def test_status_reports_ready_topic_and_unusable_entries(tmp_path: Path) -> None:
    topic = TOPICS["refill_reminder"]
    lines = ['msgid ""', 'msgstr ""', '"Language: es_US\\n"', ""]
    ids = list(dict.fromkeys([*topic.msgids(), *strings.SHARED, *strings.LANGUAGE_ACCESS]))
    for msgid in ids:
        if msgid == REFILL_PLURAL:
            lines += [
                f'msgid "{msgid}"',
                'msgid_plural "You have %(refills_left)s refills left."',
                'msgstr[0] "Le queda %(refills_left)s resurtido."',
                'msgstr[1] "Le quedan %(refills_left)s resurtidos."',
                'msgstr[2] "Le quedan %(refills_left)s resurtidos."',
                "",
            ]
        elif msgid == strings.CALL_LINE:
            lines += [f'msgid "{msgid}"', 'msgstr "Llame a %(linea)s al %(phone)s."', ""]
        else:
            lines += [f'msgid "{msgid}"', f'msgstr "ES {msgid}"', ""]
    i18n = tmp_path / "i18n"
    i18n.mkdir()
    (i18n / "es.po").write_text("\n".join(lines), encoding="utf-8")
    [_, es] = status(i18n, TOPICS_DIR)
    assert es.ready_topics == ()  # CALL_LINE is unusable, and every message uses it
    assert es.missing > 0 and any("%(linea)s" in p for p in es.problems)
    assert es.footer_reviewed
    fixed = (i18n / "es.po").read_text(encoding="utf-8").replace("%(linea)s", "%(line)s")
    (i18n / "es.po").write_text(fixed, encoding="utf-8")
    [_, es] = status(i18n, TOPICS_DIR)
    assert es.ready_topics == ("refill_reminder",)
    assert "refill_reminder" not in es.not_ready_topics and not es.problems
    assert "es: not ready: appointment_reminder, coverage_change, screening_reminder" in (
        format_status([es])
    )


def test_protect_and_restore_placeholders() -> None:
    source = "Call %(line)s at %(phone)s (TTY 711). %(line)s again."
    p = protect(source)
    assert "%(" not in p.text and "_" not in p.text
    assert sorted(p.tokens.values()) == ["%(line)s", "%(phone)s"]
    assert "711" not in p.tokens  # never a number the text already has
    tokens = {v: k for k, v in p.tokens.items()}
    # A model may reorder tokens and write them in the language's own digits.
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    drafted = f"اتصل على {tokens['%(phone)s'].translate(arabic)} ({tokens['%(line)s']}), {tokens['%(line)s']}."
    restored = restore(drafted, p)
    assert restored == "اتصل على %(phone)s (%(line)s), %(line)s."
    assert verify(source, restored) is None


def test_verify_refuses_damaged_placeholders() -> None:
    source = "You can refill your prescription on %(refill_date)s or after."
    assert "lost %(refill_date)s" in str(verify(source, "Vous pouvez le %(refill date)s."))
    assert "lost %(refill_date)s" in str(verify(source, "Vous pouvez le renouveler."))
    twice = "Le %(refill_date)s ou le %(refill_date)s."
    assert "unexpected %(refill_date)s" in str(verify(source, twice))
    assert "empty" in str(verify(source, "  "))
    assert verify(source, "Dès le %(refill_date)s.") is None
