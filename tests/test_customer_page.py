"""One customer's page (segmentation.customer_page): a constructed customer in the demo shop, on the command line
and in the app, and kept away from every model."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from segmentation.customer_page import customer_groups, customer_page, month_ends
from segmentation.customers import customer_table
from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from segmentation.store import connect

REPO = Path(__file__).resolve().parent.parent
SEGMENTS = Path(sys.executable).with_name("segments")
HEADER = (
    "Order ID,Customer ID,Order Date,Product,Category,Channel,Quantity,Unit Price,Email,First Name,Last Name,"
    "City,Country,Accepts Marketing"
)
ZED = "Z9000"


def _zed_rows(last: dt.date) -> list[str]:
    """Zed Quill buys one 12.50 loaf every 10 days, the last 4 days before the shop's last order day, and
    returns 3.00 of one on a day of its own 20 days before it: the return belongs to the latest earlier order of
    that product (DESIGN.md), bought 24 days before, which then counts 9.50; the return's own order is none."""
    days = [last - dt.timedelta(days=d) for d in (44, 34, 24, 14, 4)]
    rows = [
        f"ZQ-{i},{ZED},{day} 10:00:00,Sourdough loaf,Bread,In store,1,12.5,zed.quill@example.org,Zed,Quill,"
        "Leeds,United Kingdom,yes"
        for i, day in enumerate(days, start=1)
    ]
    back = last - dt.timedelta(days=20)
    rows.append(
        f"ZQ-R,{ZED},{back} 10:00:00,Sourdough loaf,Bread,In store,-1,3.0,zed.quill@example.org,Zed,Quill,"
        "Leeds,United Kingdom,yes"
    )
    return rows


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> tuple[Path, dt.date]:
    folder = tmp_path_factory.mktemp("customer_page")
    demo = write_demo_csv(folder / "demo.csv", customers=600, seed=3)
    lines = demo.read_text(encoding="utf-8").splitlines()
    assert lines[0] == HEADER
    last = max(dt.date.fromisoformat(line.split(",")[2][:10]) for line in lines[1:])
    demo.write_text("\n".join([*lines, *_zed_rows(last)]) + "\n", encoding="utf-8")
    db = folder / "shop.duckdb"
    import_file(db, demo, currency="GBP")
    return db, last


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SEGMENTS), *args], capture_output=True, text=True, timeout=180)


def test_month_ends_by_hand():
    assert month_ends(dt.date(2026, 1, 15), dt.date(2026, 4, 30)) == [
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
    ]  # before the day, not on it
    assert month_ends(dt.date(2020, 1, 1), dt.date(2026, 4, 1), most=2) == [dt.date(2026, 2, 28), dt.date(2026, 3, 31)]
    assert month_ends(dt.date(2026, 4, 2), dt.date(2026, 4, 30)) == []


def test_the_constructed_customers_page(shop):
    db, last = shop
    with connect(db, read_only=True) as con:
        page = customer_page(con, " z9000 ")  # spaces and case forgiven where one id matches
        table = customer_table(con)
        groups = customer_groups(con, ZED)
    row = table.set_index("customer_id").loc[ZED]
    assert page.customer_id == ZED and page.as_of == last.isoformat()
    assert (
        page.contact
        == {
            "first_name": "Zed",
            "last_name": "Quill",
            "email": "zed.quill@example.org",
            "city": "Leeds",
            "country": "United Kingdom",
        }
        and page.marketing_consent is True
    )
    # Five purchases: 4 x 12.50 + 9.50 = 59.50; the return is an order of its own that is no purchase.
    assert page.row["frequency"] == 5 and page.row["monetary"] == 59.5 and page.row["recency_days"] == 4
    assert len(page.orders) == 6 and int(page.orders["is_purchase"].sum()) == 5
    assert page.monthly["orders"].sum() == 5 and page.monthly["revenue"].sum() == pytest.approx(59.5)
    # Four gaps of 10 days inside the year: their own rhythm, due 10 days after the last purchase.
    due = last - dt.timedelta(days=4) + dt.timedelta(days=10)
    assert row["p_alive"] >= 0.5  # a weekly-ish regular seen 4 days ago: the model keeps them
    assert (page.row["next_order_date"], page.row["next_order_basis"]) == (due.isoformat(), "own_gap")
    assert page.next_order == (
        f"Next order due around {due.day} {due:%b %Y} (in 6 days), based on their usual 10 days between orders."
    )
    assert [(g.kind, g.key) for g in groups][:2] == [("segment", row["segment"]), ("stage", row["lifecycle"])]
    assert groups == page.groups and groups[2].kind == "cluster"
    # History: the month ends after their first purchase (44 days before the last day) and before it.
    ends = month_ends(last - dt.timedelta(days=44), last)
    assert page.history["month_end"].tolist() == [e.isoformat() for e in ends]


