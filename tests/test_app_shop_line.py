"""The page says which shop is loaded (name or file, customers, dates), and offers the demo only when it is not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from streamlit.testing.v1 import AppTest

from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from segmentation.store import connect

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _by_hand(db: Path) -> tuple[int, str, str]:
    """Purchasers and the first and last purchase days, written as the page writes them ('21 Nov 2024')."""
    with connect(db, read_only=True) as con:
        n, first, last = con.execute(
            "SELECT count(DISTINCT customer_id), min(order_date), max(order_date) FROM orders WHERE is_purchase"
        ).fetchall()[0]
    day = lambda d: f"{d.day} {d:%b %Y}"  # noqa: E731
    return n, day(dt.date(first.year, first.month, first.day)), day(dt.date(last.year, last.month, last.day))


def _page(db: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("SEGMENTS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception
    return at


def test_the_demo_is_named_and_not_offered_again(tmp_path, monkeypatch):
    db = tmp_path / "shop.duckdb"
    import_file(
        db, write_demo_csv(tmp_path / "demo.csv", customers=300, seed=2), display_name="demo shop: The Corner Crumb"
    )
    n, first, last = _by_hand(db)
    at = _page(db, monkeypatch)
    assert f"The Corner Crumb, the demo shop: {n:,} customers, orders from {first} to {last}." in [
        c.value for c in at.caption
    ]
    assert "imp-demo" not in [b.key for b in at.sidebar.button]


def test_a_shop_of_its_own_names_its_file_and_still_offers_the_demo(demo_shops, tmp_path, monkeypatch):
    db = demo_shops.copy(tmp_path, name="orders_2026.csv", customers=300, seed=2)
    n, first, last = _by_hand(db)
    at = _page(db, monkeypatch)
    assert f"Your shop (orders_2026.csv): {n:,} customers, orders from {first} to {last}." in [
        c.value for c in at.caption
    ]
    assert "imp-demo" in [b.key for b in at.sidebar.button]


def test_the_currency_is_on_the_page_and_set_once_for_everyone(demo_shops, tmp_path, monkeypatch):
    """Found in nothing (a plain demo CSV), then set in the sidebar: stored in the shop, on the shop line, the
    Segments tab's revenue and its tables; a new session (a teammate) sees the same."""
    from segmentation.currency import currency_of

    db = demo_shops.copy(tmp_path, name="orders_2026.csv", customers=300, seed=2)
    at = _page(db, monkeypatch)
    assert at.selectbox(key="shop-currency").value == ""
    at.selectbox(key="shop-currency").set_value("EUR").run()
    assert not at.exception
    with connect(db, read_only=True) as con:
        assert currency_of(con) == ("EUR", "set")
    n, first, last = _by_hand(db)
    line = f"Your shop (orders_2026.csv): {n:,} customers, orders from {first} to {last}, amounts in EUR."
    assert line in [c.value for c in at.caption]
    with connect(db, read_only=True) as con:
        revenue = con.execute(
            "SELECT sum(net_amount) FROM orders WHERE is_purchase AND customer_id IS NOT NULL"
        ).fetchall()[0][0]
    other = AppTest.from_file(APP, default_timeout=90)
    other.query_params["tab"] = "Segments"
    other.run()
    assert not other.exception
    assert other.selectbox(key="shop-currency").value == "EUR"
    (metric,) = [m for m in other.metric if m.label == "Revenue"]
    assert revenue > 10_000 and metric.value == f"€{revenue / 1000:,.0f}k"  # a quarter of the page fits €27k
    assert f"€{revenue:,.2f}" in metric.proto.help  # the exact sum is its help
    segments = other.main.dataframe[0]
    assert segments.value["revenue_share"].between(0, 100).all() and segments.value["revenue_share"].max() > 1


def test_a_typed_as_of_date_applies_at_once(demo_shops, tmp_path, monkeypatch):
    """Typed and entered (Streamlit's date field ignored a typed date until it lost focus): the Segments tab counts
    only the customers who had bought by then, and a date that is not one, or is outside the data, says so."""
    db = demo_shops.copy(tmp_path, name="orders_2026.csv", customers=300, seed=2)
    monkeypatch.setenv("SEGMENTS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["tab"] = "Segments"
    at.run()
    with connect(db, read_only=True) as con:
        by_then = con.execute(
            "SELECT count(DISTINCT customer_id) FROM orders WHERE is_purchase AND "
            "customer_id IS NOT NULL AND order_date <= DATE '2026-06-30'"
        ).fetchall()[0][0]
    at.text_input(key="dash-as-of").set_value("30/06/2026").run()
    assert not at.exception
    assert "As of 30 Jun 2026: only orders on or before it count." in [c.value for c in at.caption]
    assert [m.value for m in at.metric if m.label == "Customers"] == [f"{by_then:,}"]
    at.text_input(key="dash-as-of").set_value("banana").run()
    assert any("'banana' is not a date" in c.value for c in at.caption)
    at.text_input(key="dash-as-of").set_value("1999-01-01").run()
    assert any("Your orders run from" in c.value for c in at.caption)
