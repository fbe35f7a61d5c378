"""The page says which shop is loaded (name or file, customers, dates), and offers the demo only when it is not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from streamlit.testing.v1 import AppTest

from segmentation.ingest import import_file
from segmentation.sample import write_demo_csv
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
    import_file(db, write_demo_csv(tmp_path / "demo.csv", customers=300, seed=2),
                display_name="demo shop: The Corner Crumb")
    n, first, last = _by_hand(db)
    at = _page(db, monkeypatch)
    assert f"The Corner Crumb, the demo shop: {n:,} customers, orders from {first} to {last}." in [
        c.value for c in at.caption]
    assert "imp-demo" not in [b.key for b in at.sidebar.button]


def test_a_shop_of_its_own_names_its_file_and_still_offers_the_demo(tmp_path, monkeypatch):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_demo_csv(tmp_path / "orders_2026.csv", customers=300, seed=2))
    n, first, last = _by_hand(db)
    at = _page(db, monkeypatch)
    assert f"Your shop (orders_2026.csv): {n:,} customers, orders from {first} to {last}." in [
        c.value for c in at.caption]
    assert "imp-demo" in [b.key for b in at.sidebar.button]
