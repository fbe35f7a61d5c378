"""The importer on the formats and habits of real exports, each checked against what the file says."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import duckdb
import pytest

from segmentation.importing.ingest import IngestError, import_file, preview_file
from segmentation.store import connect

from .conftest import write_csv

BASIC = """
Order ID,Customer ID,Order Date,Product,Quantity,Unit Price
1001,0042,2024-03-01 09:15:00,Sourdough,2,4.50
1001,0042,2024-03-01 09:15:00,Croissant,1,2.20
1002,0107,2024-03-02 10:00:00,Latte,1,3.10
1003,,2024-03-02 11:00:00,Latte,1,3.10
"""


LINES = "SELECT customer_id, order_id, order_date::VARCHAR, amount FROM order_lines ORDER BY import_id, line_no"


def _lines(db, sql=LINES):
    con = connect(db, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_basic_csv_keeps_ids_as_text_and_counts_guests(imported, db):
    report = imported(BASIC)
    assert report.mapping == {
        "customer_id": "Customer ID",
        "order_id": "Order ID",
        "order_date": "Order Date",
        "quantity": "Quantity",
        "unit_price": "Unit Price",
        "product": "Product",
    }
    assert (report.rows_read, report.rows_loaded, report.guest_rows, report.customers) == (4, 4, 1, 2)
    assert report.revenue == 9.0 + 2.2 + 3.1 + 3.1
    assert _lines(db) == [
        ("0042", "1001", "2024-03-01", 9.0),
        ("0042", "1001", "2024-03-01", 2.2),
        ("0107", "1002", "2024-03-02", 3.1),
        (None, "1003", "2024-03-02", 3.1),
    ]


def test_reimporting_the_same_file_adds_nothing(imported, db, tmp_path):
    imported(BASIC)
    again = import_file(db, tmp_path / "orders.csv")
    assert again.already_imported
    assert len(_lines(db)) == 4


def test_overlapping_export_adds_only_new_rows_and_keeps_true_duplicates(imported, db):
    imported(BASIC)
    # A later export: the same four rows, a genuinely repeated line (two identical croissants on one
    # order are two rows in real exports), and one new order.
    later = BASIC + "1001,0042,2024-03-01 09:15:00,Croissant,1,2.20\n1004,0107,2024-03-05 08:00:00,Bun,3,1.00\n"
    report = imported(later, name="later.csv")
    assert (report.rows_read, report.rows_loaded, report.rows_duplicate) == (6, 2, 4)
    assert len(_lines(db)) == 6


def test_replace_starts_afresh(imported, db):
    imported(BASIC)
    report = imported("Customer ID,Order Date,Amount\nX1,2024-05-01,10\n", name="new.csv", replace=True)
    assert report.replaced
    assert _lines(db) == [("X1", None, "2024-05-01", 10.0)]
    con = connect(db, read_only=True)
    assert con.execute("SELECT customer_id FROM customers").fetchall() == [("X1",)]
    assert con.execute("SELECT count(*) FROM imports").fetchone()[0] == 2  # the history stays
    con.close()


def test_semicolons_decimal_comma_and_cp1252(tmp_path, db):
    text = (
        "Kundennummer;Datum;Betrag;E-Mail;First name\n"
        "K1;05.03.2024;1.234,50;zoë@example.de;Zoë\nK2;06.03.2024;12,00 €;b@example.de;Bjørn\n"
    )
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("cp1252"))
    report = import_file(db, path, overrides={"customer_id": "Kundennummer", "order_date": "Datum", "amount": "Betrag"})
    assert report.mapping["email"] == "E-Mail"
    assert any("cp1252" in n for n in report.notes) and any("decimal comma" in n for n in report.notes)
    assert _lines(db) == [("K1", None, "2024-03-05", 1234.5), ("K2", None, "2024-03-06", 12.0)]
    con = connect(db, read_only=True)
    assert con.execute("SELECT first_name FROM customers ORDER BY 1").fetchall() == [("Bjørn",), ("Zoë",)]
    con.close()


@pytest.mark.parametrize("newline", ["\n", "\r"])
def test_a_cp1252_line_far_down_a_utf8_file_is_read_not_lost(tmp_path, db, newline):
    # Only the first 256 KB are checked before reading; the reader finds the rest and the file is read again.
    rows = [f"C{i % 50},2024-03-{1 + i % 28:02d},Plain bread,1,2.50" for i in range(12_000)]
    rows[11_000] = "C7,2024-03-09,Café crème,1,3.20"
    text = newline.join(["Customer ID,Order Date,Product,Quantity,Unit Price", *rows]) + newline
    path = tmp_path / "mostly_utf8.csv"
    path.write_bytes(text.encode("cp1252"))
    assert len(text.encode("cp1252")) > 256 * 1024
    report = import_file(db, path)
    assert report.rows_loaded == 12_000 and report.rows_rejected == 0
    assert any("cp1252" in n for n in report.notes)
    assert _lines(db, "SELECT product FROM order_lines WHERE line_no = 11001") == [("Café crème",)]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024-03-05", "2024-03-05"),
        ("2024-03-05T14:22:31.123Z", "2024-03-05"),
        ("2024-03-05 23:40:00 -0500", "2024-03-05"),  # the shop's local day, as printed
        ("05/03/2024", "2024-03-05"),  # ambiguous: day-first, and said so in the report
        ("20240305", "2024-03-05"),
        ("5 Mar 2024", "2024-03-05"),
        ("Mar 5, 2024", "2024-03-05"),
        ("05.03.2024 14:22", "2024-03-05"),
    ],
)
def test_date_formats(imported, db, written, expected):
    imported(f'Customer ID,Order Date,Amount\nA,"{written}",10\nB,"{written}",12\n')
    assert {row[2] for row in _lines(db)} == {expected}


def test_month_first_is_detected_when_a_day_exceeds_twelve(imported, db):
    report = imported("Customer ID,Order Date,Amount\nA,03/05/2024,1\nB,03/25/2024,2\n")
    assert [row[2] for row in _lines(db)] == ["2024-03-05", "2024-03-25"]
    assert not any("day-first or month-first" in n for n in report.notes)


def test_ambiguous_dates_are_flagged(imported):
    report = imported("Customer ID,Order Date,Amount\nA,03/05/2024,1\nB,04/06/2024,2\n")
    assert any("day-first or month-first" in n for n in report.notes)


def test_date_column_found_by_content(imported):
    report = imported("Customer ID,When,Amount\nA,2024-01-02,5\nB,2024-01-03,6\n")
    assert report.mapping["order_date"] == "When"
    assert any("by content" in n for n in report.notes)


def test_xlsx_numbers_become_plain_ids(tmp_path, db):
    openpyxl = pytest.importorskip("openpyxl")
    import datetime as dt

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["CustomerID", "InvoiceDate", "Total", "Email"])
    sheet.append([17850.0, dt.datetime(2024, 3, 1, 10, 30), 25.5, "A@Example.com"])
    sheet.append([12346, dt.datetime(2024, 3, 2), 10, "b@example.com"])
    path = tmp_path / "orders.xlsx"
    book.save(path)
    import_file(db, path)
    assert _lines(db) == [("17850", None, "2024-03-01", 25.5), ("12346", None, "2024-03-02", 10.0)]


def test_parquet_and_gzip(tmp_path, db):
    parquet = tmp_path / "orders.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('007', DATE '2024-01-02', 12.5::DOUBLE), ('008', DATE '2024-01-03', 3.0)) "
        f"t(customer_id, order_date, total)) TO '{parquet}' (FORMAT parquet)"
    )
    con.close()
    import_file(db, parquet)
    gz = tmp_path / "more.csv.gz"
    gz.write_bytes(gzip.compress(b"customer_id,order_date,total\n009,2024-01-04,7\n"))
    import_file(db, gz)
    assert _lines(db) == [
        ("007", None, "2024-01-02", 12.5),
        ("008", None, "2024-01-03", 3.0),
        ("009", None, "2024-01-04", 7.0),
    ]


def test_returns_cancellations_and_refunds_are_netted(imported, db):
    imported(
        """
        Order ID,Customer ID,Order Date,Quantity,Unit Price,Status,Refunded Amount
        1,A,2024-01-01,2,10,paid,
        1,A,2024-01-01,1,5,,
        2,A,2024-01-02,1,30,cancelled,
        3,A,2024-01-03,1,40,paid,15
        C4,A,2024-01-04,-1,10,paid,
        """
    )
    orders = _lines(db, "SELECT order_id, net_amount, is_purchase FROM orders ORDER BY order_id")
    # order 1: 20 + 5; 2: cancelled -> 0; 3: 40 - 15; C4: a return, negative, not a purchase
    assert orders == [("1", 25.0, True), ("2", 0.0, False), ("3", 25.0, True), ("C4", -10.0, False)]


def test_order_total_repeated_on_every_line_counts_once(imported, db):
    rows = "".join(
        f"{o},{c},2024-02-0{o},item{i},{t}\n" for o, c, t in ((1, "A", 30), (2, "B", 12), (3, "A", 8)) for i in range(3)
    )
    report = imported("Order Number,Customer ID,Order Date,Product,Order Total\n" + rows)
    assert any("counted once per order" in n for n in report.notes)
    assert _lines(db, "SELECT order_id, net_amount FROM orders ORDER BY 1") == [("1", 30.0), ("2", 12.0), ("3", 8.0)]


def test_email_is_the_customer_when_there_is_no_id(imported, db):
    report = imported("Email,Created at,Total\n Ann@Example.COM ,2024-01-01,5\nann@example.com,2024-01-09,6\n")
    assert any("identified by email" in n for n in report.notes)
    assert {row[0] for row in _lines(db)} == {"ann@example.com"}


def test_map_overrides_a_guess_and_can_ignore_a_column(imported):
    report = imported(
        "Customer ID,Order Date,Paid at,Amount,Channel\nA,2024-01-01,2024-01-05,5,web\n",
        overrides={"order_date": "paid at", "channel": ""},
    )
    assert report.mapping["order_date"] == "Paid at" and "channel" not in report.mapping


def test_bad_rows_are_rejected_with_reasons_and_kept(imported, db):
    report = imported(
        """
        Customer ID,Order Date,Amount,Product
        A,2024-01-01,10,Bread
        B,not a date,10,Bread
        C,2024-01-02,ten,Bread
        D,,10,Bread
        E,2024-01-03,10,"=HYPERLINK(""http://x"",""click"")"
        F,1066-10-14,10,Bread
        ,,,
         , , ,\u00a0
        """
    )
    assert report.rows_loaded == 1 and report.rows_rejected == 7
    assert report.rejected_by_reason == {
        "unreadable order date": 1,
        "unreadable amount": 1,
        "no order date": 1,
        "formula-like cell (possible spreadsheet injection)": 1,
        "order date out of range": 1,
        "blank row": 2,
    }
    rejects = _lines(db, "SELECT line_no, reason, raw FROM rejects ORDER BY line_no")
    # The line in the file, the column names being line 1 (issue 14, finding 20).
    assert [r[0] for r in rejects] == [3, 4, 5, 6, 7, 8, 9]
    assert [r[1] for r in rejects[-3:]] == ["order date out of range", "blank row", "blank row"]
    assert json.loads(rejects[1][2])["Amount"] == "ten"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Customer ID,Amount\nA,5\n", "No order date column"),
        ("Order Date,Amount\n2024-01-01,5\n", "No customer column"),
        ("Customer ID,Order Date\nA,2024-01-01\n", "No amount column"),
        ("Customer ID,Order Date,Amount\nA,someday,5\n", "'Order Date' should hold order dates but none"),
        ("Customer ID,Order Date,Amount\nA,2024-01-01,five\n", "None of the 1 rows"),
    ],
    ids=["no-date", "no-customer", "no-amount", "no-readable-date", "nothing-usable"],
)
def test_unusable_files_are_refused_and_the_store_is_unchanged(imported, db, text, message):
    imported(BASIC, name="first.csv")
    before = _lines(db, "SELECT * FROM order_lines ORDER BY ALL")
    with pytest.raises(IngestError, match=message):
        imported(text, name="bad.csv")
    assert _lines(db, "SELECT * FROM order_lines ORDER BY ALL") == before
    assert _lines(db, "SELECT count(*) FROM imports") == [(1,)]


def test_a_refused_file_leaves_no_database_behind(tmp_path):
    path = write_csv(tmp_path / "bad.csv", "Customer ID,Amount\nA,5\n")
    with pytest.raises(IngestError):
        import_file(tmp_path / "new.duckdb", path)
    assert not (tmp_path / "new.duckdb").exists()


def test_the_cheap_trim_is_exactly_duckdbs_trim():
    from segmentation.importing.ingest import _trimmed
    from segmentation.safety.cellsafety import formula_sql, is_formula

    cells = [
        "",
        " ",
        "a",
        " a",
        "a ",
        "  a  ",
        "\u00a0a",
        "a\u3000",
        "Zoë",
        "\tx\t",
        "x\r",
        "\u2007",
        None,
        "=SUM(A1)",
        " =1",
        "\t+1",
        "-2",
        "@x",
        "\r=1",
        "a=b",
        "0=1",
        "9",
        "<=",
        ">x",
        "?",
        "A=1",
        "\u00a0=1",
    ]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (x VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[c] for c in cells])
    rows = con.execute(f"SELECT x, {_trimmed('x')}, nullif(trim(x), ''), {formula_sql('x')} FROM t").fetchall()
    assert len(rows) == len(cells)
    for cell, cheap, exact, formula in rows:
        assert cheap == exact, repr(cell)
        assert formula == is_formula(cell), repr(cell)  # the importer's SQL and the writers' Python agree


# ---------------------------------------------------------------- files past the rows the columns are recognised from

HEADER = "Order ID,Customer ID,Order Date,Product,Quantity,Unit Price"


def _order_rows(count: int) -> list[str]:
    return [f"O{i},C{i % 997},2024-03-{1 + i % 28:02d},Bread,1,{1 + i % 7}.50" for i in range(1, count + 1)]


def test_every_row_keeps_its_place_in_a_file_read_by_several_threads(tmp_path, db):
    # 250,000 rows: DuckDB splits the read among threads, and the rows must still be numbered as in the file.
    rows = _order_rows(250_000)
    for line in (1, 123_457, 250_000):
        rows[line - 1] = f"O{line},C1,someday,Bread,1,2.50"
    rows[239_999] = rows[9]  # line 240,000 repeats line 10 exactly: both kept, numbered in file order
    path = tmp_path / "big.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    report = import_file(db, path)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (250_000, 249_997, 3)
    rejects = _lines(db, "SELECT line_no, reason, raw FROM rejects ORDER BY line_no")
    # A rejected row is named by its line in the file (data row n is line n + 1), as in the text the owner opens.
    assert [(line, reason) for line, reason, _ in rejects] == [
        (2, "unreadable order date"),
        (123_458, "unreadable order date"),
        (250_001, "unreadable order date"),
    ]
    assert json.loads(rejects[1][2]) == {
        "Order ID": "O123457",
        "Customer ID": "C1",
        "Order Date": "someday",
        "Product": "Bread",
        "Quantity": "1",
        "Unit Price": "2.50",
    }
    placed = "SELECT line_no, order_id, row_ordinal FROM order_lines WHERE line_no IN (2, 10, 199999, 240000)"
    assert sorted(_lines(db, placed)) == [(2, "O2", 1), (10, "O10", 1), (199_999, "O199999", 1), (240_000, "O10", 2)]
    assert import_file(db, path).already_imported


def test_a_cp1252_line_past_the_sampled_rows_has_the_file_read_again(tmp_path, db):
    rows = _order_rows(30_000)
    rows[26_999] = "O27000,C7,2024-03-09,Café crème,1,3.20"
    path = tmp_path / "late_cp1252.csv"
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("cp1252"))
    report = import_file(db, path)
    assert report.rows_loaded == 30_000 and report.rows_rejected == 0
    assert any("cp1252" in n for n in report.notes)
    assert _lines(db, "SELECT product FROM order_lines WHERE line_no = 27000") == [("Café crème",)]


def test_an_unclosed_quote_past_the_sampled_rows_loses_only_its_own_line(tmp_path, db):
    rows = _order_rows(30_000)
    rows[24_999] = 'O25000,C7,2024-03-09,"Rye loaf,1,3.20'
    path = write_csv(tmp_path / "late_quote.csv", "\n".join([HEADER, *rows]) + "\n")
    report = import_file(db, path)
    assert (report.rows_loaded, report.rejected_by_reason) == (29_999, {"unclosed quote": 1})
    assert _lines(db, "SELECT line_no, reason FROM rejects") == [(25_001, "unclosed quote")]  # the file's line
    assert _lines(db, "SELECT count(*) FROM order_lines WHERE order_id IN ('O24999', 'O25001', 'O30000')") == [(3,)]


def test_dates_that_show_month_first_only_late_in_a_file_are_read_month_first(tmp_path, db):
    # The first 20,000 rows could be either way round; the rows sampled further on settle it.
    rows = [f"O{i},C{i % 97},03/{1 + i % 12:02d}/2024,Bread,1,2.50" for i in range(1, 20_001)]
    rows += [f"O{i},C{i % 97},03/{13 + i % 15}/2024,Bread,1,2.50" for i in range(20_001, 30_001)]
    path = write_csv(tmp_path / "late_month_first.csv", "\n".join([HEADER, *rows]) + "\n")
    assert preview_file(path).rows == 30_000
    report = import_file(db, path)
    assert (report.rows_loaded, report.rows_rejected) == (30_000, 0)
    assert _lines(db, "SELECT order_date::VARCHAR FROM order_lines WHERE line_no IN (1, 30_000) ORDER BY line_no") == [
        ("2024-03-02",),
        ("2024-03-13",),
    ]


def test_orders_built_from_the_imported_rows_match_orders_rebuilt_from_the_store(imported, db):
    # A first import builds orders from its own rows; a later one from every line in the store. Both ways
    # must give the same table: guests, returns, a cancelled order and lines without an order id included.
    from segmentation.store import rebuild_orders

    imported(
        """
        Order ID,Customer ID,Order Date,Product,Quantity,Unit Price,Status,Channel
        1,A,2024-03-01 09:00:00,Bread,2,4.50,paid,web
        1,A,2024-03-01 09:00:00,Cake,1,12.00,paid,shop
        2,B,2024-03-02 10:00:00,Bread,1,4.50,cancelled,web
        3,,2024-03-02 11:00:00,Tea,1,3.00,paid,shop
        4,A,2024-03-05 12:00:00,Bread,-1,4.50,refunded,web
        ,C,2024-03-06 13:00:00,Tea,1,3.00,paid,shop
        ,C,2024-03-06 15:00:00,Cake,1,12.00,paid,shop
        """
    )
    con = connect(db)
    try:
        built = con.execute("SELECT * FROM orders ORDER BY ALL").fetchall()
        rebuild_orders(con)
        assert con.execute("SELECT * FROM orders ORDER BY ALL").fetchall() == built
    finally:
        con.close()
    assert len(built) == 5 and ("C", "day:2024-03-06", dt.date(2024, 3, 6), 15.0, 15.0, 2, "shop", True) in built
