"""Two groups side by side: size, value, rhythm, favourite products and consent, and where they differ most.

A group is an RFM segment, a lifecycle stage or a cluster (``cluster_1``...), all at one as-of date. Each
side is a ``profile.describe_group`` profile, so every number means what it means in a persona: revenue is
net of returns, medians are over the group's customers, the typical gap is the median of the customers' own
median gaps between purchase days. Where the data records no marketing consent at all, the consent share
is None ("not recorded"), never 0.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from segmentation.lifecycle import customer_lifecycle
from segmentation.outreach.persona import amount, days, number, pct
from segmentation.profile import (
    UnknownGroup,  # noqa: F401  (callers catch it here, as before)
    describe_group,
    find_group,
)
from segmentation.rfm import customer_rfm
from segmentation.store import resolve_as_of
from segmentation.vocabulary import SEGMENT_KEYS, STAGES, AnalysisError

# (metric, words, kind): the rows of the comparison, in order. ``kind`` says how a value reads.
COMPARE_METRICS: tuple[tuple[str, str, str], ...] = (
    ("customers", "customers", "count"),
    ("share_of_customers", "share of customers", "share"),
    ("revenue", "revenue", "money"),
    ("revenue_share", "share of revenue", "share"),
    ("median_monetary", "median spend per customer", "money"),
    ("avg_order_value", "average order value", "money"),
    ("median_frequency", "median orders", "number"),
    ("median_recency_days", "median days since last order", "days"),
    ("typical_gap_days", "typical days between orders", "days"),
    ("consent_share", "share with marketing consent", "share"),
)
# Shares repeat size and revenue in other words, so they are not differences of their own.
DIFFERENCE_METRICS = (
    "customers",
    "revenue",
    "median_monetary",
    "avg_order_value",
    "median_frequency",
    "median_recency_days",
    "typical_gap_days",
    "consent_share",
)
ALIKE_RATIO = 1.2  # under a 20% difference two numbers are called alike
TOP_ITEMS = 3
# The second group "everyone else": every customer with a purchase who is not in the first group.
EVERYONE_ELSE = "everyone_else"
METRIC_COLUMNS = ["metric", "words", "kind"]  # then one column per group key


@dataclass
class GroupComparison:
    """``metrics``: ``METRIC_COLUMNS`` then one numeric column per group key (NaN: unknown), one row per
    ``COMPARE_METRICS`` entry. ``differences``: the metrics where the two differ most, biggest ratio first
    (``metric, words, kind, a, b, ratio``), only those at least ``ALIKE_RATIO`` apart."""

    groups: tuple[str, str]
    names: dict[str, str]  # key -> what the group is called (a cluster's descriptive name; else the key)
    as_of: str
    metrics: pd.DataFrame
    top_items: dict[str, list[str]]  # key -> up to three products, or categories when there are no products
    top_kind: dict[str, str]  # key -> "products" or "categories"
    consent_recorded: bool
    differences: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        rows = {
            m: {k: _plain(v) for k, v in row.items() if k in self.groups}
            for m, row in self.metrics.set_index("metric").to_dict("index").items()
        }
        return {
            "groups": list(self.groups),
            "names": self.names,
            "as_of": self.as_of,
            "metrics": rows,
            "top_items": self.top_items,
            "top_kind": self.top_kind,
            "consent_recorded": self.consent_recorded,
            "differences": self.differences,
        }


def format_metric(kind: str, value: float | None, *, consent_recorded: bool = True) -> str:
    """A value as the comparison table shows it: '1,234', '12.5%', '45.20', '31', or 'n/a'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not recorded" if kind == "share" and not consent_recorded else "n/a"
    return {"count": lambda v: f"{int(v):,}", "share": pct, "money": amount, "number": number, "days": days}[kind](
        float(value)
    )


