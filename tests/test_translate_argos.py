"""`translate draft` against real, tiny argostranslate packages the test builds offline.

The tiny model copies its input, so a correct draft of an English string is the string
itself — with every placeholder intact only if protection works (argostranslate's decoder
turns `_` into a space: `%(refill_date)s` would come back as `%(refill date)s`).
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from commhub.content import strings
from commhub.content.i18n import Catalogs, plan_language
from commhub.content.topics import load_topics
from commhub.errors import TranslationError
from commhub.settings import ContentSettings, Settings, TranslateSettings
from commhub.translate import commands
from commhub.translate.argos import ArgosEngine, install_model, installed_models
from commhub.translate.draft import MACHINE_DRAFT, draft, draft_string, verify
from commhub.translate.status import all_msgids, status
from tests.tiny_argos import VI_PO_START, build_tiny_argos_model, read_po_file

pytestmark = pytest.mark.real

ROOT = Path(__file__).resolve().parent.parent
TOPICS_DIR = ROOT / "templates" / "topics"
REFILL = load_topics(TOPICS_DIR)["refill_reminder"]
DATED = "You can refill your prescription on %(refill_date)s or after."


@pytest.fixture(scope="module", autouse=True)
def argos_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """argostranslate reads its settings and creates folders at import: isolate them first."""
    home = tmp_path_factory.mktemp("argos-home")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
            mp.setenv(var, str(home / var.lower()))
        for var in ("ARGOS_PACKAGES_DIR", "ARGOS_DEVICE_TYPE", "ARGOS_CHUNK_TYPE"):
            mp.setenv(var, os.environ.get(var, ""))  # restored after the module
            mp.delenv(var)
        mp.setenv("ARGOS_INTRA_THREADS", "1")
        yield home


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("models")
    return {
        code: build_tiny_argos_model(out / f"en_{code}.argosmodel", code, name)
        for code, name in (("vi", "Vietnamese"), ("ru", "Russian"), ("zh", "Chinese"))
    }


def test_draft_fills_missing_entries_with_fuzzy_verified_drafts(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    packages = tmp_path / "packages"
    model = install_model(models["vi"], packages)
    assert (model.name, model.version, model.to_code) == ("translate-en_vi", "0.0.1", "vi")
    assert installed_models(packages) == [model]
    i18n = tmp_path / "i18n"
    i18n.mkdir()
    (i18n / "vi.po").write_text(VI_PO_START, encoding="utf-8")

    report = draft("vi", i18n, packages, TOPICS_DIR)

    assert report.refused == ()
    assert report.already == 1
    assert report.engine.startswith("argostranslate ") and "model translate-en_vi 0.0.1" in (
        report.engine
    )
    po = read_po_file(i18n / "vi.po")
    hello = po.get(strings.GREETING)
    assert hello.string == "Xin chào %(name)s," and not hello.fuzzy  # reviewed: untouched
    assert strings.GREETING not in report.written
    ids = [m.id if isinstance(m.id, str) else m.id[0] for m in po if m.id]
    assert set(report.written) == set(ids) - {strings.GREETING}
    for msgid in report.written:
        entry = po.get(msgid)
        assert entry.fuzzy, msgid
        assert entry.user_comments == [f"{MACHINE_DRAFT} {report.engine}"]
    # The copy model hands back the source: placeholders (with "_") survived exactly.
    assert po.get(DATED).string == DATED
    assert po.get("You have %(refills_left)s refill left.").string == (
        "You have %(refills_left)s refills left.",
    )
    # Drafts are never used as reviewed; under machine_with_notice they are, marked.
    catalogs = Catalogs.load(i18n)
    msgids = [*REFILL.msgids(), *strings.SHARED]
    assert catalogs.review_state("vi", DATED) == "fuzzy"
    assert plan_language(catalogs, msgids, "vi", "fallback").fallback
    machine = plan_language(catalogs, msgids, "vi", "machine_with_notice")
    assert machine.machine and machine.translator.gettext(DATED) == DATED
    [_, vi] = status(i18n, TOPICS_DIR)
    assert vi.machine_drafts == len(report.written) and vi.reviewed == 1
    assert vi.missing == 0 and vi.ready_topics == ()

    # Nothing left to draft: a second run writes nothing.
    again = draft("vi", i18n, packages, TOPICS_DIR)
    assert again.written == () and again.already == len(ids)


def test_real_model_damages_unprotected_placeholders(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    packages = tmp_path / "packages"
    install_model(models["vi"], packages)
    engine = ArgosEngine("vi", packages)
    raw = draft_string(engine, DATED, protect_placeholders=False)
    assert raw == DATED.replace("refill_date", "refill date")  # argostranslate's decode
    assert "lost %(refill_date)s" in str(verify(DATED, raw))
    assert draft_string(engine, DATED) == DATED


class DamagingEngine(ArgosEngine):
    """The real engine, whose output is damaged for one string (a model dropping a token)."""

    def translate(self, text: str) -> str:
        out = super().translate(text)
        if text.startswith("You can refill your prescription on "):
            out = out.replace("prescription on ", "prescription on the ", 1).split(" or ")[0]
            out = "".join(c for c in out if not c.isdigit()) + " or after."
        return out


def test_draft_with_damaged_placeholder_is_refused_and_reported(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    packages = tmp_path / "packages"
    install_model(models["vi"], packages)
    i18n = tmp_path / "i18n"
    report = draft("vi", i18n, packages, TOPICS_DIR, engine=DamagingEngine("vi", packages))
    [refusal] = report.refused
    assert refusal.msgid == DATED
    assert "lost %(refill_date)s" in refusal.reason
    assert refusal.draft == "You can refill your prescription on the  or after."
    assert DATED not in report.written and len(report.written) > 40
    assert f"refused {DATED!r}" in report.summary()
    po = read_po_file(i18n / "vi.po")  # a new catalog was created for vi
    assert po.get(DATED).string == ""  # not written
    assert po.get(strings.GREETING).string == strings.GREETING
    assert str(po.locale) == "vi"


def test_plural_drafts_fill_every_form(tmp_path: Path, models: dict[str, Path]) -> None:
    packages = tmp_path / "packages"
    install_model(models["ru"], packages)
    i18n = tmp_path / "i18n"
    report = draft("ru", i18n, packages, TOPICS_DIR)
    assert report.refused == ()
    po = read_po_file(i18n / "ru.po")
    one, many = "You have %(refills_left)s refill left.", "You have %(refills_left)s refills left."
    assert po.get(one).string == (one, many, many)  # ru: one, few, many
    assert "nplurals=3" in (i18n / "ru.po").read_text(encoding="utf-8")
    t = Catalogs.load(i18n).translator("ru", include_fuzzy=True)
    assert t.ngettext(one, many, 21) == one and t.ngettext(one, many, 3) == many


def test_tag_maps_to_argos_code_and_packages_can_be_swapped(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    first = tmp_path / "first"
    install_model(models["vi"], first)
    assert draft_string(ArgosEngine("vi", first), "Hello %(name)s,") == "Hello %(name)s,"
    second = tmp_path / "second"
    install_model(models["zh"], second)
    with pytest.raises(TranslationError, match="en→vi"):
        ArgosEngine("vi", second)  # the first folder's model is not seen any more
    engine = ArgosEngine("zh-Hans", second)  # zh-Hans drafts with argostranslate's "zh"
    assert engine.model.to_code == "zh"
    assert draft_string(engine, "Hello %(name)s,") == "Hello %(name)s,"


def test_missing_model_is_a_clear_error_and_touches_nothing(tmp_path: Path) -> None:
    i18n = tmp_path / "i18n"
    with pytest.raises(TranslationError) as err:
        draft("vi", i18n, tmp_path / "empty", TOPICS_DIR)
    assert str(err.value).startswith(
        "no argostranslate model installed for en→vi; install one with argospm or a "
        ".argosmodel file"
    )
    assert not i18n.exists()


def test_install_model_refuses_a_file_that_is_not_a_package(tmp_path: Path) -> None:
    bogus = tmp_path / "x.argosmodel"
    bogus.write_text("not a zip")
    with pytest.raises(TranslationError, match="zip"):
        install_model(bogus, tmp_path / "packages")


def test_cli_actions_install_draft_status_extract(
    tmp_path: Path, models: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "templates").mkdir()
    shutil.copytree(TOPICS_DIR, tmp_path / "templates" / "topics")
    settings = Settings(
        content=ContentSettings(templates_dir="templates"),
        translate=TranslateSettings(packages_dir="argos"),
        root=tmp_path,
    )

    def run(action: str, **kw: object) -> tuple[int, str]:
        code = commands.run(settings, argparse.Namespace(translate_command=action, **kw))
        return code, capsys.readouterr().out

    code, out = run("install-model", path=models["vi"])
    assert code == 0 and "installed translate-en_vi 0.0.1 (en→vi)" in out
    assert (tmp_path / "argos" / "translate-en_vi-tiny" / "metadata.json").is_file()
    code, out = run("draft", lang="vi")
    # Every string a message can use: the topics' and the shared and language-access ones.
    n = str(len(all_msgids(t.msgids() for t in load_topics(TOPICS_DIR).values())))
    assert code == 0 and f"vi: {n} drafts written (fuzzy), 0 refused" in out
    code, out = run("status")
    vi_row = next(line for line in out.splitlines() if line.startswith("vi "))
    # total, translated, reviewed, certified, fuzzy, missing
    assert vi_row.split()[2:8] == [n, n, "0", "0", n, "0"]
    code, out = run("extract")
    assert code == 0 and (tmp_path / "templates" / "messages.pot").is_file()
    assert "vi.po: " in out and "0 new, 0 obsolete" in out
    with pytest.raises(TranslationError, match="en→ko"):
        run("draft", lang="ko")