def test_segments_customer_on_a_demo_store(shop, tmp_path):
    db, _ = shop
    with connect(db, read_only=True) as con:
        row = customer_table(con).set_index("customer_id").loc[ZED]
    # Zed in a campaign to their own segment: half held out, so the page says which side they are on.
    made = run(
        "campaign",
        "create",
        row["segment"],
        "--db",
        str(db),
        "--holdout",
        "0.5",
        "--seed",
        "1",
        "--out",
        str(tmp_path / "cmp"),
    )
    assert made.returncode == 0, made.stderr
    with connect(db, read_only=True) as con:
        ((campaign, arm),) = con.execute(
            "SELECT campaign_id, arm FROM campaign_members WHERE customer_id = ?", [ZED]
        ).fetchall()
    done = run("customer", ZED, "--db", str(db))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith(f"Customer {ZED}: Zed Quill, zed.quill@example.org, Leeds, United Kingdom\n")
    assert "Marketing consent: yes." in text
    assert "(5 orders, the last 4 days ago, £59.50 spent)" in text
    assert f"chance they are still buying: {row['p_alive']:.0%}" in text
    assert f"{row['clv']:,.2f}" in text and "based on their usual 10 days between orders" in text
    side = "messaged" if arm == "audience" else "held out as control"
    assert re.search(rf"{campaign} to .*: {side}", text)
    assert "(returned or cancelled: not a purchase)" in text
    as_json = json.loads(run("customer", ZED, "--db", str(db), "--json").stdout)
    assert as_json["customer"]["monetary"] == 59.5 and as_json["campaigns"][0]["arm"] == arm
    assert [g["key"] for g in as_json["groups"]][:2] == [row["segment"], row["lifecycle"]]


def test_an_unknown_customer_is_exit_2_with_close_ids(shop):
    db, _ = shop
    before = db.read_bytes()
    done = run("customer", "Z900", "--db", str(db))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == "segments customer: There is no customer 'Z900' in this shop; did you mean Z9000?"
    assert db.read_bytes() == before


def test_the_customers_tab_shows_the_constructed_customer(shop, tmp_path, monkeypatch):
    db, last = shop
    copy = tmp_path / "shop.duckdb"
    copy.write_bytes(db.read_bytes())
    monkeypatch.setenv("SEGMENTS_DB", str(copy))
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    with connect(copy, read_only=True) as con:
        row = customer_table(con).set_index("customer_id").loc[ZED]
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.query_params["tab"] = "Customers"
    at.run()
    at.text_input(key="cust-find").set_value("quill").run()  # by name: one match opens the page
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    due = last + dt.timedelta(days=6)
    assert metrics == {
        "Orders": "5",
        "Spent": "£59.50",
        "Predicted value (90 days)": f"£{row['clv']:,.2f}",
        "Chance still active": f"{row['p_alive']:.0%}",
        "Next order due": due.isoformat(),
    }
    assert any(c.value.startswith(f"Customer {ZED}: Zed Quill, zed.quill@example.org, Leeds") for c in at.caption)
    assert any("based on their usual 10 days between orders" in m.value for m in at.markdown)
    monthly = next(d.value for d in at.dataframe if "orders" in d.value.columns and "month" in d.value.columns)
    assert monthly["orders"].sum() == 5
    (chart,) = at.get("vega_lite_chart")  # the orders over time, one bar an order
    assert "Their orders over time" in chart.proto.spec and "5 purchases" in chart.proto.spec
    at.text_input(key="cust-find").set_value("nobody-by-this-name").run()
    assert any("No customer's id, name or email holds" in i.value for i in at.info)


def test_no_model_path_reaches_the_page():
    """The page holds names and emails: nothing a model's requests are built from (the tools, the agents) may
    import it, and no tool of the registry is a customer page. The one exception is the chat's describe_customer
    (tools/customer.py): its table and download are the person's, and what it hands a model (summary and facts) is
    checked for every name, email and city in tests/test_customer_tool.py and test_llm_agent's privacy test."""
    import tools.registry  # noqa: F401
    from tools.base import REGISTRY

    for folder in ("tools", "agent"):
        for path in (REPO / folder).rglob("*.py"):
            if path == REPO / "tools" / "customer.py":
                continue
            source = path.read_text(encoding="utf-8")
            assert not re.search(r"(from|import)\s+(segmentation\.customer_(page|text)|ui\.customer)\b", source), path
    assert not [name for name in REGISTRY if "customer_page" in name or name == "customer"]


def test_the_next_order_columns_hold_no_contact_details(shop):
    db, _ = shop
    with connect(db, read_only=True) as con:
        table = customer_table(con)
        people = con.execute("SELECT email, first_name, last_name, city FROM customers").df()
    words = set(pd.concat([people[c] for c in people.columns]).dropna().astype(str))
    shown = set(table["next_order_date"].dropna()) | set(table["next_order_basis"].dropna())
    assert not shown & words and shown


def test_the_page_names_the_saved_segments_they_are_in(shop, tmp_path):
    """Zed (Leeds, five purchases, bread) is in a saved segment whose condition holds for them and not in one
    whose condition does not; a segment is evaluated on the page's day, so before Zed's first order they are in
    none (they have no purchase then, so no groups at all)."""
    import shutil

    from segmentation.custom.saved import save_segment

    db, last = shop
    copy = tmp_path / "saved.duckdb"
    shutil.copy(db, copy)
    with connect(copy) as con:
        save_segment(con, "Leeds bread", "city = Leeds and bought category Bread and frequency = 5")
        save_segment(con, "Big spenders", "monetary > 10000")
    with connect(copy, read_only=True) as con:
        groups = customer_groups(con, ZED)
        before = customer_groups(con, ZED, as_of=last - dt.timedelta(days=60))
    assert [(g.kind, g.key) for g in groups if g.kind == "saved"] == [("saved", "Leeds bread")]
    assert before == []
