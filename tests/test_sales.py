"""Sales over time and average order value against a shop small enough to add up by hand, and the demo
shop against an independent pandas computation from its orders table."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from segmentation.rfm import customer_rfm
from segmentation.sales import monthly_sales, order_values, resolve_period, sales_totals
from segmentation.store import connect
from segmentation.vocabulary import AnalysisError
from tools import charts
from tools.base import ToolContext, ToolFailure
from tools.registry import run_tool

from .fixtures.shops import SHOP

# SHOP (tests/fixtures/shops.py), by hand. Q1 2024 (2024-01-01..03-31, 91 days: 31 + 29 + 31):
#   customers' purchases O2 20 + O3 20 + O4 50 + O6 40 = 130 in 4 purchases by A and B: AOV 32.50;
#   the guest's 12.00 apart; by month: Jan O2 + O4 = 70 (2 purchases, A and B), Feb O3 20 (A), Mar O6 40 (B).
# The 91 days before (2023-10-02..2023-12-31): D's 100 only; the data starts 2023-07-10, so it is covered:
#   130 is up 30% on 100.
Q1 = {"start": "2024-01-01", "end": "2024-03-31"}


@pytest.fixture
def shop(shop_from):
    return shop_from(SHOP)


def test_totals_and_the_period_before_by_hand(shop):
    totals = sales_totals(shop, **Q1)
    assert totals.to_dict("records") == [
        {"period": "current", "start": dt.date(2024, 1, 1), "end": dt.date(2024, 3, 31), "revenue": 130.0,
         "orders": 4, "customers": 2, "avg_order_value": 32.5, "guest_orders": 1, "guest_revenue": 12.0},
        {"period": "previous", "start": dt.date(2023, 10, 2), "end": dt.date(2023, 12, 31), "revenue": 100.0,
         "orders": 1, "customers": 1, "avg_order_value": 100.0, "guest_orders": 0, "guest_revenue": 0.0},
    ]  # fmt: skip


def test_default_period_is_the_last_12_months_and_needs_data_before_it_to_compare(shop):
    # 2023-07-01..2024-06-30: every purchase: O1 30 + O2 20 + O3 20 + O4 50 + O6 40 + O7 15 + O10 100 = 275
    # in 7 purchases by A, B, C, D (C's return is no purchase). The year before starts 2022-07-01, before
    # the data does: no comparison.
    assert resolve_period(shop) == (dt.date(2023, 7, 1), dt.date(2024, 6, 30))
    totals = sales_totals(shop)
    assert list(totals["period"]) == ["current"]
    assert totals.iloc[0][["revenue", "orders", "customers", "guest_orders"]].tolist() == [275.0, 7, 4, 1]


def test_group_is_its_membership_at_the_end(shop):
    # At 2024-03-31 (3 repeat customers: standard 60/120-day windows) D's last purchase is 91 days old:
    # lapsing. D bought nothing in Q1, 100.00 in the 91 days before: down 100%. Guests are in no group.
    totals = sales_totals(shop, **Q1, group="lapsing")
    assert totals[["revenue", "orders", "customers", "guest_orders"]].values.tolist() == [[0, 0, 0, 0], [100, 1, 1, 0]]
    assert totals["avg_order_value"].isna().tolist() == [True, False]


def test_monthly_by_hand(shop):
    monthly = monthly_sales(shop, **Q1)
    assert monthly.to_dict("list") == {
        "month": ["2024-01", "2024-02", "2024-03"], "revenue": [70.0, 20.0, 40.0], "orders": [2, 1, 1],
        "customers": [2, 1, 1],
    }  # fmt: skip
    # A month without a purchase is a zero, not a gap in the line.
    assert monthly_sales(shop, start="2024-04-01", end="2024-06-30")["revenue"].tolist() == [0.0, 0.0, 15.0]


def test_order_values_per_segment_by_hand(shop):
    # Segments at 2024-03-31 (A: 45 days, 3 purchases; B: 21, 2; D: 91, 1; percent_rank over 3):
    # A R3 F5 loyal, B R5 F3 potential_loyalists, D R1 F1 hibernating. All history to then:
    # A 30 + 20 + 20 = 70 in 3 (23.33), B 50 + 40 = 90 in 2 (45.00), D 100 in 1.
    table = order_values(shop, end="2024-03-31")
    bought = table[table["orders"] > 0].set_index("group")
    assert bought.to_dict("index") == {
        "loyal": {"customers": 1, "orders": 3, "revenue": 70.0, "avg_order_value": 23.33},
        "potential_loyalists": {"customers": 1, "orders": 2, "revenue": 90.0, "avg_order_value": 45.0},
        "hibernating": {"customers": 1, "orders": 1, "revenue": 100.0, "avg_order_value": 100.0},
    }
    assert len(table) == 10 and table["avg_order_value"].isna().sum() == 7  # every segment listed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"start": "last spring"}, "not a date"), ({"end": "2024-13-01"}, "not a date"),
     ({"start": "2024-05-01", "end": "2024-04-01"}, "after the end")],
    ids=["words", "no-such-month", "backwards"],
)  # fmt: skip
def test_bad_dates_are_one_sentence(shop, kwargs, match):
    with pytest.raises(AnalysisError, match=match):
        sales_totals(shop, **kwargs)


def test_tools_by_hand(imported, db):
    imported(SHOP)
    ctx = ToolContext(db_path=db)
    sales = run_tool("sales_over_time", Q1, ctx)
    assert sales.summary == (
        "4 purchases by 2 customers from 2024-01-01 to 2024-03-31 (91 days): revenue 130.00, up 30% on the 91 "
        "days before (100.00); average order 32.50; best month 2024-01 (70.00). 1 guest purchase (12.00) kept apart."
    )
    assert sales.facts["previous_revenue"] == 100.0 and len(sales.table) == 3
    # All history to the last order: 275.00 in 7 purchases: 39.29.
    value = run_tool("order_value", {"group": "loyal", "by": "lifecycle"}, ctx)
    assert value.facts["overall_avg_order_value"] == 39.29
    assert "averaged" in value.summary and "by lifecycle stage" in value.summary.lower()
    with pytest.raises(ToolFailure, match="after the end"):
        run_tool("order_value", {"start": "2024-05-01", "end": "2024-04-01"}, ctx)
    with pytest.raises(ToolFailure, match="not a date"):
        run_tool("sales_over_time", {"end": "yesterday"}, ctx)


def test_charts_show_the_numbers(shop):
    monthly = monthly_sales(shop, **Q1)
    spec = charts.sales_trend(monthly, True).to_dict()
    values = next(iter(spec["datasets"].values()))
    assert [v["date"] for v in values] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert [v["revenue"] for v in values] == [70.0, 20.0, 40.0]
    assert "only part" in " ".join(spec["title"]["subtitle"])
    table = order_values(shop, end="2024-03-31")
    spec = charts.order_value_bars(table, 43.33).to_dict()
    bars = next(v for v in spec["datasets"].values() if "group" in v[0])
    assert {v["group"] for v in bars} == {"loyal", "potential_loyalists", "hibernating"}  # no empty bars


def test_demo_agrees_with_pandas(demo_store):
    con = connect(demo_store, read_only=True)
    try:
        orders = con.execute("SELECT customer_id, order_date, net_amount FROM orders").df()
        start, end = resolve_period(con)
        totals = sales_totals(con).set_index("period")
        monthly = monthly_sales(con)
        by_segment = order_values(con, scheme="rfm").set_index("group")
        segments = customer_rfm(con)[["customer_id", "segment"]]
    finally:
        con.close()
    # A purchase is an order whose net revenue is > 0 (DESIGN.md), read here from the net, not is_purchase.
    bought = orders[orders["net_amount"] > 0].assign(day=lambda d: pd.to_datetime(d["order_date"]))

    def window(a: dt.date, b: dt.date) -> pd.DataFrame:
        return bought[(bought["day"] >= pd.Timestamp(a)) & (bought["day"] <= pd.Timestamp(b))]

    now = window(start, end)
    guests, now = now[now["customer_id"].isna()], now[now["customer_id"].notna()]
    row = totals.loc["current"]
    assert row["revenue"] == pytest.approx(now["net_amount"].sum(), abs=0.01)
    assert (row["orders"], row["customers"], row["guest_orders"]) == (len(now), now["customer_id"].nunique(),
                                                                       len(guests))  # fmt: skip
    assert row["avg_order_value"] == pytest.approx(now["net_amount"].sum() / len(now), abs=0.01)
    # The demo holds two years, so the 12 months before the last are there to compare with.
    before = window(start - (end - start) - dt.timedelta(days=1), start - dt.timedelta(days=1))
    before = before[before["customer_id"].notna()]
    assert totals.loc["previous", "revenue"] == pytest.approx(before["net_amount"].sum(), abs=0.01)
    per_month = now.groupby(now["day"].dt.strftime("%Y-%m"))["net_amount"].sum()
    assert monthly.set_index("month")["revenue"].to_dict() == pytest.approx(per_month.to_dict(), abs=0.01)
    assert monthly["orders"].sum() == len(now)
    # All history to the last order, per RFM segment at that date.
    mine = bought.merge(segments, on="customer_id").groupby("segment")["net_amount"].agg(["sum", "count"])
    for segment, expected in mine.iterrows():
        assert by_segment.loc[segment, "orders"] == expected["count"]
        assert by_segment.loc[segment, "avg_order_value"] == pytest.approx(expected["sum"] / expected["count"],
                                                                           abs=0.01)  # fmt: skip
