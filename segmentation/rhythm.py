"""Purchase rhythm: how many days customers typically leave between purchases, per segment or stage.

The same measure the lifecycle thresholds are learned from (``segmentation.lifecycle``): a customer's
*usual gap* is the median number of days between their consecutive purchase days (purchases on one day
merged), so only customers with two or more purchase days have one; a group's *typical gap* is the median
of its customers' usual gaps, so a weekly regular with a hundred gaps counts once, like everybody else.
The ``all`` row over every customer is the shop's typical gap, the one its lapsing and lapsed thresholds
come from. Groups are memberships at the as-of date; purchases on or before it count.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from segmentation.lifecycle import PURCHASE_DAYS_SQL, STORE_PURCHASES_SQL, USUAL_GAP_SQL
from segmentation.sales import SCHEMES, Scheme, memberships
from segmentation.store import resolve_as_of
from segmentation.vocabulary import AnalysisError

GAP_COLUMNS = ["customer_id", "usual_gap_days"]
RHYTHM_COLUMNS = ["group", "customers", "repeat_customers", "typical_gap_days"]
ALL = "all"


def usual_gaps(con: duckdb.DuckDBPyConnection, *, as_of: dt.date | str | None = None) -> pd.DataFrame:
    """``GAP_COLUMNS``: one row per customer with a purchase on or before ``as_of``; the usual gap is
    missing (NaN) for a customer with a single purchase day."""
    day = resolve_as_of(con, as_of)
    return con.execute(
        f"""
        WITH days AS ({PURCHASE_DAYS_SQL.format(purchases=STORE_PURCHASES_SQL)})
        SELECT customer_id, ({USUAL_GAP_SQL})::DOUBLE AS usual_gap_days FROM days GROUP BY customer_id
        ORDER BY customer_id
        """,
        {"as_of": day},
    ).df()[GAP_COLUMNS]


def purchase_rhythm(
    con: duckdb.DuckDBPyConnection, *, scheme: Scheme = "rfm", as_of: dt.date | str | None = None
) -> pd.DataFrame:
    """``RHYTHM_COLUMNS``: one row per segment or stage in the scheme's order (empty ones included), then
    ``all``. ``customers``: the group's customers; ``repeat_customers``: those with a usual gap, the ones
    ``typical_gap_days`` (NaN when there are none) rests on."""
    if scheme not in SCHEMES:
        raise AnalysisError(f"'{scheme}' is not a scheme: use rfm or lifecycle.")
    day = resolve_as_of(con, as_of)
    gaps = usual_gaps(con, as_of=day).merge(memberships(con, scheme, as_of=day), on="customer_id", how="left")
    if gaps.empty:
        raise AnalysisError("No customer has bought on or before that date, so there is no rhythm to measure.")
    rows = [_row(key, gaps[gaps["group"] == key]["usual_gap_days"]) for key in SCHEMES[scheme][1]]
    frame = pd.DataFrame([*rows, _row(ALL, gaps["usual_gap_days"])], columns=RHYTHM_COLUMNS)
    frame.attrs.update(as_of=day.isoformat(), scheme=scheme)
    return frame.astype({"customers": int, "repeat_customers": int, "typical_gap_days": float})


def group_rhythm(
    con: duckdb.DuckDBPyConnection, key: str, customer_ids: list[str], *, as_of: dt.date | str | None = None
) -> pd.DataFrame:
    """``RHYTHM_COLUMNS`` for one group given by its customers (a cluster, say), then ``all``: as
    ``purchase_rhythm``'s rows, the group's customers with a purchase on or before ``as_of``."""
    day = resolve_as_of(con, as_of)
    gaps = usual_gaps(con, as_of=day)
    if gaps.empty:
        raise AnalysisError("No customer has bought on or before that date, so there is no rhythm to measure.")
    mine = gaps[gaps["customer_id"].isin(set(customer_ids))]["usual_gap_days"]
    frame = pd.DataFrame([_row(key, mine), _row(ALL, gaps["usual_gap_days"])], columns=RHYTHM_COLUMNS)
    frame.attrs.update(as_of=day.isoformat(), scheme=None)
    return frame.astype({"customers": int, "repeat_customers": int, "typical_gap_days": float})


def _row(key: str, gaps: pd.Series) -> tuple[str, int, int, float]:
    known = gaps.dropna()
    return key, len(gaps), len(known), float(known.median()) if len(known) else float("nan")
