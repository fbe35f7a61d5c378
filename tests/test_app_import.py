"""The Data sidebar: upload -> preview and mapping -> import -> report; refusals; the demo shop.

The flows run through ``tests/apps/import_sidebar.py``, a harness that renders only
``ui.importer.render_import_sidebar``, so they do not depend on app.py.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from segmentation.importing.ingest import IngestError, import_file
from segmentation.store import connect, table_counts
from ui.importer import (
    NONE,
    compact_money,
    mapping_overrides,
    plain_message,
    rejects_csv,
    safe_file_name,
    save_upload,
)

from .conftest import write_csv

HARNESS = str(Path(__file__).resolve().parent / "apps" / "import_sidebar.py")

# Two date columns: "Order Date" is found by name; "Paid On" is the one an owner may prefer.
# The last row's amount cannot be read: one reject.
ORDERS = (
    b"Customer ID,Order Date,Paid On,Amount\n"
    b"A,2024-01-05,2024-02-01,10\n"
    b"B,2024-01-06,2024-02-03,20\n"
    b"A,2024-03-01,2024-03-09,5\n"
    b"C,2024-03-02,2024-03-10,abc\n"
)


@pytest.fixture
def app(db, monkeypatch):
    monkeypatch.setenv("SEGMENTS_DB", str(db))

    def _app() -> AppTest:
        at = AppTest.from_file(HARNESS, default_timeout=60)
        at.secrets["harness"] = "isolated"  # never read a developer's own ~/.streamlit/secrets.toml
        at.run()
        assert not at.exception
        return at

    return _app


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="imp-upload").upload(name, data, "text/csv").run()
    assert not at.exception
    return at


def _selectbox(at: AppTest, field: str):
    (box,) = [s for s in at.selectbox if s.label == field]
    return box


def _click(at: AppTest, label: str) -> AppTest:
    (button,) = [b for b in at.button if b.label == label]
    button.click().run()
    assert not at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _stamp(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("cache stamp"))


def test_upload_shows_mapping_then_imports_with_report(app, db):
    at = _upload(app(), "orders.csv", ORDERS)
    assert "**orders.csv**: 4 rows" in [c.value for c in at.caption]
    assert _selectbox(at, "customer_id").value == "Customer ID"
    assert _selectbox(at, "order_date").value == "Order Date"
    assert _selectbox(at, "amount").value == "Amount"
    assert _selectbox(at, "order_id").value == NONE
    assert _selectbox(at, "order_date").options == [NONE, "Customer ID", "Order Date", "Paid On", "Amount"]
    # The upload is on disk, byte for byte, and registered for the assistant's load_data tool.
    uploaded = at.session_state["uploads"]["orders.csv"]
    assert Path(uploaded).read_bytes() == ORDERS
    stamp = _stamp(at)

    _click(at, "Import")
    assert [s.value for s in at.success] == ["Imported orders.csv."]
    assert _metrics(at) == {"Rows loaded": "3", "Rows rejected": "1", "Customers": "2", "Revenue": "35.00"}
    assert "3 orders from 2024-01-05 to 2024-03-01, out of 4 rows read." in [c.value for c in at.caption]
    assert len(at.dataframe) == 3, "the file's first rows, reasons, columns used; the closed history is not read"
    reasons = at.dataframe[-2].value
    assert reasons.to_dict("records") == [{"reason": "unreadable amount", "rows": 1}]
    (download,) = at.get("download_button")
    assert download.label == "Download the rejected row (CSV)"
    at.session_state["imp-history"] = True  # the owner opens "Import history"
    at.run()
    history = at.dataframe[-1].value
    assert history[["file", "rows_loaded", "rows_rejected"]].to_dict("records") == [
        {"file": "orders.csv", "rows_loaded": 3, "rows_rejected": 1}
    ]
    assert _stamp(at) != stamp, "a successful import clears st.cache_data"

    csv = rejects_csv(db, 1).decode()
    assert csv.splitlines() == [  # the fourth data row is the file's fifth line, after the column names
        "line,reason,Customer ID,Order Date,Paid On,Amount",
        "5,unreadable amount,C,2024-03-02,2024-03-10,abc",
    ]


def test_changing_the_mapping_changes_what_is_imported(app, db):
    at = _upload(app(), "orders.csv", ORDERS)
    _selectbox(at, "order_date").set_value("Paid On")
    _click(at, "Import")
    assert not at.error
    assert "3 orders from 2024-02-01 to 2024-03-09, out of 4 rows read." in [c.value for c in at.caption]
    with connect(db, read_only=True) as con:
        dates = con.execute("SELECT min(order_date)::VARCHAR, max(order_date)::VARCHAR FROM orders").fetchall()
        mapping = con.execute("SELECT mapping_json FROM imports").fetchall()[0][0]
    assert dates == [("2024-02-01", "2024-03-09")]
    assert '"order_date": "Paid On"' in mapping


def test_a_column_chosen_twice_is_refused_before_importing(app, db):
    at = _upload(app(), "orders.csv", ORDERS)
    _selectbox(at, "order_id").set_value("Customer ID")
    _click(at, "Import")
    assert [e.value for e in at.error] == [  # shown as text: the field names' underscores are escaped
        r"The column 'Customer ID' is chosen for both customer\_id and order\_id: choose one field per column."
    ]
    assert not db.exists()


def test_a_refused_file_shows_one_sentence_and_leaves_the_store_alone(app, db, tmp_path):
    import_file(db, write_csv(tmp_path / "first.csv", "Customer ID,Order Date,Amount\nZ,2024-01-01,9\n"))
    with connect(db, read_only=True) as con:
        before = table_counts(con)

    at = _upload(app(), "empty.csv", b"Customer ID,Order Date,Amount\n")
    assert [e.value for e in at.error] == [
        "The file has column names but no rows of orders: export again with a date range that has orders."
    ]
    assert not [b for b in at.button if b.label == "Import"]

    # Readable, but no row can be used: refused at import time, with the app's wording, not --map.
    at = _upload(app(), "bad.csv", b"Customer ID,Order Date,Amount\nA,2024-01-01,abc\nB,2024-01-02,n/a\n")
    _click(at, "Import")
    (error,) = at.error
    assert error.value.startswith("None of the 2 rows could be used (most: unreadable amount)")
    assert "--map" not in error.value and "Traceback" not in error.value
    with connect(db, read_only=True) as con:
        assert table_counts(con) == before


def test_a_file_whose_mapping_fails_can_be_fixed_in_the_panel(app, db):
    at = _upload(app(), "clients.csv", b"Client Ref,Order Date,Amount\nA1,2024-01-01,10\nB2,2024-01-02,20\n")
    (warning,) = at.warning
    assert warning.value.startswith("No customer column found")
    assert r"choose it for customer\_id under Columns" in warning.value
    assert not at.error
    _selectbox(at, "customer_id").set_value("Client Ref")
    _click(at, "Import")
    assert _metrics(at)["Customers"] == "2"


def test_demo_button_builds_the_demo_shop(app, db):
    at = _click(app(), "Use the demo shop")
    assert [s.value for s in at.success] == ["Imported demo shop (replacing the earlier data)."]
    assert int(_metrics(at)["Customers"].replace(",", "")) > 1000
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT file_name, replaced FROM imports ORDER BY import_id").fetchall() == [
            ("demo shop", True),
            ("demo shop: corner_crumb_customers.csv", False),
            ("demo shop: corner_crumb_newsletter_activity.csv", False),  # its lists (issue 19): orders as before
        ]


def test_demo_asks_before_replacing_the_owners_data(app, db, tmp_path):
    import_file(db, write_csv(tmp_path / "ours.csv", "Customer ID,Order Date,Amount\nZ,2024-01-01,9\n"))
    at = _click(app(), "Use the demo shop")
    assert at.warning[0].value.startswith("The demo replaces your shop's data")
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM imports").fetchall() == [(1,)]
    at.checkbox(key="imp-replace").check().run()
    _click(at, "Use the demo shop")
    assert at.success[0].value.startswith("Imported demo shop")
    assert at.checkbox(key="imp-replace").value is False, "replace is for one import only"


def test_replace_replaces_once_then_unticks(app, db, tmp_path):
    import_file(db, write_csv(tmp_path / "old.csv", "Customer ID,Order Date,Amount\nZ,2023-01-01,9\n"))
    at = _upload(app(), "orders.csv", ORDERS)
    at.checkbox(key="imp-replace").check().run()
    _click(at, "Import")
    assert at.success[0].value == "Imported orders.csv (replacing the earlier data)."
    assert at.checkbox(key="imp-replace").value is False
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT customer_id) FROM orders").fetchall() == [(2,)]


def test_reimporting_the_same_file_says_nothing_was_added(app, db):
    at = _upload(app(), "orders.csv", ORDERS)
    _click(at, "Import")
    _click(at, "Import")
    assert at.info[0].value.startswith("orders.csv was already imported: nothing added.")


# ---------------------------------------------------------------- helpers, without Streamlit


class _NoWholeReads(io.BytesIO):
    """A stream that fails if anyone reads it whole (``read()`` / ``getvalue()``), as a big upload might."""

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size > 0, "read in chunks, never whole"
        return super().read(size)

    def getvalue(self) -> bytes:
        raise AssertionError("getvalue() copies the whole upload in memory")


def test_save_upload_streams_in_chunks_to_its_own_folder(tmp_path, monkeypatch):
    import ui.importer as importer

    monkeypatch.setattr(importer, "CHUNK_BYTES", 1000)
    data = bytes(range(256)) * 40  # 10,240 bytes: eleven chunks
    source = _NoWholeReads(data)
    source.read(17)  # the uploader may have been read already: the copy starts from the beginning
    first = save_upload(source, "orders.csv", tmp_path)
    second = save_upload(_NoWholeReads(b"other"), "orders.csv", tmp_path)
    assert first.read_bytes() == data and second.read_bytes() == b"other"
    assert first.name == second.name == "orders.csv" and first != second
    assert first.parent.parent == tmp_path


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("orders.csv", "orders.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\exports\\Orders 2024.xlsx", "Orders 2024.xlsx"),
        ("..", "upload"),
        (".hidden.csv", "hidden.csv"),
        ("a\x00b\n.csv", "ab.csv"),
    ],
    ids=["plain", "traversal", "windows-path", "dots", "hidden", "control-chars"],
)
def test_safe_file_name(name, safe):
    assert safe_file_name(name) == safe


def test_mapping_overrides_pass_on_only_what_changed():
    detected = {"customer_id": "Customer ID", "order_date": "Order Date", "amount": "Total"}
    unchanged = {"customer_id": "Customer ID", "order_date": "Order Date", "amount": "Total", "order_id": NONE}
    assert mapping_overrides(detected, unchanged) == {}
    edited = {**unchanged, "order_date": "Paid On", "amount": NONE, "unit_price": "Total"}
    assert mapping_overrides(detected, edited) == {"order_date": "Paid On", "amount": "", "unit_price": "Total"}
    with pytest.raises(IngestError, match="chosen for both amount and unit_price"):
        mapping_overrides(detected, {**unchanged, "unit_price": "Total"})


def test_plain_message_points_at_the_panel_not_the_command_line():
    assert plain_message("if it has one under another name, use --map order_date=COLUMN.") == (
        "if it has one under another name, choose it for order_date under Columns."
    )
    assert plain_message("write dates like 2024-03-31, or name the right column with --map order_date=COLUMN.") == (
        "write dates like 2024-03-31, or choose the right column for order_date under Columns."
    )
    assert "--map" not in plain_message("check the column mapping in the report with --map, or the file itself.")


def test_rejected_rows_download_defuses_spreadsheet_formulas(db, tmp_path):
    text = 'Customer ID,Order Date,Product,Amount\nA,2024-01-01,=HYPERLINK("x"),10\nB,2024-01-02,Bread,-4\n'
    report = import_file(db, write_csv(tmp_path / "o.csv", text))
    assert report.rows_rejected == 1
    lines = rejects_csv(db, report.import_id).decode().splitlines()
    assert lines[1].startswith("2,formula-like cell (possible spreadsheet injection),A,2024-01-01,\"'=HYPERLINK")


def test_a_file_name_with_markdown_is_shown_as_text(app, db):
    """An upload named like a Markdown image would make the owner's browser fetch it (issue 14, finding 7)."""
    at = _upload(app(), "![x](http:127.0.0.1:9 b.png).csv", ORDERS)
    captions = [c.value for c in at.caption]
    assert r"**!\[x\](http\:127.0.0.1:9 b.png).csv**: 4 rows" in captions
    live = re.compile(r"(?<!\\)!\[|(?<!\\)\]\(")  # an image or a link whose brackets are not escaped
    assert not [c for c in captions if live.search(c)]
    _click(at, "Import")
    (success,) = at.success
    assert not live.search(success.value) and r"\]" in success.value


