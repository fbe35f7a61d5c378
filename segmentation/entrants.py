"""Who joined a group between two dates, and where they came from ("who went lapsed in the last 3 months").

Built on ``migration.segment_migration``: an entrant is a customer in ``group`` at ``end`` who was not in it
at ``start``, each date with its own scores and lifecycle thresholds (as the migration matrix has them).
A customer with no purchase by ``start`` comes from ``migration.NEW_ARRIVALS``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import duckdb
import pandas as pd

from segmentation.migration import segment_migration
from segmentation.rfm import customer_rfm
from segmentation.vocabulary import SEGMENT_KEYS, STAGES, AnalysisError

ENTRANT_COLUMNS = ["customer_id", "from_group", "recency_days", "frequency", "monetary", "spent_last_year"]
ORIGIN_COLUMNS = ["from_group", "customers", "share"]


@dataclass
class Entrants:
    """``entrants``: ``ENTRANT_COLUMNS`` (recency, frequency and monetary at ``end``), most spent in the last
    year first; ``origins``: ``ORIGIN_COLUMNS``, biggest first. ``in_group_at_end`` counts everyone in the
    group at ``end``, ``stayed`` those in it at both dates, ``left`` those in it at ``start`` only."""

    group: str
    scheme: str
    start: str
    end: str
    entrants: pd.DataFrame
    origins: pd.DataFrame
    in_group_at_end: int
    stayed: int
    left: int

    def as_dict(self) -> dict:
        return {
            "group": self.group,
            "scheme": self.scheme,
            "start": self.start,
            "end": self.end,
            "entrants": len(self.entrants),
            "in_group_at_end": self.in_group_at_end,
            "stayed": self.stayed,
            "left": self.left,
            "origins": self.origins.to_dict("records"),
        }


def group_entrants(
    con: duckdb.DuckDBPyConnection, group: str, *, start: dt.date | str, end: dt.date | str | None = None
) -> Entrants:
    """Customers in ``group`` (an RFM segment or lifecycle stage) at ``end`` who were not at ``start``."""
    scheme: Literal["rfm", "lifecycle"]
    if group in SEGMENT_KEYS:
        scheme = "rfm"
    elif group in STAGES:
        scheme = "lifecycle"
    else:
        raise AnalysisError(f"'{group}' is not a segment: use one of {', '.join(SEGMENT_KEYS + STAGES)}.")
    moves = segment_migration(con, start=start, end=end, scheme=scheme)
    now, before = moves.moves["to_group"] == group, moves.moves["from_group"] == group
    joined = moves.moves[now & ~before]
    at_end = customer_rfm(con, as_of=moves.end)[["customer_id", "recency_days", "frequency", "monetary"]]
    entrants = joined.merge(at_end, on="customer_id", how="left")[ENTRANT_COLUMNS]
    entrants = entrants.sort_values(["spent_last_year", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    origins = entrants.groupby("from_group", as_index=False).agg(customers=("customer_id", "count"))
    origins["share"] = (origins["customers"] / max(len(entrants), 1)).round(4)
    origins = origins.sort_values(["customers", "from_group"], ascending=[False, True]).reset_index(drop=True)
    return Entrants(
        group,
        scheme,
        moves.start,
        moves.end,
        entrants,
        origins[ORIGIN_COLUMNS],
        int(now.sum()),
        int((now & before).sum()),
        int((before & ~now).sum()),
    )
