"""`commhub translate draft --lang L`: fill missing catalog entries with machine drafts.

Drafts are never used for sending as if reviewed (ACCESSIBILITY.md LA-1): every written draft
is `fuzzy` and has a translator comment naming the engine and model, so a reviewer can find
it and clear `fuzzy` in any PO editor.

Placeholders must survive exactly. argostranslate turns `_` into a space and a real model may
reorder, drop, duplicate or rewrite tokens, so before translating each `%(name)s` is replaced
by a number the model copies (numbers survive translation best), and afterwards the numbers
are turned back. The result is verified with Babel's python-format checker and an exact
comparison of the placeholders (names and counts); a draft that fails is not written and is
reported.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from babel.messages.catalog import Message

from commhub import languages
from commhub.content.i18n import check_translation, placeholders
from commhub.content.topics import PLACEHOLDER_RE, load_topics
from commhub.errors import ConfigError
from commhub.translate.argos import ArgosEngine
from commhub.translate.extract import (
    build_template,
    merge,
    new_catalog,
    read_catalog,
    write_catalog,
)

MACHINE_DRAFT = "machine draft:"
FIRST_TOKEN = 701  # 3 digits: no thousands separator a model might add


class DraftEngine(Protocol):
    """What `draft` needs from a machine translator."""

    description: str  # "argostranslate 1.12.1, model translate-en_vi 1.9"

    def translate(self, text: str) -> str: ...


@dataclass(frozen=True)
class Protected:
    """A source string with its placeholders replaced by number tokens."""

    text: str
    tokens: dict[str, str]  # token -> placeholder (e.g. "701" -> "%(name)s")


def protect(text: str) -> Protected:
    """Replace every `%(name)s` with a number token that does not occur in `text`."""
    tokens: dict[str, str] = {}
    by_placeholder: dict[str, str] = {}
    candidate = FIRST_TOKEN

    def token_for(match: re.Match[str]) -> str:
        nonlocal candidate
        placeholder = match.group(0)
        if placeholder not in by_placeholder:
            while str(candidate) in text:
                candidate += 1
            by_placeholder[placeholder] = str(candidate)
            tokens[str(candidate)] = placeholder
            candidate += 1
        return by_placeholder[placeholder]

    return Protected(PLACEHOLDER_RE.sub(token_for, text), tokens)


def _ascii_digits(text: str) -> str:
    # A model may write the token in the language's own digits (e.g. Arabic-Indic ٧٠١).
    return "".join(
        str(unicodedata.digit(c)) if not c.isascii() and unicodedata.category(c) == "Nd" else c
        for c in text
    )


def restore(draft: str, protected: Protected) -> str:
    """Turn the tokens of a translated string back into placeholders."""
    text = _ascii_digits(draft)
    for token, placeholder in protected.tokens.items():
        text = re.sub(rf"(?<!\d){token}(?!\d)", placeholder.replace("\\", r"\\"), text)
    return text


def verify(source: str, drafted: str) -> str | None:
    """Why a drafted string may not be written (placeholders changed, bad format), or None."""
    if not drafted.strip():
        return "empty draft"
    want, got = Counter(placeholders(source)), Counter(placeholders(drafted))
    if got != want:
        lost = sorted((want - got).elements())
        extra = sorted((got - want).elements())
        return "placeholders changed: " + "; ".join(
            part
            for part in (
                "lost " + ", ".join(f"%({n})s" for n in lost) if lost else "",
                "unexpected " + ", ".join(f"%({n})s" for n in extra) if extra else "",
            )
            if part
        )
    return check_translation(source, None, drafted)


def draft_string(engine: DraftEngine, text: str, *, protect_placeholders: bool = True) -> str:
    """One machine draft of `text`, placeholders protected (unless told not to, to diagnose)."""
    if not protect_placeholders:
        return engine.translate(text)
    protected = protect(text)
    return restore(engine.translate(protected.text), protected)


@dataclass(frozen=True)
class Refusal:
    """A draft that was not written, and why."""

    msgid: str
    draft: str
    reason: str


@dataclass(frozen=True)
class DraftReport:
    """What `draft` did to one catalog."""

    lang: str
    path: Path
    engine: str
    written: tuple[str, ...] = ()
    refused: tuple[Refusal, ...] = ()
    already: int = 0  # entries that had a translation (reviewed or fuzzy) and were kept
    added: tuple[str, ...] = field(default=())  # new entries merged from the template

    def summary(self) -> str:
        lines = [
            f"{self.lang}: {len(self.written)} drafts written (fuzzy), {len(self.refused)} "
            f"refused, {self.already} already translated — {self.path}",
            f"  engine: {self.engine}",
        ]
        for r in self.refused:
            lines.append(f"  refused {r.msgid!r}: {r.reason} (draft: {r.draft!r})")
        return "\n".join(lines)


def _is_missing(message: Message) -> bool:
    value = message.string
    if isinstance(value, (list, tuple)):
        return not all(value)
    return not value


def draft(
    lang: str,
    i18n_dir: Path,
    packages_dir: Path,
    topics_dir: Path,
    *,
    engine: DraftEngine | None = None,
    extra_msgids: Iterable[str] = (),
) -> DraftReport:
    """Fill the missing entries of `i18n_dir/<lang>.po` with verified, fuzzy machine drafts.

    The catalog is first brought up to date with the template (topics + shared strings), so
    a language without a catalog gets one. Raises TranslationError when no en→lang model is
    installed (nothing is downloaded), before any file is touched.
    """
    if lang == "en" or lang not in languages.LANGUAGES:
        raise ConfigError(f"cannot draft language {lang!r}: not a supported target language")
    engine = engine or ArgosEngine(lang, packages_dir)
    template = build_template(load_topics(topics_dir), extra_msgids)
    path = i18n_dir / f"{lang}.po"
    catalog = read_catalog(path, lang) if path.exists() else new_catalog(lang)
    added, _ = merge(catalog, template)
    plural_index_of_one = _plural_index_of_one(catalog.plural_expr)
    written: list[str] = []
    value: str | tuple[str, ...]
    refused: list[Refusal] = []
    already = 0
    note = f"{MACHINE_DRAFT} {engine.description}"
    for message in catalog:
        if not message.id:
            continue
        if not _is_missing(message):
            already += 1
            continue
        if isinstance(message.id, (list, tuple)):
            singular, plural = str(message.id[0]), str(message.id[1])
            one, other = draft_string(engine, singular), draft_string(engine, plural)
            n = catalog.num_plurals
            forms = [one if (n > 1 and i == plural_index_of_one) else other for i in range(n)]
            sources = [singular if f is one else plural for f in forms]
            problem = _verify_forms(sources, forms, singular, plural)
            msgid, value = singular, tuple(forms)
            shown = " | ".join(forms)
        else:
            msgid = str(message.id)
            text = draft_string(engine, msgid)
            problem = verify(msgid, text)
            value, shown = text, text
        if problem:
            refused.append(Refusal(msgid, shown, problem))
            continue
        message.string = value
        message.flags.add("fuzzy")
        message.user_comments = [
            c for c in message.user_comments if not c.startswith(MACHINE_DRAFT)
        ] + [note]
        written.append(msgid)
    if written or added or not path.exists():
        catalog.revision_date = datetime.now(UTC)
        write_catalog(path, catalog)
    return DraftReport(
        lang=lang,
        path=path,
        engine=engine.description,
        written=tuple(written),
        refused=tuple(refused),
        already=already,
        added=tuple(added),
    )


def _verify_forms(sources: list[str], forms: list[str], singular: str, plural: str) -> str | None:
    for i, (source, form) in enumerate(zip(sources, forms, strict=True)):
        problem = verify(source, form)
        if problem:
            return f"form {i}: {problem}"
    return check_translation(singular, plural, forms)


def _plural_index_of_one(plural_expr: str) -> int:
    return int(gettext.c2py(plural_expr)(1))
