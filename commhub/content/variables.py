"""Typed template variables: parse and validate the data a campaign gives for each recipient.

Values arrive as JSON values or, from CSV, as strings; both parse to the same Python values,
which the format renderers then write for the member's locale (print, speech or relay).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from commhub.fields import WS_CLASS, check_text, free_text_pattern

VarType = Literal["text", "date", "time", "phone", "money", "integer"]
TYPES: tuple[str, ...] = get_args(VarType)
_PHONE_DIGITS = re.compile(r"[0-9]")
# The shapes each type accepts (white space around is ignored), in the regex syntax Python
# and ECMA-262 share: `parse` checks them and `schema` documents them.
PHONE_SHAPE = "\\+?[0-9][0-9 ().-]{6,24}"
DATE_SHAPE = "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
TIME_SHAPE = "([01]?[0-9]|2[0-3]):[0-5][0-9]"
MONEY_SHAPE = "\\$?[0-9]{1,6}(\\.[0-9]{1,2})?"
_PHONE_SHAPE = re.compile(PHONE_SHAPE)
_DATE_SHAPE = re.compile(DATE_SHAPE)
_TIME_SHAPE = re.compile(TIME_SHAPE)


def _shape(core: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^[{WS_CLASS}]*(?:{core})[{WS_CLASS}]*$"}


@dataclass(frozen=True)
class Phone:
    """A phone number kept as digits; each format writes it its own way."""

    digits: str  # e.g. "18005550100"

    @classmethod
    def parse(cls, text: str) -> Phone:
        if not _PHONE_SHAPE.fullmatch(text):
            raise ValueError("must be a phone number like 1-800-555-0100")
        digits = "".join(_PHONE_DIGITS.findall(text))
        if len(digits) == 10:
            digits = "1" + digits
        if len(digits) != 11 or not digits.startswith("1"):
            raise ValueError("must be a US phone number with 10 digits (1-800-555-0100)")
        return cls(digits)

    @property
    def groups(self) -> tuple[str, str, str, str]:
        d = self.digits
        return d[0], d[1:4], d[4:7], d[7:]

    def printed(self) -> str:
        """1-800-555-0100: the form print and relay text use (TT-6)."""
        return "-".join(self.groups)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = "USD"


@dataclass(frozen=True)
class VarSpec:
    name: str
    type: str
    description: str = ""
    required: bool = True
    max_length: int = 120  # text
    min: int | None = None  # integer
    max: int | None = None  # integer

    def parse(self, raw: Any, *, from_csv: bool = False) -> Any:
        """Return the typed value or raise ValueError with a reason a person can act on."""
        kind = self.type
        if kind == "text":
            if not isinstance(raw, str):
                raise ValueError("must be text")
            reason = check_text(raw, self.max_length)
            if reason is not None:
                raise ValueError(reason)
            value = raw.strip()
            if not value:
                raise ValueError("must not be empty")
            return value
        if kind == "date":
            if not isinstance(raw, str) or not _DATE_SHAPE.fullmatch(raw.strip()):
                raise ValueError("must be a date like 2026-12-03")
            try:
                return date.fromisoformat(raw.strip())
            except ValueError:
                raise ValueError(_no_such_date(raw.strip())) from None
        if kind == "time":
            if not isinstance(raw, str) or not _TIME_SHAPE.fullmatch(raw.strip()):
                raise ValueError("must be a 24-hour time like 14:30")
            hour, minute = raw.strip().split(":")
            return time(int(hour), int(minute))
        if kind == "phone":
            if not isinstance(raw, str):
                raise ValueError("must be a phone number like 1-800-555-0100")
            return Phone.parse(raw.strip())
        if kind == "money":
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise ValueError("must be an amount like 12.50")
            text = str(raw).strip().removeprefix("$")
            try:
                amount = Decimal(text)
            except InvalidOperation:
                raise ValueError("must be an amount like 12.50") from None
            if not amount.is_finite() or amount < 0 or amount >= Decimal("1000000"):
                raise ValueError("must be an amount between 0 and 999999.99")
            if amount != amount.quantize(Decimal("0.01")):
                raise ValueError("must have at most 2 decimal places")
            return Money(amount.quantize(Decimal("0.01")))
        if kind == "integer":
            if from_csv and isinstance(raw, str) and re.fullmatch(r"-?[0-9]{1,9}", raw.strip()):
                raw = int(raw.strip())
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise ValueError("must be a whole number")
            if self.min is not None and raw < self.min:
                raise ValueError(f"must be at least {self.min}")
            if self.max is not None and raw > self.max:
                raise ValueError(f"must be at most {self.max}")
            return raw
        raise ValueError(f"unknown variable type {kind!r}")  # pragma: no cover

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this variable's value in a request (what `parse` accepts,
        but for the checks a pattern cannot make: a phone number's digit count, the days
        of a month, an amount's decimal places)."""
        out: dict[str, Any]
        if self.type == "text":
            out = {"type": "string", "maxLength": self.max_length, "pattern": free_text_pattern()}
        elif self.type == "date":
            out = _shape(DATE_SHAPE)
        elif self.type == "time":
            out = _shape(TIME_SHAPE)
        elif self.type == "phone":
            out = _shape(PHONE_SHAPE)
        elif self.type == "money":
            number = {"type": "number", "minimum": 0, "exclusiveMaximum": 1_000_000}
            out = {"anyOf": [_shape(MONEY_SHAPE), number]}
        else:
            out = {"type": "integer"}
            if self.min is not None:
                out["minimum"] = self.min
            if self.max is not None:
                out["maximum"] = self.max
        out["description"] = f"{self.type}: {self.description}".rstrip(": ")
        return out


def to_json(value: Any) -> Any:
    """The JSON form of a parsed value (what the store keeps and `parse` reads back)."""
    if isinstance(value, date | time):
        return value.isoformat(timespec="minutes") if isinstance(value, time) else value.isoformat()
    if isinstance(value, Phone):
        return value.printed()
    if isinstance(value, Money):
        return str(value.amount)
    return value


def _no_such_date(text: str) -> str:
    """Why a date of DATE_SHAPE's form is not one: year 0, or a day its month does not have."""
    year, month, _ = (int(part) for part in text.split("-"))
    if year < 1:
        return "must be a date like 2026-12-03 (the year is 0001 or later)"
    days = calendar.monthrange(year, month)[1]
    return f"must be a date that exists: {year:04d}-{month:02d} has days 01 to {days}"
