"""Translation catalogs, review state, readiness and the language policy (ACCESSIBILITY.md LA-1…3).

Catalogs are GNU gettext `.po` files under `templates/i18n/<tag>.po` (tag as in
`commhub.languages`), read once at start with Babel. Every entry has a review state:

- ``reviewed``: translated and not `fuzzy` — the only state used for sending by default;
  a reviewed entry is also *certified* when a qualified translator's name and date are
  recorded on it (`commhub.content.review`); `language.require = "certified"` sends only
  those (`Catalogs.level`, `Catalogs.sendable`);
- ``fuzzy``: a machine draft (or any entry a reviewer has not cleared yet);
- ``missing``: no entry, an empty entry, or an entry whose placeholders do not match the
  English source (such an entry could not be rendered; `problems()` says why).

A template is *ready* in a language when every one of its strings is reviewed there. For a
member whose language is not ready, `plan_language` applies the configured policy; it never
returns a translator that silently mixes reviewed and unreviewed text, and a translator never
silently falls back to English for a single string (it raises `RenderError`).
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from babel.messages.catalog import Catalog, Message
from babel.messages.checkers import python_format
from babel.messages.pofile import read_po

from commhub import languages
from commhub.content import strings
from commhub.content.review import CERTIFIED, REQUIRE_LEVELS, Level, Record, latest_record, meets
from commhub.content.topics import PLACEHOLDER_RE
from commhub.errors import ConfigError, PolicyHold, RenderError

ReviewState = Literal["reviewed", "fuzzy", "missing"]
POLICIES = ("fallback", "block", "machine_with_notice")
ENGLISH = "en"


class Translator(Protocol):
    """Looks up translations for one language; never mixes in English silently."""

    lang: str  # language of the produced text

    def gettext(self, msgid: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


class EnglishTranslator:
    """The identity translator: the msgids are the English text."""

    lang = ENGLISH

    def gettext(self, msgid: str) -> str:
        return msgid

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


class CatalogTranslator:
    """A translator over a fixed set of entries of one catalog (reviewed, or also fuzzy)."""

    def __init__(
        self,
        lang: str,
        entries: dict[str, str | tuple[str, ...]],
        plural: Callable[[int], int],
    ) -> None:
        self.lang = lang
        self._entries = entries
        self._plural = plural

    def gettext(self, msgid: str) -> str:
        value = self._entries.get(msgid)
        if not isinstance(value, str):
            raise RenderError(f"no usable {self.lang} translation for {msgid!r}")
        return value

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self._entries.get(singular)
        if not isinstance(forms, tuple):
            raise RenderError(f"no usable {self.lang} plural translation for {singular!r}")
        index = self._plural(n)
        if not 0 <= index < len(forms):
            raise RenderError(f"{self.lang} plural rule gave form {index} for {singular!r}")
        return forms[index]


@dataclass(frozen=True)
class Readiness:
    """How many of a set of strings are translated, reviewed, fuzzy or missing in a language."""

    translated: int  # reviewed + fuzzy
    reviewed: int
    fuzzy: int
    missing: int
    ready: bool  # every string at the required level (reviewed, or certified)
    total: int = 0
    certified: int = 0  # of `reviewed`, those a qualified translator certified


def placeholders(text: str) -> list[str]:
    """The named `%(name)s` placeholders of a string, in order (repeats kept)."""
    return PLACEHOLDER_RE.findall(text)


def check_translation(
    msgid: str, msgid_plural: str | None, msgstr: str | Sequence[str]
) -> str | None:
    """Why a translation cannot be used in place of its English source, or None if it can.

    Every form must use exactly the source's set of placeholders (no more, none lost, none
    renamed), pass Babel's python-format checker, and format with the source's variables
    (no stray `%`). Plural forms must all keep the count placeholder too, because one form
    usually covers several numbers (ru "one" is 1, 21, 31, …).
    """
    forms = [msgstr] if isinstance(msgstr, str) else list(msgstr)
    wanted = set(placeholders(msgid)) | set(placeholders(msgid_plural or ""))
    sample = {name: "x" for name in wanted}
    for i, form in enumerate(forms):
        where = f"form {i}: " if msgid_plural is not None else ""
        got = set(placeholders(form))
        if got != wanted:
            lost, extra = sorted(wanted - got), sorted(got - wanted)
            parts = []
            if lost:
                parts.append("lost " + ", ".join(f"%({n})s" for n in lost))
            if extra:
                parts.append("unknown " + ", ".join(f"%({n})s" for n in extra))
            return where + "; ".join(parts)
    message = Message(
        (msgid, msgid_plural) if msgid_plural is not None else msgid,
        tuple(forms) if msgid_plural is not None else forms[0],
        flags=["python-format"],
    )
    try:
        python_format(None, message)
    except Exception as exc:  # babel.messages.catalog.TranslationError
        return f"python-format: {exc}"
    for i, form in enumerate(forms):
        where = f"form {i}: " if msgid_plural is not None else ""
        try:
            form % sample
        except (ValueError, TypeError, KeyError) as exc:
            return f"{where}does not format: {exc}"
    return None


@dataclass(frozen=True)
class _Entry:
    state: ReviewState
    value: str | tuple[str, ...] | None
    certified: Record | None = None  # only on reviewed entries


def po_files(directory: Path) -> dict[str, bytes]:
    """The `.po` files of `directory` by language tag (their file names), as bytes."""
    if not directory.is_dir():
        return {}
    return {path.stem: path.read_bytes() for path in sorted(directory.glob("*.po"))}


class Catalogs:
    """Every language's catalog, loaded once at start; answers review state and readiness.

    `require` is the lowest review level that may be sent (`language.require`): readiness
    and the non-draft translator count only entries at that level or above.
    """

    def __init__(self, catalogs: dict[str, Catalog], *, require: str = "reviewed") -> None:
        if require not in REQUIRE_LEVELS:
            raise ConfigError(
                f"language.require must be one of {', '.join(REQUIRE_LEVELS)}, not {require!r}"
            )
        self.require = require
        self._catalogs = catalogs
        self._entries: dict[str, dict[str, _Entry]] = {}
        self._problems: dict[str, list[str]] = {}
        self._plural: dict[str, Callable[[int], int]] = {}
        self._translators: dict[tuple[str, bool], Translator] = {}
        for lang, catalog in catalogs.items():
            self._index(lang, catalog)

    def requiring(self, require: str) -> Catalogs:
        """These catalogs with another minimum level for sending (self when unchanged)."""
        if require == self.require:
            return self
        return Catalogs(self._catalogs, require=require)

    @classmethod
    def load(cls, directory: Path, *, require: str = "reviewed") -> Catalogs:
        """Read `directory/<tag>.po` for every known language tag (fuzzy flags kept)."""
        return cls.from_po(po_files(directory), require=require)

    @classmethod
    def from_po(cls, files: Mapping[str, bytes], *, require: str = "reviewed") -> Catalogs:
        """Catalogs from `.po` file contents by language tag (a campaign's pinned copy)."""
        catalogs: dict[str, Catalog] = {}
        for tag, content in sorted(files.items()):
            if tag not in languages.LANGUAGES:
                raise ConfigError(f"{tag}.po: {tag!r} is not a supported language tag")
            if tag == ENGLISH:
                continue  # the msgids are the English text
            try:
                catalog = read_po(io.BytesIO(content), locale=languages.LANGUAGES[tag].locale)
            except Exception as exc:  # babel raises PoFileError, ValueError, …
                raise ConfigError(f"{tag}.po: not a readable .po file: {exc}") from None
            catalogs[tag] = catalog
        return cls(catalogs, require=require)

    def _index(self, lang: str, catalog: Catalog) -> None:
        entries: dict[str, _Entry] = {}
        problems: list[str] = []
        num = catalog.num_plurals
        for message in catalog:
            if not message.id:
                continue  # the header
            if isinstance(message.id, (list, tuple)):
                msgid, msgid_plural = str(message.id[0]), str(message.id[1])
                raw = message.string if isinstance(message.string, (list, tuple)) else ()
                forms = tuple(str(s) for s in raw)
                translated = len(forms) == num and all(forms)
                if any(forms) and not translated:
                    empty = [str(i) for i in range(num) if i >= len(forms) or not forms[i]]
                    problems.append(
                        f"{msgid!r}: {num} plural forms needed, form {', '.join(empty)} empty"
                    )
                value: str | tuple[str, ...] = forms
            else:
                msgid, msgid_plural = str(message.id), None
                value = str(message.string or "")
                translated = bool(value)
            if translated:
                problem = check_translation(msgid, msgid_plural, value)
                if problem:
                    problems.append(f"{msgid!r}: {problem}")
                    translated = False
            if translated:
                state: ReviewState = "fuzzy" if message.fuzzy else "reviewed"
                # A fuzzy entry's certification was given to other words: it does not count.
                record = None if message.fuzzy else latest_record(message.user_comments, CERTIFIED)
                entries[msgid] = _Entry(state, value, record)
            else:
                entries[msgid] = _Entry("missing", None)
        self._entries[lang] = entries
        self._problems[lang] = problems
        self._plural[lang] = gettext.c2py(catalog.plural_expr)

    def languages(self) -> list[str]:
        """Tags that have a catalog, English first."""
        return [ENGLISH, *sorted(self._catalogs)]

    def catalog(self, lang: str) -> Catalog | None:
        """The Babel catalog of a language (None for English or a language without one)."""
        return self._catalogs.get(lang)

    def problems(self, lang: str) -> list[str]:
        """Entries of `lang` that are translated but unusable (placeholders, plural forms)."""
        return list(self._problems.get(lang, ()))

    def review_state(self, lang: str, msgid: str) -> ReviewState:
        """The review state of one string in one language (English is always reviewed)."""
        if lang == ENGLISH:
            return "reviewed"
        entry = self._entries.get(lang, {}).get(msgid)
        return entry.state if entry else "missing"

    def level(self, lang: str, msgid: str) -> Level:
        """The review level of one string: `review_state`, with `certified` told apart."""
        if lang == ENGLISH:
            return "certified"  # the source text itself
        entry = self._entries.get(lang, {}).get(msgid)
        if entry is None:
            return "missing"
        return "certified" if entry.certified is not None else entry.state

    def certification(self, lang: str, msgid: str) -> Record | None:
        """Who certified one string in one language, and when (None if nobody did)."""
        entry = self._entries.get(lang, {}).get(msgid)
        return entry.certified if entry else None

    def sendable(self, lang: str, msgid: str) -> bool:
        """Whether one string may be sent as reviewed under `require` (English always)."""
        return meets(self.level(lang, msgid), self.require)

    def certifications(self, lang: str, msgids: Iterable[str]) -> list[tuple[Record, int]]:
        """Who certified which of `msgids` in `lang`: (name and date, number of strings)."""
        counts: dict[Record, int] = {}
        for msgid in dict.fromkeys(msgids):
            record = self.certification(lang, msgid)
            if record is not None:
                counts[record] = counts.get(record, 0) + 1
        return sorted(counts.items(), key=lambda kv: (kv[0].on, kv[0].name))

    def readiness(self, lang: str, msgids: Iterable[str]) -> Readiness:
        """Counts over the distinct `msgids`; ready when every one may be sent in `lang`."""
        counts = {"reviewed": 0, "fuzzy": 0, "missing": 0}
        certified = sendable = 0
        unique = list(dict.fromkeys(msgids))
        for msgid in unique:
            counts[self.review_state(lang, msgid)] += 1
            level = self.level(lang, msgid)
            certified += level == "certified" and lang != ENGLISH
            sendable += meets(level, self.require)
        return Readiness(
            translated=counts["reviewed"] + counts["fuzzy"],
            reviewed=counts["reviewed"],
            fuzzy=counts["fuzzy"],
            missing=counts["missing"],
            ready=sendable == len(unique),
            total=len(unique),
            certified=certified,
        )

    def translator(self, lang: str, *, include_fuzzy: bool = False) -> Translator:
        """A translator for `lang`: entries at the required level only (reviewed, or certified),
        unless `include_fuzzy` (LA-2 policy: every translated entry).

        A string without a usable entry raises RenderError at lookup, never English text.
        """
        if lang == ENGLISH:
            return EnglishTranslator()
        if lang not in languages.LANGUAGES:
            raise RenderError(f"unknown language {lang!r}")
        cached = self._translators.get((lang, include_fuzzy))
        if cached is None:
            entries = {
                msgid: entry.value
                for msgid, entry in self._entries.get(lang, {}).items()
                if entry.value is not None and (include_fuzzy or self.sendable(lang, msgid))
            }
            plural = self._plural.get(lang) or _babel_plural(lang)
            cached = self._translators[lang, include_fuzzy] = CatalogTranslator(
                lang, entries, plural
            )
        return cached


def _babel_plural(lang: str) -> Callable[[int], int]:
    return gettext.c2py(Catalog(locale=languages.LANGUAGES[lang].locale).plural_expr)


@dataclass(frozen=True)
class LanguagePlan:
    """Which language a message is rendered in, and how (LA-1/LA-2 and the fallback policy)."""

    lang: str  # language of the message text
    member_lang: str  # the member's preferred language
    translator: Translator
    fallback: bool  # English instead of the member's language (delivery: language_fallback)
    machine: bool  # unreviewed machine drafts used: the LA-2 notice must be shown


def plan_language(
    catalogs: Catalogs,
    msgids: Sequence[str],
    member_lang: str,
    policy: str,
    *,
    topic: str = "this template",
) -> LanguagePlan:
    """Decide the language of one message from the readiness of every string it uses.

    `msgids` are the topic's strings plus the shared strings the message uses. Ready in the
    member's language: reviewed translations. Not ready: `fallback` gives English (with
    fallback=True), `block` raises PolicyHold with the reason, `machine_with_notice` uses
    reviewed+fuzzy entries when every string has at least a draft (machine=True), else falls
    back to English.
    """
    if policy not in POLICIES:
        raise ConfigError(f"language.policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    english = EnglishTranslator()
    if member_lang == ENGLISH:
        return LanguagePlan(ENGLISH, member_lang, english, fallback=False, machine=False)
    readiness = catalogs.readiness(member_lang, msgids)
    if readiness.ready:
        return LanguagePlan(
            member_lang,
            member_lang,
            catalogs.translator(member_lang),
            fallback=False,
            machine=False,
        )
    if policy == "block":
        if catalogs.require == "certified":
            short = f"{readiness.total - readiness.certified} strings not certified"
            clears = f'certify the {member_lang} catalog or set language.require = "reviewed"'
        else:
            short = f"{readiness.total - readiness.reviewed} strings not reviewed"
            clears = f'review the {member_lang} catalog or set language.policy = "fallback"'
        raise PolicyHold(
            reason=f"language {member_lang} not ready for {topic}: {short}", clears=clears
        )
    if policy == "machine_with_notice" and readiness.missing == 0:
        return LanguagePlan(
            member_lang,
            member_lang,
            catalogs.translator(member_lang, include_fuzzy=True),
            fallback=False,
            machine=True,
        )
    return LanguagePlan(ENGLISH, member_lang, english, fallback=True, machine=False)


def language_name(catalogs: Catalogs, lang: str) -> str:
    """The language's own name: its reviewed LANGUAGE_NAME, else the built-in native name."""
    if catalogs.sendable(lang, strings.LANGUAGE_NAME):
        return catalogs.translator(lang).gettext(strings.LANGUAGE_NAME)
    known = languages.LANGUAGES.get(lang)
    return known.native_name if known else lang


def _reviewed_text(
    catalogs: Catalogs, lang: str, msgid: str, phone: str, tty: str = "711"
) -> str | None:
    if lang == ENGLISH and msgid == strings.LANGUAGE_HELP:
        return strings.LANGUAGE_HELP_ENGLISH % {"phone": phone}
    if not catalogs.sendable(lang, msgid):
        return None
    text = catalogs.translator(lang).gettext(msgid)
    return text % {"phone": phone, "language": language_name(catalogs, lang), "tty": tty}


def language_help_lines(
    catalogs: Catalogs, member_lang: str, footer_languages: Sequence[str], phone: str
) -> list[tuple[str, str]]:
    """The LA-3 footer: (tag, text) per language, each written in its own language.

    Order: the member's language, English, then the configured list; no duplicates. A
    language without a reviewed LANGUAGE_HELP is left out (`translate status` reports it).
    """
    lines: list[tuple[str, str]] = []
    for lang in dict.fromkeys([member_lang, ENGLISH, *footer_languages]):
        text = _reviewed_text(catalogs, lang, strings.LANGUAGE_HELP, phone)
        if text is not None:
            lines.append((lang, text))
    return lines


def relay_help_lines(
    catalogs: Catalogs, member_lang: str, phone: str, tty: str
) -> list[tuple[str, str]]:
    """LA-3 on relay text, written for a TTY (TT-7): one short line in the member's language,
    then the same line in English (`FREE INTERPRETER: CALL 1-800-555-0100 TTY 711`).

    A language without a reviewed short line gives its whole LANGUAGE_HELP line instead.
    """
    lines: list[tuple[str, str]] = []
    for lang in dict.fromkeys([member_lang, ENGLISH]):
        text = _reviewed_text(catalogs, lang, strings.RELAY_LANGUAGE_HELP, phone, tty)
        if text is None:
            text = _reviewed_text(catalogs, lang, strings.LANGUAGE_HELP, f"{phone} TTY {tty}")
        if text is not None:
            lines.append((lang, text))
    return lines


def fallback_tagline(catalogs: Catalogs, member_lang: str, phone: str) -> tuple[str, str] | None:
    """FALLBACK_TAGLINE in the member's language (reviewed only), or None (also for English)."""
    if member_lang == ENGLISH:
        return None
    text = _reviewed_text(catalogs, member_lang, strings.FALLBACK_TAGLINE, phone)
    return (member_lang, text) if text is not None else None


def machine_notice(catalogs: Catalogs, lang: str, phone: str) -> tuple[str, str]:
    """The LA-2 notice in `lang` (a draft is allowed: the notice says so itself), else English."""
    if lang != ENGLISH and catalogs.review_state(lang, strings.MACHINE_NOTICE) != "missing":
        text = catalogs.translator(lang, include_fuzzy=True).gettext(strings.MACHINE_NOTICE)
        return lang, text % {"phone": phone}
    return ENGLISH, strings.MACHINE_NOTICE % {"phone": phone}
