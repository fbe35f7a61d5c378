"""Issue 14: one cell-safety rule where text enters (the importer) and leaves (every CSV writer, the
terminal); exports of an unchanged shop are the same bytes every time; a campaign whose folder cannot be
written is one sentence and no campaign.

The import side's file cases live in ``hostile_corpus.py`` (``hidden_formulas_*``); here each character
class is followed to its own row, and every exit is fed a store that already holds formula cells (written
with SQL, as a store from before the rule would hold them).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import unicodedata
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from segmentation.safety.cellsafety import (
    EQUALS_AT,
    FORMULA_SIGNS,
    INVISIBLE,
    PLUS_MINUS,
    defuse_formulas,
    formula_sql,
    is_formula,
    may_start_formula_sql,
    printable,
)
from segmentation.safety.export import EXPORT_DECIMALS, csv_bytes
from tests.hostile_corpus import HARMLESS_LOOKALIKES, HIDDEN_FORMULAS, PARTIAL

REPO = Path(__file__).resolve().parent.parent
CLASSES = list(HIDDEN_FORMULAS.items())


def segments(*argv: str, db: Path, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """``segments ARGV --db DB`` in a process of its own (hash seeds, threads: as a person runs it)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("PYTHONHASHSEED", None)
    done = subprocess.run(
        [sys.executable, "-m", "cli", *argv, "--db", str(db)], capture_output=True, env=env, cwd=REPO, timeout=300
    )
    if check:
        assert done.returncode == 0, done.stderr.decode()
    return done


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_inert(text: str, *, at_least: int = 1) -> None:
    """No cell of this CSV could run as a formula, and at least ``at_least`` were defused (so the hostile
    cells did reach this export: the check is not vacuous)."""
    cells = csv_cells(text)
    assert [c for c in cells if is_formula(c)] == []
    defused = [c for c in cells if c.startswith("'") and is_formula(c[1:])]
    assert len(defused) >= at_least, f"expected {at_least} defused cells, found {defused}"


# ---------------------------------------------------------------- the rule itself


def test_the_lists_hold_every_space_control_and_format_character_and_every_form_of_the_signs():
    invisible = {cp for lo, hi in INVISIBLE for cp in range(lo, hi + 1)}
    for cp in range(sys.maxunicode + 1):
        char = chr(cp)
        if unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc", "Cf") or char.isspace():
            assert cp in invisible, f"U+{cp:04X} {unicodedata.name(char, '')}"
    folds_to_a_sign = {"=", "+", "-", "@", "\u2212"}
    signs = {cp for cp in range(sys.maxunicode + 1) if unicodedata.normalize("NFKC", chr(cp)) in folds_to_a_sign}
    assert set(FORMULA_SIGNS) == signs
    assert set(PLUS_MINUS) | set(EQUALS_AT) == set(FORMULA_SIGNS)


@pytest.mark.parametrize(("name", "cell"), CLASSES, ids=[c[0] for c in CLASSES])
def test_python_pandas_and_duckdb_agree_on_each_hidden_formula(name, cell):
    cells = [cell, "'" + cell, *HARMLESS_LOOKALIKES]
    want = [True, False] + [False] * len(HARMLESS_LOOKALIKES)
    assert [is_formula(c) for c in cells] == want
    con = duckdb.connect()
    got = con.execute(f"SELECT {formula_sql('x')} FROM unnest(?) AS t(x)", [cells]).fetchall()
    assert [g[0] for g in got] == want
    for dtype in ("str", "string[python]", "string[pyarrow]", object):  # Arrow (RE2) and Python's re
        frame = pd.DataFrame({"a": pd.Series(cells, dtype=dtype)})
        assert defuse_formulas(frame)["a"].tolist() == ["'" + cell, "'" + cell, *HARMLESS_LOOKALIKES]


