"""The `segments` command as a user runs it: a real process, real files, real exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cli

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
        "customer_id": "A",
        "recency_days": "14",
        "frequency": "2",
        "monetary": "20.0",
        "r_score": "3",
        "f_score": "5",
        "m_score": "3",
        "segment": "loyal",
        # Three customers are too few for the value models: their columns stay empty (see the note).
        "lifecycle": "active",
        "p_alive": "",
        "expected_purchases": "",
        "clv": "",
        # A's one gap (Jan 1 to Feb 1, 31 days) is the shop's only one: too few of their own, so the shop's.
        "next_order_date": "2024-03-03",
        "next_order_basis": "shop_gap",
    }
    as_json = json.loads(run("customers", "--db", str(shop), "--format", "json").stdout)
    assert as_json[1] == {
        "customer_id": "B",
        "recency_days": 0,
        "frequency": 1,
        "monetary": 50.0,
        "r_score": 5,
        "f_score": 1,
        "m_score": 5,
        "segment": "new_customers",  # A, C worse: 2/2 of the others
        "lifecycle": "new",
        "p_alive": None,
        "expected_purchases": None,
        "clv": None,
        "next_order_date": "2024-03-17",
        "next_order_basis": "shop_gap",  # Feb 15 + 31 days
    }
    assert as_json[2]["next_order_date"] is None  # C: 259 days since their one order, more than 3 x 31
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


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli-demo") / "shop.duckdb"
    done = run("demo", "--db", str(db), "--customers", "600")
    assert done.returncode == 0, done.stderr
    return db


def test_customers_gain_lifecycle_and_value(demo):
    rows = json.loads(run("customers", "--db", str(demo), "--format", "json", "--horizon-days", "30").stdout)
    assert set(rows[0]) >= {"lifecycle", "p_alive", "expected_purchases", "clv", "segment"}
    assert all(0 <= r["p_alive"] <= 1 and r["clv"] >= 0 for r in rows)
    assert {r["lifecycle"] for r in rows} == {"new", "active", "lapsing", "lapsed"}
    lapsing = run("customers", "--db", str(demo), "--segment", "lapsing", "--format", "json")
    assert {r["lifecycle"] for r in json.loads(lapsing.stdout)} == {"lapsing"}


def test_model_json_shape(demo):
    model = json.loads(run("model", "--db", str(demo), "--json").stdout)
    assert set(model) == {"bgnbd", "gamma_gamma", "paretonbd", "chosen_model", "lifecycle"}
    assert set(model["paretonbd"]) == {"r", "alpha", "s", "beta"}
    assert model["chosen_model"]["chosen"] in {"bgnbd", "paretonbd"}
    assert model["chosen_model"]["reason"].startswith(("BG/NBD, chosen: ", "Pareto/NBD, chosen: "))
    text = run("model", "--db", str(demo)).stdout
    assert f"Predicting with {model['chosen_model']['reason']}" in text and "Pareto/NBD (time in weeks)" in text
    assert set(model["bgnbd"]) == {"r", "alpha", "a", "b"} and set(model["gamma_gamma"]) == {"p", "q", "gamma"}
    assert set(model["lifecycle"]) == {"lapsing_after_days", "lapsed_after_days", "basis"}


def test_clusters_are_the_same_twice(demo):
    first, second = (run("clusters", "--db", str(demo), "--json").stdout for _ in range(2))
    assert first == second
    result = json.loads(first)
    assert 2 <= result["k"] <= 8 and sum(c["size"] for c in result["clusters"]) == 600


def test_profile_migration_and_breakdown(demo):
    profile = json.loads(run("profile", "champions", "--db", str(demo), "--json").stdout)
    assert profile["label"] == "champions" and profile["customers"] > 0
    migration = json.loads(run("migration", "--db", str(demo), "--from", "2026-06-01", "--json").stdout)
    # Everyone who has bought by the end date is in the matrix, newcomers in their own row.
    assert sum(sum(row.values()) for row in migration["matrix"].values()) == 600
    channels = json.loads(run("breakdown", "channel", "--db", str(demo), "--format", "json").stdout)
    assert {c["value"] for c in channels} == {"In store", "Online"}


def test_small_shop_still_gets_rfm_with_a_note(shop):
    done = run("customers", "--db", str(shop), "--format", "json")
    assert done.returncode == 0
    assert all(r["p_alive"] is None for r in json.loads(done.stdout))
    assert "Note:" in done.stderr
    model = run("model", "--db", str(shop), "--json")
    assert model.returncode == 2 and len(model.stderr.strip().splitlines()) == 1


def test_backtest_counts_what_happened(demo):
    rows = json.loads(run("backtest", "--db", str(demo), "--as-of", "2026-05-01", "--format", "json").stdout)
    total = rows[-1]
    assert total["segment"] == "all" and total["predicted"] > 0
    import duckdb

    con = duckdb.connect(str(demo), read_only=True)
    actual = con.execute(
        "SELECT count(*) FROM (SELECT DISTINCT customer_id, order_date FROM orders WHERE is_purchase "
        "AND customer_id IN (SELECT customer_id FROM orders WHERE is_purchase AND order_date <= DATE '2026-05-01') "
        "AND order_date > DATE '2026-05-01' AND order_date <= DATE '2026-07-30')"
    ).fetchall()[0][0]
    con.close()
    assert total["actual"] == actual
    assert sum(r["customers"] for r in rows[:-1]) == total["customers"]


@pytest.mark.parametrize("extra", [[], ["--stages"]], ids=["value-model", "stages"])
def test_backtest_on_a_shop_without_orders_is_one_sentence_and_exit_2(tmp_path, extra):
    from segmentation.store import connect

    db = tmp_path / "empty.duckdb"
    connect(db).close()  # a shop's database with its tables and no orders, as before a first import
    before = db.read_bytes()
    done = run("backtest", "--db", str(db), "--as-of", "2024-01-01", *extra)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "segments backtest: The shop has no orders yet: import an orders file or run `segments demo`."
    )
    assert done.stdout == ""
    assert db.read_bytes() == before


PLAIN = {
    "customer_id": ["A", "b c", "x,y", 'say "hi"', "two\nlines", "é", None],
    "count": np.array([0, -1, 7, 2**31 - 1, 3, 4, 5], dtype=np.int32),
    "big": np.array([0, -(2**62), 2**62, 1, 2, 3, 4], dtype=np.int64),
    "value": [35.0, 1e-05, 1.8071955657776976e-11, -0.0, 1e16, np.inf, np.nan],
}


@pytest.mark.parametrize(
    "extra",
    [
        {},  # DuckDB writes it
        {"note": ["#1", "", "a\rb", "-", "+", "=", "@"]},  # text DuckDB would quote where pandas does not: pandas
        {"flag": [True, False, True, False, True, False, True]},  # pandas writes True, DuckDB true: pandas
    ],
)
def test_csv_is_byte_for_byte_what_pandas_writes(extra, monkeypatch):
    frame = pd.DataFrame({**PLAIN, **extra})
    frame["customer_id"] = frame["customer_id"].astype("str")
    assert cli._plain_csv(frame) == (not extra)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    cli._write_csv(frame)
    out.flush()
    assert out.buffer.getvalue().decode("utf-8") == frame.to_csv(index=False)
    rng = np.random.default_rng(1)  # and a spread of doubles, each written as the shortest exact text
    floats = pd.DataFrame({"x": rng.standard_normal(5000) * 10.0 ** rng.integers(-300, 300, 5000)})
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    cli._write_csv(floats)
    out.flush()
    assert out.buffer.getvalue().decode("utf-8") == floats.to_csv(index=False)


def test_help_and_import_start_without_the_analysis_libraries():
    """The parser's menus come from segmentation.vocabulary: building it, and starting an import, must not
    load pandas, NumPy or scipy (half a second of every command's start)."""
    code = (
        "import sys, cli, segmentation.importing.ingest; cli.build_parser(); "
        "print(sorted(m for m in ('pandas', 'numpy', 'scipy', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_profile_reads_as_the_chat_does_clusters_included(demo):
    text = run("profile", "at_risk", "--db", str(demo))
    assert text.returncode == 0
    assert text.stdout.startswith("At risk: ")
    assert "[{'" not in text.stdout and "\\." not in text.stdout  # no Python reprs, no Markdown escapes
    assert "**Lifecycle stage:** Lifecycle stage" not in text.stdout
    clusters = json.loads(run("clusters", "--db", str(demo), "--json").stdout)
    second = next(c for c in clusters["clusters"] if c["key"] == "cluster_2")
    cluster = run("profile", "cluster_2", "--db", str(demo))
    assert cluster.returncode == 0
    assert cluster.stdout.startswith(f"Group 2 '{second['name']}' (of {clusters['k']}): {second['size']:,} customers")
    facts = json.loads(run("profile", "cluster_2", "--db", str(demo), "--json").stdout)
    assert facts["customers"] == second["size"] and facts["k"] == clusters["k"]
    unknown = run("profile", "vips", "--db", str(demo))
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1 and "champions" in unknown.stderr


def test_a_date_before_the_first_order_is_refused_with_that_date(demo):
    from segmentation.store import connect

    with connect(demo, read_only=True) as con:
        first = con.execute("SELECT min(order_date) FROM orders").fetchall()[0][0]
    for command in (["customers"], ["profile", "lapsed"], ["model"]):
        done = run(*command, "--db", str(demo), "--as-of", "2000-01-01")
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.strip().splitlines() == [
            f"segments {command[0]}: 2000-01-01 is before your first order ({first.day} {first:%b %Y}): choose a date "
            "on or after it."
        ]
    assert run("customers", "--db", str(demo), "--as-of", str(first)).returncode == 0


def test_ask_says_how_to_get_the_whole_list(demo):
    done = run("ask", "who are my lapsed customers?", "how many customers do I have?", "--db", str(demo))
    assert done.returncode == 0
    first, second = done.stdout.split("\n> ")
    assert "The whole list: segments customers --segment lapsed" in first
    assert "The whole list" not in second  # no list was found for that question
    listed = run("customers", "--segment", "lapsed", "--db", str(demo), "--format", "json")
    assert f"{len(json.loads(listed.stdout)):,} customers are lapsed" in first

    # A list narrowed in the question: the hint carries the condition, and running it gives the same count.
    narrowed = run("ask", "who are my lapsed customers that spent over £100?", "--db", str(demo)).stdout
    hint = re.search(r"The whole list: (segments customers .*?) \(add", narrowed).group(1)
    assert hint == "segments customers --segment lapsed --where 'monetary > 100'"
    rows = run(*shlex.split(hint)[1:], "--db", str(demo), "--format", "json")
    assert narrowed.startswith(
        f"> who are my lapsed customers that spent over £100?\n{len(json.loads(rows.stdout)):,} "
        "customers are lapsed and match monetary > 100"
    )


def test_ask_gives_the_whole_list_of_everyone_narrowed(demo):
    """With no group named, the hint is the condition alone, and running it lists as many as the answer said."""
    said = "who has spent over £100 and bought more than 10 times?"
    narrowed = run("ask", said, "--db", str(demo)).stdout
    hint = re.search(r"The whole list: (segments customers .*?) \(add", narrowed).group(1)
    assert hint == "segments customers --where 'monetary > 100 and frequency > 10'"
    rows = run(*shlex.split(hint)[1:], "--db", str(demo), "--format", "json")
    assert narrowed.startswith(f"> {said}\n{len(json.loads(rows.stdout)):,} customers have bought and match")
