"""The `segments` command as a user runs it: a real process, real files, real exit codes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import write_csv

SEGMENTS = Path(sys.executable).parent / "segments"

ORDERS = """
Order ID,Customer ID,Order Date,Quantity,Unit Price
1,A,2024-01-01,1,10
2,A,2024-02-01,1,10
3,B,2024-02-15,2,25
4,C,2023-06-01,1,5
"""


def run(*args: str, env_db: Path | None = None) -> subprocess.CompletedProcess:
    env = None
    if env_db is not None:
        import os

        env = {**os.environ, "SEGMENTS_DB": str(env_db)}
    return subprocess.run([str(SEGMENTS), *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def shop(tmp_path) -> Path:
    db = tmp_path / "shop.duckdb"
    done = run("import", str(write_csv(tmp_path / "orders.csv", ORDERS)), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "4 of 4 rows loaded: 3 customers" in done.stdout
    return db


def test_customers_in_every_format(shop):
    # As of 2024-02-15: A (14 days, 2 purchases, 20.00), B (0, 1, 50.00), C (259, 1, 5.00).
    # score = min(5, 1 + floor(5 x worse / 2)): A has 1 worse recency (3), 2 worse frequencies (5),
    # 1 worse monetary (3): R3 F5 = loyal.
    as_csv = run("customers", "--db", str(shop), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [r["customer_id"] for r in rows] == ["A", "B", "C"]
    assert rows[0] == {
        "customer_id": "A", "recency_days": "14", "frequency": "2", "monetary": "20.0",
        "r_score": "3", "f_score": "5", "m_score": "3", "segment": "loyal",
    }
    as_json = json.loads(run("customers", "--db", str(shop), "--format", "json").stdout)
    assert as_json[1] == {
        "customer_id": "B", "recency_days": 0, "frequency": 1, "monetary": 50.0,
        "r_score": 5, "f_score": 1, "m_score": 5, "segment": "new_customers",  # A, C worse: 2/2 of the others
    }
    table = run("customers", "--db", str(shop), "--segment", "hibernating")
    assert table.returncode == 0
    assert "C" in table.stdout and "3 customers" not in table.stdout and "1 customers as of 2024-02-15" in table.stdout


def test_segments_db_env_and_as_of(shop):
    done = run("customers", "--as-of", "2024-01-31", "--format", "json", env_db=shop)
    assert [r["customer_id"] for r in json.loads(done.stdout)] == ["A", "C"]


def test_import_json_report(shop, tmp_path):
    more = write_csv(tmp_path / "more.csv", ORDERS + "5,D,2024-02-20,1,3\n")
    report = json.loads(run("import", str(more), "--db", str(shop), "--json").stdout)
    assert (report["rows_read"], report["rows_loaded"], report["rows_duplicate"]) == (5, 1, 4)


@pytest.mark.parametrize(
    "args",
    [
        ("import", "no/such/file.csv"),
        ("import", "{tmp}/orders.csv", "--map", "colour=Product"),
        ("import", "{tmp}/orders.csv", "--map", "nonsense"),
        ("customers", "--as-of", "yesterday"),
        ("customers", "--segment", "vips"),
        ("customers", "--db", "{tmp}/missing.duckdb"),
        ("frobnicate",),
    ],
    ids=["missing-file", "unknown-field", "bad-map", "bad-date", "bad-segment", "no-database", "bad-command"],
)
def test_bad_input_is_one_line_and_exit_2(shop, tmp_path, args):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--db" not in args:
        args += ["--db", str(shop)]
    done = run(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout == ""
