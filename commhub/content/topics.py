"""Outreach topics: one semantic source per topic, loaded from `templates/topics/*.toml`.

A topic declares its typed variables, a sample data set, the plan phone line to call, and its
content as semantic parts (subject, heading, paragraphs, key facts, action). Every string is
an English gettext msgid with named `%(placeholder)s`s; the three format layouts turn the parts
into HTML, speech and relay text, so no topic is written three times.

Placeholders a string may use: the topic's variables, plus `name` (the member's name in their
language's order), `plan` (the plan's name), `line` and `phone` (the topic's phone line).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from commhub.content.variables import VarSpec, VarType
from commhub.errors import ConfigError, Problem
from commhub.typed_config import convert

BUILTIN_PLACEHOLDERS = frozenset({"name", "plan", "line", "phone"})
PLACEHOLDER_RE = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Text:
    """A translatable string (gettext msgid)."""

    msgid: str

    def msgids(self) -> Iterator[str]:
        yield self.msgid


@dataclass(frozen=True)
class Plural:
    """A translatable string with plural forms, chosen by an integer variable."""

    singular: str
    plural: str
    count: str  # name of the integer variable that picks the form

    def msgids(self) -> Iterator[str]:
        yield self.singular


Msg = Text | Plural


@dataclass(frozen=True)
class Fact:
    """A key fact shown as "label: value" (value is one variable, formatted per format)."""

    label: Text
    var: str


@dataclass(frozen=True)
class Content:
    subject: Text
    heading: Text
    paragraphs: tuple[Msg, ...]
    facts: tuple[Fact, ...]
    action: Text

    def messages(self) -> Iterator[Msg]:
        """Every translatable string of the topic, in reading order."""
        yield self.subject
        yield self.heading
        yield from self.paragraphs
        for fact in self.facts:
            yield fact.label
        yield self.action


@dataclass(frozen=True)
class Topic:
    name: str
    description: str
    phone_line: str
    variables: dict[str, VarSpec]
    sample: dict[str, Any]
    sample_member: dict[str, str]
    content: Content
    source: Path = field(compare=False)

    def msgids(self) -> list[str]:
        """The singular msgids of every string of this topic (readiness is counted on these)."""
        return [m for msg in self.content.messages() for m in msg.msgids()]

    def variable_types(self) -> dict[str, str]:
        return {name: spec.type for name, spec in self.variables.items()}

    def parse_data(
        self,
        data: Any,
        *,
        from_csv: bool = False,
        line: int | None = None,
        index: int | None = None,
        prefix: str = "data.",
    ) -> tuple[dict[str, Any], list[Problem]]:
        """Validate one recipient's data against the variables; return typed values or problems."""
        problems: list[Problem] = []
        values: dict[str, Any] = {}
        if not isinstance(data, Mapping):
            return values, [Problem(prefix.rstrip("."), "must be an object", line, index)]
        for key in data:
            if key not in self.variables:
                problems.append(
                    Problem(f"{prefix}{key}", f"is not a variable of {self.name}", line, index)
                )
        for name, spec in self.variables.items():
            raw = data.get(name)
            if raw is None or raw == "":
                if spec.required:
                    problems.append(
                        Problem(f"{prefix}{name}", f"is required ({spec.type})", line, index)
                    )
                continue
            try:
                values[name] = spec.parse(raw, from_csv=from_csv)
            except ValueError as exc:
                problems.append(Problem(f"{prefix}{name}", str(exc), line, index))
        return values, problems


# The shape of a topic file, checked by msgspec (commhub/typed_config.py): an unknown key, a
# wrong type or a bound crossed stops start-up with the file name and the key. Rules between
# keys (placeholders, counts, facts) are checked in load_topic below.
_Words = Annotated[str, Meta(pattern=r"\S")]  # a non-empty string (not only spaces)


