"""Files that leave the program open safely in a spreadsheet: one writer for every CSV we write.

A cell that a spreadsheet would run as a formula (``cellsafety``: = + - @ first, after any invisible
characters, in any width) is written with a leading apostrophe; a plain signed number such as -2 is the
one harmless case. The importer rejects rows by the same rule, but a store written before that rule, or
a value made by the program, must come out inert too: so every CSV is defused on its way out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from segmentation.safety.cellsafety import FORMULA_START, PLAIN_NUMBER, defuse_formulas

if TYPE_CHECKING:  # the importer shares the rule and should not pay for importing pandas
    import pandas as pd

__all__ = [
    "EXPORT_DECIMALS",
    "FORMULA_START",
    "PLAIN_NUMBER",
    "csv_bytes",
    "defuse_formulas",
    "for_export",
    "write_csv",
]

# Decimals an exported number can support. The value models fit on sums that DuckDB adds in parallel, in
# whatever order its threads finish, so the 15th digit of a CLV changes between runs on the same data: an
# owner comparing two exports of an unchanged shop must see no change. Money is exact to the cent; a
# probability beyond 4 decimals, or expected purchases beyond 3, is noise of the fit, not information.
EXPORT_DECIMALS: dict[str, int] = {
    "monetary": 2,
    "revenue": 2,
    "clv": 2,
    "expected_order_value": 2,
    "predicted_value": 2,
    "value_at_stake": 2,
    "avg_order_value": 2,
    "p_alive": 4,
    "expected_purchases": 3,
}


def for_export(frame: pd.DataFrame, *, defuse: bool = True) -> pd.DataFrame:
    """A copy with the columns of ``EXPORT_DECIMALS`` rounded to what they support, and (``defuse``) text
    cells that could run as spreadsheet formulas defused: what every file and printed table shows. JSON,
    read by programs rather than spreadsheets, keeps its text as it is (``defuse=False``)."""
    rounded = {
        c: frame[c].round(d) for c, d in EXPORT_DECIMALS.items() if c in frame.columns and frame[c].dtype.kind == "f"
    }
    frame = frame.assign(**rounded) if rounded else frame
    return defuse_formulas(frame) if defuse else frame


def csv_bytes(frame: pd.DataFrame, *, bom: bool = True) -> bytes:
    """The frame as UTF-8 CSV (``for_export``: rounded, formulas defused); with a BOM, Excel reads accents."""
    return for_export(frame).to_csv(index=False).encode("utf-8-sig" if bom else "utf-8")


def write_csv(frame: pd.DataFrame, path: Path, *, bom: bool = False) -> None:
    """``csv_bytes(frame)`` written to ``path``."""
    path.write_bytes(csv_bytes(frame, bom=bom))
