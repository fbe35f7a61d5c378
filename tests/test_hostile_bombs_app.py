"""The app reads every upload in a child process under an address-space cap (ui.isolation): an upload
that needs more than the cap is one sentence in the panel, the store is unchanged, the server lives on.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from segmentation.importing import isolation
from segmentation.importing.ingest import IngestError
from segmentation.store import STORE_LOCK

from .conftest import write_csv
from .hostile_corpus import _good_rows, xlsx

HARNESS = str(Path(__file__).resolve().parent / "apps" / "import_sidebar.py")
ORDERS = b"Customer ID,Order Date,Amount\nA,2024-01-05,10\nB,2024-01-06,20\n"
# Less address space than Python, DuckDB and pandas take to start: whatever the file, the child dies.
STARVED = 400_000_000


@pytest.fixture
def at(db, monkeypatch):
    monkeypatch.setenv("SEGMENTS_DB", str(db))
    app = AppTest.from_file(HARNESS, default_timeout=120)
    app.secrets["harness"] = "isolated"
    app.run()
    assert not app.exception
    return app


def _import(at: AppTest) -> AppTest:
    (button,) = [b for b in at.button if b.label == "Import"]
    button.click().run()
    assert not at.exception
    return at


def test_an_import_past_the_apps_memory_cap_is_one_sentence_and_the_server_carries_on(at, db, monkeypatch):
    # A spreadsheet: its reader runs out as Python does, so the child ends at once. (A CSV read by DuckDB
    # under so tight a cap may hang instead: then the child is stopped after ui.isolation.IMPORT_SECONDS.)
    at.file_uploader(key="imp-upload").upload("orders.xlsx", xlsx(_good_rows(2), dimension="A1:F3"), "x").run()
    assert not at.exception and not at.error  # the preview read it under the usual cap
    monkeypatch.setattr(isolation, "IMPORT_ADDRESS_SPACE", STARVED)
    _import(at)
    assert [e.value for e in at.error] == [
        "There was not enough memory to import orders.xlsx: close other programs, or split the file into smaller "
        "ones, and try again."
    ]
    assert not db.exists(), "a refused import wrote the store"
    # The same file within the usual cap: the app's lock was let go, the import goes through.
    monkeypatch.setattr(isolation, "IMPORT_ADDRESS_SPACE", 8_000_000_000)
    _import(at)
    assert not at.error
    assert {m.label: m.value for m in at.metric}["Rows loaded"] == "2"


def test_a_preview_past_the_cap_is_a_refusal_not_a_crash(at, monkeypatch):
    monkeypatch.setattr(isolation, "IMPORT_ADDRESS_SPACE", STARVED)
    at.file_uploader(key="imp-upload").upload("orders.csv", ORDERS, "text/csv").run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "There was not enough memory to import orders.csv: close other programs, or split the file into smaller "
        "ones, and try again."
    ]


def _die_holding_the_lock(db_path: str) -> None:
    """Run in the child: take the (app's) writer lock, then die as an allocation failure would."""
    with STORE_LOCK.exclusive():
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_child_that_dies_holding_the_lock_lets_it_go(tmp_path):
    with pytest.raises(IngestError, match=r"not enough memory to import x\.csv"):
        isolation.run_isolated("tests.test_hostile_bombs_app:_die_holding_the_lock", str(tmp_path), name="x.csv")
    with STORE_LOCK.shared():  # would wait forever if the app still held the writer lock for the dead child
        pass


def test_refusals_and_results_come_back_from_the_child(tmp_path):
    path = write_csv(tmp_path / "o.csv", ORDERS.decode())
    report = isolation.run_isolated(
        "segmentation.importing.ingest:import_file", str(tmp_path / "shop.duckdb"), str(path), name="o.csv"
    )
    assert (report.rows_loaded, report.customers) == (2, 2)
    with pytest.raises(IngestError, match="empty"):
        isolation.run_isolated(
            "segmentation.importing.ingest:import_file",
            str(tmp_path / "shop.duckdb"),
            str(write_csv(tmp_path / "e.csv", "")),
            name="e.csv",
        )
