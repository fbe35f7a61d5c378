"""Lifecycle stages on the shop's own clock: new, active, lapsing, lapsed.

A café's regulars lapse in weeks, a furniture shop's in a year, so the thresholds come from the shop's
repeat customers rather than a platform's fixed window (Mailchimp's 8 months, Klaviyo's 180/365 days):

- each repeat customer's *usual gap* is the median number of days between their consecutive purchase
  days (same-day purchases merged); the shop's *typical gap* is the median of those, so a weekly
  regular with a hundred gaps counts once, like everybody else;
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
import pandas as pd

from segmentation.rfm import AnalysisError, resolve_as_of

STAGES: tuple[str, ...] = ("new", "active", "lapsing", "lapsed")
LIFECYCLE_COLUMNS = ["customer_id", "recency_days", "frequency", "lifecycle"]
LAPSING_MULTIPLE, LAPSED_MULTIPLE = 1.5, 3.0
LAPSING_BOUNDS, LAPSED_BOUNDS = (7, 365), (14, 730)
DEFAULT_LAPSING_DAYS, DEFAULT_LAPSED_DAYS = 60, 120
MIN_REPEAT_CUSTOMERS = 10


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


def typical_gap(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> tuple[float | None, int]:
    """(median of repeat customers' median gaps in days, number of repeat customers) at ``as_of``."""
    row = con.execute(
        """
        WITH days AS (
            SELECT DISTINCT customer_id, order_date FROM orders
            WHERE is_purchase AND customer_id IS NOT NULL AND order_date <= $as_of
        ),
        gaps AS (
            SELECT customer_id,
                   date_diff('day', lag(order_date) OVER (PARTITION BY customer_id ORDER BY order_date),
                             order_date) AS gap
            FROM days
        ),
        usual AS (SELECT customer_id, median(gap) AS usual_gap FROM gaps WHERE gap IS NOT NULL GROUP BY 1)
        SELECT median(usual_gap), count(*) FROM usual
        """,
        {"as_of": as_of},
    ).fetchall()[0]
    return (float(row[0]) if row[0] is not None else None), int(row[1])


def lifecycle_thresholds(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    lapsing_after_days: int | None = None,
    lapsed_after_days: int | None = None,
) -> Thresholds:
    """The shop's thresholds at ``as_of``, learned from its repeat customers unless the owner sets them."""
    day = resolve_as_of(con, as_of)
    gap, repeaters = typical_gap(con, day)
    if lapsing_after_days is not None and lapsed_after_days is not None:
        _check_owner_values(lapsing_after_days, lapsed_after_days)
        return Thresholds(int(lapsing_after_days), int(lapsed_after_days), gap, repeaters, "set by you")
    warning = None
    if gap is None or repeaters < MIN_REPEAT_CUSTOMERS:
        lapsing, lapsed = DEFAULT_LAPSING_DAYS, DEFAULT_LAPSED_DAYS
        basis = f"standard windows: only {repeaters} repeat customers so far, too few to learn your rhythm"
        warning = (
            f"Only {repeaters} customers have bought more than once, so lapsing and lapsed use standard "
            f"windows of {lapsing} and {lapsed} days; they will follow your shop's rhythm as repeat buyers grow."
        )
    else:
        lapsing = _clamp(LAPSING_MULTIPLE * gap, LAPSING_BOUNDS)
        lapsed = max(_clamp(LAPSED_MULTIPLE * gap, LAPSED_BOUNDS), lapsing + 7)
        shown = f"{gap:.0f}" if gap >= 10 else f"{gap:.1f}".rstrip("0").rstrip(".")
        basis = f"from your {repeaters:,} repeat customers' typical {shown}-day gap between orders"
    if lapsing_after_days is not None or lapsed_after_days is not None:
        lapsing = int(lapsing_after_days if lapsing_after_days is not None else lapsing)
        lapsed = int(lapsed_after_days if lapsed_after_days is not None else lapsed)
        _check_owner_values(lapsing, lapsed)
        basis = "partly set by you, " + basis
    return Thresholds(lapsing, lapsed, gap, repeaters, basis, warning)


def _check_owner_values(lapsing: int, lapsed: int) -> None:
    if not 1 <= lapsing < lapsed:
        raise AnalysisError(
            f"Lapsing ({lapsing} days) must be at least 1 day and shorter than lapsed ({lapsed} days)."
        )


def customer_lifecycle(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """One row per customer with a purchase on or before ``as_of``: ``LIFECYCLE_COLUMNS``.

    The thresholds used are in ``frame.attrs['thresholds']`` (a dict) so every answer can state them.
    """
    day = resolve_as_of(con, as_of)
    limits = thresholds or lifecycle_thresholds(con, as_of=day)
    frame = con.execute(
        """
        WITH per_customer AS (
            SELECT customer_id, count(*) AS frequency,
                   date_diff('day', max(order_date), $as_of) AS recency_days
            FROM orders
            WHERE is_purchase AND customer_id IS NOT NULL AND order_date <= $as_of
            GROUP BY customer_id
        )
        SELECT customer_id, recency_days::INTEGER AS recency_days, frequency::INTEGER AS frequency,
               CASE WHEN recency_days > $lapsed THEN 'lapsed'
                    WHEN recency_days > $lapsing THEN 'lapsing'
                    WHEN frequency = 1 THEN 'new'
                    ELSE 'active' END AS lifecycle
        FROM per_customer
        ORDER BY customer_id
        """,
        {"as_of": day, "lapsed": limits.lapsed_after_days, "lapsing": limits.lapsing_after_days},
    ).df()
    frame.attrs["as_of"] = day.isoformat()
    frame.attrs["thresholds"] = limits.as_dict()
    return frame[LIFECYCLE_COLUMNS]
