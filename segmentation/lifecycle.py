"""Lifecycle stages on the shop's own clock: new, active, lapsing, lapsed.

A café's regulars lapse in weeks, a furniture shop's in a year, so the thresholds come from the shop's
repeat customers rather than a platform's fixed window (Mailchimp's 8 months, Klaviyo's 180/365 days):

- each repeat customer's *usual gap* is the median number of days between their consecutive purchase
  days (same-day purchases merged) over the last ``GAP_WINDOW_DAYS`` (365) before the as-of date: both
  purchase days inside that year. The shop's *typical gap* is the median of those, so a weekly regular
  with a hundred gaps counts once, like everybody else. Why a fixed year, not every gap ever: a gap can
  only be seen once the data is longer than it, so a median over all gaps grows with the length of the
  data (CDNOW's 1997 cohort: lapsed after 129 days at its calibration date, 195 nine months later, with
  customers who had not changed). Within a fixed window it stops growing once the shop has a year of
  orders (CDNOW: 158, 147, 152 days at 3-month steps after that). A year holds every season once, so a
  seasonal shop's quiet months count; and gaps up to 365 days still reach the top of the lapsed bounds
  (3 x 243 days > 730), so a shop whose customers buy yearly is still measured. A repeat customer whose
  last two purchase days are more than a year apart has no usual gap and is not among the repeat
  customers the thresholds rest on;
- ``lapsing_after_days = 1.5 x typical gap`` (the next visit is overdue),
  ``lapsed_after_days = 3 x typical gap`` (three visits missed), clamped to sane bounds
  (7..365 and 14..730 days, lapsed at least a week after lapsing);
- with fewer than ``MIN_REPEAT_CUSTOMERS`` repeat customers the rhythm cannot be learned: the defaults
  (60 and 120 days) are used and a warning says so. An owner's own numbers always win.

Stages at an as-of date D, for customers with at least one purchase on or before D:
``lapsed`` when recency_days > lapsed_after_days; ``lapsing`` when lapsing_after_days < recency_days <=
lapsed_after_days; otherwise ``new`` with exactly one purchase and ``active`` with two or more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from segmentation.store import resolve_as_of
from segmentation.vocabulary import AnalysisError

LIFECYCLE_COLUMNS = ["customer_id", "recency_days", "frequency", "lifecycle"]
LAPSING_MULTIPLE, LAPSED_MULTIPLE = 1.5, 3.0
LAPSING_BOUNDS, LAPSED_BOUNDS = (7, 365), (14, 730)
DEFAULT_LAPSING_DAYS, DEFAULT_LAPSED_DAYS = 60, 120
MIN_REPEAT_CUSTOMERS = 10
GAP_WINDOW_DAYS = 365  # the usual gap's window before the as-of date (why: the module docstring)


@dataclass(frozen=True)
class Thresholds:
    """When a customer counts as lapsing and lapsed, and why; ``basis`` is said in every answer."""

    lapsing_after_days: int
    lapsed_after_days: int
    typical_gap_days: float | None
    repeat_customers: int
    basis: str
    warning: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def rule(self) -> str:
        """One sentence for an answer: 'lapsed = no order in 94 days, from ... typical 31-day gap'."""
        return (
            f"lapsing = no order in {self.lapsing_after_days} days, lapsed = no order in "
            f"{self.lapsed_after_days} days ({self.basis})"
        )


def _clamp(value: float, bounds: tuple[int, int]) -> int:
    return int(min(max(round(value), bounds[0]), bounds[1]))


# Each customer's purchase days (purchases on one day merged) with the day's value and ``gap``, the days since
# their previous purchase day (NULL on the first). ``{purchases}`` yields (customer_id, day, value). The value
# models' summary (clv.py) reads the same pass, so the customer table gets its thresholds from that one scan.
# The day's value is summed exactly, as decimals (amounts are rounded to 6 places: store.rebuild_orders): a sum
# of doubles depends on the order DuckDB meets the rows in, which differs between a file and an in-memory store
# of the same orders (``segmentation.frames``), and moved the value models' fits in their 15th digit.
PURCHASE_DAYS_SQL = """
    SELECT customer_id, day, sum(value::DECIMAL(38, 6))::DOUBLE AS value,
           date_diff('day', lag(day) OVER (PARTITION BY customer_id ORDER BY day), day) AS gap
    FROM ({purchases}) AS purchases
    GROUP BY customer_id, day
