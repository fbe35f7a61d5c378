"""Who joined a group between two dates: the hand-scored RFM shop (see test_migration), and the demo shop
against the set difference of two customer tables."""

from __future__ import annotations

import pytest

from segmentation.customers import customer_table
from segmentation.entrants import ENTRANT_COLUMNS, group_entrants
from segmentation.migration import NEW_ARRIVALS
from segmentation.vocabulary import AnalysisError
from tools.base import ToolArgsError, ToolContext, ToolFailure
from tools.registry import run_tool

from .fixtures.shops import ORDERS


@pytest.fixture
def shop(shop_from):
    return shop_from(ORDERS)


def test_loyal_entrants_by_hand(shop):
    e = group_entrants(shop, "loyal", start="2024-01-01")
    # On 2024-01-01 E was a potential loyalist and B had not bought yet; on 2024-03-31 both are loyal.
    # Spent in the year to 2024-03-31: E 25 x 3 - 10 = 65, B 10 x 4 (the cancelled 50 counts 0) = 40.
    assert e.entrants.columns.tolist() == ENTRANT_COLUMNS
    assert e.entrants.values.tolist() == [
        ["E", "potential_loyalists", 59, 3, 65.0, 65.0],
        ["B", NEW_ARRIVALS, 1, 4, 40.0, 40.0],
    ]
    assert e.origins.values.tolist() == [[NEW_ARRIVALS, 1, 0.5], ["potential_loyalists", 1, 0.5]]
    assert (e.scheme, e.start, e.end, e.in_group_at_end, e.stayed, e.left) == (
        "rfm",
        "2024-01-01",
        "2024-03-31",
        2,
        0,
        0,
    )


def test_at_risk_keeps_those_already_in_it_out(shop):
    e = group_entrants(shop, "at_risk", start="2024-01-01")
    # I was at_risk on both dates; G came from need_attention (last bought 2023-11-15: 137 days, 2 x 12.00).
    assert e.entrants["customer_id"].tolist() == ["G"] and e.entrants["from_group"].tolist() == ["need_attention"]
    assert (e.in_group_at_end, e.stayed, e.left) == (2, 1, 0)


def test_lapsed_entrants_with_each_dates_thresholds(shop):
    e = group_entrants(shop, "lapsed", start="2024-01-01")
    # Standard thresholds on both dates (fewer than 10 repeat buyers): lapsing after 60 days, lapsed after 120.
    # 2024-01-01: E active (0 days), F new (31), G active (47), H lapsed (214), I lapsed (122).
    # 2024-03-31: F (121), G (137), H, I lapsed. F and G are the entrants; H and I stayed.
    assert e.scheme == "lifecycle"
    assert e.entrants[["customer_id", "from_group", "spent_last_year"]].values.tolist() == [
        ["F", "new", 200.0],
        ["G", "active", 24.0],
    ]
    assert (e.in_group_at_end, e.stayed, e.left) == (4, 2, 0)


def test_tool_summary_counts_origins_and_rule(imported, db):
    imported(ORDERS)
    result = run_tool("group_entrants", {"group": "lapsed", "start": "2024-01-01"}, ToolContext(db_path=db))
    assert result.summary.startswith(
        "2 customers became lapsed between 2024-01-01 and 2024-03-31 (no order in the last 120 days"
    )
    assert "1 from active (50%); 1 from new (50%)" in result.summary
    assert "Together they spent 224.00 in the year before 2024-03-31." in result.summary
    assert (
        "On 2024-03-31 4 are lapsed (2 already were on 2024-01-01); 0 who were on 2024-01-01 no longer are."
        in result.summary
    )
    assert result.facts["count"] == 2 and result.facts["origins"][0]["from_group"] == "active"
    assert result.table["customer_id"].tolist() == ["F", "G"] and "came_from" in result.table.columns
    assert result.downloads[0].file_name == "new_lapsed_customers.csv"
    assert result.downloads[0].content().decode("utf-8-sig").count("\n") == 3


def test_nobody_joined(imported, db):
    imported(ORDERS)
    result = run_tool("group_entrants", {"group": "cannot_lose_them", "start": "2024-01-01"}, ToolContext(db_path=db))
    assert result.summary.startswith("0 customers joined the can't-lose-them segment between 2024-01-01 and ")
    assert result.chart is None and result.facts["count"] == 0


def test_bad_arguments(shop):
    with pytest.raises(AnalysisError, match="must be before"):
        group_entrants(shop, "lapsed", start="2024-03-31", end="2024-01-01")
    with pytest.raises(AnalysisError, match="champions, loyal"):
        group_entrants(shop, "cluster_1", start="2024-01-01")


def test_bad_tool_arguments(imported, db):
    imported(ORDERS)
    ctx = ToolContext(db_path=db)
    with pytest.raises(ToolArgsError, match="'lapsed'"):
        run_tool("group_entrants", {"group": "gone", "start": "2024-01-01"}, ctx)
    with pytest.raises(ToolFailure, match="not a date"):
        run_tool("group_entrants", {"group": "lapsed", "start": "last spring"}, ctx)


@pytest.fixture(scope="module")
def demo(demo_shops, tmp_path_factory) -> ToolContext:
    return ToolContext(db_path=demo_shops.copy(tmp_path_factory.mktemp("entrants"), customers=600, seed=7))


@pytest.mark.parametrize(
    ("group", "column"),
    [("lapsed", "lifecycle"), ("at_risk", "segment"), ("champions", "segment"), ("lapsing", "lifecycle")],
)
def test_demo_entrants_are_the_set_difference_of_two_customer_tables(demo, group, column):
    with demo.read() as con:
        end = customer_table(con)
        start_day = "2026-08-20"
        start = customer_table(con, as_of=start_day)
        e = group_entrants(con, group, start=start_day)
        people = dict(con.execute("SELECT customer_id, email FROM customers").fetchall())
    now = set(end.loc[end[column] == group, "customer_id"])
    before = set(start.loc[start[column] == group, "customer_id"])
    assert set(e.entrants["customer_id"]) == now - before
    assert (e.in_group_at_end, e.stayed, e.left) == (len(now), len(now & before), len(before - now))
    was = dict(zip(start["customer_id"], start[column], strict=True))
    assert e.entrants["from_group"].tolist() == [was.get(c, NEW_ARRIVALS) for c in e.entrants["customer_id"]]
    result = run_tool("group_entrants", {"group": group, "start": start_day}, demo)
    n = len(now - before)
    assert result.summary.startswith(f"{n:,} customers")
    assert "email" in result.table.columns and result.table["email"].notna().all()  # names on screen only
    assert not any(people[c] in result.summary for c in e.entrants["customer_id"] if people.get(c))
    assert "@" not in result.summary


def test_new_customers_in_a_period_are_first_orders(imported, db):
    """'How many new customers did I get?': first purchases in the period, by hand: A (5 Jan), B (10 Jan),
    D (1 Feb), C (29 Mar) and J (31 Mar, 20 bought less 10 returned). Not E, F, G, H, I (first bought in 2023),
    L (a return only: no purchase) or the guest K."""
    imported(ORDERS)
    result = run_tool("group_entrants", {"group": "new", "start": "2024-01-01"}, ToolContext(db_path=db))
    assert result.facts["first_orders"] == 5
    assert result.summary.startswith(
        "5 customers placed their first order between 2024-01-01 and 2024-03-31. As a lifecycle stage: "
    )
    lapsed = run_tool("group_entrants", {"group": "lapsed", "start": "2024-01-01"}, ToolContext(db_path=db))
    assert "first_orders" not in lapsed.facts
