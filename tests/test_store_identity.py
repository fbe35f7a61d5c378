"""Issue 14: a row is recognised by what it means, only a shop's store is written, and the store's lock is
waited for and explained.

- (12, 20) Re-exports of the same orders (columns reordered, a trailing space, an extra empty column, the
  same orders saved as .xlsx, customer details changed) add nothing, in a new store and in one made by the
  previous version (old-style fingerprints, upgraded on the next write).
- (14) A DuckDB file of another program, or a file that is not DuckDB at all, is refused with one sentence
  and left byte for byte as it was, by every command that writes and by the app's upgrade at start.
- (10) Another process holding the database: an import is refused before the file is read, in one sentence
  without process ids or addresses; an import and a reader wait for a holder that lets go soon.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from segmentation import store
from segmentation.importing.ingest import import_file
from segmentation.store import StoreError, connect, upgrade

from .conftest import REPO, write_csv

ORDERS = """\
Order ID,Customer ID,Email,Order Date,Product,Quantity,Unit Price
1001,C1,ann@example.com,01/03/2024,Sourdough,2,4.50
1001,C1,ann@example.com,01/03/2024,Croissant,1,2.20
1001,C1,ann@example.com,01/03/2024,Croissant,1,2.20
1002,C2,bob@example.com,02/03/2024,Latte,1,3.10
1003,C1,ann@example.com,05/03/2024,Cake,3,12345
"""
REVENUE = 9.0 + 2.2 + 2.2 + 3.1 + 3 * 12345


def _rows(text: str) -> list[list[str]]:
    return [line.split(",") for line in text.strip().splitlines()]


def _csv(rows: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in rows) + "\n"


def _reordered(text: str) -> str:
    rows = _rows(text)
    order = [6, 4, 3, 0, 2, 5, 1][: len(rows[0])] if len(rows[0]) == 7 else list(reversed(range(len(rows[0]))))
    return _csv([[r[i] for i in order] for r in rows])


def _trailing_space(text: str) -> str:
    rows = _rows(text)
    rows[1][4] += " "  # 'Sourdough '
    rows[4][0] = " " + rows[4][0]
    return _csv(rows)


def _extra_empty_column(text: str) -> str:
    return _csv([[*r, "Notes" if i == 0 else ""] for i, r in enumerate(_rows(text))])


def _new_details(text: str) -> str:
    """The same orders, exported after Ann changed her email address."""
    return text.replace("ann@example.com", "ann.new@example.com")


def _computed_prices(text: str) -> str:
    """The same orders written by a program that prints every digit of a computed price (pandas, say)."""
    return text.replace(",2.20\n", f",{math.nextafter(2.2, 3)!r}\n").replace(",4.50\n", ",4.5\n")


RE_EXPORTS = {
    "columns_reordered": _reordered,
    "trailing_space": _trailing_space,
    "extra_empty_column": _extra_empty_column,
    "customer_details_changed": _new_details,
    "computed_prices": _computed_prices,
}


def _totals(db: Path) -> tuple[int, float, int]:
    con = connect(db, read_only=True)
    try:
        return con.execute(
            "SELECT (SELECT count(*) FROM order_lines), (SELECT round(sum(net_amount), 2) FROM orders), "
            "(SELECT count(*) FROM orders)"
        ).fetchall()[0]
    finally:
        con.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- (12) the same orders, re-exported


@pytest.mark.parametrize("make", RE_EXPORTS.values(), ids=RE_EXPORTS.keys())
def test_a_re_export_of_the_same_orders_adds_nothing(make, db, tmp_path):
    first = import_file(db, write_csv(tmp_path / "orders.csv", ORDERS))
    assert (first.rows_loaded, round(first.revenue, 2)) == (5, round(REVENUE, 2))
    before = _totals(db)

    again = import_file(db, write_csv(tmp_path / "re_export.csv", make(ORDERS)))

    assert not again.already_imported  # another file: its rows are recognised one by one
    assert (again.rows_read, again.rows_loaded, again.rows_duplicate) == (5, 0, 5)
    assert "5 rows were already in the store" in again.as_text()
    assert _totals(db) == before


def test_three_re_exports_leave_the_revenue_as_it_was(db, tmp_path):
    import_file(db, write_csv(tmp_path / "orders.csv", ORDERS))
    before = _totals(db)
    for name, make in RE_EXPORTS.items():
        import_file(db, write_csv(tmp_path / f"{name}.csv", make(ORDERS)))
    assert _totals(db) == before
    assert before[1] == round(REVENUE, 2)


def test_customer_details_follow_the_latest_export_without_counting_its_orders_again(db, tmp_path):
    import_file(db, write_csv(tmp_path / "orders.csv", ORDERS))
    import_file(db, write_csv(tmp_path / "later.csv", _new_details(ORDERS)))
    con = connect(db, read_only=True)
    try:
        assert con.execute("SELECT email FROM customers WHERE customer_id = 'C1'").fetchall() == [
            ("ann.new@example.com",)
        ]
    finally:
        con.close()
    assert _totals(db)[0] == 5


def test_a_re_export_with_one_more_repeat_and_a_new_order_adds_just_those(db, tmp_path):
    import_file(db, write_csv(tmp_path / "orders.csv", ORDERS))
    rows = _rows(_reordered(ORDERS))
    later = _csv([*rows, rows[2], [r.replace("1002", "1004") for r in rows[4]]])  # a third croissant, order 1004
    report = import_file(db, write_csv(tmp_path / "later.csv", later))
    assert (report.rows_read, report.rows_loaded, report.rows_duplicate) == (7, 2, 5)
    assert _totals(db)[0] == 7


WITHOUT_ORDER_ID = """\
Customer,Date,Item,Qty,Total
C1,2024-03-01,Sourdough,2,9.00
C1,2024-03-01,Sourdough,2,9.00
C2,2024-03-02,Latte,1,3.10
"""


def test_a_file_without_order_ids_is_recognised_by_customer_date_product_and_amount(db, tmp_path):
    first = import_file(db, write_csv(tmp_path / "orders.csv", WITHOUT_ORDER_ID))
    assert first.rows_loaded == 3  # the repeated line is two purchases of the same kind: both kept
    again = import_file(db, write_csv(tmp_path / "again.csv", _reordered(WITHOUT_ORDER_ID).replace("9.00", "9")))
    assert (again.rows_loaded, again.rows_duplicate) == (0, 3)
    assert _totals(db)[0] == 3


ORDER_TOTALS = """\
Order ID,Customer ID,Order Date,Product,Order Total,Refund
A1,C1,2024-03-01,Bread,10.00,2.00
A1,C1,2024-03-01,Jam,10.00,2.00
A2,C2,2024-03-02,Tea,5.00,0
A2,C2,2024-03-02,Cake,5.00,0
A3,C1,2024-03-04,Pie,7.00,0
A3,C1,2024-03-04,Tart,7.00,0
"""


def test_an_export_of_order_totals_and_refunds_is_recognised_too(db, tmp_path):
    first = import_file(db, write_csv(tmp_path / "orders.csv", ORDER_TOTALS))
    assert first.rows_loaded == 6 and first.revenue == 8.0 + 5.0 + 7.0
    before = _totals(db)
    again = import_file(db, write_csv(tmp_path / "again.csv", _extra_empty_column(_reordered(ORDER_TOTALS))))
    assert (again.rows_loaded, again.rows_duplicate) == (0, 6)
    assert _totals(db) == before


def _write_xlsx(path: Path, text: str) -> Path:
    """The same orders as Excel saves them: dates as dates, numbers as numbers, ids as numbers."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    rows = _rows(text)
    sheet.append(rows[0])
    for r in rows[1:]:
        day, month, year = (int(x) for x in r[3].split("/"))
        sheet.append([int(r[0]), r[1], r[2], dt.datetime(year, month, day), r[4], float(r[5]), float(r[6])])
    book.save(path)
    return path


