"""Can the predictions be trusted? Fit the value model at a past date and compare with what happened.

For an as-of date D in the past: BG/NBD is fitted on purchases up to D only, each customer's expected
purchases over the next ``horizon_days`` are predicted, and set beside the purchase days they actually
made in (D, D + horizon] (same-day purchases count once, as in the model). Per RFM segment at D, and in
total: predicted, actual, and their ratio. A ratio near 1 means the model can be trusted for this shop.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from segmentation.rfm import AnalysisError, customer_rfm, last_order_date, resolve_as_of

BACKTEST_COLUMNS = ["segment", "customers", "predicted", "actual", "ratio"]


def backtest(con: duckdb.DuckDBPyConnection, *, as_of: dt.date | str, horizon_days: int = 90) -> pd.DataFrame:
    """``BACKTEST_COLUMNS`` per segment plus an 'all' row; attrs say how many days were observed."""
    from segmentation.clv import customer_value

    day = resolve_as_of(con, as_of)
    last = last_order_date(con)
    if day >= last:
        raise AnalysisError(f"A back-test needs a date before the last order ({last}); {day} leaves nothing after it.")
    predicted = customer_value(con, as_of=day, horizon_days=horizon_days)[["customer_id", "expected_purchases"]]
    actual = con.execute(
        """
        SELECT customer_id, count(DISTINCT order_date) AS actual FROM orders
        WHERE is_purchase AND customer_id IS NOT NULL AND order_date > $start AND order_date <= $end
        GROUP BY customer_id
        """,
        {"start": day, "end": day + dt.timedelta(days=horizon_days)},
    ).df()
    frame = (
        customer_rfm(con, as_of=day)[["customer_id", "segment"]]
        .merge(predicted, on="customer_id", how="left")
        .merge(actual, on="customer_id", how="left")
        .fillna({"actual": 0, "expected_purchases": 0.0})
    )
    per_segment = frame.groupby("segment", as_index=False).agg(
        customers=("customer_id", "count"), predicted=("expected_purchases", "sum"), actual=("actual", "sum")
    )
    total = pd.DataFrame([{"segment": "all", "customers": len(frame), "predicted": frame["expected_purchases"].sum(),
                           "actual": frame["actual"].sum()}])
    table = pd.concat([per_segment.sort_values("customers", ascending=False), total], ignore_index=True)
    table["predicted"] = table["predicted"].round(1)
    table["actual"] = table["actual"].astype(int)
    table["ratio"] = (table["actual"] / table["predicted"].where(table["predicted"] > 0)).round(2)
    table.attrs.update(as_of=day.isoformat(), horizon_days=horizon_days,
                       days_observed=min((last - day).days, horizon_days))
    return table[BACKTEST_COLUMNS]
