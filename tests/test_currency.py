"""The shop's currency: found in the file (a currency column, the signs in amounts, a known export), or set once by
the owner; kept in the store; written beside every amount in answers, charts, tables, reports and the sidebar."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import tools.registry  # noqa: F401  (registers every tool)
from segmentation import currency
from segmentation.importing.ingest import IngestError, import_file
from segmentation.outreach.persona import amount
from segmentation.store import connect, table_counts
from tools.base import LazyChart, ToolContext, run_tool

from .conftest import write_csv

ROOT = Path(__file__).resolve().parent.parent
EXPORTS = Path(__file__).resolve().parent / "fixtures" / "exports"

PLAIN = """\
    Order ID,Customer ID,Order Date,Amount
    A1,C1,2026-01-05,12.50
    A2,C2,2026-01-06,8.00
    A3,C1,2026-02-07,20.00
    """


def _stored(db: Path) -> tuple[str | None, str | None]:
    with connect(db, read_only=True) as con:
        return currency.currency_of(con)


def test_a_currency_column_names_it(tmp_path):
    """Shopify writes the order's currency on its first line only; the blank lines of the order do not count."""
    report = import_file(tmp_path / "shop.duckdb", EXPORTS / "shopify_orders.csv")
    assert report.currency == "USD"
    assert _stored(tmp_path / "shop.duckdb") == ("USD", "the 'Currency' column")
    assert "revenue $" in report.as_text()
    assert any("currency USD (US dollar), from the 'Currency' column" in n for n in report.notes)


def test_a_lower_case_code_counts(tmp_path):
    report = import_file(tmp_path / "shop.duckdb", EXPORTS / "stripe_orders.csv")  # Stripe writes "usd"
    assert report.currency == "USD"


@pytest.mark.parametrize(
    ("cells", "code", "said"),
    [
        (("£12.50", "£8.00", "£20.00"), "GBP", "the £ signs in 'Amount'"),
        (('"12,50 €"', '"8,00 €"', '"20,00 €"'), "EUR", "the € signs in 'Amount'"),
        (("CHF 12.50", "CHF 8.00", "20.00"), "CHF", "the CHF codes in 'Amount'"),
    ],
)
def test_signs_in_the_amounts_name_it(tmp_path, cells, code, said):
    rows = "".join(f"A{i},C{i % 2},2026-01-0{i},{cell}\n" for i, cell in enumerate(cells, start=1))
    path = write_csv(tmp_path / "orders.csv", "Order ID,Customer ID,Order Date,Amount\n" + rows)
    report = import_file(tmp_path / "shop.duckdb", path)
    assert report.currency == code
    assert _stored(tmp_path / "shop.duckdb") == (code, said)


def test_a_sign_on_too_few_amounts_is_no_evidence(tmp_path):
    """One '$' among four amounts (a typo, a note) does not make the shop's currency."""
    path = write_csv(
        tmp_path / "orders.csv",
        "Order ID,Customer ID,Order Date,Amount\n"
        "A1,C1,2026-01-01,$1\nA2,C2,2026-01-02,2\nA3,C3,2026-01-03,3\nA4,C4,2026-01-04,4\n",
    )
    report = import_file(tmp_path / "shop.duckdb", path)
    assert report.currency is None
    assert any("no currency found in the file" in n for n in report.notes)
    assert "revenue 10.00" in report.as_text()


def test_the_uci_export_is_in_pounds(tmp_path):
    path = write_csv(
        tmp_path / "retail.csv",
        """\
        InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
        536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
        536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17851,United Kingdom
        """,
    )
    report = import_file(tmp_path / "shop.duckdb", path)
    assert report.currency == "GBP"
    assert _stored(tmp_path / "shop.duckdb") == ("GBP", "the export's known currency")


def test_the_owners_choice_survives_a_file_that_says_otherwise(tmp_path):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_csv(tmp_path / "a.csv", PLAIN), currency="eur")
    assert _stored(db) == ("EUR", "set")
    other = write_csv(tmp_path / "b.csv", "Order ID,Customer ID,Order Date,Amount\nB1,C9,2026-03-01,£5.00\n")
    report = import_file(db, other)
    assert _stored(db) == ("EUR", "set")
    assert any("look like GBP" in n and "not converted" in n for n in report.notes)
    # ... and a replace keeps it too: the owner said it, not a file.
    import_file(db, other, replace=True)
    assert _stored(db) == ("EUR", "set")


