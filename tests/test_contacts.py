"""Customer lists and email activity (issue 19): the Shopify customers export, Mailchimp's audience and
campaign activity exports and Klaviyo's events, built from their documented column layouts
(tests/fixtures/contacts), import beside a small orders file and join to its customers.

Every number below is counted by hand from the fixture files:
- orders.csv: eight customers C01-C08 (alice, bob, cara, dan, eve, finn, gus, hana @example.com); the last
  order is on 2024-06-30, so the 90-day window is 2024-04-02 to 2024-06-30.
- the Shopify export: six rows; alice, BOB (upper case), cara and eve are customers; zed and yan are not.
- the Mailchimp audience: nine rows; the eight customers and nobody@example.com. Ages on 2024-06-30 from
  'Date of Birth': alice 25, bob 34, cara 23 (birthday that day), dan 28 (birthday the next day), eve 44,
  finn 30 (birthday that day), gus 23, hana 39: four under 30 (alice, cara, dan, gus).
- the campaign activity: 'June news' (sent 2024-06-01) and 'May offer' (2024-05-01); ghost@ is nobody.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from segmentation.attributes import NOT_IN_DATA, attribute_breakdown, count_under, customer_attributes
from segmentation.engagement import behaviour_groups, engagement_features
from segmentation.importing.ingest import ContactImportReport, IngestError, import_file, preview_file
from segmentation.store import table_counts
from segmentation.vocabulary import AnalysisError

FIXTURES = Path(__file__).parent / "fixtures" / "contacts"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    db = tmp_path / "shop.duckdb"
    import_file(db, FIXTURES / "orders.csv")
    return db


def _read(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _with(db: Path, fn):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return fn(con)
    finally:
        con.close()


def test_shopify_customers_export_joins_by_email_and_keeps_the_unmatched(shop):
    report = import_file(shop, FIXTURES / "shopify_customers_export.csv")
    assert isinstance(report, ContactImportReport)
    assert report.layout == "Shopify customers export"
    assert (report.rows_read, report.rows_loaded, report.people, report.matched, report.unmatched_rows) == (
        6,
        6,
        6,
        4,
        2,
    )
    assert "2 rows matched no customer; kept, not counted as customers." in report.as_text()
    # Names, addresses, phones, notes: never kept.
    names = {r[0] for r in _read(shop, "SELECT DISTINCT name FROM contact_attributes")}
    assert not names & {"first_name", "last_name", "phone", "note", "default_address_address1", "default_address_zip"}
    assert {"tag", "email_consent", "city", "region", "country", "total_spent", "total_orders"} <= names
    # Nobody was made a customer.
    assert _read(shop, "SELECT count(*) FROM customers") == [(8,)]
    tags = _with(shop, lambda con: attribute_breakdown(con, "tag"))
    assert dict(zip(tags["value"], tags["customers"], strict=True)) == {
        "vip": 2,
        "sourdough club": 1,
        "wholesale": 1,
        NOT_IN_DATA: 5,
    }
    assert tags.attrs["known"] == 3 and tags.attrs["customers"] == 8
    consent = _read(shop, "SELECT contact, value FROM contact_attributes WHERE name = 'email_consent' ORDER BY 1")
    assert consent[1] == ("7294856151302", "no")  # the apostrophe Shopify writes before ids is gone


def test_mailchimp_audience_gives_ages_genders_interests(shop):
    report = import_file(shop, FIXTURES / "mailchimp_audience_export.csv")
    assert report.layout == "Mailchimp audience export"
    assert (report.people, report.matched, report.unmatched_rows) == (9, 8, 1)
    assert report.mapping["birth_date"] == "Date of Birth"
    attrs = _with(shop, customer_attributes)
    bands = dict(attrs[attrs["name"] == "age_band"][["customer_id", "value"]].itertuples(index=False))
    assert bands == {
        "C01": "25-29",
        "C02": "30-34",
        "C03": "18-24",
        "C04": "25-29",
        "C05": "35-44",
        "C06": "30-34",
        "C07": "18-24",
        "C08": "35-44",
    }
    everyone = [f"C0{i}" for i in range(1, 9)]
    assert _with(shop, lambda con: count_under(con, everyone, 30)) == (8, 8, 4)
    genders = _with(shop, lambda con: attribute_breakdown(con, "gender"))
    # finn 'Prefer not to say' is no gender: counted as not in the data
    assert dict(zip(genders["value"], genders["customers"], strict=True)) == {"female": 4, "male": 3, NOT_IN_DATA: 1}
    interests = _with(shop, lambda con: attribute_breakdown(con, "interest"))
    assert dict(zip(interests["value"], interests["customers"], strict=True)) == {
        "coffee": 3,
        "vegan": 3,
        "gluten-free": 2,
        "cakes": 1,
        NOT_IN_DATA: 2,
    }
    # Mailchimp's month-and-day 'Birthday' gives no age and is not kept.
    assert not _read(shop, "SELECT count(*) FROM contact_attributes WHERE name = 'birthday'")[0][0]


def test_sensitive_attributes_are_not_broken_down_for_a_small_group(shop):
    import_file(shop, FIXTURES / "mailchimp_audience_export.csv")
    with pytest.raises(AnalysisError, match="Too few customers"):
        _with(shop, lambda con: attribute_breakdown(con, "gender", customer_ids=["C01", "C02", "C03", "C04"]))
    with pytest.raises(AnalysisError, match="Too few customers"):
        _with(shop, lambda con: count_under(con, ["C01", "C02"], 30))
    # Interests are not sensitive: a small group is fine.
    small = _with(shop, lambda con: attribute_breakdown(con, "interest", customer_ids=["C01", "C02"]))
    assert set(small["value"]) == {"vegan", "gluten-free", "coffee"}


def test_campaign_activity_gives_engagement_and_behaviour_groups(shop):
    report = import_file(shop, FIXTURES / "mailchimp_campaign_activity.csv")
    assert report.layout == "Mailchimp campaign activity export"
    assert (report.rows_read, report.people, report.matched, report.unmatched_rows) == (11, 8, 7, 1)
    assert report.events == {"sent": 11, "open": 9, "click": 1, "bounce": 1, "unsubscribe": 1}
    features = _with(shop, engagement_features).set_index("customer_id")
    assert features.loc["C01", ["emails_sent", "emails_opened", "emails_clicked"]].tolist() == [2, 2, 1]
    assert features.loc["C02", "open_rate"] == 0.5 and features.loc["C06", "open_rate"] == 0.0
    assert bool(features.loc["C03", "unsubscribed"]) and bool(features.loc["C04", "bounced"])
    groups = _with(shop, behaviour_groups)
    members = {g: sorted(groups.loc[groups["group"] == g, "customer_id"]) for g in set(groups["group"])}
    assert members == {
        "engaged_not_buying": ["C02", "C05", "C07"],
        "buying_not_opening": ["C06"],
        "unreachable": ["C03", "C04"],
    }


def test_klaviyo_events_export_one_row_per_event(shop):
    report = import_file(shop, FIXTURES / "klaviyo_events.csv")
    assert report.layout == "Klaviyo events export"
    assert report.events == {"sent": 2, "open": 1, "click": 1}
    assert report.rejected_by_reason == {"not an email event": 1}
    features = _with(shop, engagement_features).set_index("customer_id")
    assert features.loc["C08", "open_rate"] == 1.0 and features.loc["C07", "emails_opened"] == 0


def test_reimporting_a_newer_list_updates_without_duplicates(shop, tmp_path):
    import_file(shop, FIXTURES / "shopify_customers_export.csv")
    again = import_file(shop, FIXTURES / "shopify_customers_export.csv")
    assert again.already_imported
    newer = tmp_path / "customers_export_newer.csv"
    lines = (FIXTURES / "shopify_customers_export.csv").read_text().splitlines()
    lines[1] = lines[1].replace('"vip, sourdough club"', "vip")  # alice left the sourdough club
    lines[2] = lines[2].replace("BOB@Example.com,no", "BOB@Example.com,yes")  # bob subscribed
    newer.write_text("\n".join(lines) + "\n")
    import_file(shop, newer)
    assert _read(shop, "SELECT value FROM contact_attributes WHERE email = 'alice@example.com' AND name = 'tag'") == [
        ("vip",)
    ]
    assert _read(
        shop, "SELECT value FROM contact_attributes WHERE email = 'bob@example.com' AND name = 'email_consent'"
    ) == [("yes",)]
    assert _read(
        shop,
        "SELECT count(*) FROM (SELECT contact, name, value FROM contact_attributes GROUP BY ALL HAVING count(*) > 1)",
    ) == [(0,)]
    # The same activity export again, re-exported: no event twice.
    import_file(shop, FIXTURES / "mailchimp_campaign_activity.csv")
    copy = tmp_path / "activity_again.csv"
    copy.write_text((FIXTURES / "mailchimp_campaign_activity.csv").read_text() + "\n")
    import_file(shop, copy)
    assert _read(shop, "SELECT sum(times) FROM email_events WHERE event = 'open'") == [(9,)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Email,Tags\nnot-an-email,vip\n,\n", "None of the 2 rows could be used"),
        ('Email,Tags\n=HYPERLINK("x"),vip\n', "None of the 1 rows could be used"),
    ],
    ids=["no-usable-email", "formula"],
)
def test_bad_customer_files_are_refused_and_the_store_is_unchanged(shop, tmp_path, text, message):
    import_file(shop, FIXTURES / "mailchimp_audience_export.csv")
    before = _with(shop, table_counts)
    bad = tmp_path / "customers.csv"
    bad.write_text(text)
    with pytest.raises(IngestError, match=message):
        import_file(shop, bad)
    assert _with(shop, table_counts) == before


def test_command_line_imports_a_list_and_a_bad_one_exits_2(shop, tmp_path):
    run = [sys.executable, str(REPO / "cli.py"), "import", "--db", str(shop)]
    ok = subprocess.run(
        [*run, str(FIXTURES / "shopify_customers_export.csv"), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["unmatched_rows"] == 2
    bad = tmp_path / "list.csv"
    bad.write_text("Email,Tags\nnobody,vip\n")
    before = _with(shop, table_counts)
    refused = subprocess.run([*run, str(bad)], capture_output=True, text=True, cwd=REPO, check=False)
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "None of the 1 rows" in refused.stderr
    assert _with(shop, table_counts) == before


def test_orders_files_stay_orders_files(tmp_path):
    """Files with an order's columns go the orders way, with its refusals, as before."""
    for text, message in (
        ("Customer ID,Order Date\nA,2024-01-01\n", "No amount column"),
        ("Customer ID,Amount\nA,5\n", "No order date column"),
    ):
        path = tmp_path / "orders.csv"
        path.write_text(text)
        with pytest.raises(IngestError, match=message):
            import_file(tmp_path / "new.duckdb", path)


