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
from typing import Any

from commhub.content.variables import TYPES, VarSpec
from commhub.errors import ConfigError, Problem

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


def load_topic(path: Path) -> Topic:
    """Load and check one topic file; errors name the file and key."""
    where = path.name
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None

    def need(table: Mapping[str, Any], key: str, kind: type, ctx: str) -> Any:
        if key not in table:
            raise ConfigError(f"{where}: {ctx}{key} is required")
        value = table[key]
        if not isinstance(value, kind):
            raise ConfigError(f"{where}: {ctx}{key} must be a {kind.__name__}")
        return value

    name = need(raw, "topic", str, "")
    if name != path.stem:
        raise ConfigError(f"{where}: topic = {name!r} must match the file name")
    variables: dict[str, VarSpec] = {}
    for var, spec in need(raw, "variables", dict, "").items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: variables.{var} must be a table")
        kind = need(spec, "type", str, f"variables.{var}.")
        if kind not in TYPES:
            raise ConfigError(f"{where}: variables.{var}.type must be one of {', '.join(TYPES)}")
        if var in BUILTIN_PLACEHOLDERS:
            raise ConfigError(f"{where}: variables.{var} clashes with a built-in placeholder")
        extra = {
            k: spec[k] for k in ("description", "required", "max_length", "min", "max") if k in spec
        }
        variables[var] = VarSpec(name=var, type=kind, **extra)

    c = need(raw, "content", dict, "")

    def text(value: Any, ctx: str) -> Text:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: {ctx} must be a non-empty string")
        return Text(value)

    def msg(value: Any, ctx: str) -> Msg:
        if isinstance(value, dict):
            count = need(value, "count", str, f"{ctx}.")
            if variables.get(count) is None or variables[count].type != "integer":
                raise ConfigError(f"{where}: {ctx}.count must name an integer variable")
            return Plural(
                need(value, "singular", str, f"{ctx}."),
                need(value, "plural", str, f"{ctx}."),
                count,
            )
        return text(value, ctx)

    paragraphs = tuple(
        msg(p, f"content.paragraphs[{i}]")
        for i, p in enumerate(need(c, "paragraphs", list, "content."))
    )
    facts = []
    for i, f in enumerate(need(c, "facts", list, "content.")):
        if not isinstance(f, dict):
            raise ConfigError(f"{where}: content.facts[{i}] must be a table")
        var = need(f, "var", str, f"content.facts[{i}].")
        if var not in variables:
            raise ConfigError(f"{where}: content.facts[{i}].var names unknown variable {var!r}")
        facts.append(Fact(text(f.get("label"), f"content.facts[{i}].label"), var))
    content = Content(
        subject=text(c.get("subject"), "content.subject"),
        heading=text(c.get("heading"), "content.heading"),
        paragraphs=paragraphs,
        facts=tuple(facts),
        action=text(c.get("action"), "content.action"),
    )
    allowed = BUILTIN_PLACEHOLDERS | variables.keys()
    for m in content.messages():
        for s in [m.msgid] if isinstance(m, Text) else [m.singular, m.plural]:
            for ph in PLACEHOLDER_RE.findall(s):
                if ph not in allowed:
                    raise ConfigError(f"{where}: unknown placeholder %({ph})s in {s!r}")
    topic = Topic(
        name=name,
        description=str(raw.get("description", "")),
        phone_line=need(raw, "phone_line", str, ""),
        variables=variables,
        sample=need(raw, "sample", dict, ""),
        sample_member=dict(
            raw.get("sample_member", {"given_name": "Alex", "family_name": "Rivera"})
        ),
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
