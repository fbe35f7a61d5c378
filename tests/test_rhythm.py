"""Purchase rhythm against a shop small enough to work out by hand, and the demo shop against pandas."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from segmentation.lifecycle import typical_gap
from segmentation.rfm import customer_rfm
from segmentation.rhythm import purchase_rhythm, usual_gaps
from segmentation.store import connect, resolve_as_of
from segmentation.vocabulary import AnalysisError
from tools import charts
from tools.base import ToolArgsError, ToolContext
from tools.registry import run_tool

# As of 2024-03-31 (the guests' last order). Usual gaps (median days between distinct purchase days):
#   A: Jan 1, Jan 11 (two orders, one day), Jan 31 -> gaps 10, 20 -> 15
#   B: Jan 1, Jan 8, Jan 15, Mar 15 -> gaps 7, 7, 60 -> 7
#   C: Dec 1, Dec 31 -> 30
#   D: one purchase; E: one purchase and a return (no purchase); F: two orders on one day -> no gap.
# The shop: 6 customers, 3 repeat, typical gap median(15, 7, 30) = 15. Guests have no gaps.
SHOP = """
Order ID,Customer ID,Order Date,Quantity,Unit Price,Status
A1,A,2024-01-01,1,10,paid
A2,A,2024-01-11,1,10,paid
A3,A,2024-01-11,1,5,paid
A4,A,2024-01-31,1,10,paid
B1,B,2024-01-01,1,10,paid
B2,B,2024-01-08,1,10,paid
B3,B,2024-01-15,1,10,paid
B4,B,2024-03-15,1,10,paid
C1,C,2023-12-01,1,10,paid
C2,C,2023-12-31,1,10,paid
D1,D,2024-03-20,1,10,paid
E1,E,2024-01-05,1,10,paid
E2,E,2024-02-05,-1,10,paid
F1,F,2024-01-10,1,10,paid
F2,F,2024-01-10,1,10,paid
G1,,2024-02-01,1,10,paid
G2,,2024-03-31,1,10,paid
"""
NAN = float("nan")


@pytest.fixture
def shop(shop_from):
    return shop_from(SHOP)


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [(g, c, r, None if math.isnan(t) else t) for g, c, r, t in frame.itertuples(index=False)]


def test_usual_gaps_by_hand(shop):
    gaps = usual_gaps(shop)
    assert dict(zip(gaps["customer_id"], gaps["usual_gap_days"].fillna(-1), strict=True)) == {
        "A": 15.0, "B": 7.0, "C": 30.0, "D": -1, "E": -1, "F": -1,
    }  # fmt: skip


def test_rfm_rhythm_by_hand(shop):
    # Recency (days to 2024-03-31): C 91, E 86, F 81, A 60, B 16, D 11 -> R 1, 2, 3, 4, 5, 5.
    # Purchases: D 1, E 1, C 2, F 2, A 4, B 4 -> F 1, 1, 3, 3, 5, 5 (percent_rank over 6).
    # A R4 F5 loyal, B R5 F5 champions, C R1 F3 at_risk, D R5 F1 new_customers, E R2 F1 hibernating,
    # F R3 F3 need_attention.
    assert _rows(purchase_rhythm(shop)) == [
        ("champions", 1, 1, 7.0), ("loyal", 1, 1, 15.0), ("potential_loyalists", 0, 0, None),
        ("new_customers", 1, 0, None), ("promising", 0, 0, None), ("need_attention", 1, 0, None),
        ("about_to_sleep", 0, 0, None), ("at_risk", 1, 1, 30.0), ("cannot_lose_them", 0, 0, None),
        ("hibernating", 1, 0, None), ("all", 6, 3, 15.0),
    ]  # fmt: skip


def test_lifecycle_rhythm_by_hand(shop):
    # 3 repeat customers: standard windows, lapsing after 60 days, lapsed after 120. A (60 days, 4 purchases)
    # and B (16) active: median(15, 7) = 11; C (91), E (86), F (81) lapsing, only C repeat: 30; D new.
    assert _rows(purchase_rhythm(shop, scheme="lifecycle")) == [
        ("new", 1, 0, None), ("active", 2, 2, 11.0), ("lapsing", 3, 1, 30.0), ("lapsed", 0, 0, None),
        ("all", 6, 3, 15.0),
    ]  # fmt: skip


def test_an_earlier_date_sees_only_what_was_bought_by_then(shop):
    # On 2024-01-10: A (Jan 1) and B (Jan 1, Jan 8: gap 7), C (gap 30), E and F: repeat B and C, median 18.5.
    table = purchase_rhythm(shop, scheme="lifecycle", as_of="2024-01-10")
    assert _rows(table)[-1] == ("all", 5, 2, 18.5)


def test_bad_input_is_one_sentence(shop):
    with pytest.raises(AnalysisError, match="not a date"):
        purchase_rhythm(shop, as_of="Tuesday")
    with pytest.raises(AnalysisError, match="rfm or lifecycle"):
        purchase_rhythm(shop, scheme="zodiac")  # type: ignore[arg-type]


def test_tool_by_hand(imported, db):
    imported(SHOP)
    ctx = ToolContext(db_path=db)
    result = run_tool("purchase_rhythm", {"scheme": "lifecycle"}, ctx)
    assert result.summary == (
        "3 of your 6 customers bought on more than one day in the last year; typically they come back every 15 "
        "days (the median of each one's median gap in that year, as of 2024-03-31). By lifecycle stage, most "
        "frequent first: active 11 days (2 repeat); lapsing 30 days (1 repeat). No repeat customers yet in: new."
    )
    one = run_tool("purchase_rhythm", {"group": "champions"}, ctx)  # a segment: the RFM scheme, whatever asked
    assert one.summary.endswith("Champions: every 7 days, from 1 repeat customer of 1.")
    assert list(one.table["group"]) == ["champions", "all"] and one.facts["typical_gap_days"] == 15.0
    with pytest.raises(ToolArgsError, match="'lifecycle'"):
        run_tool("purchase_rhythm", {"scheme": "weekly"}, ctx)


def test_chart_has_a_bar_per_group_with_a_gap_and_the_shop_as_a_line(shop):
    spec = charts.rhythm_bars(purchase_rhythm(shop)).to_dict()
    data = list(spec["datasets"].values())
    bars = next(v for v in data if "group" in v[0])
    assert [v["group"] for v in bars] == ["champions", "loyal", "at_risk"]
    assert next(v for v in data if "group" not in v[0]) == [{"typical_gap_days": 15.0}]


def test_demo_agrees_with_pandas(demo_store):  # an independent computation from the orders table
    con = connect(demo_store, read_only=True)
    try:
        day = resolve_as_of(con, None)
        orders = con.execute("SELECT customer_id, order_date, net_amount FROM orders").df()
        segments = customer_rfm(con)[["customer_id", "segment"]]
        table = purchase_rhythm(con).set_index("group")
        shop_gap = typical_gap(con, day)
    finally:
        con.close()
    bought = orders[(orders["net_amount"] > 0) & orders["customer_id"].notna()]
    days = bought[["customer_id", "order_date"]].drop_duplicates().sort_values(["customer_id", "order_date"])
    days["gap"] = pd.to_datetime(days["order_date"]).groupby(days["customer_id"]).diff().dt.days
    # the usual gap's year: both purchase days within 365 days before the as-of date
    start = pd.Timestamp(day) - pd.Timedelta(days=365)
    days.loc[pd.to_datetime(days["order_date"]) - pd.to_timedelta(days["gap"], unit="D") < start, "gap"] = None
    usual = days.groupby("customer_id")["gap"].median().rename("usual").reset_index().merge(segments, on="customer_id")
    expected = usual.groupby("segment")["usual"].agg(["median", "count", "size"])
    for segment, row in expected.iterrows():
        assert table.loc[segment, "customers"] == row["size"]
        assert table.loc[segment, "repeat_customers"] == row["count"]
        if row["count"]:
            assert table.loc[segment, "typical_gap_days"] == pytest.approx(row["median"])
    assert table.loc["all", "typical_gap_days"] == pytest.approx(usual["usual"].median())
    assert (table.loc["all", "typical_gap_days"], table.loc["all", "repeat_customers"]) == shop_gap
