"""The Campaigns tab: create a campaign with a control group from the app, then see it listed."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from segmentation.ingest import import_file
from segmentation.sample import write_demo_csv
from segmentation.store import SCHEMA_VERSION, connect

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_create_and_list_a_campaign(tmp_path, monkeypatch):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_demo_csv(tmp_path / "demo.csv", customers=600, seed=3))
    monkeypatch.setenv("SEGMENTS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["tab"] = "Campaigns"
    at.run()
    assert not at.exception
    assert any("No campaigns yet" in i.value for i in at.info)
    at.button(key="FormSubmitter:create-campaign-Create campaign").click().run()
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


def test_a_database_from_the_first_schema_is_upgraded_at_start(tmp_path, monkeypatch):
    db = tmp_path / "old.duckdb"
    import_file(db, write_demo_csv(tmp_path / "demo.csv", customers=300, seed=2))
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
