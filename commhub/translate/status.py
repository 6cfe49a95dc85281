"""`commhub translate status`: per language, how much is translated and reviewed, what is ready.

A topic is ready in a language when every one of its strings and every shared string a
message uses is reviewed there (the readiness `plan_language` applies when sending). The LA-3
footer line is listed separately: a language without a reviewed footer line is left out of
every message's language-assistance footer. Certified strings (approved by a qualified
translator) are counted apart, with who certified them and when.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from commhub import languages
from commhub.content import strings
from commhub.content.i18n import ENGLISH, Catalogs
from commhub.content.topics import load_topics
from commhub.translate.draft import MACHINE_DRAFT


@dataclass(frozen=True)
class LanguageStatus:
    """Review counts of one language over every string of the message template."""

    lang: str
    name: str  # English name of the language
    total: int
    translated: int  # reviewed + fuzzy
    reviewed: int
    fuzzy: int
    missing: int
    machine_drafts: int  # entries carrying a machine-draft translator comment
    ready_topics: tuple[str, ...]
    not_ready_topics: tuple[str, ...]
    footer_reviewed: bool  # LANGUAGE_HELP reviewed: the language appears in the LA-3 footer
    problems: tuple[str, ...] = ()  # translated entries that cannot be used, and why
    certified: int = 0  # of `reviewed`, approved by a qualified translator
    certified_by: tuple[tuple[str, str, int], ...] = ()  # (name, YYYY-MM-DD, strings)

    @property
    def all_ready(self) -> bool:
        return not self.not_ready_topics


def all_msgids(topic_msgids: Iterable[Sequence[str]]) -> list[str]:
    """Every distinct msgid: the topics', the shared and the language-access strings, and
    the unsubscribe page's."""
    ids = [m for msgids in topic_msgids for m in msgids]
    return list(
        dict.fromkeys([*ids, *strings.SHARED, *strings.LANGUAGE_ACCESS, *strings.UNSUBSCRIBE_PAGE])
    )


def status(
    i18n_dir: Path,
    topics_dir: Path,
    *,
    extra_languages: Iterable[str] = (),
    require: str = "reviewed",
) -> list[LanguageStatus]:
    """English, every language with a catalog, and `extra_languages` (e.g. the LA-3 footer list).

    A topic is ready where every string is at the `require` level (`language.require`).
    """
    catalogs = Catalogs.load(i18n_dir, require=require)
    topics = load_topics(topics_dir)
    topic_ids = {name: [*t.msgids(), *strings.SHARED] for name, t in topics.items()}
    every = all_msgids(topic_ids.values())
    out = []
    for lang in dict.fromkeys([*catalogs.languages(), *extra_languages]):
        r = catalogs.readiness(lang, every)
        ready = [n for n, ids in topic_ids.items() if catalogs.readiness(lang, ids).ready]
        catalog = catalogs.catalog(lang)
        drafts = 0
        if catalog is not None:
            drafts = sum(
                1
                for m in catalog
                if m.id and any(c.startswith(MACHINE_DRAFT) for c in m.user_comments)
            )
        known = languages.LANGUAGES.get(lang)
        out.append(
            LanguageStatus(
                lang=lang,
                name=known.english_name if known else lang,
                total=r.total,
                translated=r.translated,
                reviewed=r.reviewed,
                fuzzy=r.fuzzy,
                missing=r.missing,
                machine_drafts=drafts,
                ready_topics=tuple(ready),
                not_ready_topics=tuple(n for n in topic_ids if n not in ready),
                footer_reviewed=catalogs.sendable(lang, strings.LANGUAGE_HELP),
                problems=tuple(catalogs.problems(lang)) if lang != ENGLISH else (),
                certified=r.certified,
                certified_by=tuple(
                    (record.name, record.on.isoformat(), n)
                    for record, n in catalogs.certifications(lang, every)
                ),
            )
        )
    return out


def format_status(statuses: Sequence[LanguageStatus]) -> str:
    """A plain-text table, one row per language, then problems and what is not ready."""
    head = (
        "lang",
        "language",
        "total",
        "translated",
        "reviewed",
        "certified",
        "fuzzy",
        "missing",
        "footer",
        "ready topics",
    )

    def ready(s: LanguageStatus) -> str:
        if s.all_ready:
            return f"all {len(s.ready_topics)}"
        return ", ".join(s.ready_topics) or "none"

    rows = [
        (
            s.lang,
            s.name,
            str(s.total),
            str(s.translated),
            str(s.reviewed),
            str(s.certified),
            str(s.fuzzy),
            str(s.missing),
            "reviewed" if s.footer_reviewed else "NOT reviewed",
            ready(s),
        )
        for s in statuses
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    numeric = range(2, 8)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = [line(head)]
    lines += [line(row) for row in rows]
    lines.append("")
    for s in statuses:
        if s.not_ready_topics:
            lines.append(f"{s.lang}: not ready: {', '.join(s.not_ready_topics)}")
        for name, on, n in s.certified_by:
            lines.append(f"{s.lang}: {n} strings certified by {name} on {on}")
        if s.machine_drafts:
            lines.append(f"{s.lang}: {s.machine_drafts} machine drafts (review, then clear fuzzy)")
        if not s.footer_reviewed:
            lines.append(f"{s.lang}: left out of the LA-3 footer (no reviewed footer line)")
        for p in s.problems:
            lines.append(f"{s.lang}: unusable entry {p}")
    return "\n".join(lines).rstrip() + "\n"
