"""What relay text costs a TTY reader: Baudot characters, shifts and time at 45.45 baud.

A US TTY sends each character as 1 start bit, 5 data bits and 1.5 stop bits (7.5 bit times)
at 45.45 baud: about 6 characters a second. Letters and figures share the 32 codes, so every
switch between them costs one more character (LTRS or FIGS); space, CR and LF exist in both.
"""

from __future__ import annotations

from dataclasses import dataclass

from commhub.checks.relay import TTY_SAFE

BAUD = 45.45
BITS_PER_CHAR = 7.5
CHARS_PER_SECOND = BAUD / BITS_PER_CHAR  # ≈ 6.06
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_BOTH = frozenset(" \r\n")


@dataclass(frozen=True)
class TtyTiming:
    """How relay text goes over a TTY line."""

    chars: int  # characters of the text (CR and LF counted, as sent)
    shifts: int  # LTRS/FIGS shift characters the sender adds
    seconds: float
    baudot_safe: bool  # every character is in the TTY character set (TT-1)

    @property
    def minutes(self) -> float:
        return self.seconds / 60


def tty_timing(text: str) -> TtyTiming:
    """Count `text` as a TTY sends it (CRLF line ends assumed: TT-4)."""
    sent = text.replace("\r\n", "\n").replace("\n", "\r\n")
    shifts = 0
    mode = "letters"  # a TTY starts in letters
    for ch in sent:
        if ch in _BOTH:
            continue
        want = "letters" if ch in _LETTERS else "figures"
        if want != mode:
            shifts += 1
            mode = want
    safe = all(ch in TTY_SAFE for ch in sent)
    return TtyTiming(len(sent), shifts, (len(sent) + shifts) / CHARS_PER_SECOND, safe)