def test_preview_names_the_list_and_its_mapping(tmp_path):
    preview = preview_file(FIXTURES / "mailchimp_audience_export.csv")
    assert preview.layout == "Mailchimp audience export"
    assert preview.mapping["email"] == "Email Address" and preview.rows == 9
    assert any("customer list" in n for n in preview.notes)


def test_a_list_before_any_orders_is_kept_and_matches_when_they_come(tmp_path):
    db = tmp_path / "shop.duckdb"
    first = import_file(db, FIXTURES / "shopify_customers_export.csv")
    assert (first.matched, first.unmatched_rows) == (0, 6)
    import_file(db, FIXTURES / "orders.csv")
    tags = _with(db, lambda con: attribute_breakdown(con, "tag"))
    assert tags.loc[tags["value"] == "vip", "customers"].item() == 2


def test_replacing_the_orders_clears_the_lists(shop, tmp_path):
    import_file(shop, FIXTURES / "shopify_customers_export.csv")
    copy = tmp_path / "orders_again.csv"
    shutil.copyfile(FIXTURES / "orders.csv", copy)
    import_file(shop, copy, replace=True)
    assert _read(shop, "SELECT count(*) FROM contact_attributes") == [(0,)]


def test_a_persona_states_the_lists_demographics_and_interests_or_not_in_your_data(shop):
    from segmentation.attributes import group_profile
    from segmentation.outreach.persona import build_persona

    import_file(shop, FIXTURES / "mailchimp_audience_export.csv")
    everyone = [f"C0{i}" for i in range(1, 9)]
    stated = _with(shop, lambda con: group_profile(con, everyone))
    # ages on 2024-06-30: 18-24 cara, gus; 25-29 alice, dan; 30-34 bob, finn; 35-44 eve, hana (2 each, 25%)
    assert stated["age_band"] == "18-24 (25%), 25-29 (25%), 30-34 (25%)"
    assert stated["gender"] == "female (57%), male (43%)"  # 4 and 3 of the 7 who gave one
    assert stated["income_band"] == NOT_IN_DATA
    persona = build_persona({"customers": 8, "attributes": stated}, key="champions")
    assert "gender female (57%), male (43%); income not in your data" in persona["demographics"]
    # interests from 6 of the 8: coffee bob, finn, hana; vegan alice, eve, hana; gluten-free alice, cara
    assert persona["interests"][0] == "Interests they gave you: coffee (50%), vegan (50%), gluten-free (33%)"
    small = _with(shop, lambda con: group_profile(con, ["C01", "C02"]))
    assert small["age_band"] == NOT_IN_DATA and small["gender"] == NOT_IN_DATA  # too few to say
