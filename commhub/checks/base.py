"""What every checker returns: a list of rule violations, each naming its rule id."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    `rule` is an id from ACCESSIBILITY.md ("LP-1", "EM-12", "TT-6", "TS-4", ...);
    `message` says what broke and where (the element and a short excerpt of its text),
    so a QA reader of `commhub preview` can find it.
    """

    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def excerpt(text: str, limit: int = 40) -> str:
    """A short, single-line quotation of `text` for violation messages."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class Collector:
    """Accumulates violations in order, dropping duplicates and capping each rule.

    One bad style on a wrapper would otherwise be reported once per text node under it: after
    `per_rule` findings of a rule, the rest are counted in one closing "… more" violation.
    """

    def __init__(self, per_rule: int = 5) -> None:
        self._seen: set[Violation] = set()
        self._counts: dict[str, int] = {}
        self._per_rule = per_rule
        self._items: list[Violation] = []

    def add(self, rule: str, message: str) -> None:
        v = Violation(rule, message)
        if v in self._seen:
            return
        self._seen.add(v)
        n = self._counts.get(rule, 0) + 1
        self._counts[rule] = n
        if n <= self._per_rule:
            self._items.append(v)

    @property
    def items(self) -> list[Violation]:
        extra = [
            Violation(rule, f"… and {n - self._per_rule} more {rule} findings")
            for rule, n in self._counts.items()
            if n > self._per_rule
        ]
        return self._items + extra
