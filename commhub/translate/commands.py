"""`commhub translate extract|update|status|draft|install-model`: the CLI actions.

Paths come from the settings: templates/topics (sources), templates/messages.pot (template),
templates/i18n/<tag>.po (catalogs) and `translate.packages_dir` (argostranslate models).
Errors (TranslationError, ConfigError) propagate to the CLI, which prints them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from commhub.settings import Settings
from commhub.translate.argos import install_model
from commhub.translate.draft import draft
from commhub.translate.extract import extract, update
from commhub.translate.status import format_status, status


def paths(settings: Settings) -> tuple[Path, Path, Path, Path]:
    """(topics dir, messages.pot, i18n dir, argostranslate packages dir)."""
    templates = settings.templates_dir
    return (
        templates / "topics",
        templates / "messages.pot",
        templates / "i18n",
        settings.path(settings.translate.packages_dir),
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one `translate` action; exit status 0, or 1 when a draft was refused."""
    topics_dir, pot, i18n_dir, packages_dir = paths(settings)
    action = args.translate_command
    if action in ("extract", "update"):
        count = extract(topics_dir, pot)
        print(f"{pot}: {count} strings")
        if i18n_dir.is_dir():
            for r in update(pot, i18n_dir):
                state = "updated" if r.changed else "unchanged"
                print(f"{r.path}: {state}, {len(r.added)} new, {len(r.obsolete)} obsolete")
        return 0
    if action == "status":
        statuses = status(
            i18n_dir,
            topics_dir,
            extra_languages=settings.language.footer_languages,
            require=settings.language.require,
        )
        print(format_status(statuses), end="")
        return 0
    if action == "draft":
        report = draft(args.lang, i18n_dir, packages_dir, topics_dir)
        print(report.summary())
        return 1 if report.refused else 0
    if action == "install-model":
        model = install_model(Path(args.path), packages_dir)
        print(f"installed {model.name} {model.version} ({model.from_code}→{model.to_code})")
        print(f"  into {model.path}")
        return 0
    raise AssertionError(action)  # argparse only offers the actions above
