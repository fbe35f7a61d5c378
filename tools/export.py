"""Files handed to the person: CSV that spreadsheets open safely."""

from __future__ import annotations

import pandas as pd

from segmentation.safety.export import csv_bytes


def safe_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so Excel reads accents) whose text cells cannot run as formulas."""
    return csv_bytes(frame, bom=True)
