"""Describe a group of customers in facts: the raw material of personas and campaign copy.

A group is an RFM segment, a lifecycle stage, a cluster or any list of customer ids. Its profile says
how big it is and what it is worth, how it buys (recency, frequency, spend, basket, rhythm), what it
buys more than the rest of the base (lift = share of the group buying it / share of everybody buying it),
where and how (channel, country, city), how many may be emailed, and how its size moved in 90 days.
Every number is computed at one as-of date over purchases on or before it.

A conversation describes a group, then drafts an email to it, then describes the next one: profiles are
memoised in-process (``segmentation.memo``) per database file, data version, as-of date and group, and so
are the parts every group shares at one date: how many customers and how much revenue the whole base has,
how many of them buy each product and category (the lift's denominator), and the size of every segment and
stage 90 days earlier. A group's members come from the memoised customer table when there is one, its
typical gap from the value models' memoised summary; otherwise they are computed, with the same result.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segmentation.lifecycle import customer_lifecycle, typical_gap_of
from segmentation.memo import Memo, store_key
from segmentation.rfm import customer_rfm
from segmentation.store import resolve_as_of
from segmentation.vocabulary import SEGMENT_KEYS, STAGES, AnalysisError

TOP_ITEMS = 5
CHANGE_WINDOW_DAYS = 90
ITEM_COLUMNS = ("product", "category")  # what the lift is computed over

# Small values (a profile is a few dozen numbers): bounded by entries. Copies on every hit.
PROFILES: Memo[GroupProfile] = Memo("group_profiles", max_entries=32, copy=copy.deepcopy)
BASES: Memo[dict] = Memo("profile_bases", max_entries=4, copy=copy.deepcopy)  # the whole base's numbers, per date
SIZES: Memo[dict[str, int]] = Memo("group_sizes", max_entries=8, copy=dict)  # every segment's or stage's size, per date


def in_ids(column: pd.Series, ids: Iterable[str]) -> np.ndarray:
    """Which of ``column``'s customer ids are among ``ids``, as a boolean array (a missing id is not).

    Arrow's hash lookup: ``Series.isin`` on pandas' Arrow-backed text tests every value in Python, 0.13 s for
    80,000 customers against 4 ms here.
    """
    values = pa.array(column.astype("str").array)
    listed = ids if isinstance(ids, list) else list(ids)
    try:
        wanted = pa.array(listed, type=values.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ids that are not text: as text, as the column is
        wanted = pa.array([str(i) for i in listed], type=values.type)
    return pc.is_in(values, value_set=wanted).to_numpy(zero_copy_only=False)


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


class UnknownGroup(AnalysisError):
    """A group key the data does not have (a cluster beyond the clustering's k); the message names the valid
    ones, and ``key``, ``k`` (the clustering's number of groups) and ``asked_k`` (the k asked for, None for the
    automatic choice) let a caller say it in its own words."""

    def __init__(
        self,
        message: str,
        *,
        key: str = "",
        k: int | None = None,
        asked_k: int | None = None,
        saved: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.key, self.k, self.asked_k, self.saved = key, k, asked_k, saved


@dataclass(frozen=True)
class Group:
    """A group's customers at one as-of date; for a cluster also its descriptive name and its clustering's k."""

    key: str
    members: list[str]
    name: str | None = None
    k: int | None = None
    condition: str | None = None  # a saved segment's condition (segmentation.custom.saved); None for any other group

    @property
    def is_cluster(self) -> bool:
        return self.key.startswith("cluster_")

    @property
    def is_saved(self) -> bool:
        return self.condition is not None

    def selects(self, customer_ids: pd.Series) -> np.ndarray:
        """Which of these customer ids are in the group (a boolean array, for a frame's rows)."""
        return in_ids(customer_ids, self.members)


def find_group(
    con: duckdb.DuckDBPyConnection,
    key: str,
    *,
    as_of: dt.date | str | None = None,
    k: int | None = None,
    table: pd.DataFrame | None = None,
) -> Group:
    """The customers in an RFM segment, a lifecycle stage, a cluster (``cluster_1``...) or a segment the owner
    saved by name (``segmentation.custom.saved``; its condition evaluated at ``as_of``) at ``as_of``.

    A cluster is one of ``clustering.cluster_customers(con, as_of=as_of, k=k)``, the clustering the owner saw
    when it was made with the same k (None: the automatic choice); ``k`` means nothing for a segment or stage.
    A cluster key beyond the clustering's k raises ``UnknownGroup`` naming cluster_1..cluster_k; an unknown
    key raises it naming the segments and stages. ``table``: the customer table at ``as_of``
    (``customers.customer_table``), where the caller has it, to read a segment or stage from instead of
    scoring everyone again.
    """
    if key.startswith("cluster_"):
        from segmentation.clustering import cluster_customers  # scikit-learn only when a cluster is asked for

        result = cluster_customers(con, as_of=as_of, k=k)
        rows = result.assignments[result.assignments["cluster"] == key]
        if rows.empty:
            made = "the clustering into" if k is not None else "the automatic clustering found"
            raise UnknownGroup(
                f"there is no {key}: {made} {result.k} groups, cluster_1..cluster_{result.k}.",
                key=key,
                k=result.k,
                asked_k=k,
            )
        return Group(key, rows["customer_id"].tolist(), str(rows["cluster_name"].iloc[0]), result.k)
    if key in SEGMENT_KEYS or key in STAGES:
        column = "segment" if key in SEGMENT_KEYS else "lifecycle"
        if table is None:
            from segmentation.customers import known_table

            table = known_table(con, as_of, ["customer_id", column])
        if table is None:
            table = customer_rfm(con, as_of=as_of) if column == "segment" else customer_lifecycle(con, as_of=as_of)
        return Group(key, table.loc[table[column] == key, "customer_id"].tolist())
    from segmentation.custom.saved import matching_ids, saved_segment, saved_segments  # the owner's own, by name

    saved = saved_segment(con, key)
    if saved is not None:
        return Group(
            saved.name,
            matching_ids(con, saved.condition, as_of=as_of, table=table),
            saved.name,
            condition=saved.condition,
        )
    names = [s.name for s in saved_segments(con)]
    yours = f", or one of your saved segments ({', '.join(names)})" if names else ""
    raise UnknownGroup(
        f"'{key}' is not a group: use one of {', '.join(SEGMENT_KEYS + STAGES)}, or cluster_1, cluster_2, ...{yours}",
        key=key,
        saved=tuple(names),
    )


def group_members(
    con: duckdb.DuckDBPyConnection, key: str, *, as_of: dt.date | str | None = None, k: int | None = None
) -> list[str]:
    """Customer ids in an RFM segment, lifecycle stage or cluster (``cluster_1``...) at ``as_of``; a cluster
    from the clustering into ``k`` groups (None: the automatic choice). See ``find_group``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    key : str
        An RFM segment, lifecycle stage or ``cluster_N``.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    k : int, optional
        For a cluster, the clustering's number of groups; default the automatic choice.

    Returns
    -------
    list of str
        The group's customer ids.
    """
    return find_group(con, key, as_of=as_of, k=k).members


def group_size(con: duckdb.DuckDBPyConnection, key: str, *, as_of: dt.date | str | None = None) -> int:
    """How many customers are in an RFM segment or lifecycle stage (or a cluster) at ``as_of``.

    A segment's or stage's size comes from every segment's or stage's sizes at that date, memoised together:
    the size 90 days before is asked for each group described, and scoring everyone at that date is most of
    the work.
    """
    if key not in SEGMENT_KEYS and key not in STAGES:
        return len(group_members(con, key, as_of=as_of))
    day = resolve_as_of(con, as_of)
    column = "segment" if key in SEGMENT_KEYS else "lifecycle"
    store = store_key(con)

    def sizes() -> dict[str, int]:
        from segmentation.customers import known_table

        table = known_table(con, day, [column])
        if table is None:
            table = customer_rfm(con, as_of=day) if column == "segment" else customer_lifecycle(con, as_of=day)
        return {str(k): int(n) for k, n in table[column].value_counts().items()}

    return SIZES.get_or_compute(None if store is None else (*store, day, column), sizes).get(key, 0)


def describe_segment(con: duckdb.DuckDBPyConnection, key: str, *, as_of: dt.date | str | None = None) -> GroupProfile:
    """Profile of an RFM segment or lifecycle stage, with its size 90 days before ``as_of``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    key : str
        An RFM segment or lifecycle stage key (``at_risk``, ``lapsed``).
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.

    Returns
    -------
    GroupProfile
        As ``describe_group``, with the size 90 days before.
    """
    day = resolve_as_of(con, as_of)
    store = store_key(con)

    def describe() -> GroupProfile:
        members = group_members(con, key, as_of=day)
        earlier = group_size(con, key, as_of=day - dt.timedelta(days=CHANGE_WINDOW_DAYS))
        return _describe(con, members, day, key, earlier, store)

    return PROFILES.get_or_compute(None if store is None else (*store, day, "group", key), describe)


def describe_group(
    con: duckdb.DuckDBPyConnection,
    customer_ids: Iterable[str],
    *,
    as_of: dt.date | str | None = None,
    label: str = "group",
    earlier_size: int | None = None,
) -> GroupProfile:
    """Profile of any set of customers (a cluster, a filter) at ``as_of``; memoised per set of ids.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    customer_ids : iterable of str
        The customers to describe.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    label : str, default 'group'
        The name the profile carries.
    earlier_size : int, optional
        The group's size 90 days before, where known.

    Returns
    -------
    GroupProfile
        Size, revenue, medians, top products and categories, channel, place and consent mix.
    """
    day = resolve_as_of(con, as_of)
    ids = list(customer_ids)
    store = store_key(con)
    key = None
    if store is not None:
        digest = hashlib.blake2b("\x1f".join(map(str, ids)).encode(), digest_size=16).hexdigest()
        key = (*store, day, "ids", label, earlier_size, len(ids), digest)
    return PROFILES.get_or_compute(key, lambda: _describe(con, ids, day, label, earlier_size, store))


def _describe(
    con: duckdb.DuckDBPyConnection,
    ids: list[str],
    day: dt.date,
    label: str,
    earlier_size: int | None,
    store: tuple | None,
) -> GroupProfile:
    frame = pd.DataFrame({"customer_id": pd.Series(ids, dtype="str")}).drop_duplicates()
    con.register("group_ids", frame)
    try:
        return _profile(con, day, label, earlier_size, frame, store)
    finally:
        con.unregister("group_ids")
        con.execute("DROP TABLE IF EXISTS profile_group")


def _profile(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    label: str,
    earlier_size: int | None,
    ids: pd.DataFrame,
    store: tuple | None,
) -> GroupProfile:
    params = {"as_of": day}
    base = BASES.get_or_compute(None if store is None else (*store, day), lambda: _base(con, day))
    if not base["customers"]:
        raise AnalysisError("No customer has bought on or before that date, so there is no one to describe.")
    # The group's customers with a purchase on or before the date (the base's own definition), and their numbers.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE profile_group AS
        SELECT customer_id, count(*) FILTER (is_purchase) AS frequency, sum(net_amount) AS monetary,
               date_diff('day', max(order_date) FILTER (is_purchase), $as_of) AS recency_days,
               sum(net_amount) FILTER (is_purchase) AS purchase_revenue
        FROM orders JOIN group_ids USING (customer_id) WHERE order_date <= $as_of
        GROUP BY customer_id HAVING count(*) FILTER (is_purchase) > 0
        """,
        params,
    )
    (n_group, revenue, med_r, med_f, med_m, purchases, purchase_revenue) = con.execute(
        """
        SELECT count(*), coalesce(sum(monetary), 0), median(recency_days), median(frequency), median(monetary),
               sum(frequency), sum(purchase_revenue)
        FROM profile_group
        """
    ).fetchall()[0]
    n_base, base_revenue = base["customers"], base["revenue"]
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
        typical_gap_days=_typical_gap(con, params, ids, store),
        customers_90_days_earlier=earlier_size,
        size_change=None if earlier_size is None else int(n_group) - earlier_size,
    )
    if n_group:
        lifts = _top_lift(con, params, int(n_group), int(n_base), base["buyers"])
        profile.top_products, profile.top_categories = lifts["product"], lifts["category"]
        profile.channel_mix = _channel_mix(con, params)
        profile.country_mix, profile.city_mix, (profile.consent_share, profile.consent_known_share) = _places(con)
    return profile


def _base(con: duckdb.DuckDBPyConnection, day: dt.date) -> dict:
    """What every group at ``day`` is measured against: the customers with a purchase on or before it, their
    revenue, and how many of them bought each product and category (``{column: {item: buyers}}``)."""
    params = {"as_of": day}
    base = """
        SELECT customer_id, sum(net_amount) AS monetary FROM orders
        WHERE customer_id IS NOT NULL AND order_date <= $as_of
        GROUP BY customer_id HAVING count(*) FILTER (is_purchase) > 0
    """
    customers, revenue = con.execute(f"SELECT count(*), sum(monetary) FROM ({base})", params).fetchall()[0]
    rows = con.execute(
        f"""
        SELECT {", ".join(ITEM_COLUMNS)}, count(DISTINCT customer_id) AS buyers
        FROM order_lines
        WHERE order_date <= $as_of AND net_amount > 0 AND customer_id IN (SELECT customer_id FROM ({base}))
        GROUP BY GROUPING SETS ({", ".join(f"({c})" for c in ITEM_COLUMNS)})
        """,
        params,
    ).fetchall()
    buyers: dict[str, dict[str, int]] = {c: {} for c in ITEM_COLUMNS}
    for row in rows:
        for column, item in zip(ITEM_COLUMNS, row[:-1], strict=True):
            if item is not None:  # the grouping set this row belongs to (a NULL item is no item)
                buyers[column][item] = int(row[-1])
    return {"customers": int(customers), "revenue": revenue, "buyers": buyers}


def _typical_gap(con: duckdb.DuckDBPyConnection, params: dict, ids: pd.DataFrame, store: tuple | None) -> float | None:
    """The median of the group's customers' usual gaps between purchase days: from the value models' summary
    at this date where the memo holds it (each customer's usual gap is in it), else from the orders."""
    from segmentation.customers import SUMMARIES

    summary = SUMMARIES.peek(None if store is None else (*store, params["as_of"]))
    if summary is not None and "usual_gap_days" in summary.columns:
        mine = summary["usual_gap_days"].to_numpy()[in_ids(summary["customer_id"], ids["customer_id"])]
        return _num(typical_gap_of(mine)[0])
    row = con.execute(
        """
        WITH days AS (
            SELECT DISTINCT o.customer_id, o.order_date FROM orders o JOIN profile_group g USING (customer_id)
            WHERE o.is_purchase AND o.order_date <= $as_of
        ),
        gaps AS (
            SELECT customer_id, order_date, date_diff('day', lag(order_date) OVER (PARTITION BY customer_id ORDER BY
                                          order_date), order_date) AS gap
            FROM days
        )
        -- the usual gap's year, as lifecycle.USUAL_GAP_SQL
        SELECT median(usual) FROM (SELECT median(gap) AS usual FROM gaps WHERE gap IS NOT NULL
                                   AND date_diff('day', order_date, $as_of) + gap <= 365 GROUP BY customer_id)
        """,
        params,
    ).fetchall()[0]
    return _num(row[0])


def _top_lift(
    con: duckdb.DuckDBPyConnection, params: dict, n_group: int, n_base: int, base_buyers: dict[str, dict[str, int]]
) -> dict[str, list[dict]]:
    """Per item column, the items most bought by the group, with how much more often than the whole base
    (lift): one pass over the group's lines for every column; the base's buyers come with the base."""
    rows = con.execute(
        f"""
        WITH buyers AS (
            SELECT {", ".join(ITEM_COLUMNS)}, count(DISTINCT customer_id) AS group_buyers,
                   sum(net_amount) AS group_spend
            FROM order_lines JOIN profile_group USING (customer_id)
            WHERE order_date <= $as_of AND net_amount > 0
            GROUP BY GROUPING SETS ({", ".join(f"({c})" for c in ITEM_COLUMNS)})
        )
        SELECT {", ".join(ITEM_COLUMNS)}, group_buyers, group_spend FROM buyers
        """,
        params,
    ).fetchall()
    per_column: dict[str, list[tuple]] = {c: [] for c in ITEM_COLUMNS}
    for row in rows:
        for column, item in zip(ITEM_COLUMNS, row[: len(ITEM_COLUMNS)], strict=True):
            if item is not None:
                per_column[column].append((item, int(row[-2]), float(row[-1])))
    result = {}
    for column, items in per_column.items():
        top = sorted(items, key=lambda r: (-r[1], -r[2], r[0]))[:TOP_ITEMS]
        result[column] = [
            {
                "name": item,
                "share_of_group": _ratio(group_buyers, n_group),
                "lift": round((group_buyers / n_group) / (base_buyers[column][item] / n_base), 2),
                "revenue": round(group_spend, 2),
            }
            for item, group_buyers, group_spend in top
        ]
    return result


def _channel_mix(con: duckdb.DuckDBPyConnection, params: dict) -> dict[str, float]:
    """Share of the group's spend by channel (top few)."""
    rows = con.execute(
        """
        SELECT coalesce(l.channel, 'unknown') AS value, sum(l.net_amount) AS weight
        FROM order_lines l JOIN group_ids g USING (customer_id)
        WHERE l.order_date <= $as_of AND l.net_amount > 0 GROUP BY 1
        """,
        params,
    ).fetchall()
    return _top_shares(rows)


def _places(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, float], dict[str, float], tuple[float | None, float]]:
    """Share of the group's customers by country and by city (top few), and its marketing consent: one pass."""
    rows = con.execute(
        """
        SELECT coalesce(c.country, 'unknown'), coalesce(c.city, 'unknown'), c.marketing_consent, count(*)
        FROM group_ids g LEFT JOIN customers c USING (customer_id) GROUP BY ALL
        """
    ).fetchall()
    countries: dict[str, int] = {}
    cities: dict[str, int] = {}
    yes = known = total = 0
    for country, city, consent, n in rows:
        countries[country] = countries.get(country, 0) + n
        cities[city] = cities.get(city, 0) + n
        yes += n if consent else 0
        known += n if consent is not None else 0
        total += n
    consent = ((_ratio(yes, known) if known else None), _ratio(known, total))
    return _top_shares(list(countries.items())), _top_shares(list(cities.items())), consent


def _top_shares(rows: list[tuple[str, float]]) -> dict[str, float]:
    total = sum(w for _, w in rows) or 1
    ranked = sorted(rows, key=lambda r: (-r[1], r[0]))[:TOP_ITEMS]
    return {value: round(weight / total, 3) for value, weight in ranked}


def _ratio(part: float | None, whole: float | None) -> float:
    return round(float(part) / float(whole), 4) if part and whole else 0.0


def _num(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)
