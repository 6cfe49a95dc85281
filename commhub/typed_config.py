"""Typed configuration files: TOML tables converted to declared types by msgspec.

The rules live on the types, not in hand-written checks: `Annotated[int, Meta(ge=1)]` for
bounds, `Literal[...]` for choices, `__post_init__` for rules that span fields. This module
turns msgspec's error into one ConfigError line that names the key (``workers.lease_seconds``),
what is allowed and the value given, for config.toml, topic files and voice files alike.
"""

from __future__ import annotations

import dataclasses
import re
import types
from datetime import time
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec

from commhub.errors import ConfigError

T = TypeVar("T")

_AT = re.compile(r"^(?P<message>.*) - at `\$(?P<path>.*)`$", re.DOTALL)
_SEGMENT = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_RULE = re.compile(r"^(?P<field>\w+): (?P<message>.*)$", re.DOTALL)
_NAMED = re.compile(r"^Object (?P<what>contains unknown|missing required) field `(?P<field>.*)`$")
_MISSING = object()


def convert(raw: Any, tp: type[T], *, where: str = "", strict: bool = True) -> T:
    """`raw` (parsed TOML) as a `tp`; ConfigError "<where><key>: <problem>" otherwise.

    `where` prefixes every message (a file name such as ``"es.toml: "``).
    """
    try:
        return msgspec.convert(raw, tp, strict=strict)
    except msgspec.ValidationError as exc:
        raise ConfigError(where + describe(exc, raw, tp)) from None


def describe(exc: msgspec.ValidationError, raw: Any, tp: Any) -> str:
    """msgspec's message with the dotted key first, the allowed choices and the value given."""
    text = str(exc)
    found = _AT.match(text)
    # No path: the error is about `raw` itself (e.g. an unknown key of the root table).
    message, path = (found["message"], found["path"]) if found else (text, "")
    key, value, field_tp = _locate(raw, tp, path)
    choices = _choices(field_tp)
    rule = _RULE.match(message)
    if rule is not None:  # a __post_init__ rule names its own field: "number: must be ..."
        key = f"{key}.{rule['field']}" if key else rule["field"]
        message, value = rule["message"], _MISSING
    elif (named := _NAMED.match(message)) is not None:  # a key unknown or missing
        key = f"{key}.{named['field']}" if key else named["field"]
        if named["what"] == "missing required":
            message = "is required"
        else:
            message = f"unknown key (known: {', '.join(field_names(field_tp))})"
    elif strip(field_tp) is time:
        message = 'must be a time like "21:00"'
    elif choices is not None:
        message = "must be one of " + ", ".join(repr(c) for c in choices)
    elif message.startswith("Expected"):
        message = "expected" + message[len("Expected") :]
    if value is not _MISSING and not isinstance(value, dict | list):
        message += f", not {value!r}"
    return f"{key}: {message}" if key else message


def field_names(tp: Any) -> list[str]:
    """The keys a table of type `tp` accepts (dataclass fields or msgspec Struct fields)."""
    tp = strip(tp)
    if dataclasses.is_dataclass(tp):
        return [f.name for f in dataclasses.fields(tp) if f.init]
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return [f.encode_name for f in msgspec.structs.fields(tp)]
    return []


def field_type(tp: Any, name: str) -> Any:
    """The declared type of key `name` in a table of type `tp` (None: no such key)."""
    tp = strip(tp)
    if dataclasses.is_dataclass(tp):
        return get_type_hints(tp, include_extras=True).get(name)
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        for f in msgspec.structs.fields(tp):
            if f.encode_name == name:
                return f.type
    return None


def _locate(raw: Any, tp: Any, path: str) -> tuple[str, Any, Any]:
    """Follow msgspec's `path` through `raw` and `tp`: dotted key, value found, its type.

    msgspec writes a dict key as `[...]`; the key is recovered by finding the entry whose
    value does not convert to the dict's value type.
    """
    parts: list[str] = []
    value: Any = raw
    for name, index in _SEGMENT.findall(path):
        tp = strip(tp)
        if name:
            parts.append(name)
            tp = field_type(tp, name)
            value = value.get(name, _MISSING) if isinstance(value, dict) else _MISSING
        elif index == "...":
            val_tp = get_args(tp)[1] if get_origin(tp) is dict else Any
            key, value = _bad_entry(value, val_tp)
            parts.append(key)
            tp = val_tp
        else:
            parts[-1:] = [f"{parts[-1] if parts else ''}[{index}]"]
            tp = _item_type(tp)
            i = int(index)
            value = value[i] if isinstance(value, list) and i < len(value) else _MISSING
    return ".".join(parts), value, tp


def _bad_entry(table: Any, val_tp: Any) -> tuple[str, Any]:
    if isinstance(table, dict):
        for key, value in table.items():
            try:
                msgspec.convert(value, val_tp)
            except msgspec.ValidationError:
                return str(key), value
            except TypeError:  # pragma: no cover - a type msgspec cannot check alone
                break
    return "[...]", _MISSING


def _item_type(tp: Any) -> Any:
    args = get_args(tp)
    if get_origin(tp) in (list, tuple) and args:
        return args[0]
    for arm in _arms(tp):  # a union such as `str | Plural`
        if get_origin(arm) in (list, tuple):
            return get_args(arm)[0]
    return Any


def strip(tp: Any) -> Any:
    """`tp` without Annotated metadata and without `| None`."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    arms = [a for a in _arms(tp) if a is not type(None)]
    return strip(arms[0]) if len(arms) == 1 and arms[0] is not tp else tp


def _arms(tp: Any) -> tuple[Any, ...]:
    if get_origin(tp) in (Union, types.UnionType):
        return get_args(tp)
    return (tp,)


def _choices(tp: Any) -> tuple[Any, ...] | None:
    tp = strip(tp)
    return get_args(tp) if get_origin(tp) is Literal else None
