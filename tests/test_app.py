"""The minimal app renders the shop's overview and segment table without an exception."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from segmentation.ingest import import_file

from .conftest import write_csv

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_overview_and_segments(tmp_path, monkeypatch):
    db = tmp_path / "shop.duckdb"
    orders = "Customer ID,Order Date,Amount\nA,2024-01-01,10\nA,2024-02-01,15\nB,2024-02-10,40\nC,2023-05-01,5\n"
    import_file(db, write_csv(tmp_path / "o.csv", orders))
    monkeypatch.setenv("SEGMENTS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Customers"] == "3" and metrics["Purchases"] == "4" and metrics["Revenue"] == "70.00"
    segments = at.dataframe[0].value
    assert segments["customers"].sum() == 3


def test_no_database_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "segments demo" in at.info[0].value
