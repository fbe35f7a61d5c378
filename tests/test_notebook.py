"""The analytics as a library: ``from_orders`` builds the store a file import builds, cell for cell; the package
exports its public functions, documented; and docs/notebook.md runs as written."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import segmentation
from segmentation.customers import customer_table
from segmentation.demo.shop import generate_orders, write_demo_csv
from segmentation.frames import from_orders, import_report
from segmentation.importing.ingest import IngestError, import_file
from segmentation.store import connect

from .conftest import ONLINE_RETAIL, REPO, write_csv

STORE_TABLES = ("order_lines", "orders", "customers", "rejects")
# What is compared of each table: every column but the import's own bookkeeping.
_ORDERING = {
    "order_lines": "line_no",
    "orders": "customer_id, order_id",
    "customers": "customer_id",
    "rejects": "line_no",
}


def _table(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    drop = {
        "order_lines": " EXCLUDE (import_id)",
        "rejects": " EXCLUDE (import_id)",
        "customers": " EXCLUDE (updated_import_id)",
    }.get(table, "")
    return con.execute(f"SELECT *{drop} FROM {table} ORDER BY {_ORDERING[table]}").df()


def assert_same_shop(from_frame: duckdb.DuckDBPyConnection, file_db: Path) -> pd.DataFrame:
    """The frame's store and the file's hold the same rows, and give the same customer table exactly (values,
    types and attrs: the thresholds, the model chosen and why). Returns that table."""
    with connect(file_db, read_only=True) as from_file:
        for table in STORE_TABLES:
            pd.testing.assert_frame_equal(_table(from_frame, table), _table(from_file, table), obj=table)
        expected = customer_table(from_file)
    got = customer_table(from_frame)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.attrs == expected.attrs
    return got


@pytest.mark.skipif(not ONLINE_RETAIL.exists(), reason="shared data not present")
@pytest.mark.parametrize("read", [{}, {"parse_dates": ["InvoiceDate"]}], ids=["as-read", "dates-parsed"])
def test_online_retail_frame_gives_the_file_imports_customer_table(tmp_path, read):
    """pandas reads CustomerID as floats (17850.0, NaN for guests) and, asked to, InvoiceDate as timestamps: the
    frame's cells are written as the file holds them, so the store is the file's."""
    db = tmp_path / "retail.duckdb"
    report = import_file(db, ONLINE_RETAIL)
    frame = pd.read_csv(ONLINE_RETAIL, **read)
    shop = from_orders(frame)
    got = assert_same_shop(shop, db)
    # The published figures (../shared/data/README.md): every line read, the guests kept and counted.
    assert import_report(shop)["rows_read"] == report.rows_read == 541_909
    assert import_report(shop)["guest_rows"] == 135_080
    assert import_report(shop)["layout"] == "UCI Online Retail"
    assert len(got) == 4_327 and got["customer_id"].iloc[0] == "12347"
    assert frame["CustomerID"].dtype == "float64"  # the input was not changed


def test_demo_orders_frame_gives_the_file_imports_customer_table(tmp_path):
    """The demo shop's lines (text ids, times, emails, consent, channels, returns filed as orders of their own)."""
    kwargs = {"customers": 300, "years": 1.5, "seed": 3}
    db = tmp_path / "demo.duckdb"
    import_file(db, write_demo_csv(tmp_path / "demo.csv", **kwargs))
    got = assert_same_shop(from_orders(generate_orders(**kwargs)), db)
    assert got["clv"].notna().all()  # a shop big enough for the value models: their columns are compared too


