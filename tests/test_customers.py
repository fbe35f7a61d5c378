"""The customer table reads the orders in two passes and lines up what each part defines on its own."""

from __future__ import annotations

import pytest
from pandas.testing import assert_frame_equal

from segmentation.customers import VALUE_COLUMNS, customer_table
from segmentation.lifecycle import customer_lifecycle, lifecycle_thresholds
from segmentation.rfm import RFM_COLUMNS, customer_rfm
from segmentation.store import connect
from segmentation.value.clv import customer_value


@pytest.fixture(scope="module")
def con(demo_shops, tmp_path_factory):
    db = demo_shops.copy(tmp_path_factory.mktemp("customers"), customers=500, seed=11)
    opened = connect(db, read_only=True)
    yield opened
    opened.close()


@pytest.mark.parametrize("as_of", [None, "2026-03-01"])  # the cached fits' date, and one fitted afresh
def test_the_table_is_its_parts_side_by_side(con, as_of):
    table = customer_table(con, as_of=as_of)
    rfm = customer_rfm(con, as_of=as_of)
    stages = customer_lifecycle(con, as_of=as_of)
    value = customer_value(con, as_of=as_of)
    assert table.attrs["thresholds"] == lifecycle_thresholds(con, as_of=as_of).as_dict()
    assert_frame_equal(table[RFM_COLUMNS], rfm, check_exact=True)
    assert table["lifecycle"].tolist() == stages["lifecycle"].tolist()
    assert table["customer_id"].tolist() == stages["customer_id"].tolist() == value["customer_id"].tolist()
    assert_frame_equal(table[VALUE_COLUMNS], value[VALUE_COLUMNS], check_exact=True)
    assert set(table["lifecycle"]) == {"new", "active", "lapsing", "lapsed"}


def test_a_group_keeps_its_rows(con):
    table = customer_table(con)
    lapsed = customer_table(con, group="lapsed")
    assert_frame_equal(lapsed, table[table["lifecycle"] == "lapsed"].reset_index(drop=True))
