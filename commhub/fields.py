"""Text input fields: the one definition of each field's limits, read by validation and docs.

A `TextField` says what a field accepts (required or not, maximum length, a pattern or a
closed set of choices). `parse` checks a value against it; `schema` writes the same rules
as an OpenAPI (JSON Schema 2020-12) schema, so the API document cannot disagree with the
server: a limit changes in one place.

Every text field refuses the characters in `FORBIDDEN`: C0 and C1 control characters, DEL,
U+2028/U+2029 (line breaks to some readers: they break headers, relay lines and logs) and
lone surrogates (they cannot be written as UTF-8, so the store and every message would fail
on them later). Surrounding white space is ignored (CSV cells often carry it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

# The forbidden characters as a regex class body, in the syntax Python's `re` and
# ECMA-262 (JSON Schema patterns) share. Lone surrogates are left out of this form: a
# schema validator built on UTF-8 strings cannot even compile them, and no UTF-8 request
# body can carry one (only a JSON `\ud800` escape can, which `_FORBIDDEN` catches).
FORBIDDEN_CLASS = "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029"
_FORBIDDEN = re.compile(f"[{FORBIDDEN_CLASS}\\ud800-\\udfff]")
FORBIDDEN_REASON = "must not contain line breaks, control characters or lone surrogates"


def _escape(c: str) -> str:
    return c if c == " " else f"\\u{ord(c):04x}"


# The white space `str.strip()` removes that is not forbidden anyway, spelled out: Python's
# `\s` and ECMA-262's differ (U+FEFF), so schema patterns never use `\s`.
WS_CLASS = "".join(
    _escape(chr(c)) for c in range(0x3001) if chr(c).isspace() and not _FORBIDDEN.match(chr(c))
)
# Any character a free-text field may hold, and one that is not white space either.
TEXT_CHAR = f"[^{FORBIDDEN_CLASS}]"
VISIBLE_CHAR = f"[^{FORBIDDEN_CLASS}{WS_CLASS}]"


def has_forbidden(value: str) -> bool:
    """Whether `value` holds a character no text field accepts (see FORBIDDEN_CLASS)."""
    return _FORBIDDEN.search(value) is not None


def check_text(value: str, max_length: int) -> str | None:
    """Why a free-text value is refused (too long, forbidden characters), or None."""
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if has_forbidden(value):
        return FORBIDDEN_REASON
    return None


def free_text_pattern() -> str:
    """The schema pattern of a non-empty free-text value (white space around is ignored)."""
    return f"^{TEXT_CHAR}*{VISIBLE_CHAR}{TEXT_CHAR}*$"


@dataclass(frozen=True)
class TextField:
    """One text field of a request body: its limits, its meaning, its documented schema.

    `pattern` (the value after stripping white space, written in the regex syntax Python
    and ECMA-262 share, without anchors) or `choices` (a closed set, read when used so it
    may be loaded lazily) narrow the value further. An optional field treats `null` and ""
    as absent.
    """

    name: str
    description: str
    required: bool = False
    max_length: int = 200
    pattern: str | None = None
    pattern_reason: str = "is not valid"
    choices: Callable[[], Collection[str]] | None = None
    choice_label: str = "value"
    list_choices: bool = True
    default: str | None = None

    def parse(self, raw: Any) -> tuple[str | None, str | None]:
        """(value, None) when valid (None or the default when absent), else (None, reason)."""
        if raw is None or raw == "":
            return (None, "is required") if self.required else (self.default, None)
        if not isinstance(raw, str):
            return None, "must be a string"
        reason = check_text(raw, self.max_length)
        if reason is not None:
            return None, reason
        value = raw.strip()
        if not value:
            return None, "is required (not only spaces)" if self.required else "is only spaces"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return None, self.pattern_reason
        if self.choices is not None and value not in self.choices():
            return None, self._unknown(value)
        return value, None

    def _unknown(self, value: str) -> str:
        if not self.list_choices:
            return f"unknown {self.choice_label} {value!r}"
        known = ", ".join(sorted(self.choices() if self.choices else ()))
        return f"unknown {self.choice_label} {value!r}; one of: {known}"

    def schema(self, *, nullable: bool = False) -> dict[str, Any]:
        """The JSON Schema of this field in a request (`nullable`: null means absent)."""
        out: dict[str, Any] = {"description": self.description}
        if self.choices is not None:
            out["type"] = "string"
            out["enum"] = sorted(self.choices()) + ([] if self.required else [""])
        else:
            # White space around the value is ignored; inside, no forbidden character.
            if self.pattern is None:
                pattern = free_text_pattern()
            else:
                pattern = f"^[{WS_CLASS}]*(?:{self.pattern})[{WS_CLASS}]*$"
            if not self.required:
                pattern = f"^$|{pattern}"
            out.update(type="string", maxLength=self.max_length, pattern=pattern)
        if nullable:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        if self.default is not None:
            out["default"] = self.default
        return out

    def output_schema(self) -> dict[str, Any]:
        """The JSON Schema of this field in a response (null when optional and absent)."""
        out: dict[str, Any] = {"description": self.description, "type": "string"}
        if self.choices is not None:
            out["enum"] = sorted(self.choices())
        if not self.required and self.default is None:
            out["type"] = ["string", "null"]
        return out
