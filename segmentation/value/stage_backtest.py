"""Do the lifecycle stages foretell anything? A back-test of the stages against what customers did next.

For a cut date C, every customer who had bought by C gets the stage the shop's rule gives them with the
orders up to C alone (thresholds learned at C, as they would have been that day); then each stage's share
of customers who made a purchase in the ``horizon_days`` after C (C excluded, C + horizon included) is
counted. A rule worth stating has ``lapsed`` customers coming back far less often than ``active`` ones;
``lapsing`` in between. ``everyone`` is the whole base's rate: a horizon that covers the shop's busiest
season lifts every stage, so a stage is read against it (``lift``), not against an absolute number.

The default cut is ``horizon_days`` before the last order, the latest date whose whole horizon is in the data.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from segmentation.lifecycle import Thresholds, customer_lifecycle, lifecycle_thresholds
from segmentation.store import last_order_date, resolve_as_of
from segmentation.vocabulary import STAGES, AnalysisError

STAGE_BACKTEST_COLUMNS = ["stage", "customers", "bought_again", "return_rate", "lift"]
EVERYONE = "everyone"


def stage_backtest(
    con: duckdb.DuckDBPyConnection,
    *,
    cut: dt.date | str | None = None,
    horizon_days: int = 90,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """``STAGE_BACKTEST_COLUMNS``: one row per stage (``STAGES`` order, empty stages included), then ``everyone``.

    ``return_rate`` is the share of the stage's customers with a purchase in (cut, cut + horizon_days];
    ``lift`` is that rate over everyone's. ``thresholds``: the owner's, to test them; default: learned at
    ``cut``. ``frame.attrs``: ``cut``, ``horizon_days``, ``thresholds`` (a dict) and ``last_order``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    cut : datetime.date or str, optional
        The past date; default ``horizon_days`` before the last order.
    horizon_days : int, default 90
        Days after ``cut`` to count purchases in.
    thresholds : Thresholds, optional
        Marks to test; default learned at ``cut``.

    Returns
    -------
    pandas.DataFrame
        ``STAGE_BACKTEST_COLUMNS``: a row per stage, then ``everyone``.
    """
    if not isinstance(horizon_days, int) or horizon_days < 1:
        raise AnalysisError(f"The back-test horizon must be a whole number of days, at least 1, not {horizon_days}.")
    last = last_order_date(con)
    if last is None:
        raise AnalysisError("The shop has no orders yet: import an orders file or run `segments demo`.")
    day = resolve_as_of(con, cut) if cut is not None else last - dt.timedelta(days=horizon_days)
    if day + dt.timedelta(days=horizon_days) > last:
        raise AnalysisError(
            f"A back-test from {day} needs orders until {day + dt.timedelta(days=horizon_days)}, and the data ends "
            f"on {last}: choose a cut on or before {last - dt.timedelta(days=horizon_days)} or a shorter horizon."
        )
    limits = thresholds or lifecycle_thresholds(con, as_of=day)
    stages = customer_lifecycle(con, as_of=day, thresholds=limits)
    if stages.empty:
        raise AnalysisError(f"Nobody had bought by {day}, so there are no stages to test: choose a later cut.")
    came_back = con.execute(
        """
        SELECT DISTINCT customer_id FROM orders
        WHERE is_purchase AND customer_id IS NOT NULL AND order_date > $cut AND order_date <= $cut + $horizon
        """,
        {"cut": day, "horizon": horizon_days},
    ).df()["customer_id"]
    stages["bought_again"] = stages["customer_id"].isin(set(came_back))
    everyone = stages["bought_again"].mean()
    rows = []
    for stage in [*STAGES, EVERYONE]:
        mine = stages["bought_again"] if stage == EVERYONE else stages.loc[stages["lifecycle"] == stage, "bought_again"]
        rate = float(mine.mean()) if len(mine) else float("nan")
        rows.append((stage, len(mine), int(mine.sum()), rate, rate / everyone if everyone else float("nan")))
    frame = pd.DataFrame(rows, columns=STAGE_BACKTEST_COLUMNS).astype({"customers": int, "bought_again": int})
    frame.attrs.update(
        cut=day.isoformat(), horizon_days=horizon_days, thresholds=limits.as_dict(), last_order=last.isoformat()
    )
    return frame


def stage_backtest_words(frame: pd.DataFrame) -> str:
    """Two sentences for an answer: each stage's return rate after the cut, and whether the rule separates them."""
    rows = frame.set_index("stage")
    limits = Thresholds(**frame.attrs["thresholds"])
    rates = "; ".join(
        f"{stage} {rows.loc[stage, 'return_rate']:.0%} of {rows.loc[stage, 'customers']:,}"
        for stage in [*STAGES, EVERYONE]
        if rows.loc[stage, "customers"]
    )
    said = (
        f"Stages given with the orders up to {frame.attrs['cut']}, {limits.rule()}. The share of each that "
        f"bought again in the next {frame.attrs['horizon_days']} days: {rates}."
    )
    active, lapsed = rows.loc["active", "return_rate"], rows.loc["lapsed", "return_rate"]
    if pd.isna(active) or pd.isna(lapsed):
        return said + " Too few active or lapsed customers on that date to compare them."
    if lapsed * 2 <= active:
        return said + f" Lapsed customers came back at {lapsed / active:.0%} of active customers' rate."
    return said + (
        " Lapsed customers came back nearly as often as active ones: the lapsed mark is too early for "
        "this shop, or the following days were its busy season."
    )
