"""Customers and revenue broken down by an attribute: country, city, consent, channel, category, product.

Customer attributes (country, city, marketing_consent) put each customer in one row. Order attributes
(channel, category, product) count a customer in every row they bought in, so customers add up to more
than the base; revenue still adds up to the shop's net revenue from customers, because every net line
belongs to exactly one value. ``customer_share`` is each row's customers over the customers broken down
(the group's, when there is one). Past the ``top`` values by revenue, the rest are one 'other' row
computed as a value of its own: its customers are the distinct customers who bought any of them, never
a sum over them. Each row also carries its RFM segment mix (share of its customers per
segment), so "which city has the most at-risk customers" is one look. Guests are left out, as in all
customer analytics.

The orders are read once per breakdown: into a temporary table of the customers' rows (one per customer for
a customer attribute, one per value, customer and order for an order attribute) that the value rows, the
folded tail and the segment mix are then counted from. The customers' segments come from the memoised
customer table where there is one. Breakdowns are memoised in-process per database file, data version,
attribute, as-of date, ``top`` and group (``segmentation.memo``).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import pandas as pd

from segmentation.memo import Memo, store_key
from segmentation.rfm import customer_rfm
from segmentation.store import resolve_as_of
from segmentation.vocabulary import (
    BREAKDOWN_ATTRIBUTES,
    CUSTOMER_ATTRIBUTES,
    LINE_ATTRIBUTES,
    SEGMENT_KEYS,
    AnalysisError,
)

BREAKDOWN_COLUMNS = [
    "value",
    "customers",
    "customer_share",
    "orders",
    "revenue",
    "revenue_share",
    "avg_order_value",
]
UNKNOWN = "unknown"
OTHER = "other"
# A breakdown has a row per value (50 at most are named): small, bounded by entries.
BREAKDOWNS: Memo[pd.DataFrame] = Memo("breakdowns", max_entries=16)


def available_attributes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The attributes this shop's data actually has (a column with at least one value).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.

    Returns
    -------
    list of str
        The attributes ``breakdown`` can use on this shop (a column with a value).
    """
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
    """One row per value of ``by`` (largest revenue first; past ``top`` values, the rest in one 'other' row
    last): ``BREAKDOWN_COLUMNS`` then ``seg_<segment>`` shares. ``customer_ids`` restricts it to one group
    ("and how many of them live in Leeds?"). ``attrs``: ``as_of``, ``by``, ``values`` (how many distinct
    values there are, 'unknown' included, before any folding), ``folded`` (how many are in 'other') and
    ``customers`` (how many customers were broken down).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    by : str
        One of ``BREAKDOWN_ATTRIBUTES`` (country, city, channel, category, product, ...).
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    top : int, default 20
        Values kept by name; the rest fold into 'other'.
    customer_ids : list of str, optional
        Break down only these customers.

    Returns
    -------
    pandas.DataFrame
        A row per value: customers, revenue and their shares, then ``seg_<segment>`` shares.
    """
    if by not in BREAKDOWN_ATTRIBUTES:
        raise AnalysisError(f"Cannot break down by '{by}': use one of {', '.join(BREAKDOWN_ATTRIBUTES)}.")
    if by not in available_attributes(con):
        raise AnalysisError(f"This shop's data has no {by.replace('_', ' ')}: import a file with that column.")
    if top < 1:
        raise AnalysisError(f"A breakdown keeps at least one value, not {top}.")
    day = resolve_as_of(con, as_of)
    ids = None if customer_ids is None else list(customer_ids)
    store = store_key(con)
    key = None
    if store is not None:
        group = (
            None
            if ids is None
            else (len(ids), hashlib.blake2b("\x1f".join(map(str, ids)).encode(), digest_size=16).hexdigest())
        )
        key = (*store, day, by, int(top), group)
    return BREAKDOWNS.get_or_compute(key, lambda: _breakdown(con, by, day, top, ids))


