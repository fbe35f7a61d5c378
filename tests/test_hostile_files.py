"""Hostile and broken files: each is refused clearly with the database unchanged, or imported with its
bad rows rejected and counted by reason. Nothing a user gives us is silently dropped.

The corpus lives in ``hostile_corpus.py``; every file is written by the test itself.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import cli
from segmentation.importing.ingest import import_file
from segmentation.store import DATA_TABLES
from tests.hostile_corpus import CASES, CONTACT_PARTIAL, PARTIAL, REFUSED, SEED_CSV, Case

SNAPSHOT_TABLES = (*DATA_TABLES, "meta")
# A Python exception's class name (IngestError, UnicodeDecodeError, ConversionException, ...).
CLASS_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception|Warning)\b")
# A library's error category passed through ("Invalid Input Error: ...", "IO Error: ...").
LIBRARY_ERROR = re.compile(r"\b(Error|Exception):")
INTERNALS = ("traceback", 'file "', "duckdb", "calamine", "pandas", "errno", "<class")


def test_corpus_is_big_enough_and_well_formed():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"
    for case in PARTIAL:
        assert case.rows == case.loaded + sum(case.rejected.values()), case.name


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="session")
def seed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop database holding a small valid import (two rows loaded, one rejected), built once."""
    folder = tmp_path_factory.mktemp("seed")
    seed = folder / "seed_orders.csv"
    seed.write_text(SEED_CSV, encoding="utf-8")
    db = folder / "shop.duckdb"
    report = import_file(db, seed)
    assert (report.rows_loaded, report.rows_rejected) == (2, 1)
    assert leftovers(db) == [db], "the seed import left a WAL file: copy would not be the whole database"
    return db


@pytest.fixture
def seeded_db(seed_template: Path, tmp_path: Path) -> Path:
    """This test's own copy of the seeded database, in a folder of its own."""
    db = tmp_path / "db" / "shop.duckdb"
    db.parent.mkdir()
    shutil.copyfile(seed_template, db)
    return db


def snapshot(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in SNAPSHOT_TABLES}
    finally:
        con.close()


