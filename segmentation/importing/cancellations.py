"""A cancellation or return filed as an order of its own belongs to the order it undoes (DESIGN.md: Revenue).

Online Retail files a cancellation as its own invoice ("C536379"), usually days after the order, and the
file does not say which order it cancels. Left alone, the cancelled order stays a purchase (customer 16446's
168,469.60 order, cancelled the same morning, made them an "active" customer worth 2% of the shop). Here
each return line is attributed to the purchase line it undoes: same customer, same product, bought at or
before the return; a line with exactly the returned quantity still to undo first (the latest such), else the
latest earlier lines with that product, latest first. The returned money then lands on that order, on its
date: its net falls, and an order whose net is <= 0 is no purchase.

A return never undoes more units than a line still has: a 12-unit return against a 10-unit line is split,
10 units on that line and 2 on the next latest earlier line with the product; what no earlier line can
take stays a return on its own date, in its own order (no purchase either way). Returns of one customer and
product are taken in time order, each seeing what the earlier ones left: that is a loop over the returns
of one (customer, product), run for every pair at once, so the number of SQL rounds is the largest number
of returns one customer made of one product (35 on Online Retail), not the number of returns (9,288).

A return line is a line with a negative amount (and a negative or no quantity) in an order whose lines
are all <= 0 and not cancelled by status; a return inside an order that also buys nets within that order
already. Orders cancelled by status and order-level refund columns (Shopify, WooCommerce) are already net
per order and are left as they are. A file without quantities counts each line as one unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

__all__ = ["ORDER_KEY_SQL", "Undone", "attribute_returns", "drop_work_tables", "undone_counts"]

# The order a line belongs to (DESIGN.md: Order): its id, or the customer's day where the file has none.
# CASE, not coalesce: coalesce would format every line's date, order id or not.
ORDER_KEY_SQL = "CASE WHEN order_id IS NULL THEN 'day:' || strftime(order_date, '%Y-%m-%d') ELSE order_id END"

# Temp tables this module leaves for the caller: per (customer, order key), the money moved (``delta``:
# negative on the undone order, positive on the return's own order, which it leaves).
ADJUSTMENTS = "undo_adjustments"


@dataclass(frozen=True)
class Undone:
    """What attributing returns did to the orders, across the whole store."""

    orders_fully: int = 0  # purchases whose net is now <= 0: no longer purchases
    orders_partly: int = 0  # purchases whose net fell but stays > 0
    gross_fully: float = 0.0  # what the fully undone orders were worth before
    customers_fully: int = 0  # customers with a fully undone order
    return_lines: int = 0  # return lines filed as orders of their own
    lines_unmatched: int = 0  # of those, lines that undid nothing: returns on their own date


def attribute_returns(con: duckdb.DuckDBPyConnection, lines: str) -> None:
    """Fill temp table ``undo_adjustments(customer_id, order_key, delta)`` from the lines in ``lines``.

    ``lines``: a table or view in ``order_lines``' shape. Lines bought or returned at the same time are taken
    in the order of the file (import, then line): the later line counts as the later. Summing ``delta`` into
    each order's net moves every matched return's money onto the order it undoes.
    """
    # Only customers with a negative line are read further: on Online Retail a third of the lines, and the
    # order keys (a formatted date where a file has no order ids) are made for those alone.
    at = "coalesce(ordered_at, order_date::TIMESTAMP)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE undo_lines AS
        SELECT customer_id, {ORDER_KEY_SQL} AS order_key, product, {at} AS placed, import_id, line_no,
               quantity, amount, net_amount, cancelled
        FROM {lines}
        SEMI JOIN (SELECT DISTINCT customer_id FROM {lines} WHERE amount < 0 AND customer_id IS NOT NULL)
             USING (customer_id)
        """
    )
    # Orders made only of returns: no line above 0, none cancelled by status.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE undo_returns AS
        SELECT row_number() OVER (ORDER BY l.customer_id, l.product, l.placed, l.import_id, l.line_no) AS r_id,
               row_number() OVER (PARTITION BY l.customer_id, l.product ORDER BY l.placed, l.import_id, l.line_no)
                 AS seq,
               l.customer_id, l.order_key, l.product, l.placed, -coalesce(l.quantity, -1) AS need, l.net_amount
        FROM undo_lines l
        ANTI JOIN (SELECT DISTINCT customer_id, order_key FROM undo_lines WHERE amount > 0 OR cancelled)
             USING (customer_id, order_key)
        WHERE l.amount < 0 AND coalesce(l.quantity, -1) < 0 AND l.product IS NOT NULL
        """
    )
    # What each purchase line can undo: its units.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE undo_candidates AS
        SELECT row_number() OVER (ORDER BY l.customer_id, l.product, l.placed, l.import_id, l.line_no) AS c_id,
               l.customer_id, l.order_key, l.product, l.placed, coalesce(l.quantity, 1) AS units
        FROM undo_lines l SEMI JOIN (SELECT DISTINCT customer_id, product FROM undo_returns) r
             USING (customer_id, product)
        WHERE l.amount >= 0 AND coalesce(l.quantity, 1) > 0 AND NOT l.cancelled  -- free lines are units too
        """
    )
    con.execute("CREATE OR REPLACE TEMP TABLE undo_takes (r_id BIGINT, c_id BIGINT, units DOUBLE)")
    rounds = con.execute("SELECT coalesce(max(seq), 0) FROM undo_returns").fetchall()[0][0]
    for k in range(1, rounds + 1):
        _take_round(con, k)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ADJUSTMENTS} AS
        WITH moved AS (
            SELECT r.customer_id, r.order_key AS from_key, c.order_key AS to_key,
                   r.net_amount * t.units / r.need AS value
            FROM undo_takes t JOIN undo_returns r USING (r_id) JOIN undo_candidates c USING (c_id)
        )
        SELECT customer_id, order_key, sum(delta) AS delta
        FROM (SELECT customer_id, to_key AS order_key, value AS delta FROM moved
              UNION ALL SELECT customer_id, from_key, -value FROM moved)
        GROUP BY ALL
        """
    )


def _take_round(con: duckdb.DuckDBPyConnection, k: int) -> None:
    """The k-th return of every (customer, product) takes its units from what earlier returns left."""
    con.execute(
        """
        INSERT INTO undo_takes
        WITH r AS (SELECT r_id, customer_id, product, placed, need FROM undo_returns WHERE seq = $k),
        open AS (
            SELECT r.r_id, r.need, c.c_id, c.placed, c.units - coalesce(t.taken, 0) AS left_units
            FROM r JOIN undo_candidates c
              ON c.customer_id = r.customer_id AND c.product = r.product AND c.placed <= r.placed
            LEFT JOIN (SELECT c_id, sum(units) AS taken FROM undo_takes GROUP BY c_id) t USING (c_id)
        ),
        usable AS (SELECT * FROM open WHERE left_units > 0),
        exact AS (
            SELECT r_id, arg_max(c_id, (placed, c_id)) AS c_id, any_value(need) AS units
            FROM usable WHERE left_units = need GROUP BY r_id
        ),
        -- No line with exactly the units: the latest lines first, each giving what it has left.
        spread AS (
            SELECT r_id, c_id,
                   least(left_units, need - (sum(left_units) OVER latest_first - left_units)) AS units
            FROM usable ANTI JOIN exact USING (r_id)
            WINDOW latest_first AS (PARTITION BY r_id ORDER BY placed DESC, c_id DESC ROWS UNBOUNDED PRECEDING)
        )
        SELECT r_id, c_id, units FROM exact
        UNION ALL SELECT r_id, c_id, units FROM spread WHERE units > 0
        """,
        {"k": k},
    )


def undone_counts(con: duckdb.DuckDBPyConnection) -> Undone:
    """Count what ``attribute_returns`` did, once ``orders`` holds the adjusted nets."""
    fully, partly, gross, customers = con.execute(
        f"""
        SELECT count(*) FILTER (o.net_amount <= 0), count(*) FILTER (o.net_amount > 0),
               coalesce(sum(o.gross_amount) FILTER (o.net_amount <= 0), 0),
               count(DISTINCT o.customer_id) FILTER (o.net_amount <= 0)
        FROM {ADJUSTMENTS} a JOIN orders o ON o.customer_id = a.customer_id AND o.order_id = a.order_key
        WHERE a.delta < 0 AND o.net_amount - a.delta > 0  -- a purchase before its returns
        """
    ).fetchall()[0]
    lines, unmatched = con.execute(
        "SELECT count(*), count(*) FILTER (r_id NOT IN (SELECT r_id FROM undo_takes)) FROM undo_returns"
    ).fetchall()[0]
    return Undone(fully, partly, round(gross, 2), customers, lines, unmatched)


def drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("undo_lines", "undo_returns", "undo_candidates", "undo_takes", ADJUSTMENTS):
        con.execute(f"DROP TABLE IF EXISTS temp.{table}")