def _breakdown(con: duckdb.DuckDBPyConnection, by: str, day: dt.date, top: int, ids: list[str] | None) -> pd.DataFrame:
    from segmentation.customers import known_table

    rfm = known_table(con, day, ["customer_id", "segment"])
    if rfm is None:
        rfm = customer_rfm(con, as_of=day)[["customer_id", "segment"]]
    con.register("rfm_all", rfm)
    try:
        if ids is None:
            con.execute("CREATE OR REPLACE TEMP TABLE rfm_segments AS SELECT customer_id, segment FROM rfm_all")
        else:  # the group: a join in the database, not a membership test on 800,000 ids of text in Python
            con.register("group_ids", pd.DataFrame({"customer_id": pd.Series(ids, dtype="str")}))
            try:
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE rfm_segments AS SELECT customer_id, segment FROM rfm_all "
                    "WHERE customer_id IN (SELECT customer_id FROM group_ids)"
                )
            finally:
                con.unregister("group_ids")
    finally:
        con.unregister("rfm_all")
    try:
        n_customers = con.execute("SELECT count(*) FROM rfm_segments").fetchall()[0][0]
        con.execute(_rows_sql(by, group=ids is not None), {"as_of": day})
        frame = _per_value(con, by, fold=False)
        n_values, folded = len(frame), max(len(frame) - top, 0)
        if folded:
            # The tail is counted again as one value of its own, so that a customer who bought several of
            # its values counts once, and an order with lines of several of them once.
            con.register("breakdown_head", frame.iloc[:top][["value"]])
            try:
                frame = _per_value(con, by, fold=True)
                mix = _segment_mix(con, by, fold=True)
            finally:
                con.unregister("breakdown_head")
        else:
            mix = _segment_mix(con, by, fold=False)
    finally:
        con.execute("DROP TABLE IF EXISTS breakdown_rows")
        con.execute("DROP TABLE IF EXISTS rfm_segments")
    frame.insert(2, "customer_share", (frame["customers"] / n_customers).round(4) if n_customers else 0.0)
    shares = mix.pivot_table(index="value", columns="segment", values="n", aggfunc="sum", fill_value=0)
    shares = shares.reindex(columns=list(SEGMENT_KEYS), fill_value=0)
    shares = shares.div(shares.sum(axis=1).where(lambda s: s > 0, 1), axis=0).round(3)
    shares.columns = [f"seg_{c}" for c in shares.columns]
    frame = frame.merge(shares, left_on="value", right_index=True, how="left").fillna({c: 0.0 for c in shares.columns})
    frame.attrs.update(as_of=day.isoformat(), by=by, values=n_values, folded=folded, customers=int(n_customers))
    return frame.reset_index(drop=True)


def _rows_sql(by: str, *, group: bool = False) -> str:
    """``breakdown_rows``: the one pass over the orders, for the customers in ``rfm_segments``.

    A customer attribute: one row per customer with orders on or before the date (``value``, ``segment``,
    purchases, revenue of all orders and of purchases, and ``member``: whether the customer counts in the
    segment mix, as a customer since before the date). An order attribute: one row per value, customer and
    order (its lines of that value: their revenue; whether the order is a purchase; ``member``: whether a
    line of it has a positive net, which is what buying the value means in the segment mix). ``group``: the
    customers are a group's, so the orders are narrowed to theirs before they are summed.
    """
    if by in CUSTOMER_ATTRIBUTES:
        narrowed = "o.customer_id IN (SELECT customer_id FROM rfm_segments)" if group else "o.customer_id IS NOT NULL"
        return f"""
            CREATE OR REPLACE TEMP TABLE breakdown_rows AS
            WITH per_customer AS (
                SELECT o.customer_id, count(*) FILTER (o.is_purchase) AS purchases, sum(o.net_amount) AS revenue,
                       sum(o.net_amount) FILTER (o.is_purchase) AS purchase_revenue
                FROM orders o
                WHERE o.order_date <= $as_of AND {narrowed}
                GROUP BY o.customer_id
            )
            SELECT {_value_sql(by, "c")} AS value, p.customer_id, r.segment, p.purchases, p.revenue,
                   p.purchase_revenue, coalesce(c.first_order_date <= $as_of, false) AS member
            FROM per_customer p JOIN customers c USING (customer_id) JOIN rfm_segments r USING (customer_id)
        """
    # Order attributes live on lines: an order counts under each value it has lines of.
    return f"""
        CREATE OR REPLACE TEMP TABLE breakdown_rows AS
        SELECT {_value_sql(by, "l")} AS value, l.customer_id, any_value(r.segment) AS segment, o.order_id,
               any_value(o.is_purchase) AS is_purchase, sum(l.net_amount) AS revenue,
               bool_or(l.net_amount > 0) AS member
        FROM order_lines l
        JOIN orders o ON o.customer_id = l.customer_id
                     AND o.order_id = CASE WHEN l.order_id IS NULL
                                           THEN 'day:' || strftime(l.order_date, '%Y-%m-%d') ELSE l.order_id END
        JOIN rfm_segments r ON r.customer_id = l.customer_id
        WHERE l.order_date <= $as_of
        GROUP BY 1, 2, 4
    """


