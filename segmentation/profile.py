"""Describe a group of customers in facts: the raw material of personas and campaign copy.

A group is an RFM segment, a lifecycle stage, a cluster or any list of customer ids. Its profile says
how big it is and what it is worth, how it buys (recency, frequency, spend, basket, rhythm), what it
buys more than the rest of the base (lift = share of the group buying it / share of everybody buying it),
where and how (channel, country, city), how many may be emailed, and how its size moved in 90 days.
Every number is computed at one as-of date over purchases on or before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import duckdb
import pandas as pd

from segmentation.lifecycle import STAGES, customer_lifecycle
from segmentation.rfm import SEGMENT_KEYS, AnalysisError, customer_rfm, resolve_as_of

TOP_ITEMS = 5
CHANGE_WINDOW_DAYS = 90


@dataclass
class GroupProfile:
    """One structured object; ``as_dict()`` is what tools and templates read."""

    label: str
    as_of: str
    customers: int
    share_of_customers: float
    revenue: float
    revenue_share: float
    median_recency_days: float | None
    median_frequency: float | None
    median_monetary: float | None
    avg_order_value: float | None
    typical_gap_days: float | None
    top_products: list[dict] = field(default_factory=list)
    top_categories: list[dict] = field(default_factory=list)
    channel_mix: dict[str, float] = field(default_factory=dict)
    country_mix: dict[str, float] = field(default_factory=dict)
    city_mix: dict[str, float] = field(default_factory=dict)
    consent_share: float | None = None
    consent_known_share: float = 0.0
    customers_90_days_earlier: int | None = None
    size_change: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def group_kind(key: str) -> str:
    """'segment' for an RFM segment key, 'lifecycle' for a stage; AnalysisError names the valid keys."""
    if key in SEGMENT_KEYS:
        return "segment"
    if key in STAGES:
        return "lifecycle"
    raise AnalysisError(f"'{key}' is not a segment: use one of {', '.join(SEGMENT_KEYS + STAGES)}.")


def group_members(con: duckdb.DuckDBPyConnection, key: str, *, as_of: dt.date | str | None = None) -> list[str]:
    """Customer ids in an RFM segment, lifecycle stage or cluster (``cluster_1``...) at ``as_of``."""
    if key.startswith("cluster_"):
        from segmentation.clustering import cluster_customers  # scikit-learn only when a cluster is asked for

        assignments = cluster_customers(con, as_of=as_of).assignments
        members = assignments.loc[assignments["cluster"] == key, "customer_id"].tolist()
        if not members:
            raise AnalysisError(f"There is no {key} at that date: run `segments clusters` to see the clusters.")
        return members
    if group_kind(key) == "segment":
        frame = customer_rfm(con, as_of=as_of)
        return frame.loc[frame["segment"] == key, "customer_id"].tolist()
    frame = customer_lifecycle(con, as_of=as_of)
    return frame.loc[frame["lifecycle"] == key, "customer_id"].tolist()


def describe_segment(con: duckdb.DuckDBPyConnection, key: str, *, as_of: dt.date | str | None = None) -> GroupProfile:
    """Profile of an RFM segment or lifecycle stage, with its size 90 days before ``as_of``."""
    day = resolve_as_of(con, as_of)
    members = group_members(con, key, as_of=day)
    earlier = group_members(con, key, as_of=day - dt.timedelta(days=CHANGE_WINDOW_DAYS))
    return describe_group(con, members, as_of=day, label=key, earlier_size=len(earlier))


def describe_group(
    con: duckdb.DuckDBPyConnection,
    customer_ids: Iterable[str],
    *,
    as_of: dt.date | str | None = None,
    label: str = "group",
    earlier_size: int | None = None,
) -> GroupProfile:
    """Profile of any set of customers (a cluster, a filter) at ``as_of``."""
    day = resolve_as_of(con, as_of)
    ids = pd.DataFrame({"customer_id": pd.Series(list(customer_ids), dtype="str")}).drop_duplicates()
    con.register("group_ids", ids)
    try:
        return _profile(con, day, label, earlier_size)
    finally:
        con.unregister("group_ids")


def _profile(con: duckdb.DuckDBPyConnection, day: dt.date, label: str, earlier_size: int | None) -> GroupProfile:
    params = {"as_of": day}
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE profile_base AS
        SELECT customer_id, count(*) FILTER (is_purchase) AS frequency, sum(net_amount) AS monetary,
               date_diff('day', max(order_date) FILTER (is_purchase), $as_of) AS recency_days,
               sum(net_amount) FILTER (is_purchase) AS purchase_revenue,
               customer_id IN (SELECT customer_id FROM group_ids) AS in_group
        FROM orders WHERE customer_id IS NOT NULL AND order_date <= $as_of
        GROUP BY customer_id HAVING count(*) FILTER (is_purchase) > 0
        """,
        params,
    )
    (n_group, n_base, revenue, base_revenue, med_r, med_f, med_m, purchases, purchase_revenue) = con.execute(
        """
        SELECT count(*) FILTER (in_group), count(*), coalesce(sum(monetary) FILTER (in_group), 0),
               sum(monetary), median(recency_days) FILTER (in_group), median(frequency) FILTER (in_group),
               median(monetary) FILTER (in_group), sum(frequency) FILTER (in_group),
               sum(purchase_revenue) FILTER (in_group)
        FROM profile_base
        """
    ).fetchall()[0]
    if not n_base:
        raise AnalysisError("No customer has bought on or before that date, so there is no one to describe.")
    profile = GroupProfile(
        label=label,
        as_of=day.isoformat(),
        customers=int(n_group),
        share_of_customers=_ratio(n_group, n_base),
        revenue=round(float(revenue), 2),
        revenue_share=_ratio(revenue, base_revenue),
        median_recency_days=_num(med_r),
        median_frequency=_num(med_f),
        median_monetary=_num(med_m),
        avg_order_value=round(purchase_revenue / purchases, 2) if purchases else None,
        typical_gap_days=_typical_gap(con, params),
        customers_90_days_earlier=earlier_size,
        size_change=None if earlier_size is None else int(n_group) - earlier_size,
    )
    if n_group:
        profile.top_products = _top_lift(con, "product", params, n_group, n_base)
        profile.top_categories = _top_lift(con, "category", params, n_group, n_base)
        profile.channel_mix = _mix(con, "channel", params, source="lines")
        profile.country_mix = _mix(con, "country", params, source="customers")
        profile.city_mix = _mix(con, "city", params, source="customers")
        profile.consent_share, profile.consent_known_share = _consent(con)
    con.execute("DROP TABLE IF EXISTS profile_base")
    return profile