@pytest.mark.parametrize(("button", "customers"), [("Add it", {"Z", "A", "B"}), ("Replace the data", {"A", "B"})])
def test_a_file_sharing_no_customer_and_no_day_is_asked_about_before_loading(app, db, tmp_path, button, customers):
    import_file(db, write_csv(tmp_path / "old.csv", "Customer ID,Order Date,Amount\nZ,2023-01-01,9\n"))
    at = _click(_upload(app(), "orders.csv", ORDERS), "Import")
    (asked,) = [w.value for w in at.warning]
    # A and B bought from 5 Jan to 1 Mar 2024 (C's row is unreadable); the shop holds Z's order of 1 Jan 2023.
    assert asked.startswith(
        "orders.csv shares no customers and no dates with the shop's data (the shop's orders: "
        "1 Jan 2023 to 1 Jan 2023; this file's: 5 Jan 2024 to 1 Mar 2024)"
    )
    with connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM imports").fetchall() == [(1,)]  # nothing loaded yet
    _click(at, button)
    assert not at.warning
    with connect(db, read_only=True) as con:
        assert {r[0] for r in con.execute("SELECT DISTINCT customer_id FROM orders").fetchall()} == customers


def test_a_file_sharing_a_customer_is_added_without_asking(app, db, tmp_path):
    import_file(db, write_csv(tmp_path / "old.csv", "Customer ID,Order Date,Amount\nA,2023-01-01,9\n"))
    at = _click(_upload(app(), "orders.csv", ORDERS), "Import")
    assert not at.warning and at.success[0].value.startswith("Imported orders.csv")


