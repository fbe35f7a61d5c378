"""The Campaigns tab: create a campaign with a control group from the app, then see it listed."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from segmentation.customers import customer_table
from segmentation.store import SCHEMA_VERSION, connect

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_create_and_list_a_campaign(demo_shops, tmp_path, monkeypatch):
    db = demo_shops.copy(tmp_path, customers=600, seed=3)
    monkeypatch.setenv("SEGMENTS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["tab"] = "Campaigns"
    at.run()
    assert not at.exception
    assert any("No campaigns yet" in i.value for i in at.info)
    at.button(key="cmp-create").click().run()
    assert not at.exception
    assert any("held out" in s.value for s in at.success)
    con = connect(db, read_only=True)
    (arms,) = con.execute("SELECT count(DISTINCT arm) FROM campaign_members").fetchall()[0]
    refused = con.execute(
        "SELECT count(*) FROM campaign_members m JOIN customers c USING (customer_id) WHERE NOT c.marketing_consent"
    ).fetchall()[0][0]
    con.close()
    assert arms == 2 and refused == 0
    at.run()
    assert any(m.label == "Messaged" for m in at.metric)


def test_a_database_from_the_first_schema_is_upgraded_at_start(demo_shops, tmp_path, monkeypatch):
    db = demo_shops.copy(tmp_path, "old.duckdb", customers=300, seed=2)
    con = connect(db)
    for table in ("campaigns", "campaign_members", "chat_history", "model_cache"):
        con.execute(f"DROP TABLE {table}")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    monkeypatch.setenv("SEGMENTS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["tab"] = "Campaigns"
    at.run()
    assert not at.exception
    con = connect(db, read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [(str(SCHEMA_VERSION),)]
    con.close()


def test_the_plan_shows_sizes_and_power_and_every_campaign_keeps_its_lists(demo_shops, tmp_path, monkeypatch):
    db = demo_shops.copy(tmp_path, customers=600, seed=3)
    with connect(db, read_only=True) as con:
        table = customer_table(con)
        refused = {
            row[0] for row in con.execute("SELECT customer_id FROM customers WHERE NOT marketing_consent").fetchall()
        }

    def eligible(group: str) -> int:
        return len(set(table.loc[(table["segment"] == group) | (table["lifecycle"] == group), "customer_id"]) - refused)

    at_risk, lapsed = eligible("at_risk"), eligible("lapsed")
    held = round(at_risk * 0.1)
    monkeypatch.setenv("SEGMENTS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["tab"] = "Campaigns"
    at.run()
    plan = next(m.value for m in at.markdown if "to message and" in m.value)
    assert f"{at_risk - held:,} to message and {held:,} held out" in plan
    assert held < 30 and "Too few to measure" in plan  # the form's defaults cannot be measured on this shop
    at.selectbox(key="cmp-group").set_value("lapsed").run()
    at.select_slider(key="cmp-holdout").set_value(0.5).run()
    half = next(m.value for m in at.markdown if "to message and" in m.value)
    assert f"{lapsed - round(lapsed * 0.5):,} to message and {round(lapsed * 0.5):,} held out" in half
    assert "would only see a lift above" in half

    at.button(key="cmp-create").click().run()
    assert not at.exception
    at.run()  # any later rerun (another widget, a download) keeps the sentence and both lists
    assert any("held out" in s.value for s in at.success)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download audience.csv", "Download control.csv"]
    (card,) = [e for e in at.expander if e.label.startswith("cmp-")]
    assert "00:00:00" not in card.label and card.label.startswith("cmp-0001: Lapsed, from ")
    # Nothing after the campaign's date yet: it says so instead of "+0 extra buyers per 100".
    assert any(m.value.startswith("No results yet") for m in at.markdown)
    assert "Extra buyers per 100" not in [m.label for m in at.metric]
