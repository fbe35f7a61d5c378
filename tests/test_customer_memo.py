"""The customer table is memoised in-process per database file and data version: a hit equals a fresh
computation, no caller can change what the next one gets, a new import misses, and the memo stays bounded."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from segmentation import customers, memo
from segmentation.customers import customer_table
from segmentation.demo.shop import write_demo_csv
from segmentation.importing import ingest
from segmentation.importing.ingest import import_file
from segmentation.store import connect, connect_sandboxed, data_version

pytestmark = pytest.mark.usefixtures("empty_memo")  # tests/conftest.py: each test starts with none


@pytest.fixture(scope="module")
def demo_csv(demo_shops):
    return demo_shops.csv(customers=300, seed=3)


@pytest.fixture
def shop(tmp_path, demo_csv):
    # Imported for each test, not copied: the import's exclusive lock closes the files kept open by earlier tests.
    db = tmp_path / "shop.duckdb"
    import_file(db, demo_csv)
    return db


def fresh(db, **kwargs) -> pd.DataFrame:
    with memo.disabled(), connect_sandboxed(db) as con:
        return customer_table(con, **kwargs)


def test_a_hit_equals_a_fresh_computation(shop):
    with connect_sandboxed(shop) as con:
        first = customer_table(con)
    with connect_sandboxed(shop) as con:  # another connection to the same file: the same entry
        second = customer_table(con)
        at_risk = customer_table(con, group="at_risk")
    assert (customers.TABLES.misses, customers.TABLES.hits) == (1, 2)
    expected = fresh(shop)
    assert first["clv"].notna().all()
    for frame in (first, second):
        pd.testing.assert_frame_equal(frame, expected)
        assert frame.attrs == expected.attrs
    pd.testing.assert_frame_equal(at_risk, fresh(shop, group="at_risk"))
    assert at_risk.attrs == expected.attrs and len(at_risk) < len(expected)


def test_the_key_holds_the_date_and_horizon(shop):
    with connect_sandboxed(shop) as con:
        later = customer_table(con)
        earlier = customer_table(con, as_of="2025-06-30")
        shorter = customer_table(con, horizon_days=30)
        again = customer_table(con, as_of=dt_of(later))  # the default date, spelled out: the same entry
    assert customers.TABLES.misses == 3 and customers.TABLES.hits == 1
    pd.testing.assert_frame_equal(earlier, fresh(shop, as_of="2025-06-30"))
    pd.testing.assert_frame_equal(shorter, fresh(shop, horizon_days=30))
    pd.testing.assert_frame_equal(again, later)


def dt_of(frame: pd.DataFrame) -> str:
    return frame.attrs["as_of"]


def test_changing_a_returned_frame_does_not_change_the_next(shop):
    with connect_sandboxed(shop) as con:
        frame = customer_table(con)
        expected = frame.copy(deep=True)
        frame["monetary"] = 0.0
        frame.loc[0, "segment"] = "changed"
        frame["extra"] = 1
        frame.attrs["thresholds"]["lapsed_after_days"] = -1
        frame.attrs["warnings"].append("changed")
        values = frame["frequency"].to_numpy()
        if values.flags.writeable:  # a view a caller could write through
            values[:] = -1
        frame = frame.drop(index=[1, 2])
        nxt = customer_table(con)
    assert customers.TABLES.hits == 1
    pd.testing.assert_frame_equal(nxt, expected)
    assert nxt.attrs == expected.attrs


def test_a_new_import_misses(shop, tmp_path):
    with connect_sandboxed(shop) as con:
        before = customer_table(con)
    more = tmp_path / "more.csv"
    more.write_text(f"Customer ID,Order Date,Amount\nNEWCOMER,{before.attrs['as_of']},12\n")
    import_file(shop, more)
    with connect_sandboxed(shop) as con:
        after = customer_table(con)
    assert customers.TABLES.misses == 2
    assert "NEWCOMER" in set(after["customer_id"]) and "NEWCOMER" not in set(before["customer_id"])
    pd.testing.assert_frame_equal(after, fresh(shop))


def test_a_store_made_again_at_the_same_path_misses(tmp_path, demo_csv, monkeypatch):
    """Deleted and imported again from another file within the same second (the clock held still here): the
    data version is the same text, and the inode may be reused, but the imports' file hashes differ."""

    class Still(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 11, 30, 12, 0, 0)

    monkeypatch.setattr(ingest.dt, "datetime", Still)
    db = tmp_path / "shop.duckdb"
    import_file(db, demo_csv)
    with connect_sandboxed(db) as con:
        first, version = customer_table(con, as_of="2026-06-30"), data_version(con)
    db.unlink()
    other = write_demo_csv(tmp_path / "other.csv", customers=120, seed=9)
    import_file(db, other)
    with connect_sandboxed(db) as con:
        second = customer_table(con, as_of="2026-06-30")
        assert data_version(con) == version
    assert customers.TABLES.misses == 2 and customers.TABLES.hits == 0
    pd.testing.assert_frame_equal(second, fresh(db, as_of="2026-06-30"))
    assert len(second) != len(first)


def test_writers_and_memory_databases_are_not_memoised(shop):
    con = connect(shop)  # read-write: it could hold changes no import made
    try:
        assert memo.store_key(con) is None
        customer_table(con)
        customer_table(con)
    finally:
        con.close()
    assert len(customers.TABLES) == 0 and customers.TABLES.hits == 0
    assert memo.store_key(duckdb.connect()) is None


def test_switched_off_every_call_computes(shop, monkeypatch):
    monkeypatch.setenv(memo.ENV_SWITCH, "off")
    with connect_sandboxed(shop) as con:
        customer_table(con)
        customer_table(con)
    assert len(customers.TABLES) == 0 and customers.TABLES.hits == 0
    monkeypatch.setenv(memo.ENV_SWITCH, "on")
    memo.set_enabled(False)  # the function wins over the environment
    with connect_sandboxed(shop) as con:
        customer_table(con)
    assert len(customers.TABLES) == 0


def test_the_customer_table_memo_stays_within_its_entries(shop, monkeypatch):
    monkeypatch.setattr(customers.TABLES, "max_entries", 2)
    with connect_sandboxed(shop) as con:
        for day in ("2025-03-31", "2025-06-30", "2025-09-30", "2025-12-31"):
            customer_table(con, as_of=day)
        assert len(customers.TABLES) == 2
        customer_table(con, as_of="2025-12-31")  # the newest are kept
        customer_table(con, as_of="2025-03-31")  # the oldest went first
    assert customers.TABLES.hits == 1 and customers.TABLES.misses == 5


def test_the_bound_holds_by_entries_and_rows():
    m = memo.Memo("test", max_entries=3, max_rows=10)

    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame({"x": range(n)})

    for key, n in (("a", 4), ("b", 4)):
        m.get_or_compute(key, lambda n=n: frame(n))
    m.get_or_compute("a", lambda: frame(99))  # a hit: "a" is now the most recent
    m.get_or_compute("c", lambda: frame(4))  # 12 rows: the least recent ("b") goes
    assert list(m._items) == ["a", "c"] and m.rows() == 8
    m.get_or_compute("d", lambda: frame(1))
    m.get_or_compute("e", lambda: frame(1))  # four entries: one too many
    assert list(m._items) == ["c", "d", "e"] and len(m) == 3
    big = m.get_or_compute("big", lambda: frame(11))  # above the whole budget: returned, never kept
    assert len(big) == 11 and "big" not in m._items and m.rows() <= 10
    assert len(m.get_or_compute(None, lambda: frame(2))) == 2 and len(m) == 3  # no key: nothing kept
