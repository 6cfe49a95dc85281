"""Typed template variables: parse and validate the data a campaign gives for each recipient.

Values arrive as JSON values or, from CSV, as strings; both parse to the same Python values,
which the format renderers then write for the member's locale (print, speech or relay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from commhub.fields import FORBIDDEN_REASON, has_forbidden

VarType = Literal["text", "date", "time", "phone", "money", "integer"]
TYPES: tuple[str, ...] = get_args(VarType)
_PHONE_DIGITS = re.compile(r"\d")
_PHONE_SHAPE = re.compile(r"^\+?[0-9][0-9 ().-]{6,24}$")


@dataclass(frozen=True)
class Phone:
    """A phone number kept as digits; each format writes it its own way."""

    digits: str  # e.g. "18005550100"

    @classmethod
    def parse(cls, text: str) -> Phone:
        if not _PHONE_SHAPE.match(text):
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
            value = raw.strip()
            if not value:
                raise ValueError("must not be empty")
            if len(value) > self.max_length:
                raise ValueError(f"must be at most {self.max_length} characters")
            if has_forbidden(value):
                raise ValueError(FORBIDDEN_REASON)
            return value
        if kind == "date":
            if not isinstance(raw, str):
                raise ValueError("must be a date like 2026-12-03")
            try:
                return date.fromisoformat(raw.strip())
            except ValueError:
                raise ValueError("must be a date like 2026-12-03") from None
        if kind == "time":
            if not isinstance(raw, str) or not re.fullmatch(r"\d{1,2}:\d{2}", raw.strip()):
                raise ValueError("must be a 24-hour time like 14:30")
            try:
                return time.fromisoformat(raw.strip().zfill(5))
            except ValueError:
                raise ValueError("must be a 24-hour time like 14:30") from None
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
            if from_csv and isinstance(raw, str) and re.fullmatch(r"-?\d{1,9}", raw.strip()):
                raw = int(raw.strip())
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise ValueError("must be a whole number")
            if self.min is not None and raw < self.min:
                raise ValueError(f"must be at least {self.min}")
            if self.max is not None and raw > self.max:
                raise ValueError(f"must be at most {self.max}")
            return raw
        raise ValueError(f"unknown variable type {kind!r}")  # pragma: no cover


def to_json(value: Any) -> Any:
    """The JSON form of a parsed value (what the store keeps and `parse` reads back)."""
    if isinstance(value, date | time):
        return value.isoformat(timespec="minutes") if isinstance(value, time) else value.isoformat()
    if isinstance(value, Phone):
        return value.printed()
    if isinstance(value, Money):
        return str(value.amount)
    return value
