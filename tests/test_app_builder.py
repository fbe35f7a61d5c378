"""The segment builder and the attribute breakdowns in the Segments tab (issues 18 and 19), on real demo stores.

The builder's count is checked against ``matching_ids`` run here and against a pandas filter of the customer
table worked out by hand; the breakdown's shares against the demo's own customer list read with pandas alone.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import cli
from segmentation import currency
from segmentation.custom.conditions import ConditionError, parse
from segmentation.custom.saved import matching_ids
from segmentation.customers import customer_table
from segmentation.importing.ingest import import_file
from segmentation.rfm import customer_rfm
from segmentation.safety.markup import escape_markdown
from segmentation.store import connect_sandboxed

from .support import APP


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def segments_tab() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["tab"] = "Segments"
    return ok(at.run())


def condition_shown(at: AppTest) -> str | None:
    said = [m.value for m in at.markdown if m.value.startswith("Condition: `")]
    return said[0].removeprefix("Condition: `").removesuffix("`") if said else None


def metrics(at: AppTest) -> dict[str, str]:
    """The builder's two figures: the last 'Customers' and 'Revenue' metrics on the page (the tab's own come first)."""
    return {m.label: m.value for m in at.metric}


def saved_rows(db_path) -> list[tuple]:
    with connect_sandboxed(db_path) as con:
        return con.execute("SELECT name, condition FROM saved_segments ORDER BY name").fetchall()


def test_the_builder_counts_what_it_builds_and_saves_it_into_the_pickers(app_db):
    with connect_sandboxed(app_db) as con:
        table = customer_table(con)
        code = currency.currency_of(con)[0]
    at = segments_tab()
    assert condition_shown(at) is None  # nothing picked yet: nothing counted
    # The shop's own values are offered: its stages by their titles, its cities as they are written.
    at = ok(at.selectbox(key="bld-val-0-lifecycle-=").set_value("lapsed").run())
    assert condition_shown(at) == "lifecycle = lapsed"
    at = ok(at.button(key="bld-add").click().run())
    at = ok(at.selectbox(key="bld-field-1").set_value("monetary").run())
    assert at.selectbox(key="bld-op-1-monetary").value == ">"
    at = ok(at.number_input(key="bld-val-1-monetary->").set_value(100).run())
    condition = "lifecycle = lapsed and monetary > 100"
    assert condition_shown(at) == condition

    # The live count is matching_ids' count, and a pandas filter of the customer table worked out here.
    with connect_sandboxed(app_db) as con:
        ids = matching_ids(con, condition)
    by_hand = table[(table["lifecycle"] == "lapsed") & (table["monetary"] > 100)]
    assert 0 < len(by_hand) < len(table) and sorted(by_hand["customer_id"]) == ids
    with currency.using(code):
        revenue = currency.compact_money(by_hand["monetary"].sum(), exact_below=10_000)
    assert metrics(at)["Customers"] == f"{len(ids):,}"
    assert metrics(at)["Revenue"] == revenue

    # Any instead of all: or; the count follows.
    at = ok(at.radio(key="bld-join").set_value("any").run())
    assert condition_shown(at) == "lifecycle = lapsed or monetary > 100"
    either = table[(table["lifecycle"] == "lapsed") | (table["monetary"] > 100)]
    assert metrics(at)["Customers"] == f"{len(either):,}"
    at = ok(at.radio(key="bld-join").set_value("all").run())

    # Saved: in the store in the language's words, in the group picker on the same run, with its change line.
    at = ok(at.text_input(key="bld-name").set_value("Lapsed big spenders").run())
    at = ok(at.button(key="bld-save").click().run())
    assert saved_rows(app_db) == [("Lapsed big spenders", condition)]
    assert any("Saved 'Lapsed big spenders'" in s.value for s in at.success)
    label = f"Lapsed big spenders (your segment, {len(ids):,} customers)"
    assert label in at.selectbox(key="dash-group").options
    at = ok(at.selectbox(key="dash-group").set_value("Lapsed big spenders").run())
    assert any("no import since it was saved" in c.value for c in at.caption)
    # Without a customer list or email activity, one line says how to get the breakdowns.
    assert any(c.value.startswith("Import a customer list") for c in at.caption)


def test_a_written_condition_is_checked_and_a_bad_one_saves_nothing(app_db):
    assert cli.main(["segment", "save", "Leeds", "--where", "city = Leeds", "--db", str(app_db)]) == 0
    before = saved_rows(app_db)
    at = segments_tab()
    at = ok(at.radio(key="bld-mode").set_value("Write").run())
    bad = "lifecycle = lapsd and city = Leeds"
    with pytest.raises(ConditionError) as said:
        parse(bad)
    at = ok(at.text_input(key="bld-typed").set_value(bad).run())
    assert [w.value for w in at.warning] == [escape_markdown(str(said.value))]  # the parser's one sentence
    assert [m.label for m in at.metric].count("Customers") == 1  # the tab's own: nothing counted for the builder
    at = ok(at.text_input(key="bld-name").set_value("Typo").run())
    at = ok(at.button(key="bld-save").click().run())
    assert any(w.value.startswith("Not saved") for w in at.warning) and not at.success
    assert saved_rows(app_db) == before

    # Corrected, it is counted as the command line counts it, and saved.
    good = 'bought category Bread in last 30 days and city = "Hebden Bridge"'
    at = ok(at.text_input(key="bld-typed").set_value(good).run())
    with connect_sandboxed(app_db) as con:
        ids = matching_ids(con, good)
    assert not at.warning and metrics(at)["Customers"] == f"{len(ids):,}"
    at = ok(at.text_input(key="bld-name").set_value("Hebden bread").run())
    at = ok(at.button(key="bld-save").click().run())
    assert saved_rows(app_db) == [
        ("Hebden bread", 'category = Bread in last 30 days and city = "Hebden Bridge"'),
        *before,
    ]


def test_a_saved_segment_shows_who_joined_and_left_with_the_last_import(app_db, tmp_path):
    condition = "lifecycle = lapsed and monetary > 100"
    assert cli.main(["segment", "save", "Lapsed big spenders", "--where", condition, "--db", str(app_db)]) == 0
    with connect_sandboxed(app_db) as con:
        before = set(matching_ids(con, condition))
        last = con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
    # Two of them come back a week later (they are lapsed no more); the week moves everyone's clock on.
    back = sorted(before)[:2]
    day = last + dt.timedelta(days=7)
    rows = [
        {
            "Order ID": f"BACK-{i}",
            "Customer ID": cid,
            "Order Date": day.isoformat(),
            "Product": "Sourdough loaf",
            "Category": "Bread",
            "Channel": "In store",
            "Quantity": 1,
            "Unit Price": 4.5,
        }
        for i, cid in enumerate(back)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "week.csv", index=False)
    import_file(app_db, tmp_path / "week.csv")
    with connect_sandboxed(app_db) as con:
        after = set(matching_ids(con, condition))
    joined, left = len(after - before), len(before - after)
    assert left >= 2

    at = segments_tab()
    at = ok(at.selectbox(key="dash-group").set_value("Lapsed big spenders").run())
    line = next(c.value for c in at.caption if c.value.startswith("`lifecycle = lapsed"))
    assert f"{joined:,} joined and {left:,} left since the import of" in line
    assert f"{len(after):,} customers now" in line
    labels = [b.label for b in at.get("download_button")]
    assert f"Who joined ({joined:,})" in labels and f"Who left ({left:,})" in labels


@pytest.fixture(scope="module")
def listed_store(demo_shops):
    """The demo shop with its customer list and newsletter activity imported, as `segments demo` makes it:
    (the session's built store, only to copy; the two files)."""
    shop = {"customers": 600, "seed": 3}
    return demo_shops.store(**shop, contacts=True), demo_shops.contact_files(**shop)


def test_the_breakdowns_are_the_customer_lists_shares_and_small_groups_are_not_broken_down(
    listed_store, tmp_path, monkeypatch
):
    store, (listing, _) = listed_store
    copy = tmp_path / "shop.duckdb"
    shutil.copy(store, copy)
    monkeypatch.setenv("SEGMENTS_DB", str(copy))
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    with connect_sandboxed(copy) as con:
        champions = set(customer_rfm(con).query("segment == 'champions'")["customer_id"])
        top3 = customer_table(con).nlargest(3, "monetary")
    people = pd.read_csv(listing, dtype=str, keep_default_na=False)
    people = people[people["Customer ID"].isin(champions)]

    def shares(values: pd.Series) -> dict[str, float]:
        counts = values.value_counts()
        return {str(k): round(100 * v / len(values), 2) for k, v in counts.items()}

    genders = people.loc[people["Gender"] != "", "Gender"]
    with_tags = people[people["Tags"] != ""]
    tags = with_tags["Tags"].str.split(",").explode().str.strip()
    tag_shares = {k: round(100 * v / len(with_tags), 2) for k, v in tags.value_counts().items()}

    condition = f"monetary >= {top3['monetary'].min()}"  # the three biggest spenders, opened below
    assert cli.main(["segment", "save", "Top three", "--where", condition, "--db", str(copy)]) == 0
    at = segments_tab()  # the group picker opens on the champions
    assert at.selectbox(key="dash-group").value == "champions"
    table = next(
        d.value for d in at.main.dataframe if list(d.value.columns) == ["attribute", "value", "customers", "share"]
    )
    shown = {
        a: dict(zip(rows["value"], rows["share"], strict=True))
        for a, rows in table[table["value"] != "not in your data"].groupby("attribute")
    }
    assert shown["Gender"] == pytest.approx(shares(genders), abs=0.006)  # shares kept to 4 places, shown in %
    assert shown["Tags"] == pytest.approx(tag_shares, abs=0.006)
    missing = table[(table["attribute"] == "Gender") & (table["value"] == "not in your data")]["customers"]
    assert list(missing) == [len(champions) - len(genders)]
    assert {"Age band", "Interests", "Email engagement"} <= set(shown)

    # A group of three is not broken down by age or gender: the sentence says why, and no row shows them.
    at = ok(at.selectbox(key="dash-group").set_value("Top three").run())
    locked = [c.value for c in at.caption if c.value.startswith(":material/lock:")]
    with connect_sandboxed(copy) as con:
        assert len(matching_ids(con, condition)) == 3
    assert len(locked) == 2 and all(re.search(r"Too few customers \(\d\) in this group", c) for c in locked)
    table = next(d.value for d in at.main.dataframe if list(d.value.columns)[:2] == ["attribute", "value"])
    assert not {"Age band", "Gender"} & set(table["attribute"])


def test_the_builder_offers_the_lists_fields_only_where_they_are_and_counts_a_tag(
    app_db, listed_store, tmp_path, monkeypatch
):
    """A shop without customer lists or email activity is offered no tag, age or open-rate field; with them, a tag is
    picked from the list's own tags and counted as matching_ids and a pandas reading of the list count it."""
    at = segments_tab()  # the plain demo store of app_db: orders only
    plain = at.selectbox(key="bld-field-0").options
    assert "lifecycle" in plain and not {"tag", "age", "open_rate", "attribute", "cluster"} & set(plain)

    store, (listing, _) = listed_store
    copy = tmp_path / "listed.duckdb"
    shutil.copy(store, copy)
    monkeypatch.setenv("SEGMENTS_DB", str(copy))
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    at = segments_tab()
    offered_fields = set(at.selectbox(key="bld-field-0").options)
    assert {"tag", "interest", "age", "gender", "open_rate", "engagement"} <= offered_fields
    at = ok(at.selectbox(key="bld-field-0").set_value("tag").run())
    people = pd.read_csv(listing, dtype=str, keep_default_na=False)
    tags = people.assign(tag=people["Tags"].str.split(",")).explode("tag")
    tags["tag"] = tags["tag"].str.strip()
    tags = tags[tags["tag"] != ""]
    offered = at.selectbox(key="bld-val-0-tag-=").options
    assert set(offered) == set(tags["tag"])
    chosen = offered[0]  # the tag most people have
    at = ok(at.selectbox(key="bld-val-0-tag-=").set_value(chosen).run())
    condition = condition_shown(at)
    assert condition in (f"tag = {chosen}", f'tag = "{chosen}"')
    with connect_sandboxed(copy) as con:
        buyers = set(customer_table(con)["customer_id"])
        ids = matching_ids(con, condition)
    by_hand = sorted(set(tags.loc[tags["tag"] == chosen, "Customer ID"]) & buyers)
    assert len(ids) > 0 and ids == by_hand
    assert metrics(at)["Customers"] == f"{len(ids):,}"
