"""``load_data`` with an uploaded customer list (issue 20: found by the type checker). A customer list or email
activity export imports as attributes (issue 19), and its report has people, not orders: the tool said orders,
customers and revenue of every report, and stopped with an AttributeError on a list instead of saying what it
loaded. Numbers from tests/fixtures/contacts (see tests/test_contacts.py): the Shopify customers export has six
rows, six people, four of them customers of the orders file's shop."""

from __future__ import annotations

from pathlib import Path

import tools.registry  # noqa: F401  (registers every tool)
from segmentation.importing.ingest import import_file
from tools.base import ToolContext, run_tool

FIXTURES = Path(__file__).parent / "fixtures" / "contacts"


def test_loading_an_uploaded_customer_list_says_who_it_holds(tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    import_file(db, FIXTURES / "orders.csv")
    ctx = ToolContext(db_path=db, uploads={"customers.csv": FIXTURES / "shopify_customers_export.csv"})
    result = run_tool("load_data", {"source": "customers.csv"}, ctx)
    assert result.summary == (
        "Loaded 6 of 6 rows from customers.csv: 6 people, 4 of them customers of the shop. 0 rows rejected."
    )
    assert (result.facts["people"], result.facts["matched"], result.facts["kind"]) == (6, 4, "profiles")