@pytest.mark.parametrize(
    ("value", "shown"),
    [(35.0, "35.00"), (99_999.99, "99,999.99"), (178_522.85, "179k"), (9_741_234.56, "9.74m"), (-250_000.0, "-250k")],
)
def test_revenue_in_the_sidebar_fits_half_its_width(value, shown):
    assert compact_money(value) == shown


def test_a_large_revenue_is_shown_short_with_the_exact_sum_as_help(app, db):
    big = b"Customer ID,Order Date,Amount\nA,2024-01-05,9741000\nB,2024-01-06,234.56\n"
    at = _click(_upload(app(), "big.csv", big), "Import")
    (revenue,) = [m for m in at.metric if m.label == "Revenue"]
    assert revenue.value == "9.74m" and revenue.proto.help == "9,741,234.56"


def test_a_customer_list_imports_from_the_sidebar_with_its_own_report(app, db):
    """A Shopify customers export goes through the same upload and the same import (issue 19)."""
    fixtures = Path(__file__).parent / "fixtures" / "contacts"
    at = _upload(app(), "orders.csv", (fixtures / "orders.csv").read_bytes())
    _click(at, "Import")
    at = _upload(at, "customers_export.csv", (fixtures / "shopify_customers_export.csv").read_bytes())
    captions = [c.value for c in at.caption]
    assert "**customers\\_export.csv**: 6 rows, recognised as a Shopify customers export" in captions
    _click(at, "Import")
    assert [s.value for s in at.success] == ["Imported customers\\_export.csv (Shopify customers export)."]
    assert _metrics(at) == {"People": "6", "Customers matched": "4"}
    assert "2 rows matched no customer; kept, not counted as customers." in [c.value for c in at.caption]