def group_membership(
    con: duckdb.DuckDBPyConnection, keys: list[str], *, as_of: dt.date, k: int | None = None
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Customer ids per key, and each key's name (a cluster's descriptive name; else the key). Clusters come
    from the clustering into ``k`` groups (None: the automatic choice), as ``profile.find_group`` finds them.

    An unknown key or a cluster the data does not have raises UnknownGroup naming the valid ones.
    """
    members: dict[str, list[str]] = {}
    names = {key: key for key in keys}
    if EVERYONE_ELSE in keys:
        named = [key for key in keys if key != EVERYONE_ELSE]
        members, names = group_membership(con, named, as_of=as_of, k=k)
        taken = {c for key in named for c in members[key]}
        everyone = customer_rfm(con, as_of=as_of)["customer_id"].tolist()
        members[EVERYONE_ELSE] = [c for c in everyone if c not in taken]
        names[EVERYONE_ELSE] = "everyone else"
        return members, names
    if any(k in SEGMENT_KEYS for k in keys):
        rfm = customer_rfm(con, as_of=as_of)
        members.update({k: rfm.loc[rfm["segment"] == k, "customer_id"].tolist() for k in keys if k in SEGMENT_KEYS})
    if any(k in STAGES for k in keys):
        stages = customer_lifecycle(con, as_of=as_of)
        members.update({k: stages.loc[stages["lifecycle"] == k, "customer_id"].tolist() for k in keys if k in STAGES})
    for key in keys:
        if key not in members:  # a cluster (one clustering, memoised), or a key that is no group at all
            group = find_group(con, key, as_of=as_of, k=k)
            members[key], names[key] = group.members, group.name or key
    return members, names


def compare_groups(
    con: duckdb.DuckDBPyConnection,
    group_a: str,
    group_b: str,
    *,
    as_of: dt.date | str | None = None,
    k: int | None = None,
) -> GroupComparison:
    """``group_a`` beside ``group_b`` at ``as_of`` (default: the last order day); clusters from the clustering
    into ``k`` groups (None: the automatic choice)."""
    if group_a == group_b:
        raise AnalysisError(f"Both groups are '{group_a}': pick two different groups to compare.")
    day = resolve_as_of(con, as_of)
    members, names = group_membership(con, [group_a, group_b], as_of=day, k=k)
    profiles = {k: describe_group(con, members[k], as_of=day, label=names[k]).as_dict() for k in (group_a, group_b)}
    recorded = bool(con.execute("SELECT count(marketing_consent) FROM customers").fetchall()[0][0])
    rows = []
    for metric, words, kind in COMPARE_METRICS:
        row: dict[str, object] = {"metric": metric, "words": words, "kind": kind}
        for key, profile in profiles.items():
            value = profile[metric]
            if metric == "consent_share" and not recorded:
                value = None
            row[key] = float("nan") if value is None else float(value)
        rows.append(row)
    metrics = pd.DataFrame(rows, columns=[*METRIC_COLUMNS, group_a, group_b])
    top_items, top_kind = {}, {}
    for key, profile in profiles.items():
        kind = "products" if profile["top_products"] else "categories"
        top_items[key] = [str(i["name"]) for i in profile[f"top_{kind}"][:TOP_ITEMS]]
        top_kind[key] = kind
    return GroupComparison(
        (group_a, group_b),
        names,
        day.isoformat(),
        metrics,
        top_items,
        top_kind,
        recorded,
        _differences(metrics, group_a, group_b),
    )


def _differences(metrics: pd.DataFrame, a: str, b: str) -> list[dict]:
    """Metrics where the larger value is at least ALIKE_RATIO x the smaller, biggest ratio first.

    A ratio needs both values known and above 0 (a median of 0 days has no ratio to speak of).
    """
    found = []
    for row in metrics[metrics["metric"].isin(DIFFERENCE_METRICS)].to_dict("records"):
        va, vb = row[a], row[b]  # by key, not attribute: a saved segment's name has spaces
        if any(v is None or math.isnan(v) or v <= 0 for v in (va, vb)):
            continue
        ratio = max(va, vb) / min(va, vb)
        if ratio >= ALIKE_RATIO:
            found.append(
                {
                    "metric": row["metric"],
                    "words": row["words"],
                    "kind": row["kind"],
                    "a": va,
                    "b": vb,
                    "ratio": round(ratio, 2),
                }
            )
    order = {m: i for i, m in enumerate(DIFFERENCE_METRICS)}
    return sorted(found, key=lambda d: (-d["ratio"], order[d["metric"]]))


def _plain(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
