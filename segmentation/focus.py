"""Which RFM segment to act on first: a score from value at stake, reach, size and urgency.

The score (0-100) of a segment with customers, in ``recommend_focus``::

    score = 100 x urgency x (0.5 x value + 0.3 x reach + 0.2 x size)

- value: the segment's value at stake, its customers' summed ``clv`` (what they are expected to spend over
  the horizon, 90 days by default; without the value models, their revenue so far), on a log scale
  against the segment with the most: ``max(0, 1 + log10(value / top value) / 3)``. The top segment gets 1,
  one with a tenth of its value 2/3, a hundredth 1/3, a thousandth or less 0. A log scale because value
  is spread over orders of magnitude (champions often hold most of a shop's), and one segment holding 70%
  of it must not make every other consideration moot; the ratio makes it independent of the currency.
- reach: customers who may be messaged (marketing consent given; everyone where the data records no
  consent), over the most reachable segment's.
- size: customers over the largest segment's.
- urgency: how much acting now matters, from ``URGENCY`` (data, not an if-chain): segments slipping away
  (cannot_lose_them, at_risk, about_to_sleep) weigh most; champions and loyal customers, who are fine,
  and hibernating ones, who are long gone, weigh least.

Empty segments score 0. Ties go to the higher value, then to ``SEGMENT_KEYS`` order: the same data always
gives the same order.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from segmentation.outreach.persona import amount
from segmentation.ranking import group_values, model_fallback
from segmentation.vocabulary import SEGMENT_KEYS

# segment -> (urgency weight 0-1, why, in words a reason can end with)
URGENCY: dict[str, tuple[float, str]] = {
    "cannot_lose_them": (1.0, "your most frequent buyers going quiet"),
    "at_risk": (1.0, "slipping away"),
    "about_to_sleep": (0.8, "drifting off"),
    "need_attention": (0.6, "could go either way"),
    "potential_loyalists": (0.5, "could become regulars"),
    "new_customers": (0.5, "a second order makes a habit"),
    "promising": (0.4, "could become regulars"),
    "hibernating": (0.3, "long gone, hard to win back"),
    "loyal": (0.3, "doing well"),
    "champions": (0.2, "doing fine"),
}
WEIGHTS = {"value": 0.5, "reach": 0.3, "size": 0.2}
DECADES_TO_ZERO = 3  # value points fall to 0 at a thousandth of the top segment's value
FOCUS_COLUMNS = [
    "rank",
    "segment",
    "customers",
    "reachable",
    "value_at_stake",
    "urgency",
    "value_points",
    "reach_points",
    "size_points",
    "score",
    "reason",
]

assert set(URGENCY) == set(SEGMENT_KEYS) and math.isclose(sum(WEIGHTS.values()), 1.0)


@dataclass
class FocusRanking:
    """Segments best first. ``table``: ``FOCUS_COLUMNS``; ``basis`` is "clv" (value at stake is predicted
    value over ``horizon_days``) or "revenue" (the models could not run: ``fallback`` says why)."""

    as_of: str
    horizon_days: int
    basis: str
    consent_recorded: bool
    table: pd.DataFrame
    fallback: str | None = None

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of,
            "horizon_days": self.horizon_days,
            "basis": self.basis,
            "consent_recorded": self.consent_recorded,
            "fallback": self.fallback,
            "segments": self.table.replace({np.nan: None}).to_dict("records"),
        }


def value_points(values: pd.Series) -> pd.Series:
    """``max(0, 1 + log10(value / top) / DECADES_TO_ZERO)`` per value; 0 for no value or when none has any."""
    top = float(values.max()) if len(values) else 0.0
    if top <= 0:
        return pd.Series(0.0, index=values.index)
    ratio = (values.clip(lower=0) / top).to_numpy(dtype=float)
    with np.errstate(divide="ignore"):
        points = 1 + np.log10(ratio) / DECADES_TO_ZERO
    return pd.Series(np.clip(np.nan_to_num(points, neginf=0.0), 0.0, 1.0), index=values.index)


def _over_max(values: pd.Series) -> pd.Series:
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else values * 0.0


def recommend_focus(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    horizon_days: int = 90,
    frame: pd.DataFrame | None = None,
) -> FocusRanking:
    """Every RFM segment scored by the formula in the module docstring, best first.

    ``frame`` reuses a ``customer_table`` already computed at ``as_of`` (it is not modified).
    """
    from segmentation.customers import customer_table

    if frame is None:
        frame = customer_table(con, as_of=as_of, horizon_days=horizon_days)
    fallback = model_fallback(frame)
    basis = "revenue" if fallback else "clv"
    table = group_values(frame, "segment", SEGMENT_KEYS).rename(columns={"group": "segment"})
    if fallback:
        table["value_at_stake"] = table["revenue"]
    consent = con.execute("SELECT customer_id, marketing_consent FROM customers").df()
    recorded = bool(consent["marketing_consent"].notna().any())
    segments = frame[["customer_id", "segment"]]
    if recorded:
        agreed = set(consent.loc[consent["marketing_consent"].eq(True), "customer_id"])
        segments = segments[segments["customer_id"].isin(agreed)]
    reachable = segments.groupby("segment")["customer_id"].count()
    table["reachable"] = table["segment"].map(reachable).fillna(0).astype(int)
    table["urgency"] = table["segment"].map(lambda s: URGENCY[s][0])
    table["value_points"] = value_points(table["value_at_stake"]).round(3)
    table["reach_points"] = _over_max(table["reachable"]).round(3)
    table["size_points"] = _over_max(table["customers"]).round(3)
    blend = (
        WEIGHTS["value"] * table["value_points"]
        + WEIGHTS["reach"] * table["reach_points"]
        + WEIGHTS["size"] * table["size_points"]
    )
    table["score"] = (100 * table["urgency"] * blend).where(table["customers"] > 0, 0.0).round(1)
    table["reason"] = [
        _reason(row, basis, int(frame.attrs.get("horizon_days", horizon_days)), recorded)
        for row in table.itertuples(index=False)
    ]
    position = {key: i for i, key in enumerate(SEGMENT_KEYS)}
    table = (
        table.assign(_order=table["segment"].map(position))
        .sort_values(["score", "value_at_stake", "_order"], ascending=[False, False, True], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    table.insert(0, "rank", range(1, len(table) + 1))
    return FocusRanking(
        frame.attrs["as_of"],
        int(frame.attrs.get("horizon_days", horizon_days)),
        basis,
        recorded,
        table[FOCUS_COLUMNS],
        fallback,
    )


def _reason(row, basis: str, horizon: int, recorded: bool) -> str:
    """'at risk: 62 customers, 42 reachable, 75.11 expected over 90 days, slipping away'."""
    if not row.customers:
        return f"{row.segment.replace('_', ' ')}: no customers"
    worth = (
        f"{amount(row.value_at_stake)} expected over {horizon} days"
        if basis == "clv"
        else f"{amount(row.value_at_stake)} spent so far"
    )
    reach = f"{row.reachable:,} reachable" if recorded else "consent not recorded"
    return (
        f"{row.segment.replace('_', ' ')}: {row.customers:,} customer{'s' if row.customers != 1 else ''}, "
        f"{reach}, {worth}, {URGENCY[row.segment][1]}"
    )


def top_reasons(ranking: FocusRanking, n: int = 3) -> list[str]:
    """The reasons of the first ``n`` segments with customers, best first."""
    rows = ranking.table[ranking.table["customers"] > 0].head(n)
    return rows["reason"].tolist()
