"""A US TTY (Baudot, ITA2 with US figures) encoder and decoder, for tests.

Letters and figures as ACCESSIBILITY.md gives them; codes are the ITA2 5-bit values with the
first transmitted bit as the least significant (as minimodem numbers them). Space, CR and LF
print in either shift. After a space the shift is sent again before the next character:
many US TTYs return to letters on a space ("unshift on space"), and re-sending is harmless
for those that do not.
"""

from __future__ import annotations

LTRS = 0x1F
FIGS = 0x1B
SPACE = 0x04
CR = 0x08
LF = 0x02

# ITA2 letter codes in the order A…Z.
_LETTER_CODES = (
    0x03, 0x19, 0x0E, 0x09, 0x01, 0x0D, 0x1A, 0x14, 0x06, 0x0B, 0x0F, 0x12, 0x1C,
    0x0C, 0x18, 0x16, 0x17, 0x0A, 0x05, 0x10, 0x07, 0x1E, 0x13, 0x1D, 0x15, 0x11,
)  # fmt: skip
# US figures in the order of the letters A…Z ("\a" is BEL, on S).
_US_FIGURES = ("-", "?", ":", "$", "3", "!", "&", "#", "8", "'", "(", ")", ".", ",",
               "9", "0", "1", "4", "\a", "5", "7", ";", "2", "/", "6", '"')  # fmt: skip

LETTERS: dict[str, int] = {chr(ord("A") + i): c for i, c in enumerate(_LETTER_CODES)}
FIGURES: dict[str, int] = dict(zip(_US_FIGURES, _LETTER_CODES, strict=True))
_SHIFTLESS: dict[str, int] = {" ": SPACE, "\r": CR, "\n": LF}
_DECODE_LETTERS = {c: ch for ch, c in LETTERS.items()}
_DECODE_FIGURES = {c: ch for ch, c in FIGURES.items()}
_DECODE_SHIFTLESS = {c: ch for ch, c in _SHIFTLESS.items()}


def encode(text: str) -> list[int]:
    """`text` as 5-bit codes, with LTRS/FIGS shifts; ValueError on a character Baudot lacks."""
    codes: list[int] = []
    shift: int | None = None  # unknown at the start and after a space
    for i, ch in enumerate(text):
        if ch in _SHIFTLESS:
            codes.append(_SHIFTLESS[ch])
            if ch == " ":
                shift = None
            continue
        if ch in LETTERS:
            want, code = LTRS, LETTERS[ch]
        elif ch in FIGURES:
            want, code = FIGS, FIGURES[ch]
        else:
            raise ValueError(f"{ch!r} at {i} has no Baudot code")
        if shift != want:
            codes.append(want)
            shift = want
        codes.append(code)
    return codes


def decode(codes: list[int]) -> str:
    """Codes back to text; starts in letters, as a TTY does after power-on."""
    out: list[str] = []
    table = _DECODE_LETTERS
    for code in codes:
        if not 0 <= code < 32:
            raise ValueError(f"{code} is not a 5-bit code")
        if code == LTRS:
            table = _DECODE_LETTERS
        elif code == FIGS:
            table = _DECODE_FIGURES
        elif code in _DECODE_SHIFTLESS:
            out.append(_DECODE_SHIFTLESS[code])
        elif code in table:
            out.append(table[code])
        else:
            raise ValueError(f"code {code:#04x} prints nothing")
    return "".join(out)