def _typical_gap(con: duckdb.DuckDBPyConnection, params: dict) -> float | None:
    row = con.execute(
        """
        WITH days AS (
            SELECT DISTINCT o.customer_id, o.order_date FROM orders o JOIN group_ids g USING (customer_id)
            WHERE o.is_purchase AND o.order_date <= $as_of
        ),
        gaps AS (
            SELECT customer_id, date_diff('day', lag(order_date) OVER (PARTITION BY customer_id ORDER BY order_date),
                                          order_date) AS gap
            FROM days
        )
        SELECT median(usual) FROM (SELECT median(gap) AS usual FROM gaps WHERE gap IS NOT NULL GROUP BY customer_id)
        """,
        params,
    ).fetchall()[0]
    return _num(row[0])


def _top_lift(con: duckdb.DuckDBPyConnection, column: str, params: dict, n_group: int, n_base: int) -> list[dict]:
    """The items most bought by the group, with how much more often than the whole base (lift)."""
    rows = con.execute(
        f"""
        WITH buyers AS (
            SELECT l.{column} AS item, l.customer_id, sum(l.net_amount) AS spend
            FROM order_lines l JOIN profile_base b USING (customer_id)
            WHERE l.{column} IS NOT NULL AND l.order_date <= $as_of AND l.net_amount > 0
            GROUP BY 1, 2
        )
        SELECT item,
               count(*) FILTER (customer_id IN (SELECT customer_id FROM group_ids)) AS group_buyers,
               count(*) AS base_buyers,
               sum(spend) FILTER (customer_id IN (SELECT customer_id FROM group_ids)) AS group_spend
        FROM buyers GROUP BY item
        HAVING group_buyers > 0
        ORDER BY group_buyers DESC, group_spend DESC, item
        LIMIT {TOP_ITEMS}
        """,
        params,
    ).fetchall()
    return [
        {
            "name": item,
            "share_of_group": _ratio(group_buyers, n_group),
            "lift": round((group_buyers / n_group) / (base_buyers / n_base), 2),
            "revenue": round(float(group_spend), 2),
        }
        for item, group_buyers, base_buyers, group_spend in rows
    ]


def _mix(con: duckdb.DuckDBPyConnection, column: str, params: dict, *, source: str) -> dict[str, float]:
    """Share of the group's spend by channel, or of its customers by country or city (top few)."""
    if source == "lines":
        sql = f"""
            SELECT coalesce(l.{column}, 'unknown') AS value, sum(l.net_amount) AS weight
            FROM order_lines l JOIN group_ids g USING (customer_id)
            WHERE l.order_date <= $as_of AND l.net_amount > 0 GROUP BY 1
        """
    else:
        sql = f"""
            SELECT coalesce(c.{column}, 'unknown') AS value, count(*) AS weight
            FROM group_ids g LEFT JOIN customers c USING (customer_id) GROUP BY 1
        """
    rows = con.execute(sql, params if source == "lines" else {}).fetchall()
    total = sum(w for _, w in rows) or 1
    ranked = sorted(rows, key=lambda r: (-r[1], r[0]))[:TOP_ITEMS]
    return {value: round(weight / total, 3) for value, weight in ranked}


def _consent(con: duckdb.DuckDBPyConnection) -> tuple[float | None, float]:
    yes, known, total = con.execute(
        """
        SELECT count(*) FILTER (c.marketing_consent), count(c.marketing_consent), count(*)
        FROM group_ids g LEFT JOIN customers c USING (customer_id)
        """
    ).fetchall()[0]
    return (_ratio(yes, known) if known else None), _ratio(known, total)


def _ratio(part: float | None, whole: float | None) -> float:
    return round(float(part) / float(whole), 4) if part and whole else 0.0


def _num(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)
