"""Who moved where between two dates: the transition matrix of segments or lifecycle stages.

A champion turning at-risk is the most valuable alert a shop can get, so besides the matrix this
module ranks the moves for the worse by the money at stake: what those customers spent in the year
before the later date ("14 loyal customers became at_risk since 2024-09-01; they spent 3,200.00 in the
year before"). Customers who had not bought yet at the earlier date come ``from`` ``NEW_ARRIVALS``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import duckdb
import pandas as pd

from segmentation.lifecycle import customer_lifecycle
from segmentation.outreach.persona import amount
from segmentation.rfm import customer_rfm
from segmentation.store import resolve_as_of
from segmentation.vocabulary import GROUPS, SEGMENT_KEYS, STAGES, AnalysisError


def label(key: str) -> str:
    return key.replace("_", " ")


NEW_ARRIVALS = "not_yet_a_customer"
# Best first: a move to a larger rank is a move for the worse (segmentation.vocabulary.Group.rank).
SEGMENT_RANK = {key: GROUPS[key].rank for key in SEGMENT_KEYS}
STAGE_RANK = {key: GROUPS[key].rank for key in STAGES}
MOVE_COLUMNS = ["customer_id", "from_group", "to_group", "spent_last_year"]


@dataclass
class Migration:
    scheme: str
    start: str
    end: str
    matrix: pd.DataFrame  # rows: from, columns: to, values: customers
    moves: pd.DataFrame  # MOVE_COLUMNS, one row per customer at the end date
    worsened: pd.DataFrame  # from_group, to_group, customers, spent_last_year, sentence; biggest stake first

    def as_dict(self) -> dict:
        return {
            "scheme": self.scheme,
            "start": self.start,
            "end": self.end,
            "matrix": {k: {c: int(v) for c, v in row.items()} for k, row in self.matrix.to_dict("index").items()},
            "worsened": self.worsened.to_dict("records"),
        }


def _membership(con: duckdb.DuckDBPyConnection, scheme: str, day: dt.date) -> pd.DataFrame:
    if scheme == "rfm":
        return customer_rfm(con, as_of=day)[["customer_id", "segment"]].rename(columns={"segment": "group"})
    return customer_lifecycle(con, as_of=day)[["customer_id", "lifecycle"]].rename(columns={"lifecycle": "group"})


def segment_migration(
    con: duckdb.DuckDBPyConnection,
    *,
    start: dt.date | str,
    end: dt.date | str | None = None,
    scheme: Literal["rfm", "lifecycle"] = "rfm",
) -> Migration:
    """Membership at ``start`` and ``end`` (default: the last order day), with the moves for the worse.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    start : datetime.date or str
        The earlier date.
    end : datetime.date or str, optional
        The later date; default the last order day.
    scheme : {'rfm', 'lifecycle'}, default 'rfm'
        Segments or lifecycle stages.

    Returns
    -------
    Migration
        Each customer's group at both dates, the moves between groups, and the moves for the worse.
    """
    if scheme not in ("rfm", "lifecycle"):
        raise AnalysisError(f"'{scheme}' is not a grouping: use 'rfm' (segments) or 'lifecycle' (stages).")
    end_day = resolve_as_of(con, end)
    start_day = resolve_as_of(con, start)
    if start_day >= end_day:
        raise AnalysisError(f"The start date ({start_day}) must be before the end date ({end_day}).")
    before = _membership(con, scheme, start_day).rename(columns={"group": "from_group"})
    after = _membership(con, scheme, end_day).rename(columns={"group": "to_group"})
    moves = after.merge(before, on="customer_id", how="left")
    moves["from_group"] = moves["from_group"].fillna(NEW_ARRIVALS)
    moves = moves.merge(_spend_last_year(con, end_day), on="customer_id", how="left")
    moves["spent_last_year"] = moves["spent_last_year"].fillna(0.0).round(2)
    moves = moves[MOVE_COLUMNS]

    order = list(SEGMENT_KEYS if scheme == "rfm" else STAGES)
    matrix = pd.crosstab(moves["from_group"], moves["to_group"])
    matrix = matrix.reindex(index=[*order, NEW_ARRIVALS], columns=order, fill_value=0)
    return Migration(
        scheme,
        start_day.isoformat(),
        end_day.isoformat(),
        matrix,
        moves,
        _worsened(moves, SEGMENT_RANK if scheme == "rfm" else STAGE_RANK),
    )


def _spend_last_year(con: duckdb.DuckDBPyConnection, end_day: dt.date) -> pd.DataFrame:
    return con.execute(
        """
        SELECT customer_id, sum(net_amount) AS spent_last_year FROM orders
        WHERE customer_id IS NOT NULL AND order_date <= $end AND order_date > $end - INTERVAL 365 DAY
        GROUP BY customer_id
        """,
        {"end": end_day},
    ).df()


def _worsened(moves: pd.DataFrame, rank: dict[str, int]) -> pd.DataFrame:
    known = moves[moves["from_group"] != NEW_ARRIVALS]
    worse = known[known["from_group"].map(rank) < known["to_group"].map(rank)]
    grouped = (
        worse.groupby(["from_group", "to_group"], as_index=False)
        .agg(customers=("customer_id", "count"), spent_last_year=("spent_last_year", "sum"))
        .sort_values(["spent_last_year", "customers", "from_group"], ascending=[False, False, True])
        .reset_index(drop=True)
    )
    grouped["spent_last_year"] = grouped["spent_last_year"].round(2)
    grouped["sentence"] = [
        f"{n:,} customer{'s' if n != 1 else ''} went from {label(src)} to {label(dst)}; "
        f"{'they' if n != 1 else 'this customer'} spent {amount(spent)} in the year before"
        for src, dst, n, spent in grouped[["from_group", "to_group", "customers", "spent_last_year"]].itertuples(
            index=False
        )
    ]
    return grouped