"""
STORE_PURCHASES_SQL = (
    "SELECT customer_id, order_date AS day, net_amount AS value FROM orders "
    "WHERE customer_id IS NOT NULL AND is_purchase AND order_date <= $as_of"
)
# A customer's usual gap, over the rows of PURCHASE_DAYS_SQL grouped by customer (``$as_of`` bound): the median of
# the gaps with both purchase days in the last GAP_WINDOW_DAYS; NULL for a one-time buyer and for a customer with
# no two purchase days inside that year. Every caller (clv, rhythm, profile) reads the usual gap through this.
USUAL_GAP_SQL = f"median(gap) FILTER (WHERE date_diff('day', day, $as_of) + gap <= {GAP_WINDOW_DAYS})"
# How many gaps that median rests on (the next order's date trusts a customer's own rhythm from two: nextorder.py).
USUAL_GAP_COUNT_SQL = f"count(gap) FILTER (WHERE date_diff('day', day, $as_of) + gap <= {GAP_WINDOW_DAYS})"


def typical_gap(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> tuple[float | None, int]:
    """(median of repeat customers' median gaps in days, number of repeat customers) at ``as_of``."""
    usual = con.execute(
        f"""
        WITH days AS ({PURCHASE_DAYS_SQL.format(purchases=STORE_PURCHASES_SQL)})
        SELECT {USUAL_GAP_SQL} AS usual_gap FROM days GROUP BY customer_id
        """,
        {"as_of": as_of},
    ).fetchnumpy()["usual_gap"]
    return typical_gap_of(usual)


def typical_gap_of(usual_gaps: pd.Series | np.ndarray) -> tuple[float | None, int]:
    """``typical_gap`` from each customer's usual gap (missing for one-time buyers), already read."""
    known = pd.Series(usual_gaps, dtype=float).dropna()
    return (float(known.median()) if len(known) else None), len(known)


def lifecycle_thresholds(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    lapsing_after_days: int | None = None,
    lapsed_after_days: int | None = None,
    usual_gaps: pd.Series | np.ndarray | None = None,
) -> Thresholds:
    """The shop's thresholds at ``as_of``, learned from its repeat customers unless the owner sets them.

    ``usual_gaps``: every purchasing customer's usual gap at ``as_of`` when the caller has read them already
    (``clv.rfm_summary(..., with_gaps=True)``), which saves a pass over the orders.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    lapsing_after_days, lapsed_after_days : int, optional
        The owner's own marks, in place of the learned ones.
    usual_gaps : array-like, optional
        Each customer's usual gap, if already read.

    Returns
    -------
    Thresholds
        The marks, the typical gap they come from, and a warning where they are standard windows.
    """
    day = resolve_as_of(con, as_of)
    gap, repeaters = typical_gap(con, day) if usual_gaps is None else typical_gap_of(usual_gaps)
    if lapsing_after_days is not None and lapsed_after_days is not None:
        _check_owner_values(lapsing_after_days, lapsed_after_days)
        return Thresholds(int(lapsing_after_days), int(lapsed_after_days), gap, repeaters, "set by you")
    warning = None
    if gap is None or repeaters < MIN_REPEAT_CUSTOMERS:
        lapsing, lapsed = DEFAULT_LAPSING_DAYS, DEFAULT_LAPSED_DAYS
        basis = f"standard windows: only {repeaters} repeat customers in the last year, too few to learn your rhythm"
        warning = (
            f"Only {repeaters} customers have bought more than once in the last year, so lapsing and lapsed use "
            f"standard windows of {lapsing} and {lapsed} days; they will follow your shop's rhythm as repeat buyers "
            "grow."
        )
    else:
        lapsing = _clamp(LAPSING_MULTIPLE * gap, LAPSING_BOUNDS)
        lapsed = max(_clamp(LAPSED_MULTIPLE * gap, LAPSED_BOUNDS), lapsing + 7)
        shown = f"{gap:.0f}" if gap >= 10 else f"{gap:.1f}".rstrip("0").rstrip(".")
        basis = f"from your {repeaters:,} repeat customers' typical {shown}-day gap between orders in the last year"
    if lapsing_after_days is not None or lapsed_after_days is not None:
        lapsing = int(lapsing_after_days if lapsing_after_days is not None else lapsing)
        lapsed = int(lapsed_after_days if lapsed_after_days is not None else lapsed)
        _check_owner_values(lapsing, lapsed)
        basis = "partly set by you, " + basis
    return Thresholds(lapsing, lapsed, gap, repeaters, basis, warning)


def _check_owner_values(lapsing: int, lapsed: int) -> None:
    if not 1 <= lapsing < lapsed:
        raise AnalysisError(f"Lapsing ({lapsing} days) must be at least 1 day and shorter than lapsed ({lapsed} days).")


def customer_lifecycle(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """One row per customer with a purchase on or before ``as_of``: ``LIFECYCLE_COLUMNS``.

    The thresholds used are in ``frame.attrs['thresholds']`` (a dict) so every answer can state them.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    thresholds : Thresholds, optional
        Lapsing and lapsed marks; default learned (``lifecycle_thresholds``).

    Returns
    -------
    pandas.DataFrame
        ``LIFECYCLE_COLUMNS``, a row per customer; ``attrs['thresholds']`` says which marks.
    """
    day = resolve_as_of(con, as_of)
    limits = thresholds or lifecycle_thresholds(con, as_of=day)
    frame = con.execute(
        """
        SELECT customer_id, date_diff('day', max(order_date), $as_of)::INTEGER AS recency_days,
               count(*)::INTEGER AS frequency
        FROM orders
        WHERE is_purchase AND customer_id IS NOT NULL AND order_date <= $as_of
        GROUP BY customer_id
        ORDER BY customer_id
        """,
        {"as_of": day},
    ).df()
    frame["lifecycle"] = lifecycle_stages(frame["recency_days"], frame["frequency"], limits)
    frame.attrs["as_of"] = day.isoformat()
    frame.attrs["thresholds"] = limits.as_dict()
    return frame[LIFECYCLE_COLUMNS]


def lifecycle_stages(recency_days: pd.Series, frequency: pd.Series, limits: Thresholds) -> pd.Series:
    """Each customer's stage from their recency and number of purchases (the rule in the module docstring).

    A function of two columns, so the customer table takes the stages from its RFM columns (the same
    recency and frequency) instead of reading the orders again.

    Parameters
    ----------
    recency_days, frequency : pandas.Series
        Each customer's days since the last purchase and purchases.
    limits : Thresholds
        The lapsing and lapsed marks.

    Returns
    -------
    pandas.Series
        ``new``, ``active``, ``lapsing`` or ``lapsed`` per customer.
    """
    recency, purchases = np.asarray(recency_days), np.asarray(frequency)
    stage = np.select(
        [recency > limits.lapsed_after_days, recency > limits.lapsing_after_days, purchases == 1], [0, 1, 2], 3
    )
    # Picked by position as Arrow text, which is what pandas keeps text in: 800,000 Python strings take 10x longer.
    names = pa.array(["lapsed", "lapsing", "new", "active"])
    return pd.Series(names.take(stage), index=recency_days.index, dtype="str")