def _per_value(con: duckdb.DuckDBPyConnection, by: str, *, fold: bool) -> pd.DataFrame:
    """The value rows, largest revenue first; with ``fold``, the tail's row is 'other', last."""
    value = _folded("value") if fold else "value"
    if by in CUSTOMER_ATTRIBUTES:  # a row per customer: counting rows counts customers
        measures = """
            count(*) FILTER (purchases > 0) AS customers, sum(purchases) AS orders,
            sum(revenue) AS revenue, sum(purchases) AS purchases, sum(purchase_revenue) AS purchase_revenue
        """
    else:
        measures = """
            count(DISTINCT customer_id) FILTER (is_purchase) AS customers,
            count(DISTINCT (customer_id, order_id)) FILTER (is_purchase) AS orders, sum(revenue) AS revenue,
            count(DISTINCT (customer_id, order_id)) FILTER (is_purchase) AS purchases,
            sum(revenue) FILTER (is_purchase) AS purchase_revenue
        """
    frame = con.execute(
        f"""
        WITH per_value AS (SELECT {value} AS value, {measures} FROM breakdown_rows GROUP BY 1),
        totals AS (SELECT sum(revenue) AS all_revenue FROM per_value)
        SELECT value, customers, orders::BIGINT AS orders, round(revenue, 2) AS revenue,
               round(revenue / nullif(all_revenue, 0), 4) AS revenue_share,
               round(purchase_revenue / nullif(purchases, 0), 2) AS avg_order_value
        FROM per_value, totals
        ORDER BY value IS NULL, revenue DESC, value
        """
    ).df()
    frame["value"] = frame["value"].fillna(OTHER)  # the tail: every real value is coalesced, never NULL
    return frame


def _segment_mix(con: duckdb.DuckDBPyConnection, by: str, *, fold: bool) -> pd.DataFrame:
    value = _folded("value") if fold else "value"
    customers = "count(*)" if by in CUSTOMER_ATTRIBUTES else "count(DISTINCT customer_id)"  # rows per customer
    mix = con.execute(
        f"SELECT {value} AS value, segment, {customers} AS n FROM breakdown_rows WHERE member GROUP BY 1, 2"
    ).df()
    mix["value"] = mix["value"].fillna(OTHER)
    return mix


def _folded(value: str) -> str:
    """``value``, or NULL (the tail) for the values outside ``breakdown_head``."""
    return f"CASE WHEN {value} IN (SELECT value FROM breakdown_head) THEN {value} END"


def _value_sql(by: str, table: str) -> str:
    """The value of ``by`` for a row of ``table`` (customers or order lines)."""
    if by == "marketing_consent":
        return (
            f"CASE {table}.marketing_consent WHEN true THEN 'consented' WHEN false THEN 'not consented' "
            f"ELSE '{UNKNOWN}' END"
        )
    return f"coalesce({table}.{by}, '{UNKNOWN}')"
