"""A cancellation or return filed as an order of its own undoes the order it cancels (DESIGN.md: Revenue).

Small files with every net worked out by hand, then Online Retail against an independent pandas loop
(``retail_by_hand``) and the issue's figures.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from segmentation.importing.ingest import import_file
from segmentation.rfm import customer_rfm
from segmentation.store import connect, rebuild_orders

from .conftest import ONLINE_RETAIL, write_csv
from .retail_by_hand import netted_orders, read_lines

HEAD = "Order ID,Customer ID,Order Date,Product,Quantity,Unit Price\n"
ORDERS = "SELECT customer_id, order_id, order_date::VARCHAR, net_amount, is_purchase FROM orders ORDER BY ALL"


def _orders(db) -> list[tuple]:
    """The orders as imported, checked to be the same when rebuilt from the store's lines (the import builds
    them from its own copy of the rows when the store holds one file)."""
    con = connect(db)
    try:
        built = con.execute(ORDERS).fetchall()
        rebuild_orders(con)
        assert con.execute(ORDERS).fetchall() == built
    finally:
        con.close()
    return built


CASES = {
    # The 5 returned units match order 1's line exactly: it is undone, though order 2 is later.
    "exact quantity first": (
        """
        1,A,2024-03-01 09:00:00,Bread,5,2.00
        2,A,2024-03-02 09:00:00,Bread,3,2.00
        C3,A,2024-03-04 09:00:00,Bread,-5,2.00
        """,
        [
            ("A", "1", "2024-03-01", 0.0, False),
            ("A", "2", "2024-03-02", 6.0, True),
            ("A", "C3", "2024-03-04", 0.0, False),
        ],
        (1, 0, 0),
    ),
    # No line of 6: the latest earlier line gives its 4, the one before it the other 2.
    "latest first, split": (
        """
        1,A,2024-03-01 09:00:00,Bread,10,2.00
        2,A,2024-03-02 09:00:00,Bread,4,2.00
        C3,A,2024-03-04 09:00:00,Bread,-6,2.00
        """,
        [
            ("A", "1", "2024-03-01", 16.0, True),
            ("A", "2", "2024-03-02", 0.0, False),
            ("A", "C3", "2024-03-04", 0.0, False),
        ],
        (1, 1, 0),
    ),
    # 12 returned against a 10-unit line: split, never capped silently; the 2 no line can take stay a
    # return on their own date.
    "more than the line holds": (
        """
        1,A,2024-03-01 09:00:00,Bread,10,2.00
        C2,A,2024-03-03 09:00:00,Bread,-12,2.00
        """,
        [("A", "1", "2024-03-01", 0.0, False), ("A", "C2", "2024-03-03", -4.0, False)],
        (1, 0, 0),
    ),
    # Another product, another customer's purchase, a purchase made after the return: nothing to undo.
    "nothing earlier to undo": (
        """
        1,A,2024-03-01 09:00:00,Bread,2,2.00
        2,B,2024-03-01 09:00:00,Cake,1,10.00
        C3,A,2024-03-02 09:00:00,Cake,-1,10.00
        C4,B,2024-03-02 09:00:00,Tea,-1,3.00
        5,B,2024-03-05 09:00:00,Tea,1,3.00
        """,
        [
            ("A", "1", "2024-03-01", 4.0, True),
            ("A", "C3", "2024-03-02", -10.0, False),
            ("B", "2", "2024-03-01", 10.0, True),
            ("B", "5", "2024-03-05", 3.0, True),
            ("B", "C4", "2024-03-02", -3.0, False),
        ],
        (0, 0, 2),
    ),
    # Each return sees what the earlier ones left: the second cannot undo order 2 again.
    "returns in turn": (
        """
        1,A,2024-03-01 09:00:00,Bread,2,2.00
        2,A,2024-03-02 09:00:00,Bread,2,2.00
        C3,A,2024-03-03 09:00:00,Bread,-2,2.00
        C4,A,2024-03-04 09:00:00,Bread,-2,2.00
        """,
        [
            ("A", "1", "2024-03-01", 0.0, False),
            ("A", "2", "2024-03-02", 0.0, False),
            ("A", "C3", "2024-03-03", 0.0, False),
            ("A", "C4", "2024-03-04", 0.0, False),
        ],
        (2, 0, 0),
    ),
    # Cancelled the same minute it was placed (customer 16446's case): earlier or equal counts.
    "same time": (
        """
        1,A,2024-03-01 09:00:00,Bread,1,2.90
        2,A,2024-03-09 09:15:00,Paper craft,80995,2.08
        C3,A,2024-03-09 09:15:00,Paper craft,-80995,2.08
        """,
        [
            ("A", "1", "2024-03-01", 2.9, True),
            ("A", "2", "2024-03-09", 0.0, False),
            ("A", "C3", "2024-03-09", 0.0, False),
        ],
        (1, 0, 0),
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_return_undoes_the_order_it_cancels(imported, db, case):
    text, expected, (fully, partly, unmatched) = CASES[case]
    report = imported(HEAD + text.replace("        ", ""))
    assert _orders(db) == expected
    assert (report.orders_fully_undone, report.orders_partly_undone, report.return_lines_unmatched) == (
        fully,
        partly,
        unmatched,
    )


def test_a_return_inside_a_buying_order_and_a_cancelled_order_stay_as_they_are(imported, db):
    # Order 2 buys and returns in one: netted within it already. Order 3 is cancelled by its status (a
    # shop's export): it counts 0 and undoes nothing.
    report = imported(
        """
        Order ID,Customer ID,Order Date,Product,Quantity,Unit Price,Status
        1,A,2024-03-01,Bread,2,2.00,paid
        2,A,2024-03-02,Cake,1,10.00,paid
        2,A,2024-03-02,Bread,-1,2.00,paid
        3,A,2024-03-03,Bread,-2,2.00,cancelled
        """
    )
    assert _orders(db) == [
        ("A", "1", "2024-03-01", 4.0, True),
        ("A", "2", "2024-03-02", 8.0, True),
        ("A", "3", "2024-03-03", 0.0, False),
    ]
    assert (report.orders_fully_undone, report.orders_partly_undone, report.return_lines_unmatched) == (0, 0, 0)
    assert "netted against the orders they undo" not in report.as_text()


def test_without_order_ids_a_return_day_undoes_an_earlier_day(imported, db):
    imported(
        """
        Customer ID,Order Date,Product,Quantity,Unit Price
        A,2024-03-01,Bread,2,2.00
        A,2024-03-01,Tea,1,3.00
        A,2024-03-05,Bread,-2,2.00
        """
    )
    assert _orders(db) == [
        ("A", "day:2024-03-01", "2024-03-01", 3.0, True),
        ("A", "day:2024-03-05", "2024-03-05", 0.0, False),
    ]


def test_a_cancellation_in_a_later_file_undoes_an_order_of_an_earlier_one(db, tmp_path):
    march = "1,A,2024-03-01 09:00:00,Bread,5,2.00\n2,A,2024-03-02 09:00:00,Tea,1,3.00\n"
    first = write_csv(tmp_path / "march.csv", HEAD + march)
    second = write_csv(tmp_path / "april.csv", HEAD + "C3,A,2024-04-01 09:00:00,Bread,-5,2.00\n")
    import_file(db, first)
    report = import_file(db, second)
    expected = [
        ("A", "1", "2024-03-01", 0.0, False),
        ("A", "2", "2024-03-02", 3.0, True),
        ("A", "C3", "2024-04-01", 0.0, False),
    ]
    assert _orders(db) == expected
    assert report.orders_fully_undone == 1
    assert "1 orders fully undone (no longer purchases), 0 partly; 0 return lines matched no earlier order" in (
        report.as_text()
    )
    assert import_file(db, second).already_imported and _orders(db) == expected


# ---------------------------------------------------------------- Online Retail


@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    if not ONLINE_RETAIL.exists():
        pytest.skip("shared data not present")
    db = tmp_path_factory.mktemp("retail_cancel") / "retail.duckdb"
    report = import_file(db, ONLINE_RETAIL)
    con = connect(db, read_only=True)
    yield report, con
    con.close()


@pytest.fixture(scope="module")
def by_hand():
    lines = read_lines(ONLINE_RETAIL)
    orders = netted_orders(lines)
    orders["net"] = orders["net"].round(6)
    return orders.set_index(["CustomerID", "InvoiceNo"])


def test_online_retail_orders_match_an_independent_loop(retail, by_hand):
    report, con = retail
    ours = (
        con.execute("SELECT customer_id, order_id, net_amount, is_purchase FROM orders WHERE customer_id IS NOT NULL")
        .df()
        .set_index(["customer_id", "order_id"])
        .sort_index()
    )
    theirs = by_hand.sort_index()
    assert list(ours.index) == list(theirs.index)
    assert (ours["net_amount"] - theirs["net"]).abs().max() < 0.005
    assert (ours["is_purchase"] == (theirs["net"] > 0)).all()

    # Orders that were purchases on their own lines and are none once their cancellations are netted.
    undone = theirs[(theirs["gross"] > 0) & (theirs["net"] <= 0)]
    # The issue counted 162 orders (396,687 gross, 125 customers) by a rule it does not spell out; the
    # rule written here (exact units first, a line never undone twice) finds 147 (347,002, 117).
    assert (len(undone), round(undone["gross"].sum()), undone.index.get_level_values(0).nunique()) == (
        147,
        347_002,
        117,
    )
    assert report.orders_fully_undone == len(undone)
    assert report.return_lines_unmatched == 1_400
    assert "147 orders fully undone (no longer purchases), 3,126 partly; 1,400 return lines" in report.as_text()


def test_online_retail_customers_with_only_cancelled_orders_are_no_purchasers(retail, by_hand):
    _, con = retail
    gross_buyers = set(by_hand[by_hand["gross"] > 0].index.get_level_values(0))
    net_buyers = set(by_hand[by_hand["net"] > 0].index.get_level_values(0))
    assert (len(gross_buyers), len(net_buyers)) == (4_338, 4_327)
    ours = customer_rfm(con)
    assert set(ours["customer_id"]) == net_buyers


def test_customer_16446_is_not_a_purchaser_on_the_last_day(retail):
    _, con = retail
    orders = con.execute(
        "SELECT order_id, order_date, net_amount, is_purchase FROM orders WHERE customer_id = '16446' ORDER BY ALL"
    ).fetchall()
    assert orders == [
        ("553573", dt.date(2011, 5, 18), 2.9, True),
        ("581483", dt.date(2011, 12, 9), 0.0, False),  # 168,469.60, cancelled by C581484 twelve minutes later
        ("C581484", dt.date(2011, 12, 9), 0.0, False),
    ]
    row = customer_rfm(con).set_index("customer_id").loc["16446"]
    assert (row["recency_days"], row["frequency"], row["monetary"]) == (205, 1, 2.9)  # 2011-05-18 to 12-09


def test_online_retail_no_value_comes_from_a_cancelled_order(retail):
    _, con = retail
    assert con.execute("SELECT count(*) FROM orders WHERE is_purchase <> (net_amount > 0)").fetchone()[0] == 0
    # The file's two largest orders were each cancelled within minutes, unit for unit: neither is a
    # purchase, and customer 12346, who bought nothing else, is no customer of the analytics.
    largest = con.execute(
        "SELECT customer_id, order_id, gross_amount, net_amount, is_purchase FROM orders "
        "WHERE customer_id IS NOT NULL ORDER BY gross_amount DESC LIMIT 2"
    ).fetchall()
    assert largest == [("16446", "581483", 168_469.6, 0.0, False), ("12346", "541431", 77_183.6, 0.0, False)]
    assert "12346" not in set(customer_rfm(con)["customer_id"])


def test_a_store_built_before_the_rule_is_recomputed_when_its_file_comes_again(db, tmp_path):
    from segmentation.store import table_counts

    path = write_csv(tmp_path / "orders.csv", HEAD + CASES["exact quantity first"][0].replace("        ", ""))
    import_file(db, path)
    expected = _orders(db)
    # As an older version left it: each order its own lines' sum, no rule recorded, models fitted on that.
    con = connect(db)
    con.execute("UPDATE orders SET net_amount = gross_amount, is_purchase = gross_amount > 0")
    con.execute("DELETE FROM meta WHERE key = 'orders_rule'")
    con.execute("INSERT INTO model_cache VALUES ('old', DATE '2024-03-04', '{}', now()::TIMESTAMP)")
    before = table_counts(con)
    con.close()

    again = import_file(db, path)
    assert again.already_imported and again.orders_recomputed
    assert "Its orders were recomputed with the current rules." in again.as_text()
    assert "1 orders fully undone" in again.as_text()
    con = connect(db, read_only=True)
    try:
        assert table_counts(con) == before  # nothing added
        assert con.execute("SELECT count(*) FROM model_cache").fetchone()[0] == 0
    finally:
        con.close()
    assert _orders(db) == expected
    third = import_file(db, path)
    assert third.already_imported and not third.orders_recomputed


def test_a_campaign_counts_no_buyer_whose_purchase_came_back(retail, by_hand, tmp_path):
    """A campaign on Online Retail measured from the store: each arm's buyers and revenue per customer are what
    the independent loop's netted orders give, so a purchase in the window undone by a later cancellation is no
    purchase, and its customer no buyer unless they bought something else."""
    import shutil

    from segmentation.outreach.campaigns import create_campaign, measure_campaign

    _, con = retail
    db = tmp_path / "retail.duckdb"
    shutil.copy(
        con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0], db
    )
    as_of, end = dt.date(2011, 9, 30), dt.date(2011, 10, 30)
    members = sorted(by_hand.index.get_level_values(0).unique())
    with connect(db) as writer:
        created = create_campaign(writer, "everyone", members=members, as_of=as_of, holdout=0.2, seed=7)
        result = measure_campaign(writer, created.id, window_days=30)
        arms = dict(
            writer.execute(
                "SELECT customer_id, arm FROM campaign_members WHERE campaign_id = ?", [created.id]
            ).fetchall()
        )

    orders = by_hand.reset_index()
    in_window = orders[(orders["day"] > pd.Timestamp(as_of)) & (orders["day"] <= pd.Timestamp(end))]
    buyers_had_nothing_come_back = 0
    for arm, said in (("audience", result.treated), ("control", result.control)):
        who = [c for c, a in arms.items() if a == arm]
        theirs = in_window[in_window["CustomerID"].isin(who)]
        buyers = theirs[theirs["net"] > 0]["CustomerID"].nunique()
        assert said["buyers"] == buyers
        assert said["revenue_per_customer"] == pytest.approx(theirs["net"].sum() / len(who), abs=1e-4)
        buyers_had_nothing_come_back += theirs[theirs["gross"] > 0]["CustomerID"].nunique() - buyers
    assert buyers_had_nothing_come_back > 0  # the window holds buyers whose purchase came back: the test can tell