def test_the_same_orders_re_saved_as_xlsx_count_once(db, tmp_path):
    import_file(db, write_csv(tmp_path / "orders.csv", ORDERS))
    before = _totals(db)
    report = import_file(db, _write_xlsx(tmp_path / "orders.xlsx", ORDERS))
    assert (report.rows_read, report.rows_loaded, report.rows_duplicate) == (5, 0, 5)
    assert _totals(db) == before


# ---------------------------------------------------------------- (12) a store made by the previous version


def _make_previous_version(db: Path, how: str = "schema 2") -> None:
    """Turn a store into one as the previous version left it (schema 2, fingerprints of the raw cells: here,
    any other numbers, repeats numbered by them), or as this version left it under another DuckDB whose
    hash function gives other numbers."""
    con = duckdb.connect(str(db))
    try:
        con.execute("UPDATE order_lines SET row_hash = hash('other numbers', line_no), row_ordinal = 1")
        if how == "schema 2":
            con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
            con.execute("DELETE FROM meta WHERE key = 'row_identity'")
        else:
            con.execute("UPDATE meta SET value = 'hash(...) in duckdb 1.9.9' WHERE key = 'row_identity'")
    finally:
        con.close()


@pytest.mark.parametrize("how", ["schema 2", "another duckdb"])
def test_a_store_made_by_the_previous_version_recognises_a_re_export(how, db, tmp_path):
    import_file(db, write_csv(tmp_path / "orders.csv", ORDERS))
    _make_previous_version(db, how)
    before = _totals(db)

    report = import_file(db, write_csv(tmp_path / "re_export.csv", _reordered(ORDERS)))

    assert (report.rows_loaded, report.rows_duplicate) == (0, 5)
    assert _totals(db) == before
    con = connect(db, read_only=True)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [
            (str(store.SCHEMA_VERSION),)
        ]
        # The two croissants of order 1001 are numbered 1 and 2 again.
        assert con.execute(
            "SELECT row_ordinal FROM order_lines WHERE product = 'Croissant' ORDER BY row_ordinal"
        ).fetchall() == [(1,), (2,)]
    finally:
        con.close()


