"""The memos behind a conversation's answers, beside the customer table's (test_customer_memo): group
profiles and the parts they share (the base at a date, every group's size 90 days earlier), breakdowns, the
value models' summary that lets another horizon reuse a table, and the read-only file kept open between reads.
For each: a hit equals a fresh computation (memos off, so the other code path too), a caller cannot change
what the next one gets, and a new import misses."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pytest

from segmentation import breakdown as breakdowns
from segmentation import customers, memo, profile, store
from segmentation.breakdown import breakdown
from segmentation.customers import customer_table, known_table
from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from segmentation.profile import describe_group, describe_segment, group_size
from segmentation.store import STORE_LOCK, connect, connect_sandboxed

pytestmark = pytest.mark.usefixtures("empty_memo")  # tests/conftest.py: each test starts with none


@pytest.fixture(scope="module")
def demo_csv(demo_shops):
    return demo_shops.csv(customers=400, seed=4)


@pytest.fixture
def shop(tmp_path, demo_csv):
    # Imported for each test, not copied: the import's exclusive lock closes the files kept open by earlier tests.
    db = tmp_path / "shop.duckdb"
    import_file(db, demo_csv)
    return db


def fresh(db, compute):
    with memo.disabled(), connect_sandboxed(db) as con:
        return compute(con)


def add_order(db, tmp_path, customer: str = "NEWCOMER") -> None:
    with connect_sandboxed(db) as con:
        day = con.execute("SELECT max(order_date) FROM orders").fetchall()[0][0]
    more = tmp_path / f"{customer}.csv"
    more.write_text(f"Customer ID,Order Date,Amount,City\n{customer},{day},12,Leeds\n")
    import_file(db, more)


# --- profiles -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["at_risk", "lapsed", "champions"])
def test_a_profile_hit_equals_a_fresh_one(shop, key):
    with connect_sandboxed(shop) as con:
        customer_table(con)  # the table and the value summary memoised: members and gaps are read from them
        first = describe_segment(con, key)
    with connect_sandboxed(shop) as con:
        second = describe_segment(con, key)
    assert (profile.PROFILES.misses, profile.PROFILES.hits) == (1, 1)
    expected = fresh(shop, lambda con: describe_segment(con, key))  # every part computed from the orders
    assert first == second == expected
    assert expected.customers and expected.top_categories and expected.customers_90_days_earlier is not None


def test_groups_at_one_date_share_the_base_and_the_earlier_sizes(shop):
    with connect_sandboxed(shop) as con:
        for key in ("at_risk", "loyal", "hibernating"):
            describe_segment(con, key)
        describe_segment(con, "lapsed")  # a stage: the stages' sizes are their own entry
    assert (profile.BASES.misses, profile.BASES.hits) == (1, 3)
    assert (profile.SIZES.misses, profile.SIZES.hits) == (2, 2)
    for key in ("loyal", "lapsed"):
        with connect_sandboxed(shop) as con:
            assert describe_segment(con, key) == fresh(shop, lambda con, key=key: describe_segment(con, key))


def test_earlier_sizes_equal_counting_the_members(shop):
    with connect_sandboxed(shop) as con:
        for key in ("at_risk", "new_customers", "lapsing", "new"):
            counted = len(profile.group_members(con, key, as_of="2025-12-31"))
            assert group_size(con, key, as_of="2025-12-31") == counted


def test_changing_a_returned_profile_does_not_change_the_next(shop):
    with connect_sandboxed(shop) as con:
        first = describe_segment(con, "at_risk")
        expected = describe_segment(con, "at_risk")
        first.customers = -1
        first.top_products.clear()
        first.top_categories[0]["lift"] = 99.0
        first.city_mix["Nowhere"] = 1.0
        assert describe_segment(con, "at_risk") == expected
        group = describe_group(con, ["C00001", "C00002"], label="two")
        group.channel_mix.clear()
        assert describe_group(con, ["C00001", "C00002"], label="two") != group
    assert profile.PROFILES.hits == 3


def test_any_set_of_customers_is_its_own_entry(shop):
    with connect_sandboxed(shop) as con:
        ids = customer_table(con, group="loyal")["customer_id"].tolist()
        whole = describe_group(con, ids, label="mine")
        fewer = describe_group(con, ids[:-3], label="mine")
        again = describe_group(con, ids, label="mine")
    assert fewer.customers == whole.customers - 3 and again == whole
    assert (profile.PROFILES.misses, profile.PROFILES.hits) == (2, 1)
    assert whole == fresh(shop, lambda con: describe_group(con, ids, label="mine"))


def test_a_new_import_misses_the_profiles(shop, tmp_path):
    with connect_sandboxed(shop) as con:
        before = describe_segment(con, "new")
    add_order(shop, tmp_path)
    with connect_sandboxed(shop) as con:
        after = describe_segment(con, "new")
    assert profile.PROFILES.hits == 0 and profile.BASES.hits == 0
    assert after.customers == before.customers + 1
    assert after == fresh(shop, lambda con: describe_segment(con, "new"))


# --- breakdowns ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["city", "category", "marketing_consent"])
def test_a_breakdown_hit_equals_a_fresh_one(shop, by):
    with connect_sandboxed(shop) as con:
        table = customer_table(con)
        lapsed = table.loc[table["lifecycle"] == "lapsed", "customer_id"].tolist()
        first = breakdown(con, by, customer_ids=lapsed, top=3)
        second = breakdown(con, by, customer_ids=lapsed, top=3)
        everyone = breakdown(con, by, top=3)
    assert (breakdowns.BREAKDOWNS.misses, breakdowns.BREAKDOWNS.hits) == (2, 1)
    expected = fresh(shop, lambda con: breakdown(con, by, customer_ids=lapsed, top=3))
    for frame in (first, second):
        pd.testing.assert_frame_equal(frame, expected)
        assert frame.attrs == expected.attrs
    pd.testing.assert_frame_equal(everyone, fresh(shop, lambda con: breakdown(con, by, top=3)))
    assert first.attrs["customers"] == len(lapsed) < everyone.attrs["customers"]


def test_changing_a_returned_breakdown_does_not_change_the_next(shop):
    with connect_sandboxed(shop) as con:
        frame = breakdown(con, "city")
        expected = frame.copy(deep=True)
        frame["revenue"] = 0.0
        frame.loc[0, "value"] = "changed"
        frame.attrs["folded"] = -1
        assert_same(breakdown(con, "city"), expected)


def assert_same(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, expected)
    assert frame.attrs == expected.attrs


def test_a_new_import_misses_the_breakdowns(shop, tmp_path):
    with connect_sandboxed(shop) as con:
        before = breakdown(con, "city")
    add_order(shop, tmp_path)
    with connect_sandboxed(shop) as con:
        after = breakdown(con, "city")
    assert breakdowns.BREAKDOWNS.hits == 0 and after.attrs["customers"] == before.attrs["customers"] + 1
    assert_same(after, fresh(shop, lambda con: breakdown(con, "city")))


# --- the customer table at another horizon, and known_table ------------------------------------------------


def test_another_horizon_reuses_the_table_and_equals_a_fresh_one(shop, monkeypatch):
    with connect_sandboxed(shop) as con:
        customer_table(con)
        monkeypatch.setattr(customers, "customer_rfm", _refuse)  # no scoring again: RFM comes from the memo
        shorter = customer_table(con, horizon_days=30)
        monkeypatch.undo()
    assert len(customers.SUMMARIES) == 1 and customers.TABLES.misses == 2
    expected = fresh(shop, lambda con: customer_table(con, horizon_days=30))
    assert_same(shorter, expected)


def _refuse(*args, **kwargs):
    raise AssertionError("computed again")


def test_known_table_is_a_copy_and_never_computes(shop):
    with connect_sandboxed(shop) as con:
        assert known_table(con) is None and customers.TABLES.misses == 0
        full = customer_table(con, horizon_days=30)
        known = known_table(con, columns=["customer_id", "segment"])
        known.loc[0, "segment"] = "changed"
        known.attrs["thresholds"]["lapsed_after_days"] = -1
        assert_same(known_table(con)[full.columns.tolist()], full)
        assert known_table(con, as_of="2025-01-01") is None
    with memo.disabled(), connect_sandboxed(shop) as con:
        assert known_table(con) is None


# --- the read-only file kept open between reads ------------------------------------------------------------


def test_reads_share_one_open_file_but_nothing_else(shop):
    with connect_sandboxed(shop) as con:
        con.register("mine", pd.DataFrame({"x": [1]}))
        con.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS y")
    with connect_sandboxed(shop) as con:
        kept = dict(store._KEPT)
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
    assert len(kept) == 1 and "scratch" not in names and "mine" not in views


def test_a_write_in_this_process_closes_the_kept_file_first(shop, tmp_path):
    with connect_sandboxed(shop) as con:
        before = con.execute("SELECT count(*) FROM orders").fetchall()[0][0]
    assert store._KEPT
    add_order(shop, tmp_path)  # the import takes STORE_LOCK.exclusive()
    with connect_sandboxed(shop) as con:
        assert con.execute("SELECT count(*) FROM orders").fetchall()[0][0] == before + 1
    with connect_sandboxed(shop):
        pass
    with STORE_LOCK.exclusive():
        assert not store._KEPT
    con = connect(shop, read_only=True)  # another kind of connection: the kept one makes way
    con.close()
    with connect_sandboxed(shop):
        pass
    con = connect(shop)  # and a writer
    con.close()


def test_an_idle_file_is_closed_for_other_programs(shop, monkeypatch):
    monkeypatch.setattr(store, "KEEP_OPEN_SECONDS", 0.05)
    with connect_sandboxed(shop):
        pass
    deadline = time.monotonic() + 5
    while store._KEPT and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not store._KEPT
    writer = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('CHECKPOINT').fetchall()"
    subprocess.run([sys.executable, "-c", writer, str(shop)], check=True, timeout=60)


def test_a_file_made_again_at_its_path_is_opened_again(shop, tmp_path):
    with connect_sandboxed(shop) as con:
        before = con.execute("SELECT count(*) FROM customers").fetchall()[0][0]
    other = tmp_path / "other.duckdb"
    import_file(other, write_demo_csv(tmp_path / "small.csv", customers=50, seed=1))
    store.release_kept()
    with connect_sandboxed(shop):  # kept again
        pass
    other.replace(shop)  # outside this program: no lock taken here
    with connect_sandboxed(shop) as con:
        after = con.execute("SELECT count(*) FROM customers").fetchall()[0][0]
    assert after != before


def test_keeping_switched_off_closes_after_every_read(shop, monkeypatch):
    monkeypatch.setattr(store, "KEEP_OPEN_SECONDS", 0.0)
    with connect_sandboxed(shop) as con:
        assert con.execute("SELECT count(*) FROM orders").fetchall()[0][0]
        assert store._KEPT
    assert not store._KEPT
