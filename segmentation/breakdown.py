"""Customers and revenue broken down by an attribute: country, city, consent, channel, category, product.

Customer attributes (country, city, marketing_consent) put each customer in one row. Order attributes
(channel, category, product) count a customer in every row they bought in, so customers add up to more
than the base; revenue still adds up to the shop's net revenue from customers, because every net line
belongs to exactly one value. Each row also carries its RFM segment mix (share of its customers per
segment), so "which city has the most at-risk customers" is one look. Guests are left out, as in all
customer analytics.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from segmentation.rfm import SEGMENT_KEYS, AnalysisError, customer_rfm, resolve_as_of
from segmentation.vocabulary import BREAKDOWN_ATTRIBUTES, CUSTOMER_ATTRIBUTES, LINE_ATTRIBUTES

BREAKDOWN_COLUMNS = ["value", "customers", "orders", "revenue", "revenue_share", "avg_order_value"]
UNKNOWN = "unknown"


def available_attributes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The attributes this shop's data actually has (a column with at least one value)."""
    present = []
    for attr in CUSTOMER_ATTRIBUTES:
        if con.execute(f"SELECT count({attr}) FROM customers").fetchall()[0][0]:
            present.append(attr)
    for attr in LINE_ATTRIBUTES:
        if con.execute(f"SELECT count({attr}) FROM order_lines").fetchall()[0][0]:
            present.append(attr)
    return present


def breakdown(
    con: duckdb.DuckDBPyConnection,
    by: str,
    *,
    as_of: dt.date | str | None = None,
    top: int = 20,
    customer_ids: list[str] | None = None,
) -> pd.DataFrame:
    """One row per value of ``by`` (largest revenue first, the rest folded into 'other'):
    ``BREAKDOWN_COLUMNS`` then ``seg_<segment>`` shares. ``customer_ids`` restricts it to one group
    ("and how many of them live in Leeds?")."""
    if by not in BREAKDOWN_ATTRIBUTES:
        raise AnalysisError(f"Cannot break down by '{by}': use one of {', '.join(BREAKDOWN_ATTRIBUTES)}.")
    if by not in available_attributes(con):
        raise AnalysisError(f"This shop's data has no {by.replace('_', ' ')}: import a file with that column.")
    day = resolve_as_of(con, as_of)
    rfm = customer_rfm(con, as_of=day)[["customer_id", "segment"]]
    if customer_ids is not None:
        rfm = rfm[rfm["customer_id"].isin(set(customer_ids))]
    con.register("rfm_segments", rfm)
    try:
        per_value = _per_value_sql(by)
        frame = con.execute(
            f"""
            WITH per_value AS ({per_value}),
            totals AS (SELECT sum(revenue) AS all_revenue FROM per_value)
            SELECT value, customers, orders, round(revenue, 2) AS revenue,
                   round(revenue / nullif(all_revenue, 0), 4) AS revenue_share,
                   round(purchase_revenue / nullif(purchases, 0), 2) AS avg_order_value
            FROM per_value, totals
            ORDER BY revenue DESC, value
            """,
            {"as_of": day},
        ).df()
        mix = con.execute(
            f"""
            WITH members AS ({_members_sql(by)})
            SELECT value, segment, count(DISTINCT customer_id) AS n FROM members JOIN rfm_segments USING (customer_id)
            GROUP BY 1, 2
            """,
            {"as_of": day},
        ).df()
    finally:
        con.unregister("rfm_segments")
    frame = _fold_tail(frame, top)
    shares = mix.pivot_table(index="value", columns="segment", values="n", aggfunc="sum", fill_value=0)
    shares = shares.reindex(columns=list(SEGMENT_KEYS), fill_value=0)
    shares = shares.div(shares.sum(axis=1).where(lambda s: s > 0, 1), axis=0).round(3)
    shares.columns = [f"seg_{c}" for c in shares.columns]
    frame = frame.merge(shares, left_on="value", right_index=True, how="left").fillna(
        {c: 0.0 for c in shares.columns}
    )
    frame.attrs["as_of"], frame.attrs["by"] = day.isoformat(), by
    return frame.reset_index(drop=True)


def _value_sql(by: str, table: str) -> str:
    if by == "marketing_consent":
        return (
            f"CASE {table}.marketing_consent WHEN true THEN 'consented' WHEN false THEN 'not consented' "
            f"ELSE '{UNKNOWN}' END"
        )
    return f"coalesce({table}.{by}, '{UNKNOWN}')"


def _members_sql(by: str) -> str:
    """(value, customer_id) pairs: who belongs to each value."""
    if by in CUSTOMER_ATTRIBUTES:
        return (
            f"SELECT {_value_sql(by, 'c')} AS value, c.customer_id FROM customers c "
            "WHERE c.first_order_date <= $as_of"
        )
    return (
        f"SELECT DISTINCT {_value_sql(by, 'l')} AS value, l.customer_id FROM order_lines l "
        "WHERE l.customer_id IS NOT NULL AND l.order_date <= $as_of AND l.net_amount > 0"
    )


def _per_value_sql(by: str) -> str:
    if by in CUSTOMER_ATTRIBUTES:
        return f"""
            SELECT {_value_sql(by, 'c')} AS value, count(DISTINCT o.customer_id) FILTER (o.is_purchase) AS customers,
                   count(*) FILTER (o.is_purchase) AS orders, sum(o.net_amount) AS revenue,
                   count(*) FILTER (o.is_purchase) AS purchases,
                   sum(o.net_amount) FILTER (o.is_purchase) AS purchase_revenue
            FROM orders o JOIN customers c USING (customer_id)
            WHERE o.order_date <= $as_of AND o.customer_id IN (SELECT customer_id FROM rfm_segments)
            GROUP BY 1
        """
    # Order attributes live on lines: an order counts under each value it has lines of.
    return f"""
        SELECT {_value_sql(by, 'l')} AS value,
               count(DISTINCT l.customer_id) FILTER (o.is_purchase) AS customers,
               count(DISTINCT (l.customer_id, o.order_id)) FILTER (o.is_purchase) AS orders,
               sum(l.net_amount) AS revenue,
               count(DISTINCT (l.customer_id, o.order_id)) FILTER (o.is_purchase) AS purchases,
               sum(l.net_amount) FILTER (o.is_purchase) AS purchase_revenue
        FROM order_lines l
        JOIN orders o ON o.customer_id = l.customer_id
                     AND o.order_id = CASE WHEN l.order_id IS NULL
                                           THEN 'day:' || strftime(l.order_date, '%Y-%m-%d') ELSE l.order_id END
        WHERE l.customer_id IN (SELECT customer_id FROM rfm_segments) AND l.order_date <= $as_of
        GROUP BY 1
    """


def _fold_tail(frame: pd.DataFrame, top: int) -> pd.DataFrame:
    """Keep the ``top`` values by revenue; fold the rest into one 'other' row (customers may overlap)."""
    if len(frame) <= top:
        return frame
    head, tail = frame.iloc[:top], frame.iloc[top:]
    orders = tail["orders"].sum()
    other = {
        "value": "other", "customers": int(tail["customers"].sum()), "orders": int(orders),
        "revenue": round(tail["revenue"].sum(), 2), "revenue_share": round(tail["revenue_share"].sum(), 4),
        "avg_order_value": round(float((tail["avg_order_value"] * tail["orders"]).sum() / orders), 2)
        if orders else None,
    }
    return pd.concat([head, pd.DataFrame([other])], ignore_index=True)