def test_a_customer_lists_mapping_is_shown_and_changed_before_loading(app, db):
    """A HubSpot contacts export shows its own fields (not the orders' ones), read by name; the owner moves the
    Interests column to tags and leaves the region out, and the import does that (issue 19)."""
    fixtures = Path(__file__).parent / "fixtures" / "contacts"
    at = _click(_upload(app(), "orders.csv", (fixtures / "orders.csv").read_bytes()), "Import")
    at = _upload(at, "contacts.csv", (fixtures / "hubspot_contacts_export.csv").read_bytes())
    assert "**contacts.csv**: 7 rows, recognised as a HubSpot contacts export" in [c.value for c in at.caption]
    labels = [s.label for s in at.selectbox]
    assert labels[:4] == ["customer_id", "email", "birth_date", "age"] and "order_date" not in labels
    assert {
        f: _selectbox(at, f).value
        for f in ("customer_id", "email", "birth_date", "gender", "region", "interests", "tags", "unsubscribed")
    } == {
        "customer_id": NONE,
        "email": "Email",
        "birth_date": "Date of birth",
        "gender": "Gender",
        "region": "State/Region",
        "interests": "Interests",
        "tags": NONE,
        "unsubscribed": "Unsubscribed from all email",
    }

    _selectbox(at, "tags").set_value("Interests")
    _selectbox(at, "interests").set_value(NONE)
    _selectbox(at, "region").set_value(NONE)
    _click(at, "Import")
    assert not at.error
    assert [s.value for s in at.success] == ["Imported contacts.csv (HubSpot contacts export)."]
    assert _metrics(at) == {"People": "7", "Customers matched": "6"}
    with connect(db, read_only=True) as con:
        names = dict(con.execute("SELECT name, count(*) FROM contact_attributes GROUP BY 1").fetchall())
        mapping = con.execute("SELECT mapping_json FROM imports WHERE file_name = 'contacts.csv'").fetchall()[0][0]
    # alice vegan, gluten-free; bob coffee; finn coffee, cakes; hana vegan, coffee: 7 items
    assert names["tag"] == 7 and "interest" not in names and "region" not in names
    assert '"tags": "Interests"' in mapping and '"region"' not in mapping
