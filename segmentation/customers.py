"""The one customer table: RFM, lifecycle stage and predicted value, side by side.

Each part stays in its own module; this one lines them up at one as-of date. A shop too small for the
value models still gets RFM and lifecycle, with the models' columns empty and the reason in
``attrs['warnings']``: never a blank screen for a small shop.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from segmentation.lifecycle import STAGES, Thresholds, customer_lifecycle, lifecycle_thresholds
from segmentation.rfm import RFM_COLUMNS, SEGMENT_KEYS, AnalysisError, customer_rfm, resolve_as_of

VALUE_COLUMNS = ["p_alive", "expected_purchases", "clv"]
CUSTOMER_COLUMNS = [*RFM_COLUMNS, "lifecycle", *VALUE_COLUMNS]


def customer_table(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    horizon_days: int = 90,
    group: str | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """One row per customer with a purchase: ``CUSTOMER_COLUMNS``; ``group`` keeps one segment or stage."""
    from segmentation.clv import ModelError, customer_value  # scipy only when the table is asked for

    if group is not None and group not in SEGMENT_KEYS and group not in STAGES:
        raise AnalysisError(f"'{group}' is not a segment: use one of {', '.join(SEGMENT_KEYS + STAGES)}.")
    if not 1 <= horizon_days <= 3650:
        raise AnalysisError("The horizon must be between 1 and 3650 days.")
    day = resolve_as_of(con, as_of)
    limits = thresholds or lifecycle_thresholds(con, as_of=day)
    frame = customer_rfm(con, as_of=day).merge(
        customer_lifecycle(con, as_of=day, thresholds=limits)[["customer_id", "lifecycle"]], on="customer_id"
    )
    warnings = [limits.warning] if limits.warning else []
    try:
        value = customer_value(con, as_of=day, horizon_days=horizon_days)[["customer_id", *VALUE_COLUMNS]]
        frame = frame.merge(value, on="customer_id", how="left")
    except ModelError as exc:
        warnings.append(str(exc))
        for column in VALUE_COLUMNS:
            frame[column] = np.nan
    if group is not None:
        frame = frame[(frame["segment"] == group) | (frame["lifecycle"] == group)]
    frame = frame[CUSTOMER_COLUMNS].reset_index(drop=True)
    frame.attrs.update(
        as_of=day.isoformat(), horizon_days=horizon_days, thresholds=limits.as_dict(), warnings=warnings
    )
    return frame