def test_the_cheap_first_test_never_hides_a_formula_and_passes_over_letters_and_digits():
    starts = sorted({cp for lo, hi in INVISIBLE for cp in (lo, hi, (lo + hi) // 2)} | set(FORMULA_SIGNS))
    cells = [chr(cp) + "=1" for cp in starts] + ["Tea", "zoë", "9", "A=1", "0=1", "日本", "Дмитрий", "Ελένη", "Ørsted"]
    con = duckdb.connect()
    got = con.execute(f"SELECT x, {formula_sql('x')} FROM unnest(?) AS t(x)", [cells]).fetchall()
    assert [x for x, formula in got if formula != is_formula(x)] == []
    assert all(formula for x, formula in got[: len(starts)])
    letters = con.execute(
        f"SELECT bool_or({may_start_formula_sql('x')}) FROM unnest(?) AS t(x)", [cells[len(starts) :]]
    ).fetchone()
    assert letters == (False,)


def test_printable_keeps_text_and_shows_terminal_controls_as_question_marks():
    assert printable("Zoë\tRTL שלום 日本\n") == "Zoë\tRTL שלום 日本\n"
    assert printable("\x1b]0;pwned\x07|\x1b[2J|\x9b31m|a\rb|\u202eevil") == "?]0;pwned?|?[2J|?31m|a?b|?evil"


# ---------------------------------------------------------------- at import: each class, each format


@pytest.mark.parametrize("kind", ["csv", "xlsx", "parquet"])
def test_each_hidden_formula_is_rejected_on_its_own_row(kind, tmp_path):
    case = next(c for c in PARTIAL if c.name == f"hidden_formulas_{kind}")
    path = case.build(tmp_path)
    db = tmp_path / "shop.duckdb"
    report = import_file(db, path)
    con = duckdb.connect(str(db), read_only=True)
    rejected = dict(con.execute("SELECT line_no, reason FROM rejects").fetchall())
    stored = con.execute("SELECT product, customer_id FROM order_lines").fetchall()
    names = [r[0] for r in con.execute("SELECT first_name FROM customers").fetchall()]
    con.close()
    # Data row 4 + i holds class i: in a text file that is line 5 + i (the column names are line 1).
    first = 5 if kind == "csv" else 4
    for i, name in enumerate(HIDDEN_FORMULAS):
        assert "formula" in rejected.get(first + i, ""), f"{name}: {rejected.get(first + i)}"
    assert report.rows_loaded == 3 + len(HARMLESS_LOOKALIKES)
    assert not [c for c in [*sum(stored, ()), *names] if is_formula(c)]


def test_a_carriage_return_before_a_formula_in_a_quoted_csv_cell_is_rejected(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(
        b"Order ID,Customer ID,Order Date,Product,Amount\nA1,C1,2024-03-01,Tea,1.50\n"
        b'A2,C2,2024-03-02,"\r=1+1",2.50\nA3,C3,2024-03-03,"\r\n@SUM(A1)",3.50\n'
    )
    report = import_file(tmp_path / "shop.duckdb", path)
    assert (report.rows_loaded, report.rows_rejected) == (1, 2)
    assert list(report.rejected_by_reason) == ["formula-like cell (possible spreadsheet injection)"]


# ---------------------------------------------------------------- at every exit: a store that already holds them


@pytest.fixture(scope="module")
def hostile_store(demo_shops, tmp_path_factory) -> Path:
    """A demo shop whose first customers' ids, first names, cities and products are hidden formulas, written
    straight into the store, as a store imported before the rule holds them."""
    db = demo_shops.copy(tmp_path_factory.mktemp("hostile_store"), name="orders.csv", customers=300, seed=3)
    con = duckdb.connect(str(db))
    ids = [r[0] for r in con.execute("SELECT customer_id FROM customers ORDER BY 1").fetchall()]
    for i, (cell, old) in enumerate(zip(HIDDEN_FORMULAS.values(), ids, strict=False)):
        new = f"{cell}{i}"
        for table in ("order_lines", "orders"):
            con.execute(f"UPDATE {table} SET customer_id = ? WHERE customer_id = ?", [new, old])
        con.execute("UPDATE order_lines SET product = ? WHERE customer_id = ?", [cell, new])
        con.execute("UPDATE customers SET customer_id = ?, city = ? WHERE customer_id = ?", [new, cell, old])
    cells = list(HIDDEN_FORMULAS.values())
    con.execute(
        "UPDATE customers SET first_name = list_extract(?, (hash(customer_id) % ?)::INTEGER + 1)", [cells, len(cells)]
    )
    con.execute(
        "INSERT INTO rejects SELECT 1, 100 + i, 'formula-like cell (possible spreadsheet injection)', ? "
        "FROM range(1) AS t(i)",
        [json.dumps({"Product": cells[0], "Name": cells[-1]})],
    )
    con.close()
    return db


def test_customers_csv_defuses_every_hidden_formula(hostile_store):
    out = segments("customers", "--format", "csv", db=hostile_store).stdout.decode()
    assert_inert(out, at_least=len(HIDDEN_FORMULAS))


@pytest.mark.parametrize("by", ["product", "city"])
def test_breakdown_csv_defuses_them(by, hostile_store):
    assert_inert(segments("breakdown", by, "--format", "csv", db=hostile_store).stdout.decode())


def test_campaign_lists_defuse_them(hostile_store, tmp_path):
    db = tmp_path / "shop.duckdb"
    db.write_bytes(hostile_store.read_bytes())
    segments("campaign", "create", "lapsed", "--holdout", "0.5", "--out", str(tmp_path / "out"), db=db)
    assert_inert((tmp_path / "out" / "audience.csv").read_text() + (tmp_path / "out" / "control.csv").read_text())


def test_app_and_tool_downloads_defuse_them(hostile_store):
    import tools.registry  # noqa: F401  (fills the registry)
    from tools.base import ToolContext, run_tool
    from ui.importer import rejects_csv

    result = run_tool("list_customers", {"group": "lapsed"}, ToolContext(db_path=hostile_store))
    assert_inert(result.downloads[0].content().decode("utf-8-sig"))
    assert_inert(rejects_csv(hostile_store, 1).decode(), at_least=2)


def test_a_csv_printed_to_a_terminal_is_defused_and_shows_no_control_characters(tmp_path):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_demo_csv(tmp_path / "orders.csv", customers=60, seed=1))
    con = duckdb.connect(str(db))
    top = con.execute("SELECT product FROM order_lines GROUP BY 1 ORDER BY sum(net_amount) DESC, 1 LIMIT 1").fetchone()
    con.execute("UPDATE order_lines SET product = '\u00a0=1+1\x1b[2J' WHERE product = ?", top)
    con.close()
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "breakdown", "product", "--format", "csv", "--db", str(db)],
        stdout=follower,
        stderr=follower,
        cwd=REPO,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=300) == 0
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert "\x1b" not in text
    assert "'\u00a0=1+1?[2J" in text


# ---------------------------------------------------------------- the terminal


@pytest.fixture(scope="module")
def escape_store(demo_shops, tmp_path_factory) -> Path:
    """A demo shop whose best product, biggest city and busiest channel are terminal escape sequences."""
    db = demo_shops.copy(tmp_path_factory.mktemp("escape_store"), name="orders.csv", customers=300, seed=5)
    con = duckdb.connect(str(db))
    top = con.execute("SELECT product FROM order_lines GROUP BY 1 ORDER BY sum(net_amount) DESC, 1 LIMIT 1").fetchone()
    con.execute("UPDATE order_lines SET product = '\x1b]0;pwned\x07' WHERE product = ?", top)
    city = con.execute("SELECT city FROM customers GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
    con.execute("UPDATE customers SET city = '\x1b[2J' WHERE city = ?", city)
    channel = con.execute("SELECT channel FROM orders GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
    for table in ("order_lines", "orders"):
        con.execute(f"UPDATE {table} SET channel = '\x1b]52;c;cHduZWQ=\x07' WHERE channel = ?", channel)
    con.close()
    return db


@pytest.mark.parametrize(
    "argv",
    [
        ("breakdown", "product"),
        ("breakdown", "city"),
        ("breakdown", "channel"),
        ("ask", "which products sell best?", "revenue by city", "sales by channel"),
    ],
    ids=["breakdown-product", "breakdown-city", "breakdown-channel", "ask"],
)
def test_escape_codes_from_the_data_are_not_printed(argv, escape_store):
    out = segments(*argv, db=escape_store).stdout.decode()
    assert "\x1b" not in out and "\x07" not in out
    assert any(shown in out for shown in ("?]0;pwned?", "?[2J", "?]52;c;cHduZWQ=?"))


# ---------------------------------------------------------------- stable exports


@pytest.fixture(scope="module")
def demo_store(demo_shops, tmp_path_factory) -> Path:
    """A bigger demo shop than conftest's ``demo_store`` (3,000 customers), which this module's tests get instead."""
    return demo_shops.copy(tmp_path_factory.mktemp("demo_store"), name="orders.csv", customers=3000, seed=11)


def test_two_exports_of_an_unchanged_shop_are_the_same_bytes(demo_store):
    first, second = (segments("customers", "--format", "csv", db=demo_store).stdout for _ in range(2))
    assert first == second
    frame = pd.read_csv(io.BytesIO(first))
    assert list(frame["customer_id"]) == sorted(frame["customer_id"])  # one stable order: by customer id
    for column, decimals in EXPORT_DECIMALS.items():
        if column in frame:
            values = frame[column].dropna()
            assert (values.round(decimals) == values).all(), f"{column} has more than {decimals} decimals"


def test_downloads_round_model_outputs_too():
    frame = pd.DataFrame({"customer_id": ["b", "a"], "clv": [1.23456789, 2.0], "p_alive": [0.123456, 1.0]})
    assert csv_bytes(frame, bom=False).decode() == "customer_id,clv,p_alive\nb,1.23,0.1235\na,2.0,1.0\n"


# ---------------------------------------------------------------- a campaign's folder


def _campaigns(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT * FROM campaigns UNION ALL SELECT campaign_id, customer_id, arm, NULL, NULL, "
            "NULL, NULL, NULL, NULL, NULL FROM campaign_members ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("where", ["under_a_file", "control_csv_is_a_folder"])
def test_a_campaign_folder_that_cannot_be_written_is_one_sentence_and_no_campaign(where, demo_store, tmp_path):
    db = tmp_path / "shop.duckdb"
    db.write_bytes(demo_store.read_bytes())
    (tmp_path / "a_file").write_text("not a folder")
    out = tmp_path / "a_file" / "campaign" if where == "under_a_file" else tmp_path / "campaign"
    if where == "control_csv_is_a_folder":  # audience.csv is written, then control.csv fails
        (out / "control.csv").mkdir(parents=True)
    before = _campaigns(db)
    done = segments("campaign", "create", "lapsed", "--out", str(out), db=db, check=False)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err and str(out) in err and "no campaign" in err, err
    assert done.stdout == b""
    assert _campaigns(db) == before
    assert not (out / "audience.csv").exists()


def test_the_app_offers_no_table_export_that_skips_the_defusing_writer():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True
