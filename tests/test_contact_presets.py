"""Customer lists from Klaviyo, HubSpot and WooCommerce (issue 19): each export, built from the tool's own column
layout (tests/fixtures/contacts/README.md says where each comes from), imports beside the small orders file of
tests/test_contacts.py and joins to its customers by email.

Every number below is counted by hand from the fixture files. orders.csv: eight customers C01-C08 (alice, bob,
cara, dan, eve, finn, gus, hana @example.com), all buyers; the last order is on 2024-06-30, the as-of date.

- klaviyo_profiles_export.csv: seven profiles; alice, bob, cara, dan, eve and Hana@Example.com (upper case) are
  customers, zed is not. Ages on 2024-06-30 from 'Birthday': alice 25, bob 34, dan 23 (birthday that day),
  eve 44, hana 39; cara has none: five known, two under 30 (alice, dan). Genders: alice, eve, hana female; bob,
  dan male. Shopify Tags: vip alice, eve, hana; sourdough club alice; wholesale cara; bob and dan '[]'.
  Consent: SUBSCRIBED alice, dan, eve, hana (and zed); UNSUBSCRIBED bob; NEVER_SUBSCRIBED cara. Suppressed: bob.
- hubspot_contacts_export.csv: seven contacts; alice, bob, eve, finn, gus and hana are customers, yan is not.
  Ages from 'Date of birth': alice 25, bob 34, eve 44, finn 30 (birthday that day), gus 23, hana 39: six known,
  two under 30 (alice, gus). Interests: coffee bob, finn, hana; vegan alice, hana; gluten-free alice; cakes finn.
  Unsubscribed from all email: bob. Lifecycle stage: the six customers 'Customer', yan 'Lead'.
- woocommerce_customers_export.csv: six customers of the report; alice, bob, cara, eve and gus (a guest) are the
  shop's, xena is not. Country / Region: GB alice, bob, eve, gus; IE cara (region D); xena IE.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from segmentation.attributes import NOT_IN_DATA, attribute_breakdown, count_under, customer_attributes
from segmentation.importing.ingest import ContactImportReport, IngestError, import_file, preview_file
from segmentation.store import table_counts

FIXTURES = Path(__file__).parent / "fixtures" / "contacts"
REPO = Path(__file__).resolve().parent.parent
EVERYONE = [f"C0{i}" for i in range(1, 9)]


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    db = tmp_path / "shop.duckdb"
    import_file(db, FIXTURES / "orders.csv")
    return db


def _with(db: Path, fn):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return fn(con)
    finally:
        con.close()


def _read(db: Path, sql: str) -> list[tuple]:
    return _with(db, lambda con: con.execute(sql).fetchall())


def _breakdown(db: Path, by: str) -> dict[str, int]:
    frame = _with(db, lambda con: attribute_breakdown(con, by))
    return dict(zip(frame["value"], frame["customers"], strict=True))


def _bands(db: Path) -> dict[str, str]:
    attrs = _with(db, customer_attributes)
    return dict(attrs[attrs["name"] == "age_band"][["customer_id", "value"]].itertuples(index=False))


def test_klaviyo_profiles_export_joins_by_email_with_ages_tags_and_consent(shop):
    report = import_file(shop, FIXTURES / "klaviyo_profiles_export.csv")
    assert isinstance(report, ContactImportReport) and report.layout == "Klaviyo profiles export"
    assert (report.rows_read, report.rows_loaded, report.people, report.matched, report.unmatched_rows) == (
        7,
        7,
        7,
        6,
        1,
    )
    # Klaviyo's own profile id is not the shop's customer id: the list joins by email.
    assert "customer_id" not in report.mapping
    assert {
        k: report.mapping[k] for k in ("email", "birth_date", "tags", "email_consent", "region", "unsubscribed")
    } == {
        "email": "Email",
        "birth_date": "Birthday",
        "tags": "Shopify Tags",
        "email_consent": "Email Marketing Consent",
        "region": "State / Region",
        "unsubscribed": "Email Suppressions",
    }
    assert {
        "Klaviyo ID",
        "Phone Number",
        "Organization",
        "Title",
        "Address",
        "Zip Code",
        "IP Address",
        "Latitude",
    } <= set(report.left_out)
    names = {r[0] for r in _read(shop, "SELECT DISTINCT name FROM contact_attributes")}
    assert not names & {
        "klaviyo_id",
        "first_name",
        "phone_number",
        "organization",
        "title",
        "ip_address",
        "first_active",
        "last_active",
        "profile_created_on",
        "date_added",
        "last_open",
    }
    assert {"source", "historic_number_of_orders", "total_customer_lifetime_value"} <= names

    assert _bands(shop) == {"C01": "25-29", "C02": "30-34", "C04": "18-24", "C05": "35-44", "C08": "35-44"}
    assert _with(shop, lambda con: count_under(con, EVERYONE, 30)) == (8, 5, 2)
    assert _breakdown(shop, "gender") == {"female": 3, "male": 2, NOT_IN_DATA: 3}
    # JSON lists ('["vip","sourdough club"]') are read item by item; '[]' is no tag.
    assert _breakdown(shop, "tag") == {"vip": 3, "sourdough club": 1, "wholesale": 1, NOT_IN_DATA: 4}
    assert _breakdown(shop, "email_consent") == {"yes": 4, "no": 2, NOT_IN_DATA: 2}
    assert _read(shop, "SELECT contact, value FROM contact_attributes WHERE name = 'unsubscribed'") == [
        ("bob@example.com", "yes")
    ]
    assert _read(
        shop,
        "SELECT number FROM contact_attributes WHERE contact = 'alice@example.com' "
        "AND name = 'historic_number_of_orders'",
    ) == [(2.0,)]
    assert _read(shop, "SELECT count(*) FROM customers") == [(8,)]  # zed was not made a customer


def test_hubspot_contacts_export_keeps_the_owner_out_and_reads_interests(shop):
    report = import_file(shop, FIXTURES / "hubspot_contacts_export.csv")
    assert report.layout == "HubSpot contacts export"
    assert (report.rows_read, report.rows_loaded, report.people, report.matched, report.unmatched_rows) == (
        7,
        7,
        7,
        6,
        1,
    )
    assert "customer_id" not in report.mapping  # HubSpot's Record ID is not the shop's id
    assert report.mapping["birth_date"] == "Date of birth" and report.mapping["interests"] == "Interests"
    assert {"Record ID", "Contact owner", "First Name", "Phone Number"} <= set(report.left_out)
    # The contact owner is a salesperson's address: no attribute holds an email.
    assert _read(shop, "SELECT count(*) FROM contact_attributes WHERE value LIKE '%@%'") == [(0,)]
    assert "'Create Date' holds dates: left out" in report.notes

    assert _bands(shop) == {
        "C01": "25-29",
        "C02": "30-34",
        "C05": "35-44",
        "C06": "30-34",
        "C07": "18-24",
        "C08": "35-44",
    }
    assert _with(shop, lambda con: count_under(con, EVERYONE, 30)) == (8, 6, 2)
    # Multiple checkboxes export as 'vegan;coffee'.
    assert _breakdown(shop, "interest") == {"coffee": 3, "vegan": 2, "cakes": 1, "gluten-free": 1, NOT_IN_DATA: 4}
    assert _breakdown(shop, "lifecycle_stage") == {"Customer": 6, NOT_IN_DATA: 2}
    assert _read(shop, "SELECT contact FROM contact_attributes WHERE name = 'unsubscribed' AND value = 'yes'") == [
        ("bob@example.com",)
    ]


def test_woocommerce_customers_export_gives_places_and_spend(shop):
    report = import_file(shop, FIXTURES / "woocommerce_customers_export.csv")
    assert report.layout == "WooCommerce customers export"
    assert (report.rows_read, report.rows_loaded, report.people, report.matched, report.unmatched_rows) == (
        6,
        6,
        6,
        5,
        1,
    )
    assert report.mapping == {"email": "Email", "city": "City", "region": "Region", "country": "Country / Region"}
    assert report.kept == {"orders": "Orders", "total_spend": "Total spend", "aov": "AOV"}
    assert report.left_out == ["Name", "Username", "Postal code"]
    assert _breakdown(shop, "country") == {"GB": 4, "IE": 1, NOT_IN_DATA: 3}
    assert _breakdown(shop, "region") == {"D": 1, NOT_IN_DATA: 7}
    assert _read(
        shop, "SELECT number FROM contact_attributes WHERE contact = 'cara@example.com' AND name = 'total_spend'"
    ) == [(38.0,)]
    text = report.as_text()
    assert "Columns: email <- 'Email', city <- 'City', region <- 'Region', country <- 'Country / Region'" in text
    assert "Left out (who a person is): 'Name', 'Username', 'Postal code'" in text


def test_the_preview_names_each_preset():
    for name, label in (
        ("klaviyo_profiles_export.csv", "Klaviyo profiles export"),
        ("hubspot_contacts_export.csv", "HubSpot contacts export"),
        ("woocommerce_customers_export.csv", "WooCommerce customers export"),
    ):
        preview = preview_file(FIXTURES / name)
        assert (preview.layout, preview.kind) == (label, "profiles")


def test_reimporting_a_newer_hubspot_export_updates_without_duplicates(shop, tmp_path):
    import_file(shop, FIXTURES / "hubspot_contacts_export.csv")
    assert import_file(shop, FIXTURES / "hubspot_contacts_export.csv").already_imported
    before = _read(shop, "SELECT count(*) FROM contact_attributes")[0][0]
    lines = (FIXTURES / "hubspot_contacts_export.csv").read_text().splitlines()
    assert "vegan;gluten-free,false" in lines[1] and ",coffee,true" in lines[2]
    lines[1] = lines[1].replace("vegan;gluten-free,false", "vegan,false")  # alice no longer gluten-free
    lines[2] = lines[2].replace(",coffee,true", ",coffee,false")  # bob subscribed again
    newer = tmp_path / "hubspot-crm-exports-all-contacts-2024-07-01.csv"
    newer.write_text("\n".join(lines) + "\n")
    report = import_file(shop, newer)
    assert (report.people, report.matched) == (7, 6)
    assert _read(
        shop, "SELECT value FROM contact_attributes WHERE contact = 'alice@example.com' AND name = 'interest'"
    ) == [("vegan",)]
    assert _read(
        shop, "SELECT value FROM contact_attributes WHERE contact = 'bob@example.com' AND name = 'unsubscribed'"
    ) == [("no",)]
    assert _read(shop, "SELECT count(*) FROM contact_attributes")[0][0] == before - 1  # one interest fewer
    assert _read(
        shop,
        "SELECT count(*) FROM (SELECT contact, name, value FROM contact_attributes GROUP BY ALL HAVING count(*) > 1)",
    ) == [(0,)]
    assert _breakdown(shop, "interest") == {"coffee": 3, "vegan": 2, "cakes": 1, NOT_IN_DATA: 4}


def test_a_hubspot_export_whose_emails_are_all_unusable_is_refused_and_changes_nothing(shop, tmp_path):
    import_file(shop, FIXTURES / "hubspot_contacts_export.csv")
    before = _with(shop, table_counts)
    lines = (FIXTURES / "hubspot_contacts_export.csv").read_text().splitlines()
    bad = tmp_path / "contacts.csv"
    bad.write_text("\n".join([lines[0], *(line.replace("@example.com", "") for line in lines[1:])]) + "\n")
    with pytest.raises(IngestError, match="None of the 7 rows could be used"):
        import_file(shop, bad)
    assert _with(shop, table_counts) == before


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "import", *args], capture_output=True, text=True, cwd=REPO, check=False
    )


def test_the_command_line_shows_the_mapping_and_takes_map_overrides_for_a_customer_file(shop, tmp_path):
    shown = _cli("--db", str(shop), str(FIXTURES / "woocommerce_customers_export.csv"))
    assert shown.returncode == 0, shown.stderr
    columns = "Columns: email <- 'Email', city <- 'City', region <- 'Region', country <- 'Country / Region'"
    assert columns in shown.stdout
    assert "Other columns kept as they are: orders <- 'Orders', total_spend <- 'Total spend', aov <- 'AOV'" in (
        shown.stdout
    )

    # The owner's Interests column holds what they use as tags; and the region is left out.
    moved = _cli(
        "--db",
        str(shop),
        str(FIXTURES / "hubspot_contacts_export.csv"),
        "--map",
        "tags=Interests",
        "--map",
        "region=",
        "--json",
    )
    assert moved.returncode == 0, moved.stderr
    report = json.loads(moved.stdout)
    assert report["mapping"]["tags"] == "Interests" and "interests" not in report["mapping"]
    assert "region" not in report["mapping"] and report["kept"]["state_region"] == "State/Region"
    assert _breakdown(shop, "tag") == {"coffee": 3, "vegan": 2, "cakes": 1, "gluten-free": 1, NOT_IN_DATA: 4}

    before = _with(shop, table_counts)
    for args, message in (
        (["--map", "hobbies=Interests"], "--map knows no field 'hobbies' for this file"),
        (["--map", "tags=Hobbies"], "--map tags=Hobbies: the file has no column 'Hobbies'"),
    ):
        refused = _cli("--db", str(shop), str(FIXTURES / "hubspot_contacts_export.csv"), *args)
        assert refused.returncode == 2
        assert len(refused.stderr.strip().splitlines()) == 1 and message in refused.stderr
    assert _with(shop, table_counts) == before