def test_upgrading_a_previous_store_numbers_repeats_across_its_imports(db, tmp_path):
    # One croissant in the first file, two in the second: the store holds two, and a file with two adds none.
    one = _csv(_rows(ORDERS)[:3])
    import_file(db, write_csv(tmp_path / "one.csv", one))
    import_file(db, write_csv(tmp_path / "all.csv", ORDERS))
    _make_previous_version(db)
    report = import_file(db, write_csv(tmp_path / "again.csv", _trailing_space(ORDERS)))
    assert (report.rows_loaded, report.rows_duplicate) == (0, 5)
    assert _totals(db)[0] == 5


# ---------------------------------------------------------------- (14) only a shop's store is written


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    environ.pop("SEGMENTS_DB", None)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=300, cwd=REPO, env=environ
    )


@pytest.fixture
def other_program_db(tmp_path) -> Path:
    path = tmp_path / "inventory.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE stock (sku VARCHAR, on_hand INTEGER)")
    con.execute("INSERT INTO stock VALUES ('A', 3), ('B', 5)")
    con.close()
    return path


@pytest.fixture
def a_csv_file(tmp_path) -> Path:
    return write_csv(tmp_path / "notes.csv", "a,b\n")


@pytest.fixture
def a_fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.duckdb"
    os.mkfifo(path)
    return path


def test_a_folder_or_a_fifo_is_not_a_store(a_fifo, tmp_path):
    for path in (a_fifo, tmp_path):
        with pytest.raises(StoreError, match="is not a shop database"):
            import_file(path, write_csv(tmp_path / "orders.csv", ORDERS))
        with pytest.raises(StoreError, match="is not a shop database"):
            connect(path, read_only=True)


@pytest.mark.parametrize("target", ["other_program_db", "a_csv_file"])
@pytest.mark.parametrize("command", ["import", "demo", "customers"])
def test_a_file_that_is_not_a_shop_store_is_refused_and_left_as_it_was(target, command, request, tmp_path):
    path = request.getfixturevalue(target)
    before = _sha(path)
    orders = write_csv(tmp_path / "orders.csv", ORDERS)
    args = {"import": ["import", str(orders)], "demo": ["demo", "--customers", "10"], "customers": ["customers"]}

    done = _cli(*args[command], "--db", str(path))

    assert done.returncode == 2, done.stderr
    line = done.stderr.strip()
    assert done.stderr.count("\n") == 1 and "is not a shop database" in line, done.stderr
    assert "Error:" not in line and "Traceback" not in done.stderr
    assert _sha(path) == before
    assert not path.with_name(path.name + ".wal").exists()


