"""Files that leave the program open safely in a spreadsheet: one writer for every CSV we write.

A cell that a spreadsheet would run as a formula (``cellsafety``: = + - @ first, after any invisible
characters, in any width) is written with a leading apostrophe; a plain signed number such as -2 is the
one harmless case. The importer rejects rows by the same rule, but a store written before that rule, or
a value made by the program, must come out inert too: so every CSV is defused on its way out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from segmentation.cellsafety import FORMULA_START, PLAIN_NUMBER, defuse_formulas

if TYPE_CHECKING:  # the importer shares the rule and should not pay for importing pandas
    import pandas as pd

__all__ = ["FORMULA_START", "PLAIN_NUMBER", "csv_bytes", "defuse_formulas", "write_csv"]


def csv_bytes(frame: pd.DataFrame, *, bom: bool = True) -> bytes:
    """The frame as UTF-8 CSV whose text cells cannot run as formulas; with a BOM, Excel reads accents."""
    return defuse_formulas(frame).to_csv(index=False).encode("utf-8-sig" if bom else "utf-8")


def write_csv(frame: pd.DataFrame, path: Path, *, bom: bool = False) -> None:
    """``csv_bytes(frame)`` written to ``path``."""
    path.write_bytes(csv_bytes(frame, bom=bom))
