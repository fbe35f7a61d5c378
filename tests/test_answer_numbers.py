"""Numbers the assistant's answers quote, on small shops computed by hand (real DuckDB files, through the
tools as the agent calls them): purchases beside the revenue they make, consent only where the file has it,
"more" counting values, an 'other' row counting people, products where there are no categories, and no
chance-still-active figure where the model sees nobody leave."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

import tools.registry  # noqa: F401  (registers the tools)
from segmentation.breakdown import breakdown
from segmentation.store import connect
from tools.base import ToolArgsError, ToolContext, run_tool

from .conftest import write_csv
from .fixtures.shops import TINY

# Two customers and three guest orders. A: orders 1 and 2 (10 + 20), B: order 3 (5): 3 purchases, 35.00.
# Guests: orders 4 (7) and 5 (3) are purchases; order 6 is a return of 4 on its own: 3 guest orders,
# 2 guest purchases, guest net revenue 7 + 3 - 4 = 6.00.
GUESTS = """
Order ID,Customer ID,Order Date,Amount
1,A,2024-01-01,10
2,A,2024-01-05,20
3,B,2024-01-03,5
4,,2024-01-04,7
5,,2024-01-06,3
6,,2024-01-06,-4
"""


def _products_shop() -> str:
    """Customers A, B and C each buy all 30 products, 'Item 01' (1.00) to 'Item 30' (30.00): Items 1-15 on
    2024-03-01 and 16-30 on 2024-03-10. No categories, cities or consent. Each product: 3 customers, revenue
    3 x its price; all products 3 x 465 = 1,395.00; Items 1-10 (the tail after the top 20) 3 x 55 = 165.00."""
    lines = ["Customer ID,Order Date,Product,Amount"]
    for customer in "ABC":
        for k in range(1, 31):
            lines.append(f"{customer},{'2024-03-01' if k <= 15 else '2024-03-10'},Item {k:02d},{k}")
    return "\n".join(lines) + "\n"


def _shop(tmp_path, text: str, name: str = "shop") -> ToolContext:
    from segmentation.importing.ingest import import_file

    db = tmp_path / f"{name}.duckdb"
    import_file(db, write_csv(tmp_path / f"{name}.csv", text))
    return ToolContext(db_path=db)


@pytest.fixture(scope="module")
def products(tmp_path_factory) -> ToolContext:
    return _shop(tmp_path_factory.mktemp("products"), _products_shop(), "products")


def _chart_rows(result) -> list[dict]:
    [rows] = list(result.chart.to_dict()["datasets"].values())
    return rows


# 1. The overview: the customers' purchases beside their revenue; guests on their own.


def test_overview_counts_the_customers_purchases_and_the_guests_apart(tmp_path):
    result = run_tool("data_overview", {}, _shop(tmp_path, GUESTS))
    assert "2 customers made 3 purchases, revenue 35.00." in result.summary
    assert "2 guest purchases (3 guest orders in all, 1 of them netting zero or less)" in result.summary
    assert "revenue 6.00" in result.summary
    assert "5 purchases" not in result.summary  # the old count: guests' purchases beside customers' revenue
    facts = result.facts
    assert (facts["customers"], facts["purchases"], facts["revenue"]) == (2, 3, 35.0)
    assert (facts["guest_orders"], facts["guest_purchases"], facts["guest_revenue"]) == (3, 2, 6.0)


# 2. Consent: never "0 agreed" when the file does not record it.


def test_no_consent_column_is_said_as_not_recorded_never_zero(products):
    result = run_tool("list_customers", {"group": "active"}, products)
    assert result.facts["count"] == 3
    assert "consent is not recorded in your file" in result.summary.lower()
    assert not re.search(r"\d+ of them agreed", result.summary)  # before: "0 of them agreed to marketing."
    assert result.facts["consented"] is None


def test_partly_recorded_consent_counts_only_recorded_choices(tmp_path):
    # TINY on 2024-01-08: hibernating P2 (no answer) and P3 ("no"): 0 agreed, 1 of the 2 has a choice.
    result = run_tool("list_customers", {"group": "hibernating"}, _shop(tmp_path, TINY))
    assert result.facts["count"] == 2
    assert "0 of them agreed to marketing (1 of the 2 have a choice recorded)." in result.summary
    assert result.facts["consented"] == 0


# 3. segment_by: "more" counts the values not named; `top` names as many as asked.


def test_more_counts_the_values_not_named_not_the_rows(products):
    result = run_tool("segment_by", {"attribute": "product"}, products)
    named = re.findall(r"Item \d\d", result.summary)
    assert named == ["Item 30", "Item 29", "Item 28", "Item 27", "Item 26"]
    assert result.summary.endswith("and 25 more products.")  # 30 products, 5 named: not 21 rows - 5 = 16
    assert "3 customers, 30 products" in result.summary


@pytest.mark.parametrize("top", [10, 25])
def test_top_names_that_many_and_the_chart_shows_at_least_that_many(products, top):
    result = run_tool("segment_by", {"attribute": "product", "top": top}, products)
    named = re.findall(r"Item \d\d", result.summary)
    assert named == [f"Item {k:02d}" for k in range(30, 30 - top, -1)]
    assert result.summary.endswith(f"and {30 - top} more products.")
    drawn = [r["value"] for r in _chart_rows(result) if r["value"] != "other"]
    assert len(drawn) >= top and drawn[:top] == named


def test_top_is_bounded():
    with pytest.raises(ToolArgsError, match="top"):
        run_tool("segment_by", {"attribute": "product", "top": 51}, ToolContext())


# 4. The 'other' row counts distinct customers, and the chart drops nothing silently.


def test_other_counts_distinct_customers_and_the_chart_adds_up(products):
    result = run_tool("segment_by", {"attribute": "product"}, products)
    table = result.table
    other = table[table["value"] == "other"].iloc[0]
    # Items 01-10 fold into 'other': 3 customers bought them (summing the rows said 30), 165.00 of 1,395.00.
    assert (other["customers"], other["customer_share"], other["revenue"]) == (3, 1.0, 165.0)
    assert other["revenue_share"] == round(165 / 1395, 4)
    assert other["orders"] == 3  # each customer's 2024-03-01 order, once (summing the rows said 30)
    assert (table["customer_share"] == 1.0).all()  # every customer bought every product
    rows = _chart_rows(result)
    assert len(rows) == 21  # all 20 products and 'other': before, 14 and 'other' (ranks 15-20 dropped)
    assert sum(r["revenue_share"] for r in rows) == pytest.approx(1.0, abs=1e-3)
    assert max(r["customers"] for r in rows) <= 3


def test_a_groups_other_and_shares_are_of_the_group(products):
    con = connect(products.db_path, read_only=True)
    try:
        frame = breakdown(con, "product", customer_ids=["A", "B"])
    finally:
        con.close()
    assert frame.attrs["customers"] == 2 and frame.attrs["values"] == 30 and frame.attrs["folded"] == 10
    other = frame[frame["value"] == "other"].iloc[0]
    assert (other["customers"], other["customer_share"], other["revenue"]) == (2, 1.0, 110.0)  # 2 x 55
    assert frame["revenue_share"].sum() == pytest.approx(1.0, abs=1e-3)


# 5. No categories: the top products, said as such.


def test_no_categories_falls_back_to_products(products):
    result = run_tool("describe_segment", {"group": "active"}, products)
    assert "n/a" not in result.summary
    # All three bought every product (share 100%, lift 1): the order is by the group's spend, Item 30 first.
    assert (
        "No categories are recorded for their purchases, so top products instead (share buying, lift): "
        "Item 30 (100%, 1.0x), Item 29 (100%, 1.0x), Item 28 (100%, 1.0x)."
    ) in result.summary


# 6. P(alive) where the model sees no one leave.


def _loyal_shop() -> str:
    """40 customers who each buy every 5-19 days from their first visit to the last day: nobody has left."""
    rng = np.random.default_rng(1)
    lines, end = ["Customer ID,Order Date,Amount"], dt.date(2024, 6, 30)
    for i in range(40):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 60)))
        gap, mean = int(rng.integers(5, 20)), rng.gamma(3, 5.0)
        while day <= end:
            lines.append(f"C{i:02d},{day},{rng.gamma(4, mean / 4):.2f}")
            day += dt.timedelta(days=gap)
    return "\n".join(lines) + "\n"


def test_no_churn_seen_means_no_chance_still_active_quoted(tmp_path):
    result = run_tool("predict_value", {}, _shop(tmp_path, _loyal_shop()))
    assert "the model sees no sign of customers leaving in this data" in result.summary
    assert "chance still active" not in result.summary  # before: "median chance still active 100%"
    assert result.facts["churn_seen"] is False and result.facts["median_p_alive"] is None
    spec = result.chart.to_dict()
    assert len(spec["hconcat"]) == 1  # the spend panel only: a P(alive) panel would be one bar at 100%
    assert "no sign of customers leaving" in " ".join(spec["title"]["subtitle"])


@pytest.fixture(scope="module")
def demo(demo_shops, tmp_path_factory) -> ToolContext:
    return ToolContext(db_path=demo_shops.copy(tmp_path_factory.mktemp("demo"), customers=800, seed=3))


def test_where_the_model_sees_churn_the_chance_is_still_quoted(demo):
    result = run_tool("predict_value", {"group": "hibernating"}, demo)
    assert result.facts["churn_seen"] is True
    assert re.search(r"median chance still active \d+%", result.summary)
    assert f"{result.facts['median_p_alive']:.0%}" in result.summary
    assert len(result.chart.to_dict()["hconcat"]) == 2
