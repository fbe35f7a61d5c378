"""Real export layouts (Shopify, WooCommerce, Square, Stripe) import with no mapping, and the
customers' numbers match the hand computation in tests/export_layouts_expected.py."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from segmentation.importing.columns import LAYOUTS
from segmentation.importing.ingest import import_file
from segmentation.rfm import customer_rfm
from segmentation.store import connect

from .export_layouts_expected import EXPECTED

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
LABELS = {layout.key: layout.label for layout in LAYOUTS}


def _expected(name: str) -> dict:
    expected = copy.deepcopy(EXPECTED[name])
    if name == "woocommerce_orders.csv":
        # WooCommerce writes customer_id 0 for a guest checkout, but the billing email is there: such a
        # buyer is a customer keyed by email (as in Shopify's export), not an anonymous guest.
        expected["customers"]["isla.murphy@example.com"] = {  # 1461: 1 x 8.00
            "frequency": 1,
            "monetary": 8.00,
            "last_purchase": "2025-02-14",
        }
        expected["customers"]["ethan.hughes@example.com"] = {  # 1495: 1 x 6.00
            "frequency": 1,
            "monetary": 6.00,
            "last_purchase": "2025-06-11",
        }
        expected["guest_rows"] = 0
    return expected


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=lambda n: n.split("_")[0])
def test_layout_is_recognised_and_customers_add_up(name, tmp_path):
    expected = _expected(name)
    db = tmp_path / "shop.duckdb"
    report = import_file(db, EXPORTS / name)

    assert report.layout == LABELS[expected["layout"]]
    assert report.mapping == expected["mapping"]
    assert report.rows_read == report.rows_loaded == expected["rows"]
    assert report.guest_rows == expected["guest_rows"]

    con = connect(db, read_only=True)
    rfm = customer_rfm(con, as_of="2025-12-31").set_index("customer_id")
    last = dict(
        con.execute(
            "SELECT customer_id, max(order_date) FROM orders WHERE is_purchase AND customer_id IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    con.close()
    got = {
        cid: {
            "frequency": int(row.frequency),
            "monetary": round(float(row.monetary), 2),
            "last_purchase": last[cid].isoformat(),
        }
        for cid, row in rfm.iterrows()
    }
    assert got == expected["customers"]


def test_shopify_order_level_cells_are_shared_across_line_rows(tmp_path):
    db = tmp_path / "shop.duckdb"
    import_file(db, EXPORTS / "shopify_orders.csv")
    con = connect(db, read_only=True)
    # Billing Name, City and Accepts Marketing sit on each order's first row only.
    row = con.execute(
        "SELECT first_name, last_name, city, marketing_consent FROM customers WHERE customer_id = ?",
        ["maya.chen@example.com"],
    ).fetchone()
    # Every line of an order belongs to the customer and date of the order.
    orphans = con.execute("SELECT count(*) FROM order_lines WHERE order_id = '#1001' AND customer_id IS NULL")
    assert orphans.fetchone()[0] == 0
    con.close()
    assert row == ("Maya", "Chen", "Cambridge", True)