class _VariableFile(msgspec.Struct, forbid_unknown_fields=True):
    type: VarType
    description: str = ""
    required: bool = True
    max_length: Annotated[int, Meta(ge=1, le=10_000)] = 120  # text
    min: int | None = None  # integer
    max: int | None = None  # integer

    def __post_init__(self) -> None:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"max: must be at least min ({self.min}), not {self.max}")


class _PluralFile(msgspec.Struct, forbid_unknown_fields=True):
    singular: _Words
    plural: _Words
    count: str  # the integer variable that picks the form


class _FactFile(msgspec.Struct, forbid_unknown_fields=True):
    label: _Words
    var: str


class _ContentFile(msgspec.Struct, forbid_unknown_fields=True):
    subject: _Words
    heading: _Words
    paragraphs: list[_Words | _PluralFile]
    facts: list[_FactFile]
    action: _Words


class _TopicFile(msgspec.Struct, forbid_unknown_fields=True):
    topic: str
    phone_line: _Words
    variables: dict[str, _VariableFile]
    sample: dict[str, Any]
    content: _ContentFile
    description: str = ""
    sample_member: dict[str, str] = msgspec.field(
        default_factory=lambda: {"given_name": "Alex", "family_name": "Rivera"}
    )


def load_topic(path: Path) -> Topic:
    """Load and check one topic file; errors name the file and key."""
    return topic_from_text(path.read_text(encoding="utf-8"), path)


def topic_from_text(text: str, path: Path) -> Topic:
    """Check and build a topic from the text of its file `path` (a campaign's pinned copy is
    read this way, from the store)."""
    where = path.name
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    f = convert(raw, _TopicFile, where=f"{where}: ")
    if f.topic != path.stem:
        raise ConfigError(f"{where}: topic = {f.topic!r} must match the file name")
    variables: dict[str, VarSpec] = {}
    for var, spec in f.variables.items():
        if var in BUILTIN_PLACEHOLDERS:
            raise ConfigError(f"{where}: variables.{var} clashes with a built-in placeholder")
        variables[var] = VarSpec(
            var, spec.type, spec.description, spec.required, spec.max_length, spec.min, spec.max
        )

    def msg(value: str | _PluralFile, ctx: str) -> Msg:
        if isinstance(value, str):
            return Text(value)
        if variables.get(value.count) is None or variables[value.count].type != "integer":
            raise ConfigError(f"{where}: {ctx}.count must name an integer variable")
        return Plural(value.singular, value.plural, value.count)

    c = f.content
    facts = []
    for i, fact in enumerate(c.facts):
        if fact.var not in variables:
            raise ConfigError(
                f"{where}: content.facts[{i}].var names unknown variable {fact.var!r}"
            )
        facts.append(Fact(Text(fact.label), fact.var))
    content = Content(
        subject=Text(c.subject),
        heading=Text(c.heading),
        paragraphs=tuple(msg(p, f"content.paragraphs[{i}]") for i, p in enumerate(c.paragraphs)),
        facts=tuple(facts),
        action=Text(c.action),
    )
    allowed = BUILTIN_PLACEHOLDERS | variables.keys()
    for m in content.messages():
        for s in [m.msgid] if isinstance(m, Text) else [m.singular, m.plural]:
            for ph in PLACEHOLDER_RE.findall(s):
                if ph not in allowed:
                    raise ConfigError(f"{where}: unknown placeholder %({ph})s in {s!r}")
    topic = Topic(
        name=f.topic,
        description=f.description,
        phone_line=f.phone_line,
        variables=variables,
        sample=f.sample,
        sample_member=f.sample_member,
        content=content,
        source=path,
    )
    _, problems = topic.parse_data(topic.sample, prefix="sample.")
    if problems:
        p = problems[0]
        raise ConfigError(f"{where}: {p.field} {p.reason}")
    return topic


def load_topics(directory: Path) -> dict[str, Topic]:
    """Every topic under `directory` (templates/topics), by name."""
    topics = {p.stem: load_topic(p) for p in sorted(directory.glob("*.toml"))}
    if not topics:
        raise ConfigError(f"no topics found in {directory}")
    return topics