def test_typed_columns_read_as_their_file(tmp_path):
    """Floats as ids, timestamps and booleans, and a column name to map: the same store as the CSV literal."""
    text = """
    Order,Client,Paid at,Total,Consent
    1,101,2024-01-01 09:30:00,10.5,yes
    2,101,2024-02-01 10:00:00,20,yes
    3,0102,2024-02-15 11:15:00,7.25,no
    4,,2024-02-16 12:00:00,3,
    """
    db = tmp_path / "shop.duckdb"
    import_file(db, write_csv(tmp_path / "orders.csv", text), overrides={"customer_id": "Client"})
    frame = pd.DataFrame(
        {
            "Order": [1, 2, 3, 4],
            "Client": ["101", "101", "0102", None],
            "Paid at": pd.to_datetime(["2024-01-01 09:30", "2024-02-01 10:00", "2024-02-15 11:15", "2024-02-16 12:00"]),
            "Total": [10.5, 20.0, 7.25, 3.0],
            "Consent": [True, True, False, None],
        }
    )
    shop = from_orders(frame, mapping={"customer_id": "Client"})
    got = assert_same_shop(shop, db)
    # By hand, at the last order's day (the guest's, 2024-02-16): 101 bought twice (30.50, last on 2024-02-01,
    # 15 days before), 0102 once (7.25, the day before); the guest is no customer.
    assert got[["customer_id", "recency_days", "frequency", "monetary"]].values.tolist() == [
        ["0102", 1, 1, 7.25],
        ["101", 15, 2, 30.5],
    ]
    assert shop.execute("SELECT customer_id, marketing_consent FROM customers ORDER BY 1").fetchall() == [
        ("0102", False),
        ("101", True),
    ]
    # The working tables are gone: the store's own are left, the same as the file's store has.
    tables = "SELECT table_name FROM duckdb_tables()"
    with connect(db, read_only=True) as file_store:
        assert {t for (t,) in shop.execute(tables).fetchall()} == {t for (t,) in file_store.execute(tables).fetchall()}
    assert {"orders", "order_lines", "customers", "rejects"} <= {t for (t,) in shop.execute(tables).fetchall()}
    assert shop.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall() == [(0,)]


def test_rejected_rows_are_warned_about_and_kept():
    frame = pd.DataFrame(
        {
            "customer": ["a", "b", "=HYPERLINK(1)"],
            "date": ["2024-01-01", "not a date", "2024-01-03"],
            "amount": [5.0, 6.0, 7.0],
        }
    )
    with pytest.warns(UserWarning, match=r"^2 of 3 rows could not be used \(1 "):
        shop = from_orders(frame)
    assert shop.execute("SELECT line_no, reason FROM rejects ORDER BY line_no").fetchall() == [
        (2, "unreadable order date"),
        (3, "formula-like cell (possible spreadsheet injection)"),
    ]
    assert shop.execute("SELECT customer_id, net_amount FROM orders").fetchall() == [("a", 5.0)]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame(), "The table has no columns"),
        (pd.DataFrame({"customer": [], "date": [], "amount": []}), "no rows of orders"),
        (pd.DataFrame({"date": ["2024-01-01"], "amount": [5]}), "No customer column found"),
        (pd.DataFrame({"customer": ["a"], "date": ["2024-01-01"], "amount": [5]}), "knows no field 'shop'"),
    ],
    ids=["no-columns", "no-rows", "no-customer", "unknown-field"],
)
def test_what_cannot_be_imported_is_one_sentence(frame, message):
    mapping = {"shop": "x"} if message.startswith("knows") else None
    with pytest.raises(IngestError, match=re.escape(message)):
        from_orders(frame, mapping=mapping)


# ---------------------------------------------------------------- the package's surface


