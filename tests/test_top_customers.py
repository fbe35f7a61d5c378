"""Top customers against the small shop of test_sales (worked by hand), and the demo shop against pandas."""

from __future__ import annotations

import re

import pytest

from segmentation.customers import customer_table
from segmentation.store import connect
from tools.base import ToolArgsError, ToolContext, ToolFailure
from tools.registry import run_tool

from .fixtures.shops import SHOP

# As of the last order, 2024-06-30, spend (net of all orders: B's cancelled one is 0, C's return -10):
#   D 100, B 50 + 40 = 90, A 30 + 20 + 20 = 70, C 15 - 10 = 5; all revenue 265.
# Recency A 136, B 112, C 0, D 182; purchases A 3, B 2, C 1, D 1 (percent_rank over 4):
#   D R1 F1 hibernating, A R2 F5 cannot_lose_them, B R4 F4 loyal, C R5 F1 new_customers.
# Stages (2 repeat customers: standard 60/120-day windows): D, A lapsed; B lapsing; C new.
PEOPLE = ["Ann", "Archer", "ann@example.com", "Bob", "Baker", "bob@example.com", "Dan", "Dale", "dan@example.com"]


@pytest.fixture
def ctx(imported, db):
    imported(SHOP)
    return ToolContext(db_path=db)


def test_top_two_by_spend_by_hand(ctx):
    result = run_tool("top_customers", {"limit": 2}, ctx)
    # 100 + 90 = 190 of 265: 71.7%, said as 72%. Equal counts: the segment map's order.
    assert result.summary == (
        "Top 2 customers by spend as of 2024-06-30: 1 is loyal and 1 hibernating. Together they have spent 190.00, "
        "72% of all revenue."
    )
    table = result.table
    assert table[["rank", "customer_id", "segment", "lifecycle", "monetary"]].values.tolist() == [
        [1, "D", "hibernating", "lapsed", 100.0], [2, "B", "loyal", "lapsing", 90.0],
    ]  # fmt: skip
    assert table["email"].tolist() == ["dan@example.com", "bob@example.com"]  # the person sees who they are
    csv = result.downloads[0].content().decode("utf-8-sig")
    assert csv.count("\n") == 3 and "dan@example.com" in csv
    assert result.facts["segments"] == {"loyal": 1, "hibernating": 1} and result.facts["revenue_share"] == 0.717
    assert not [p for p in PEOPLE if p in result.summary]


def test_top_of_a_group_and_at_an_earlier_date(ctx):
    lapsed = run_tool("top_customers", {"group": "lapsed", "limit": 5}, ctx)  # only D and A: 170 of 265, 64%
    assert lapsed.summary == (
        "Top 2 lapsed customers by spend as of 2024-06-30: 1 is can't-lose-them and 1 hibernating. Together they "
        "have spent 170.00, 64% of all revenue."
    )
    # On 2024-03-31 C had not bought: D 100, B 90, A 70 (all 260). Segments then: A R3 F5 loyal, B R5 F3
    # potential_loyalists, D R1 F1 hibernating.
    earlier = run_tool("top_customers", {"as_of": "2024-03-31", "limit": 3}, ctx)
    assert earlier.table["customer_id"].tolist() == ["D", "B", "A"]
    assert earlier.summary.startswith(
        "Top 3 customers by spend as of 2024-03-31: 1 is loyal, 1 potential loyalists and 1 hibernating."
    )


def test_predicted_value_in_a_small_shop_says_why_in_one_sentence(ctx):
    result = run_tool("top_customers", {"by": "predicted_value"}, ctx)
    assert result.summary == (
        "No ranking by predicted value: predicting value needs at least 20 customers of whom 10 bought again, and "
        "this shop has 4 customers of whom 2 bought again; ranking by spend works."
    )
    assert result.table is None and result.downloads == []


def test_bad_arguments(ctx):
    with pytest.raises(ToolArgsError, match="limit"):
        run_tool("top_customers", {"limit": 1001}, ctx)
    with pytest.raises(ToolArgsError, match="'predicted_value'"):
        run_tool("top_customers", {"by": "charm"}, ctx)
    with pytest.raises(ToolFailure, match="not a date"):
        run_tool("top_customers", {"as_of": "31/31/2024"}, ctx)


def test_demo_agrees_with_pandas(demo_store):  # spend from the orders table, independently
    con = connect(demo_store, read_only=True)
    try:
        orders = con.execute("SELECT customer_id, net_amount FROM orders WHERE customer_id IS NOT NULL").df()
        frame = customer_table(con)
    finally:
        con.close()
    ctx = ToolContext(db_path=demo_store)
    result = run_tool("top_customers", {"limit": 25}, ctx)
    spend = orders.groupby("customer_id")["net_amount"].sum().round(2)
    spend = spend[spend.index.isin(frame["customer_id"])]  # customers with a purchase
    expected = spend.reset_index().sort_values(["net_amount", "customer_id"], ascending=[False, True]).head(25)
    assert result.table["customer_id"].tolist() == expected["customer_id"].tolist()
    assert result.facts["revenue"] == pytest.approx(expected["net_amount"].sum(), abs=0.01)
    assert result.facts["revenue_share"] == pytest.approx(expected["net_amount"].sum() / spend.sum(), abs=1e-4)
    segments = frame.set_index("customer_id").loc[expected["customer_id"], "segment"].value_counts().to_dict()
    assert result.facts["segments"] == segments
    said = result.summary.replace("can't-lose-them", "cannot lose them")
    for segment, n in segments.items():
        assert re.search(rf"\b{n:,} (are |is )?{segment.replace('_', ' ')}\b", said), segment
    by_value = run_tool("top_customers", {"by": "predicted_value", "limit": 10, "group": "loyal"}, ctx)
    loyal = frame[frame["segment"] == "loyal"].sort_values(["clv", "customer_id"], ascending=[False, True])
    assert by_value.table["customer_id"].tolist() == loyal["customer_id"].head(10).tolist()
    assert "predicted to spend" in by_value.summary