def test_a_found_currency_follows_the_files(tmp_path):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_csv(tmp_path / "a.csv", "Order ID,Customer ID,Order Date,Amount\nA1,C1,2026-01-01,£5\n"))
    assert _stored(db)[0] == "GBP"
    import_file(db, write_csv(tmp_path / "b.csv", PLAIN), replace=True)  # a new shop's file, with no signs
    assert _stored(db) == (None, None)


def test_an_unknown_code_is_refused_and_nothing_changes(tmp_path):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_csv(tmp_path / "a.csv", PLAIN))
    before = table_counts_of(db)
    with pytest.raises(IngestError, match="'XYZ' is not a currency we know: use one of GBP, EUR, USD"):
        import_file(db, write_csv(tmp_path / "b.csv", PLAIN.replace("A1", "Z1")), currency="XYZ")
    assert table_counts_of(db) == before


def table_counts_of(db: Path) -> dict[str, int]:
    with connect(db, read_only=True) as con:
        return table_counts(con)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_command_line_shows_and_sets_it_and_answers_carry_it(tmp_path):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_csv(tmp_path / "a.csv", PLAIN))
    shown = _cli("currency", "--db", str(db))
    assert shown.returncode == 0 and "No currency is recorded for this shop" in shown.stdout
    bad = _cli("currency", "bitcoin", "--db", str(db))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "is not a currency we know" in bad.stderr
    assert _stored(db) == (None, None)
    assert _cli("currency", "jpy", "--db", str(db)).returncode == 0
    assert _cli("currency", "--db", str(db)).stdout.strip() == "JPY (Japanese yen), set by you."
    answer = _cli("ask", "how are sales doing", "--db", str(db), "--json")
    said = json.loads(answer.stdout.splitlines()[0])["answer"]
    assert "revenue ¥41;" in said and "average order ¥14;" in said  # 40.50 and 13.50: yen has no decimals


def test_amounts_take_the_active_currency():
    assert amount(9335.6) == "9,335.60"
    with currency.using("GBP"):
        assert (amount(9335.6), amount(-5.5), amount(0.004)) == ("£9,335.60", "-£5.50", "£0.00")
        assert amount(3, sign="€") == "€3.00"  # a draft given its own sign
    with currency.using("JPY"):
        assert amount(1234.5) == "¥1,235"
    assert amount(1.5) == "1.50"  # back to none outside the block


def test_tools_and_their_charts_carry_the_stores_currency(tmp_path):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_csv(tmp_path / "a.csv", PLAIN), currency="GBP")
    result = run_tool("sales_over_time", {}, ToolContext(db_path=db))
    assert "revenue £40.50" in result.summary
    assert isinstance(result.chart, LazyChart)
    spec = json.dumps(result.chart.build().to_dict())  # built here, outside the tool's run: it kept the pounds
    assert "Revenue (\\u00a3)" in spec or "Revenue (£)" in spec
    told = run_tool("sales_over_time", {}, ToolContext(db_path=db, currency="EUR"))
    assert "revenue €40.50" in told.summary
    none = run_tool("sales_over_time", {}, ToolContext(db_path=db, currency=""))
    assert "revenue 40.50" in none.summary


def test_app_tables_read_as_words_with_the_currency():
    from ui.tables import table_view

    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "first_name": [None, None],
            "city": ["Leeds", None],
            "segment": ["cannot_lose_them", "champions"],
            "lifecycle": ["lapsed", "active"],
            "monetary": [4158.9915, 10.0],
            "share": [0.3925, 0.6075],
            "p_alive": [7.05e-08, 0.5],
            "seg_at_risk": [0.25, 0.0],
        }
    )
    with currency.using("GBP"):
        shown, config = table_view(frame)
    assert "first_name" not in shown.columns  # no names in the file: no column of blanks
    assert list(shown["city"]) == ["Leeds", ""]
    assert list(shown["segment"]) == ["Can't lose them", "Champions"]
    assert list(shown["lifecycle"]) == ["Lapsed", "Active"]
    assert list(shown["share"]) == pytest.approx([39.25, 60.75])
    assert config["monetary"]["label"] == "Spent" and config["monetary"]["type_config"]["format"] == "£%,.2f"
    assert config["share"]["type_config"]["format"] == "%.1f%%"
    assert config["seg_at_risk"]["label"] == "At risk"
    assert list(frame["segment"]) == ["cannot_lose_them", "champions"]  # the tool's own table is untouched