def build(case: Case, tmp_path: Path) -> Path:
    folder = tmp_path / "input"
    folder.mkdir(exist_ok=True)
    return case.build(folder)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["import", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_plain_line(err: str, case: Case) -> str:
    """stderr is exactly one non-empty line, in plain words, naming the problem."""
    assert err.endswith("\n") and err.count("\n") == 1, f"stderr must be exactly one line, got {err!r}"
    line = err.strip()
    assert line, "stderr line is empty"
    assert line.startswith("segments import: "), line
    assert not CLASS_NAME.search(line), f"a Python exception name reached the user: {line!r}"
    assert not any(word in line.lower() for word in INTERNALS), f"internals reached the user: {line!r}"
    assert not LIBRARY_ERROR.search(line), f"a library's error text reached the user: {line!r}"
    assert len(line) < 400, f"not a plain line ({len(line)} characters): {line[:200]!r}..."
    for words in case.message:
        assert any(w in line.lower() for w in words.split("|")), f"message should mention {words!r}: {line!r}"
    return line


def leftovers(db: Path) -> list[Path]:
    return [p for p in (db, db.with_name(db.name + ".wal")) if p.exists()]


def match_reasons(actual: dict[str, int], expected: dict[str, int]) -> dict[str, int]:
    """Fold the importer's reasons onto the case's keywords; a reason matching none (or several) stays as
    ``?reason`` so that the comparison shows it."""
    folded: dict[str, int] = {}
    for reason, n in actual.items():
        keys = [k for k in expected if any(alt in reason.lower() for alt in k.lower().split("|"))]
        key = keys[0] if len(keys) == 1 else f"?{reason}"
        folded[key] = folded.get(key, 0) + n
    return folded


# ---------------------------------------------------------------- refused files


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_refused_file_exits_2_with_one_line_and_leaves_the_db_as_it_was(case, seeded_db, tmp_path, capsys):
    path = build(case, tmp_path)
    before = snapshot(seeded_db)
    files_before = sorted(p.name for p in seeded_db.parent.iterdir())

    code, out, err = run_cli(capsys, str(path), "--db", str(seeded_db))

    assert code == 2, f"exit {code}; stdout={out[:300]!r} stderr={err[:300]!r}"
    assert out == "", f"nothing belongs on stdout for a refused file: {out[:300]!r}"
    assert_one_plain_line(err, case)
    assert snapshot(seeded_db) == before, "the database changed after a refusal"
    assert sorted(p.name for p in seeded_db.parent.iterdir()) == files_before


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_refused_file_leaves_no_database_behind(case, tmp_path, capsys):
    path = build(case, tmp_path)
    db = tmp_path / "new" / "shop.duckdb"

    code, _, err = run_cli(capsys, str(path), "--db", str(db), "--json")

    assert code == 2, f"exit {code}; stderr={err[:300]!r}"
    assert leftovers(db) == [], "a refused import left a database file behind"


def test_refusal_inside_the_write_step_leaves_the_db_as_it_was(seeded_db, tmp_path, capsys):
    """A database written by a newer version is refused at write time: rolled back, nothing changed."""
    con = duckdb.connect(str(seeded_db))
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    before = snapshot(seeded_db)
    path = tmp_path / "good.csv"
    path.write_text(SEED_CSV.replace("S", "T"), encoding="utf-8")

    code, out, err = run_cli(capsys, str(path), "--db", str(seeded_db))

    assert code == 2 and out == ""
    assert "newer version" in err
    assert snapshot(seeded_db) == before


# ---------------------------------------------------------------- files imported with bad rows rejected


@pytest.mark.parametrize("case", PARTIAL, ids=[c.name for c in PARTIAL])
def test_partial_file_loads_good_rows_and_counts_every_rejected_one(case, tmp_path, capsys):
    path = build(case, tmp_path)
    db = tmp_path / "shop.duckdb"

    code, out, err = run_cli(capsys, str(path), "--db", str(db), "--json")

    assert code == 0, f"exit {code}; stderr={err.strip()!r}"
    assert err == ""
    report = json.loads(out)
    read, loaded, dup, rejected = (report[k] for k in ("rows_read", "rows_loaded", "rows_duplicate", "rows_rejected"))
    assert read == loaded + dup + rejected, f"rows unaccounted for: {report}"
    assert sum(report["rejected_by_reason"].values()) == rejected
    got = {
        "rows_read": read,
        "rows_loaded": loaded,
        "rows_duplicate": dup,
        "rejected": match_reasons(report["rejected_by_reason"], case.rejected),
    }
    want = {"rows_read": case.rows, "rows_loaded": case.loaded, "rows_duplicate": 0, "rejected": case.rejected}
    assert got == want, f"importer said {report['rejected_by_reason']}"
    for fld, column in case.mapping.items():
        assert report["mapping"].get(fld) == column, f"{fld}: {report['mapping']}"
    if case.revenue is not None:
        assert report["revenue"] == pytest.approx(case.revenue, abs=0.005)
    if case.return_rows is not None:
        assert report["return_rows"] == case.return_rows

    con = duckdb.connect(str(db), read_only=True)
    try:
        import_id = report["import_id"]
        stored = con.execute("SELECT count(*) FROM order_lines WHERE import_id = ?", [import_id]).fetchone()[0]
        assert stored == loaded
        rejects = con.execute(
            "SELECT line_no, reason, raw FROM rejects WHERE import_id = ? ORDER BY line_no", [import_id]
        ).fetchall()
        customers = {
            row[0]: dict(zip(("email", "first_name", "last_name"), row[1:], strict=True))
            for row in con.execute("SELECT customer_id, email, first_name, last_name FROM customers").fetchall()
        }
    finally:
        con.close()

    assert len(rejects) == rejected, "the rejects table must hold one row per rejected row"
    assert len({line for line, _, _ in rejects}) == rejected, "a rejected row was stored twice"
    by_reason: dict[str, int] = {}
    for _, reason, _ in rejects:
        by_reason[reason] = by_reason.get(reason, 0) + 1
    assert by_reason == report["rejected_by_reason"]
    for line_no, reason, raw in rejects:
        assert raw, f"line {line_no} ({reason}) was rejected without its cells"
        cells = json.loads(raw)
        assert isinstance(cells, dict) and len(cells) > (1 if "line_no" in cells else 0), (line_no, raw)
    raw_text = "\n".join(raw for _, _, raw in rejects)
    for text in case.raw_contains:
        assert text in raw_text, f"{text!r} should be kept in the rejects table's raw cells"

    for customer_id, expected in case.customers.items():
        assert customer_id in customers, f"customer {customer_id!r} not stored; have {sorted(customers)[:10]}"
        for column, value in expected.items():
            assert customers[customer_id][column] == value, (customer_id, column, customers[customer_id])


@pytest.mark.parametrize("case", CONTACT_PARTIAL, ids=[c.name for c in CONTACT_PARTIAL])
def test_partial_customer_list_loads_good_rows_and_counts_every_rejected_one(case, tmp_path, capsys):
    path = build(case, tmp_path)
    db = tmp_path / "shop.duckdb"

    code, out, err = run_cli(capsys, str(path), "--db", str(db), "--json")

    assert code == 0, f"exit {code}; stderr={err.strip()!r}"
    report = json.loads(out)
    assert (report["rows_read"], report["rows_loaded"]) == (case.rows, case.loaded)
    assert report["rows_read"] == report["rows_loaded"] + report["rows_rejected"]
    assert match_reasons(report["rejected_by_reason"], case.rejected) == case.rejected
    con = duckdb.connect(str(db), read_only=True)
    try:
        rejects = con.execute("SELECT reason, raw FROM rejects WHERE import_id = ?", [report["import_id"]]).fetchall()
        customers = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    finally:
        con.close()
    assert len(rejects) == report["rows_rejected"]
    assert customers == 0, "a list of people made nobody a customer"
    raw_text = "\n".join(raw for _, raw in rejects)
    for text in case.raw_contains:
        assert text in raw_text


def test_stored_ids_are_text_exactly_as_written(tmp_path, capsys):
    """No id is reshaped: leading zeros kept, '17850.0' (a float artefact) stored as '17850'."""
    by_name = {c.name: c for c in PARTIAL}
    stored = {}
    for name in ("customer_ids_with_leading_zeros", "customer_ids_written_as_floats"):
        db = tmp_path / f"{name}.duckdb"
        code, _, err = run_cli(capsys, str(build(by_name[name], tmp_path)), "--db", str(db))
        assert code == 0, err
        con = duckdb.connect(str(db), read_only=True)
        stored[name] = sorted(r[0] for r in con.execute("SELECT DISTINCT customer_id FROM order_lines").fetchall())
        con.close()
    assert stored == {
        "customer_ids_with_leading_zeros": ["000123", "000456", "007"],
        "customer_ids_written_as_floats": ["12346", "17850"],
    }


# ---------------------------------------------------------------- a real terminal


def test_installed_command_prints_no_traceback(tmp_path):
    exe = Path(sys.executable).parent / "segments"
    assert exe.exists(), f"{exe} is not installed (pip install -e .)"
    by_name = {c.name: c for c in REFUSED}
    db = tmp_path / "shop.duckdb"
    for name in ("random_binary", "html_error_page", "truncated_xlsx"):
        path = build(by_name[name], tmp_path)
        done = subprocess.run(
            [str(exe), "import", str(path), "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert done.returncode == 2, (name, done.returncode, done.stderr[-500:])
        assert done.stdout == ""
        assert "Traceback" not in done.stderr
        assert_one_plain_line(done.stderr, by_name[name])
        assert leftovers(db) == []
