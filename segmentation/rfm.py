"""Recency, frequency and monetary value per customer, their 1-5 scores, and the RFM segment.

Definitions (DESIGN.md), at an inclusive as-of date D (default: the day of the last order in the data):

- purchase: an order whose net revenue is > 0; customers with none are left out;
- recency_days: days from the last purchase to D; frequency: number of purchases;
- monetary: net revenue of all the customer's orders on or before D (returns subtract), rounded to cents.

Scores, from the shop's own distribution: a customer's score is
``min(5, 1 + floor(5 * (other customers with a strictly worse value) / (all customers - 1)))``, where
worse means a larger recency and a smaller frequency or monetary value (SQL's ``percent_rank``). The
worst value always scores 1 and the best 5, even in a shop of three. Identical values always share a
score, and a value most customers share (a frequency of 1) leaves the scores above it empty rather than
splitting identical customers at random, as ``ntile`` or ``qcut`` would.

Segments come from the R and F scores through a map held as data (``DEFAULT_SEGMENT_MAP``), which a
caller can replace; it must name exactly one segment for each of the 25 (R, F) cells.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from segmentation.store import resolve_as_of
from segmentation.vocabulary import DEFAULT_SEGMENT_MAP, AnalysisError, SegmentRule

RFM_COLUMNS = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "segment",
]
SCORE_RULE = "score = 1 + floor(5 x share of the other customers with a worse value), at most 5; ties share a score"


def validate_segment_map(rules: tuple[SegmentRule, ...] | list[SegmentRule]) -> None:
    """Raise AnalysisError unless every (R, F) cell from 1-1 to 5-5 falls in exactly one rule.

    Parameters
    ----------
    rules : sequence of SegmentRule
        A segment map to check.
    """
    for r in range(1, 6):
        for f in range(1, 6):
            hits = [x.segment for x in rules if x.r_min <= r <= x.r_max and x.f_min <= f <= x.f_max]
            if len(hits) != 1:
                raise AnalysisError(f"The segment map gives R={r}, F={f} {len(hits)} segments {hits}; it needs one.")


def customer_rfm(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    segment_map: tuple[SegmentRule, ...] | list[SegmentRule] = DEFAULT_SEGMENT_MAP,
) -> pd.DataFrame:
    """One row per customer with at least one purchase on or before ``as_of``; columns ``RFM_COLUMNS``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    segment_map : sequence of SegmentRule, optional
        The (R, F) cells of each segment; default ``DEFAULT_SEGMENT_MAP``.

    Returns
    -------
    pandas.DataFrame
        ``RFM_COLUMNS``, a row per customer with a purchase, by ``customer_id``.
    """
    validate_segment_map(segment_map)
    day = resolve_as_of(con, as_of)
    # One row per (R, F) cell, joined on equality: a hash join. Joining the rules' ranges with BETWEEN made
    # DuckDB sort every customer for a range join (0.4 s of 1.3 s at 800,000 customers).
    cells = ", ".join(
        f"('{x.segment}', {r}, {f})"
        for x in segment_map
        for r in range(max(int(x.r_min), 1), min(int(x.r_max), 5) + 1)
        for f in range(max(int(x.f_min), 1), min(int(x.f_max), 5) + 1)
    )
    frame = con.execute(
        f"""
        WITH per_customer AS (
            SELECT customer_id,
                   count(*) FILTER (is_purchase) AS frequency,
                   round(sum(net_amount), 2) AS monetary,
                   max(order_date) FILTER (is_purchase) AS last_purchase
            FROM orders
            WHERE customer_id IS NOT NULL AND order_date <= $as_of
            GROUP BY customer_id
            HAVING count(*) FILTER (is_purchase) > 0
        ),
        measured AS (
            SELECT customer_id, date_diff('day', last_purchase, $as_of) AS recency_days, frequency, monetary
            FROM per_customer
        ),
        scored AS (
            SELECT *,
                   least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY recency_days DESC))) AS r_score,
                   least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY frequency))) AS f_score,
                   least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY monetary))) AS m_score
            FROM measured
        ),
        segment_map(segment, r_score, f_score) AS (VALUES {cells})
        SELECT s.customer_id, s.recency_days::INTEGER AS recency_days, s.frequency::INTEGER AS frequency,
               s.monetary::DOUBLE AS monetary, s.r_score::INTEGER AS r_score, s.f_score::INTEGER AS f_score,
               s.m_score::INTEGER AS m_score, m.segment
        FROM scored s
        JOIN segment_map m ON s.r_score = m.r_score AND s.f_score = m.f_score
        ORDER BY s.customer_id
        """,
        {"as_of": day},
    ).df()
    frame.attrs["as_of"] = day.isoformat()  # text: attrs travel through JSON (Streamlit, Arrow)
    return frame[RFM_COLUMNS]
