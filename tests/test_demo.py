"""The demo shop, imported the way `segments demo` does it, has members in every segment and stage."""

from __future__ import annotations

import pytest

import cli
from segmentation.lifecycle import customer_lifecycle
from segmentation.rfm import customer_rfm
from segmentation.store import connect
from segmentation.vocabulary import SEGMENT_KEYS, STAGES


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "shop.duckdb"
    assert cli.main(["demo", "--db", str(db)]) == 0
    return db


def test_every_segment_and_stage_has_members(demo_db):
    con = connect(demo_db, read_only=True)
    rfm = customer_rfm(con)
    stages = customer_lifecycle(con)
    con.close()
    # 2,000 customers, one of whom (C01857) returned the one brownie they bought: no purchase, no RFM row.
    assert len(rfm) == 1999
    assert set(rfm["segment"]) == set(SEGMENT_KEYS)
    assert set(stages["lifecycle"]) == set(STAGES)
    # A bakery's customers lapse on its own clock: well inside Klaviyo's 180 days or Mailchimp's 8 months.
    thresholds = stages.attrs["thresholds"]
    assert thresholds["lapsed_after_days"] < 180 and "typical" in thresholds["basis"]


def test_demo_is_the_same_every_time(demo_db, tmp_path):
    again = tmp_path / "again.duckdb"
    assert cli.main(["demo", "--db", str(again)]) == 0
    query = "SELECT order_id, customer_id, order_date, net_amount FROM orders ORDER BY ALL"
    first, second = (connect(p, read_only=True) for p in (demo_db, again))
    try:
        assert first.execute(query).fetchall() == second.execute(query).fetchall()
    finally:
        first.close()
        second.close()
