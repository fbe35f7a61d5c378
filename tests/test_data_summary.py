"""The store's summary (customers with a purchase, first and last day), recorded by each import for the app."""

from __future__ import annotations

import json

from segmentation.importing.ingest import import_file
from segmentation.store import SUMMARY_KEY, SUMMARY_SQL, connect
from ui.data import data_state

from .conftest import write_csv

FIRST = """
Customer ID,Order Date,Amount
A,2024-03-01,10
B,2024-03-02,-5
B,2024-03-02,-1
C,2024-03-05,7
"""
SECOND = """
Customer ID,Order Date,Amount
B,2024-04-01,20
D,2024-02-01,3
"""


def _recorded(db):
    con = connect(db, read_only=True)
    try:
        return json.loads(con.execute("SELECT value FROM meta WHERE key = ?", [SUMMARY_KEY]).fetchall()[0][0])
    finally:
        con.close()


def test_each_import_records_the_summary_the_app_shows(tmp_path):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_csv(tmp_path / "first.csv", FIRST))
    # B only returned goods: not a customer with a purchase yet.
    assert _recorded(db) == {"import_id": 1, "customers": 2, "first": "2024-03-01", "last": "2024-03-05"}
    state = data_state(db)
    assert (state.customers, state.first_date, state.last_date) == (2, "2024-03-01", "2024-03-05")

    import_file(db, write_csv(tmp_path / "second.csv", SECOND))
    assert _recorded(db) == {"import_id": 2, "customers": 4, "first": "2024-02-01", "last": "2024-04-01"}
    assert data_state(db).customers == 4


def test_a_store_without_a_recorded_summary_is_counted(tmp_path):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_csv(tmp_path / "first.csv", FIRST))
    con = connect(db)
    con.execute("DELETE FROM meta WHERE key = ?", [SUMMARY_KEY])
    expected = con.execute(SUMMARY_SQL).fetchall()[0]
    con.close()
    state = data_state(db)
    assert (state.customers, state.first_date, state.last_date) == expected == (2, "2024-03-01", "2024-03-05")
