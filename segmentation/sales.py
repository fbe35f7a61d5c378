"""Sales over a period: revenue, purchases, customers and average order value, by month and by group.

Definitions (DESIGN.md): a purchase is an order whose net revenue is > 0; revenue is the net revenue of
purchases; the average order value is revenue / purchases. Periods are inclusive at both ends. Guests
(orders without a customer) are no customer's, so they are kept apart and counted: ``guest_orders`` and
``guest_revenue``, never mixed into the customers' numbers (as in every customer analysis here).

A group (an RFM segment or lifecycle stage) is its membership at the period's end date: "what did my
lapsed customers spend this year" means the customers lapsed now, and what they spent over the year. A
cluster (``cluster_1``...) is one of the clustering into ``k`` groups as of the last order, the one the
owner saw ("split my customers into 7 groups"): its key names nothing at another date.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Literal

import duckdb
import pandas as pd

from segmentation.lifecycle import customer_lifecycle
from segmentation.profile import find_group, group_kind
from segmentation.rfm import customer_rfm
from segmentation.store import resolve_as_of
from segmentation.vocabulary import SEGMENT_KEYS, STAGES, AnalysisError

Scheme = Literal["rfm", "lifecycle"]
SCHEMES: dict[str, tuple[str, tuple[str, ...]]] = {"rfm": ("segment", SEGMENT_KEYS), "lifecycle": ("lifecycle", STAGES)}
TOTAL_COLUMNS = ["period", "start", "end", "revenue", "orders", "customers", "avg_order_value", "guest_orders",
                 "guest_revenue"]  # fmt: skip
MONTHLY_COLUMNS = ["month", "revenue", "orders", "customers"]
ORDER_VALUE_COLUMNS = ["group", "customers", "orders", "revenue", "avg_order_value"]
DEFAULT_MONTHS = 12


def scheme_of(group: str) -> Scheme:
    """'rfm' for an RFM segment, 'lifecycle' for a stage; AnalysisError names the valid keys."""
    return "rfm" if group_kind(group) == "segment" else "lifecycle"


def memberships(con: duckdb.DuckDBPyConnection, scheme: Scheme, *, as_of: dt.date | str | None = None) -> pd.DataFrame:
    """``customer_id, group``: every customer with a purchase on or before ``as_of``, in their segment or stage."""
    if scheme not in SCHEMES:
        raise AnalysisError(f"'{scheme}' is not a scheme: use rfm or lifecycle.")
    column = SCHEMES[scheme][0]
    frame = customer_rfm(con, as_of=as_of) if scheme == "rfm" else customer_lifecycle(con, as_of=as_of)
    return frame[["customer_id", column]].rename(columns={column: "group"})


def resolve_period(
    con: duckdb.DuckDBPyConnection,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    default_months: int | None = DEFAULT_MONTHS,
) -> tuple[dt.date, dt.date]:
    """(start, end), both inclusive. ``end`` defaults to the last order's day; ``start`` to ``default_months``
    before it (the day after: 12 months to 2026-11-20 start on 2025-11-21), or with None to the first order."""
    last = resolve_as_of(con, end)
    if start is not None:
        first = resolve_as_of(con, start)
    elif default_months:
        first = (pd.Timestamp(last) - pd.DateOffset(months=default_months) + pd.Timedelta(days=1)).date()
    else:
        first = con.execute("SELECT min(order_date) FROM orders").fetchall()[0][0] or last
    if first > last:
        raise AnalysisError(f"The start ({first}) is after the end ({last}): give a start on or before the end.")
    return first, last


def sales_totals(
    con: duckdb.DuckDBPyConnection,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    group: str | None = None,
    k: int | None = None,
) -> pd.DataFrame:
    """``TOTAL_COLUMNS``: a ``current`` row for the period and, when the data covers the whole period of
    the same length just before it, a ``previous`` row for it (same group members). ``avg_order_value`` is
    NaN without a purchase. ``k``: for a cluster, the clustering's number of groups (None: automatic).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    start, end : datetime.date or str, optional
        The period, both days included; default the whole data.
    group : str, optional
        A segment, stage or ``cluster_N`` to keep; default every customer.
    k : int, optional
        For a cluster, the clustering's number of groups; default the automatic choice.

    Returns
    -------
    pandas.DataFrame
        ``TOTAL_COLUMNS``: the period, and the one before where the data covers it.
    """
    first, last = resolve_period(con, start=start, end=end)
    length = dt.timedelta(days=(last - first).days + 1)
    periods = [("current", first, last)]
    earliest = con.execute("SELECT min(order_date) FROM orders").fetchall()[0][0]
    if earliest is not None and earliest <= first - length:
        periods.append(("previous", first - length, first - dt.timedelta(days=1)))
    with _members(con, group, last, k) as where:
        rows = [
            (name, a, b, *con.execute(
                f"""
                SELECT coalesce(round(sum(net_amount) FILTER (customer_id IS NOT NULL), 2), 0),
                       count(*) FILTER (customer_id IS NOT NULL), count(DISTINCT customer_id),
                       count(*) FILTER (customer_id IS NULL),
                       coalesce(round(sum(net_amount) FILTER (customer_id IS NULL), 2), 0)
                FROM orders WHERE is_purchase AND order_date BETWEEN $start AND $end {where}
                """,
                {"start": a, "end": b},
            ).fetchall()[0])
            for name, a, b in periods
        ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["period", "start", "end", "revenue", "orders", "customers", "guest_orders",
                                        "guest_revenue"])  # fmt: skip
    frame = frame.astype({"revenue": float, "guest_revenue": float})
    frame["avg_order_value"] = (frame["revenue"] / frame["orders"].where(frame["orders"] > 0)).round(2)
    return frame[TOTAL_COLUMNS]


def monthly_sales(
    con: duckdb.DuckDBPyConnection,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    group: str | None = None,
    k: int | None = None,
) -> pd.DataFrame:
    """``MONTHLY_COLUMNS``, one row per calendar month the period touches (``month`` as 'YYYY-MM'), months
    without a purchase included as zeros; the first and last may be partial. Customers' purchases only.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    start, end : datetime.date or str, optional
        The period, both days included; default the whole data.
    group : str, optional
        A segment, stage or ``cluster_N`` to keep; default every customer.
    k : int, optional
        For a cluster, the clustering's number of groups; default the automatic choice.

    Returns
    -------
    pandas.DataFrame
        ``MONTHLY_COLUMNS``, a row per calendar month of the period.
    """
    first, last = resolve_period(con, start=start, end=end)
    with _members(con, group, last, k) as where:
        frame = con.execute(
            f"""
            SELECT strftime(order_date, '%Y-%m') AS month, round(sum(net_amount), 2) AS revenue,
                   count(*) AS orders, count(DISTINCT customer_id) AS customers
            FROM orders
            WHERE is_purchase AND customer_id IS NOT NULL AND order_date BETWEEN $start AND $end {where}
            GROUP BY 1
            """,
            {"start": first, "end": last},
        ).df()
    months = pd.period_range(first, last, freq="M").strftime("%Y-%m")
    frame = frame.set_index("month").reindex(months).fillna(0).rename_axis("month").reset_index()
    return frame.astype({"month": str, "revenue": float, "orders": int, "customers": int})[MONTHLY_COLUMNS]


def order_values(
    con: duckdb.DuckDBPyConnection,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    scheme: Scheme = "rfm",
) -> pd.DataFrame:
    """``ORDER_VALUE_COLUMNS``, one row per segment or stage (membership at the end date, in the scheme's
    order, empty groups included): its customers who bought in the period, their purchases, revenue and
    average order value. ``start`` defaults to the first order: all history up to the end."""
    first, last = resolve_period(con, start=start, end=end, default_months=None)
    con.register("sales_groups", memberships(con, scheme, as_of=last))
    try:
        frame = con.execute(
            """
            SELECT g."group", count(DISTINCT o.customer_id) AS customers, count(*) AS orders,
                   round(sum(o.net_amount), 2) AS revenue
            FROM orders o JOIN sales_groups g USING (customer_id)
            WHERE o.is_purchase AND o.order_date BETWEEN $start AND $end
            GROUP BY 1
            """,
            {"start": first, "end": last},
        ).df()
    finally:
        con.unregister("sales_groups")
    frame = frame.set_index("group").reindex(list(SCHEMES[scheme][1])).fillna(0).rename_axis("group").reset_index()
    frame = frame.astype({"group": str, "customers": int, "orders": int, "revenue": float})
    frame["avg_order_value"] = (frame["revenue"] / frame["orders"].where(frame["orders"] > 0)).round(2)
    frame.attrs.update(start=first.isoformat(), end=last.isoformat(), scheme=scheme)
    return frame[ORDER_VALUE_COLUMNS]


@contextlib.contextmanager
def _members(con: duckdb.DuckDBPyConnection, group: str | None, day: dt.date, k: int | None = None) -> Iterator[str]:
    """``with _members(con, group, day, k) as where:`` an SQL condition keeping the group's customers at ``day``
    (a cluster's: in the clustering as of the last order), registered for the block; or "" for everyone."""
    if group is None:
        yield ""
        return
    if not group.startswith("cluster_"):
        scheme_of(group)  # an unknown key names the segments and stages
    ids = find_group(con, group, as_of=None if group.startswith("cluster_") else day, k=k).members
    con.register("sales_members", pd.DataFrame({"customer_id": pd.Series(ids, dtype="str")}))
    try:
        yield "AND customer_id IN (SELECT customer_id FROM sales_members)"
    finally:
        con.unregister("sales_members")
