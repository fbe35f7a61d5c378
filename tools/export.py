"""Files handed to the person: CSV that spreadsheets open safely."""

from __future__ import annotations

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel reads accents) whose text cells cannot run as formulas."""
    safe = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_string_dtype(values) or values.dtype == object:
            # Column at a time, not cell at a time: a list of 50,000 customers is one call per column.
            risky = values.astype("string").str.startswith(_FORMULA_START).fillna(False).astype(bool)
            if risky.any():
                safe[column] = values.where(~risky, "'" + values.astype("string"))
    return safe.to_csv(index=False).encode("utf-8-sig")
