"""One rule for text that enters or leaves the program: cells that would run as a formula, and
characters a terminal would obey.

A spreadsheet runs a cell that starts with = + - @ as a formula (CSV injection). Attackers hide that
first character behind something a person does not see and a check may skip: a Unicode space (U+00A0,
U+3000, ...), a control character (a vertical tab, a line feed made of a carriage return), a format
character (a byte-order mark, a zero-width space, a bidi mark), or they write it in its full-width or
small form (＝, ＋, ﹣, ＠), which Excel's input and several importers fold to the ASCII sign. So a cell is
*formula-like* when, after any run of ``INVISIBLE`` characters, its first character is one of
``FORMULA_SIGNS``; a plain signed number such as -2 or ＋3.5 (padded the same way) is the one harmless
case. The importer rejects such rows; every CSV writer prefixes such cells with an apostrophe.

Both checks are regular expressions built from the same two lists, written so that Python's ``re``,
pandas' Arrow strings and DuckDB (both RE2) read them alike: characters up to U+00FF as ``\\xHH``,
the rest as themselves (RE2 has no ``\\u``, Python's ``re`` no ``\\x{...}``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the importer builds SQL from this module and should not pay for importing pandas
    import pandas as pd

# Inclusive code point ranges of characters that show nothing before a cell's first visible one: every
# White_Space, control (Cc) and format (Cf) character, and Unicode's Default_Ignorable_Code_Point set
# (fillers, variation selectors, tags), as of Unicode 14. tests/test_cell_safety.py checks the list against
# the running Python's unicodedata.
INVISIBLE: tuple[tuple[int, int], ...] = (
    (0x0000, 0x0020),
    (0x007F, 0x00A0),
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x1680, 0x1680),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2000, 0x200F),
    (0x2028, 0x202F),
    (0x205F, 0x206F),
    (0x3000, 0x3000),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
# Every character whose compatibility form (NFKC) is = + - @ or the minus sign: full-width, small,
# superscript and subscript forms included.
PLUS_MINUS: tuple[int, ...] = (
    0x2B,
    0x2D,
    0x207A,
    0x207B,
    0x208A,
    0x208B,
    0x2212,
    0xFB29,
    0xFE62,
    0xFE63,
    0xFF0B,
    0xFF0D,
)
EQUALS_AT: tuple[int, ...] = (0x3D, 0x40, 0x207C, 0x208C, 0xFE66, 0xFE6B, 0xFF1D, 0xFF20)
FORMULA_SIGNS: tuple[int, ...] = PLUS_MINUS + EQUALS_AT

# Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts title,
# clear-screen and clipboard sequences; a carriage return overwrites the line), DEL, C1 controls (0x9B is
# a one-byte CSI), and the bidi embeddings, overrides and isolates that reorder what follows them.
TERMINAL_UNSAFE: tuple[tuple[int, int], ...] = (
    (0x00, 0x08),
    (0x0B, 0x1F),
    (0x7F, 0x9F),
    (0x202A, 0x202E),
    (0x2066, 0x2069),
)


def _char(cp: int) -> str:
    return f"\\x{cp:02x}" if cp <= 0xFF else chr(cp)


def char_class(ranges: tuple[tuple[int, int], ...] | tuple[int, ...]) -> str:
    """A regular-expression class of these code points (ranges or single ones), for re and RE2 alike."""
    parts = []
    for item in ranges:
        lo, hi = item if isinstance(item, tuple) else (item, item)
        parts.append(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}")
    return "[" + "".join(parts) + "]"


_PAD = char_class(INVISIBLE) + "*"
# A search from the cell's start: true for a cell whose first visible character is a formula sign.
FORMULA_START = "^" + _PAD + char_class(FORMULA_SIGNS)
# A full match: a signed or unsigned plain number, padded with invisible characters.
PLAIN_NUMBER = _PAD + char_class(PLUS_MINUS) + "?[0-9]+(\\.[0-9]+)?" + _PAD

_formula_start = re.compile(FORMULA_START)
_plain_number = re.compile(PLAIN_NUMBER)
_terminal_unsafe = re.compile(char_class(TERMINAL_UNSAFE))


def is_formula(cell: object) -> bool:
    """True for text a spreadsheet could run as a formula (see the module's docstring)."""
    return isinstance(cell, str) and _formula_start.search(cell) is not None and _plain_number.fullmatch(cell) is None


def defuse(cell: object) -> object:
    """The cell as a spreadsheet shows it but never runs it: a formula-like text gets a leading apostrophe."""
    return "'" + cell if is_formula(cell) else cell  # type: ignore[operator]


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot run as formulas; column at a time (one vectorised regular
    expression per text column), not cell at a time, since exports run to a million customers."""
    import pandas as pd

    safe = frame.copy(deep=False)
    for column in frame.columns:
        values = frame[column]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        text = values.astype("string")
        risky = text.str.contains(FORMULA_START, regex=True) & ~text.str.fullmatch(PLAIN_NUMBER)
        risky = risky.fillna(False).astype(bool)
        if risky.any():
            safe[column] = values.where(~risky, "'" + text)
    return safe


def formula_sql(x: str) -> str:
    """DuckDB's boolean for ``is_formula`` of the text expression ``x`` (NULL counts as false).

    Nearly every cell starts with a letter or a digit, so a cheap test of its first character passes over
    it before any regular expression runs: every formula sign and invisible character in ASCII sorts below
    '0' or between '=' and 'A'; past ASCII, a binary search over coarse ranges around the lists'
    characters (``_WIDE``, ``_first_in``) keeps a shop whose names are all Cyrillic, Greek or CJK from paying
    for the expressions on every cell. The expressions decide; this test only never misses."""
    return (
        f"CASE WHEN {may_start_formula_sql(x)} THEN (regexp_matches({x}, {_sql_str(FORMULA_START)}) "
        f"AND NOT regexp_full_match({x}, {_sql_str(PLAIN_NUMBER)})) ELSE false END"
    )


def may_start_formula_sql(x: str) -> str:
    """``formula_sql``'s cheap first test: true for every formula-like cell, false for nearly all others."""
    return f"({x} < '0' OR ({x} >= '=' AND {x} < 'A') OR ({x} >= chr(127) AND {_first_in(x, _WIDE)}))"


def _merged(ranges: list[tuple[int, int]], gap: int) -> tuple[tuple[int, int], ...]:
    """The ranges, sorted, with those less than ``gap`` code points apart made one."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + gap:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return tuple(out)


# Where, past ASCII, a formula may hide or start: the lists' characters, in 14 coarse ranges (those less than
# 512 code points apart joined). A finer search costs every cell more than the few letters it would spare
# the regular expression (at 1M lines, ten text columns: 0.21 s with these, 0.27 s with the 39 exact ones);
# a coarser one sends whole scripts to it (Cyrillic, at 4,096: 1.15 s instead of 0.33 s).
_WIDE = _merged(
    [(max(lo, 0x7F), hi) for lo, hi in [*INVISIBLE, *((c, c) for c in FORMULA_SIGNS)] if hi >= 0x7F], gap=0x200
)


def _first_in(x: str, ranges: tuple[tuple[int, int], ...]) -> str:
    """SQL: the first character of ``x`` lies in one of these sorted, disjoint ranges. A string sorts below
    chr(n) exactly when its first character does, so each comparison reads a first character only; CASE
    sends each row down one branch, so a row takes about log2(len(ranges)) comparisons."""
    if len(ranges) == 1:
        lo, hi = ranges[0]
        return f"({x} >= chr({lo}) AND {x} < chr({hi + 1}))"
    mid = len(ranges) // 2
    return (
        f"(CASE WHEN {x} < chr({ranges[mid][0]}) THEN {_first_in(x, ranges[:mid])} "
        f"ELSE {_first_in(x, ranges[mid:])} END)"
    )


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on (``TERMINAL_UNSAFE``) shown as '?', as ``ls``
    does for names it prints to a terminal; tab and newline stay."""
    return _terminal_unsafe.sub("?", text)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