def test_the_package_exports_its_public_functions_lazily():
    assert segmentation.__all__ == sorted(
        segmentation.__all__, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    assert set(segmentation.__all__) == set(segmentation._EXPORTS)
    for name in segmentation.__all__:
        assert getattr(segmentation, name) is getattr(sys.modules[f"segmentation.{segmentation._EXPORTS[name]}"], name)
    # A function named as a module would be one or the other depending on what was imported first.
    modules = {m.name for m in pkgutil.iter_modules(segmentation.__path__)}
    assert not modules & set(segmentation.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        segmentation.nothing  # noqa: B018
    # The command line imports the package on every start: importing it loads none of the analysis libraries.
    code = "import sys, segmentation; print(sorted(m for m in ('pandas', 'numpy', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def _public_functions() -> list[tuple[str, str]]:
    exported = [
        (segmentation._EXPORTS[n], n) for n in segmentation.__all__ if inspect.isfunction(getattr(segmentation, n))
    ]
    return [
        *exported,
        ("breakdown", "breakdown"),
        ("value.backtest", "backtest"),
        ("value.stage_backtest", "stage_backtest"),
    ]


@pytest.mark.parametrize(("module", "name"), _public_functions(), ids=lambda x: x)
def test_public_function_has_numpydoc_sections(module, name):
    """Parameters naming every parameter, and Returns unless it returns nothing (what help() shows)."""
    function = getattr(importlib.import_module(f"segmentation.{module}"), name)
    doc = inspect.getdoc(function)
    assert "\nParameters\n----------\n" in doc, name
    documented = doc.split("\nParameters\n----------\n", 1)[1].split("\n\n", 1)[0]
    named = {
        p.strip()
        for line in documented.splitlines()
        if not line.startswith(" ")
        for p in line.split(" : ")[0].split(",")
    }
    assert set(inspect.signature(function).parameters) <= named, (name, named)
    if inspect.signature(function).return_annotation not in ("None", None):
        assert "\nReturns\n-------\n" in doc, name


# ---------------------------------------------------------------- docs/notebook.md, run as written

PAGE = REPO / "docs" / "notebook.md"


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


_RUN_PAGE = textwrap.dedent("""
    import json, sys, warnings
    warnings.simplefilter("error")  # the page's code must run clean on its file
    namespace = {}
    for block in json.load(sys.stdin):
        exec(compile(block, "docs/notebook.md", "exec"), namespace)
    customers, segments = namespace["customers"], namespace["segments"]
    print(json.dumps({
        "customers": len(customers),
        "lifecycle": customers.attrs["thresholds"],
        "champions": [int(segments.loc["champions", "customers"]), float(segments.loc["champions", "revenue"])],
        "revenue": float(customers["monetary"].sum()),
        "hibernating": int(segments.loc["hibernating", "customers"]),
        "clusters": len(namespace["clusters"].clusters),
        "top_value": float(namespace["value"]["clv"].max()),
    }))
""")


def test_the_notebook_page_runs_as_written(tmp_path):
    """Every ```python block of the page, in order, in one namespace, in a child process given five minutes: on
    the Online Retail file where it is here (and then the figures the page quotes are checked), else on a small
    shop of the same year written under the file's name."""
    blocks = python_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 8 and "from_orders(orders)" in blocks[0]
    real = ONLINE_RETAIL.exists()
    if real:
        folder = ONLINE_RETAIL.parent
    else:
        folder = tmp_path
        write_demo_csv(folder / "online_retail.csv.gz", customers=400, years=1.1, end=dt.date(2011, 12, 9))
    done = subprocess.run(
        [sys.executable, "-c", _RUN_PAGE],
        input=json.dumps(blocks),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts["customers"] > 100 and facts["clusters"] >= 2 and facts["top_value"] > 0
    if real:
        page = PAGE.read_text(encoding="utf-8")
        assert f"{facts['customers']:,} customers bought something" in page
        champions, champions_revenue = facts["champions"]
        assert f"The {champions} champions bring in {champions_revenue / 1e6:.2f} million" in page
        assert f"of the {facts['revenue'] / 1e6:.1f} million" in page
        assert f"the {facts['hibernating']:,} hibernating customers" in page
        marks = facts["lifecycle"]
        assert (
            f"lapsing after {marks['lapsing_after_days']} days without a purchase, lapsed after "
            f"{marks['lapsed_after_days']}" in page
        )


def _env() -> dict[str, str]:
    import os

    # The child imports the checkout's packages, as the notebook's kernel does after `pip install -e .`.
    return {**os.environ, "PYTHONPATH": str(REPO)}
