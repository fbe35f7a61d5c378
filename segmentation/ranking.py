"""Groups ranked by what they bring: revenue so far, or value at stake over the coming days.

Value at stake is the predicted value (``clv`` in ``customers.customer_table``) of a group's customers
summed: what the group is expected to spend over the horizon (90 days by default), and so what the shop
would lose if those customers went quiet. It needs the value models; a shop too small for them (see
``customer_table``) is ranked by revenue instead, and ``GroupRanking.fallback`` says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import duckdb
import numpy as np
import pandas as pd

from segmentation.vocabulary import SEGMENT_KEYS, STAGES, AnalysisError

GROUP_VALUE_COLUMNS = ["group", "customers", "share", "revenue", "revenue_share", "value_at_stake", "value_share"]
RANK_COLUMNS = ["rank", *GROUP_VALUE_COLUMNS]
SCHEMES = {"rfm": ("segment", SEGMENT_KEYS), "lifecycle": ("lifecycle", STAGES)}


@dataclass
class GroupRanking:
    """Groups best first. ``table``: ``RANK_COLUMNS``, one row per group of the scheme (empty ones last).

    ``by`` is what the ranking used ("revenue" or "value_at_stake"); ``fallback`` is the sentence saying
    why value at stake was asked for and revenue used, or None.
    """

    scheme: str
    by: str
    as_of: str
    horizon_days: int
    table: pd.DataFrame
    fallback: str | None = None

    def as_dict(self) -> dict:
        rows = self.table.replace({np.nan: None}).to_dict("records")
        return {
            "scheme": self.scheme,
            "by": self.by,
            "as_of": self.as_of,
            "horizon_days": self.horizon_days,
            "fallback": self.fallback,
            "groups": rows,
        }


def group_values(frame: pd.DataFrame, column: str, order: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Per group of ``frame[column]``, in ``order``: ``GROUP_VALUE_COLUMNS``.

    ``frame`` is ``customer_table``'s (one row per customer). ``share`` and ``revenue_share`` are of all
    customers and all revenue; ``value_at_stake`` is the sum of the members' ``clv`` and ``value_share`` its
    share of everyone's, both NaN for every group when the value models could not run. Empty groups have 0.
    """
    grouped = frame.groupby(column).agg(
        customers=("customer_id", "count"),
        revenue=("monetary", "sum"),
        value_at_stake=("clv", lambda s: s.sum(min_count=1)),
    )
    table = grouped.reindex(list(order)).rename_axis("group").reset_index()
    table["customers"] = table["customers"].fillna(0).astype(int)
    table["revenue"] = table["revenue"].fillna(0.0).astype(float)
    modelled = bool(frame["clv"].notna().any())
    table["value_at_stake"] = table["value_at_stake"].astype(float).fillna(0.0) if modelled else np.nan
    total_customers, total_revenue = len(frame), float(frame["monetary"].sum())
    total_value = float(frame["clv"].sum()) if modelled else np.nan
    table["share"] = (table["customers"] / total_customers).round(4) if total_customers else 0.0
    table["revenue_share"] = (table["revenue"] / total_revenue).round(4) if total_revenue else 0.0
    table["value_share"] = (table["value_at_stake"] / total_value).round(4) if modelled and total_value else np.nan
    if modelled and not total_value:
        table["value_share"] = 0.0
    table["revenue"] = table["revenue"].round(2)
    table["value_at_stake"] = table["value_at_stake"].round(2)
    return table[GROUP_VALUE_COLUMNS]


def model_fallback(frame: pd.DataFrame) -> str | None:
    """Why the value models gave nothing for this customer table, in one sentence; None when they ran."""
    if frame["clv"].notna().any():
        return None
    warnings = frame.attrs.get("warnings") or []
    # customer_table appends the models' own reason last when they fail.
    why = warnings[-1] if warnings else "they could not be fitted to this data."
    return f"Value at stake needs the value models, which could not run, so revenue is used instead: {why}"


def rank_groups(
    con: duckdb.DuckDBPyConnection,
    *,
    by: Literal["revenue", "value_at_stake"] = "revenue",
    scheme: Literal["rfm", "lifecycle"] = "rfm",
    as_of: dt.date | str | None = None,
    horizon_days: int = 90,
    frame: pd.DataFrame | None = None,
) -> GroupRanking:
    """RFM segments (``scheme="rfm"``) or lifecycle stages ranked by revenue or value at stake.

    Ties go to the bigger group, then to the scheme's own order. ``frame`` reuses a ``customer_table`` already
    computed at ``as_of`` (it is not modified).
    """
    from segmentation.customers import customer_table

    if scheme not in SCHEMES:
        raise AnalysisError(f"'{scheme}' is not a grouping: use 'rfm' (segments) or 'lifecycle' (stages).")
    if by not in ("revenue", "value_at_stake"):
        raise AnalysisError(f"'{by}' is not a ranking: use 'revenue' or 'value_at_stake'.")
    if frame is None:
        frame = customer_table(con, as_of=as_of, horizon_days=horizon_days)
    column, order = SCHEMES[scheme]
    table = group_values(frame, column, order)
    fallback = model_fallback(frame) if by == "value_at_stake" else None
    used = "revenue" if fallback else by
    position = {key: i for i, key in enumerate(order)}
    table = table.assign(_order=table["group"].map(position)).sort_values(
        [used, "customers", "_order"], ascending=[False, False, True], kind="stable"
    )
    table = table.drop(columns="_order").reset_index(drop=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return GroupRanking(
        scheme,
        used,
        frame.attrs["as_of"],
        int(frame.attrs.get("horizon_days", horizon_days)),
        table[RANK_COLUMNS],
        fallback,
    )