@pytest.mark.parametrize("target", ["other_program_db", "a_csv_file"])
def test_the_apps_upgrade_and_readers_leave_another_programs_file_alone(target, request):
    path = request.getfixturevalue(target)
    before = _sha(path)
    upgrade(path)  # the app calls it once at start, on SEGMENTS_DB
    with pytest.raises(StoreError, match="is not a shop database"), store.connect_sandboxed(path):
        pass
    with pytest.raises(StoreError, match="is not a shop database"):
        connect(path).close()
    assert _sha(path) == before


# ---------------------------------------------------------------- (10) the store's lock

HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
print("holding", flush=True)
sys.stdin.readline()  # until the test lets go
con.close()
"""
LOCKED = "in use by another program"


class Holder:
    """Another process (the app's reader, or an import's write step) holding the database open."""

    def __init__(self, db: Path, mode: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(db), mode], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "holding"

    def let_go(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)


@pytest.fixture
def shop(db, tmp_path) -> Path:
    import_file(db, write_csv(tmp_path / "orders.csv", ORDERS))
    return db


@pytest.fixture
def holders():
    started: list[Holder] = []

    def _hold(db: Path, mode: str) -> Holder:
        started.append(Holder(db, mode))
        return started[-1]

    yield _hold
    for holder in started:
        holder.let_go()


def _assert_locked_line(done: subprocess.CompletedProcess, command: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stdout == ""
    line = done.stderr.strip()
    assert done.stderr.count("\n") == 1 and line.startswith(f"segments {command}: ") and LOCKED in line, done.stderr
    assert "PID" not in line and "http" not in line and "Error" not in line, line


def test_an_import_is_refused_before_reading_the_file_while_another_process_holds_the_store(shop, holders, tmp_path):
    before = _sha(shop)
    # A file the importer would refuse on reading it: the lock is what it reports, so it was checked first.
    unreadable = write_csv(tmp_path / "later.csv", "Colour,Size\nred,2\n")
    holders(shop, "read")
    done = _cli("import", str(unreadable), "--db", str(shop), env={"SEGMENTS_LOCK_WAIT_SECONDS": "0.5"})
    _assert_locked_line(done, "import")
    assert "import from the app" in done.stderr
    assert _sha(shop) == before


def test_an_import_waits_for_a_holder_that_lets_go(shop, holders, tmp_path, monkeypatch):
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 60.0, raising=False)
    holder = holders(shop, "read")
    threading.Timer(1.0, holder.let_go).start()
    report = import_file(shop, write_csv(tmp_path / "later.csv", _new_details(ORDERS)))
    assert report.rows_duplicate == 5


def test_a_reader_during_a_write_waits_and_then_answers(shop, holders):
    holder = holders(shop, "write")
    reader = subprocess.Popen(
        [sys.executable, "-m", "cli", "customers", "--db", str(shop), "--format", "csv"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "SEGMENTS_LOCK_WAIT_SECONDS": "120"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    threading.Timer(3.0, holder.let_go).start()  # after the reader has found the store held
    out, err = reader.communicate(timeout=300)
    assert reader.returncode == 0, err
    assert out.splitlines()[0].startswith("customer_id")


def test_a_reader_refused_after_the_wait_says_so_in_one_sentence(shop, holders):
    holders(shop, "write")
    done = _cli("customers", "--db", str(shop), env={"SEGMENTS_LOCK_WAIT_SECONDS": "0.5"})
    _assert_locked_line(done, "customers")


def test_a_write_step_waits_for_a_reader_in_another_process(shop, holders, tmp_path, monkeypatch):
    """The lock is free when the import starts and taken while the file is read: the write step waits."""
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 60.0, raising=False)
    started: list[Holder] = []

    def progress(fraction: float, step: str) -> None:
        if step == "saving":  # the holder takes the store just before the write, and lets go soon after
            started.append(holders(shop, "read"))
            threading.Timer(0.5, started[0].let_go).start()

    report = import_file(shop, write_csv(tmp_path / "later.csv", _reordered(ORDERS)), progress=progress)
    assert report.rows_duplicate == 5
