"""Files handed to the person: CSV that spreadsheets open safely."""

from __future__ import annotations

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value: object) -> object:
    # A cell starting with = + - @ runs as a formula in Excel and Sheets (CSV injection): quote it.
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel reads accents) whose text cells cannot run as formulas."""
    text_columns = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    safe = frame.copy()
    for column in text_columns:
        safe[column] = safe[column].map(_defuse)
    return safe.to_csv(index=False).encode("utf-8-sig")
