"""Can the predictions be trusted? Fit the value model at a past date and compare with what happened.

For an as-of date D in the past: the value model (the one the shop's own back-test chose, see
``segmentation.value.modelchoice``) is fitted on purchases up to D only, each customer's expected purchases over
the next ``horizon_days`` are predicted, and set beside the purchase days they actually made in
(D, D + horizon] (same-day purchases count once, as in the model). Per RFM segment at D, and in total:
predicted, actual, and their ratio, computed from the unrounded predictions (only the shown predicted
column is rounded). A ratio near 1 means the model can be trusted for this shop.

A model of steady buying cannot foresee a seasonal peak, so the table's attrs also say whether the window
covers the shop's busiest season (``busy_season``).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from segmentation.lifecycle import STORE_PURCHASES_SQL
from segmentation.rfm import customer_rfm
from segmentation.store import resolve_as_of
from segmentation.vocabulary import AnalysisError

BACKTEST_COLUMNS = ["segment", "customers", "predicted", "actual", "ratio"]
BUSY_INDEX = 1.25  # a window earning a quarter more than the shop's average for its length is its busy season
YEAR_DAYS = 365


def busy_season(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict[str, float | bool | None]:
    """Does the window (start, end] cover the shop's busiest season? The rule:

    Take a year of the shop's data: the 365 days ending at the window's end, or, when the data does not reach
    that far back, the shop's first 365 days (the window's observed days must lie within the data). The
    window's share of that year's net purchase revenue, divided by its share of the year's days, is its
    ``season_index``: 1 for an average window, 1.6 for one earning 60% more than average. An index of at
    least ``BUSY_INDEX`` (1.25) flags ``busy_season``. With less than a year of data, or none of it in the
    window, the season cannot be judged: ``busy_season`` and the index are None.
    """
    first, last = con.execute(
        f"SELECT min(day), max(day) FROM ({STORE_PURCHASES_SQL}) AS p", {"as_of": dt.date.max}
    ).fetchall()[0]
    unknown: dict[str, float | bool | None] = {"busy_season": None, "season_index": None, "season_share": None}
    if first is None or (last - first).days + 1 < YEAR_DAYS:
        return unknown
    seen_end = min(end, last)
    if seen_end <= start:
        return unknown
    year_end = min(last, max(seen_end, first + dt.timedelta(days=YEAR_DAYS - 1)))
    year_start = year_end - dt.timedelta(days=YEAR_DAYS)  # exclusive, as the window's start
    window_start = max(start, year_start)
    year, window = con.execute(
        f"""SELECT sum(value) FILTER (WHERE day > $year_start),
                   sum(value) FILTER (WHERE day > $window_start AND day <= $seen_end)
            FROM ({STORE_PURCHASES_SQL}) AS p""",
        {"as_of": year_end, "year_start": year_start, "window_start": window_start, "seen_end": seen_end},
    ).fetchall()[0]
    if not year or year <= 0:
        return unknown
    share = float(window or 0.0) / float(year)
    index = share / ((seen_end - window_start).days / YEAR_DAYS)
    return {"busy_season": bool(index >= BUSY_INDEX), "season_index": index, "season_share": share}


def backtest(con: duckdb.DuckDBPyConnection, *, as_of: dt.date | str, horizon_days: int = 90) -> pd.DataFrame:
    """``BACKTEST_COLUMNS`` per segment plus an 'all' row; attrs say how many days were observed, which model
    predicted (``model``) and whether the window covers the busiest season (``busy_season``, ``season_index``).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    as_of : datetime.date or str
        The past date to predict from; before the last order.
    horizon_days : int, default 90
        Days after ``as_of`` to predict and count.

    Returns
    -------
    pandas.DataFrame
        ``BACKTEST_COLUMNS``: a row per RFM segment at ``as_of``, then ``all``.
    """
    from segmentation.value.clv import customer_value

    day = resolve_as_of(con, as_of)
    # The shop's last order day; a shop with no orders yet is told so in one sentence, not compared with None.
    last = resolve_as_of(con, None)
    if day >= last:
        raise AnalysisError(f"A back-test needs a date before the last order ({last}); {day} leaves nothing after it.")
    end = day + dt.timedelta(days=horizon_days)
    value = customer_value(con, as_of=day, horizon_days=horizon_days)
    predicted = value[["customer_id", "expected_purchases"]]
    actual = con.execute(
        """
        SELECT customer_id, count(DISTINCT order_date) AS actual FROM orders
        WHERE is_purchase AND customer_id IS NOT NULL AND order_date > $start AND order_date <= $end
        GROUP BY customer_id
        """,
        {"start": day, "end": end},
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
    total = pd.DataFrame(
        [
            {
                "segment": "all",
                "customers": len(frame),
                "predicted": frame["expected_purchases"].sum(),
                "actual": frame["actual"].sum(),
            }
        ]
    )
    table = pd.concat([per_segment.sort_values("customers", ascending=False), total], ignore_index=True)
    # The ratio from the unrounded prediction: rounding first turned 58.67 into 60.00 on a small segment.
    table["ratio"] = (table["actual"] / table["predicted"].where(table["predicted"] > 0)).round(2)
    table["predicted"] = table["predicted"].round(1)
    table["actual"] = table["actual"].astype(int)
    table.attrs.update(
        as_of=day.isoformat(),
        horizon_days=horizon_days,
        days_observed=min((last - day).days, horizon_days),
        model=value.attrs.get("model"),
        **busy_season(con, day, end),
    )
    return table[BACKTEST_COLUMNS]
