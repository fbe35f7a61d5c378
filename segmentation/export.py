"""Files that leave the program open safely in a spreadsheet: one rule for every CSV we write.

A cell that starts with = + - @ (after spaces, tabs or a carriage return) runs as a formula in Excel and
Sheets (CSV injection), so it is written with a leading apostrophe; a plain signed number such as -2 is
the one harmless case. The importer rejects rows by the same two patterns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the importer shares the patterns below and should not pay for importing pandas
    import pandas as pd

FORMULA_START = r"^[\t\r ]*[=+\-@]"
PLAIN_NUMBER = r"[+-]?\d+(\.\d+)?"


def defuse_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot run as formulas; column at a time, not cell at a time."""
    import pandas as pd

    safe = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            continue
        text = values.astype("string")
        risky = (text.str.contains(FORMULA_START, regex=True) & ~text.str.strip().str.fullmatch(PLAIN_NUMBER))
        risky = risky.fillna(False).astype(bool)
        if risky.any():
            safe[column] = values.where(~risky, "'" + text)
    return safe
