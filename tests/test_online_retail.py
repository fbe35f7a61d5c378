"""The UCI Online Retail file end to end: imported with no mapping, numbers checked against its
published figures (../shared/data/README.md) and against an independent pandas computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.ingest import import_file
from segmentation.rfm import customer_rfm
from segmentation.store import connect

from .conftest import ONLINE_RETAIL

pytestmark = pytest.mark.skipif(not ONLINE_RETAIL.exists(), reason="shared data not present")


@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    db = tmp_path_factory.mktemp("retail") / "retail.duckdb"
    report = import_file(db, ONLINE_RETAIL)
    con = connect(db, read_only=True)
    yield report, con
    con.close()


def test_imports_with_no_mapping_and_matches_published_figures(retail):
    report, con = retail
    assert report.layout == "UCI Online Retail"
    assert report.mapping == {
        "customer_id": "CustomerID", "order_id": "InvoiceNo", "order_date": "InvoiceDate",
        "quantity": "Quantity", "unit_price": "UnitPrice", "product": "Description", "country": "Country",
    }
    assert report.rows_read == report.rows_loaded == 541_909
    assert report.rows_rejected == 0
    assert report.guest_rows == 135_080
    assert report.customers == 4_372
    assert report.orders == 25_900
    assert report.revenue == pytest.approx(9_747_747.93, abs=0.005)
    assert (report.first_date, report.last_date) == ("2010-12-01", "2011-12-09")
    cancel_rows = con.execute("SELECT count(*) FROM order_lines WHERE order_id LIKE 'C%'").fetchone()[0]
    clean = con.execute(
        """
        SELECT count(*), count(DISTINCT customer_id), count(DISTINCT order_id), round(sum(amount), 2)
        FROM order_lines WHERE customer_id IS NOT NULL AND order_id NOT LIKE 'C%'
        """
    ).fetchone()
    assert cancel_rows == 9_288
    assert clean == (397_924, 4_339, 18_536, 8_911_407.90)


def test_ids_are_text_exactly_as_in_the_file(retail):
    _, con = retail
    rows = con.execute("SELECT DISTINCT customer_id FROM orders WHERE customer_id IS NOT NULL").fetchall()
    ids = [r[0] for r in rows]
    assert all(i.isdigit() and len(i) == 5 for i in ids)
    assert con.execute("SELECT count(*) FROM order_lines WHERE order_id = 'C536379'").fetchone()[0] == 1


def _pandas_rfm(path) -> pd.DataFrame:
    """The definitions of DESIGN.md written independently with pandas, the way an analyst would."""
    lines = pd.read_csv(path, dtype={"CustomerID": str, "InvoiceNo": str}, parse_dates=["InvoiceDate"])
    as_of = lines["InvoiceDate"].max().normalize()
    lines = lines.dropna(subset=["CustomerID"])
    lines["value"] = lines["Quantity"] * lines["UnitPrice"]
    orders = lines.groupby(["CustomerID", "InvoiceNo"]).agg(
        net=("value", "sum"), day=("InvoiceDate", lambda s: s.min().normalize())
    ).reset_index()
    orders["purchase"] = orders["net"] > 0
    per = orders.groupby("CustomerID").agg(
        frequency=("purchase", "sum"),
        monetary=("net", "sum"),
        last=("day", lambda s: s[orders.loc[s.index, "purchase"]].max()),
    )
    per = per[per["frequency"] > 0].copy()
    per["recency_days"] = (as_of - per["last"]).dt.days
    per["monetary"] = per["monetary"].round(2)
    n = len(per)

    def score(values: pd.Series, higher_is_better: bool) -> pd.Series:
        worse = values.rank(method="min", ascending=higher_is_better) - 1
        return np.minimum(5, 1 + np.floor(5 * worse / (n - 1))).astype(int)

    per["r_score"] = score(per["recency_days"], higher_is_better=False)
    per["f_score"] = score(per["frequency"], higher_is_better=True)
    per["m_score"] = score(per["monetary"], higher_is_better=True)
    return per


def test_customers_match_an_independent_pandas_computation(retail):
    _, con = retail
    ours = customer_rfm(con).set_index("customer_id").sort_index()
    theirs = _pandas_rfm(ONLINE_RETAIL).sort_index()
    assert list(ours.index) == list(theirs.index)
    assert len(ours) == 4_338
    for column in ("recency_days", "frequency", "r_score", "f_score", "m_score"):
        mismatched = (ours[column].to_numpy() != theirs[column].to_numpy()).sum()
        assert mismatched == 0, f"{column}: {mismatched} customers differ"
    assert np.allclose(ours["monetary"].to_numpy(), theirs["monetary"].to_numpy(), atol=0.005)
    assert ours["segment"].value_counts().sum() == 4_338
    assert set(ours["segment"]) >= {"champions", "loyal", "at_risk", "hibernating", "new_customers"}
