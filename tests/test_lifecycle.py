"""Lifecycle stages follow the stated thresholds exactly, on a shop whose rhythm is known by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from segmentation.lifecycle import customer_lifecycle, lifecycle_thresholds
from segmentation.store import connect
from segmentation.vocabulary import AnalysisError

AS_OF = dt.date(2024, 6, 30)
# Eleven repeat customers, three purchases each, `gap` days apart, the last on `last`.
# Their usual gaps are 10, 12, ..., 30 days: the shop's typical gap is the median, 20 days, so
# lapsing = 1.5 x 20 = 30 days and lapsed = 3 x 20 = 60 days.
REPEATERS = {
    "R01": (10, AS_OF),  # recency 0 -> active
    "R02": (12, dt.date(2024, 6, 1)),  # 29 -> active
    "R03": (14, dt.date(2024, 5, 31)),  # 30 -> active: lapsing means *more* than 30 days
    "R04": (16, dt.date(2024, 5, 30)),  # 31 -> lapsing
    "R05": (18, dt.date(2024, 5, 1)),  # 60 -> lapsing: lapsed means more than 60
    "R06": (20, dt.date(2024, 4, 30)),  # 61 -> lapsed
    **{f"R{i:02d}": (10 + 2 * (i - 1), dt.date(2024, 1, 1)) for i in range(7, 12)},  # 181 -> lapsed
}
SINGLES = {"N1": dt.date(2024, 6, 15), "N2": dt.date(2024, 5, 15)}  # 15 -> new; 46 -> lapsing
EXPECTED = {
    "R01": "active",
    "R02": "active",
    "R03": "active",
    "R04": "lapsing",
    "R05": "lapsing",
    "R06": "lapsed",
    **{f"R{i:02d}": "lapsed" for i in range(7, 12)},
    "N1": "new",
    "N2": "lapsing",
}


def _orders_csv() -> str:
    rows = ["Customer ID,Order Date,Amount"]
    for cid, (gap, last) in REPEATERS.items():
        rows += [f"{cid},{last - dt.timedelta(days=gap * k)},10" for k in (2, 1, 0)]
        rows.append(f"{cid},{last},5")  # a second order the same day: merged, the gap stays the same
    rows += [f"{cid},{day},10" for cid, day in SINGLES.items()]
    return "\n".join(rows) + "\n"


@pytest.fixture
def shop(shop_from):
    return shop_from(_orders_csv())


def test_thresholds_come_from_the_shops_rhythm(shop):
    limits = lifecycle_thresholds(shop)
    assert (limits.typical_gap_days, limits.repeat_customers) == (20.0, 11)
    assert (limits.lapsing_after_days, limits.lapsed_after_days) == (30, 60)
    assert limits.warning is None
    assert limits.rule() == (
        "lapsing = no order in 30 days, lapsed = no order in 60 days "
        "(from your 11 repeat customers' typical 20-day gap between orders in the last year)"
    )


def test_stages_follow_the_thresholds_exactly(shop):
    frame = customer_lifecycle(shop)
    assert dict(zip(frame["customer_id"], frame["lifecycle"], strict=True)) == EXPECTED
    assert frame.set_index("customer_id").loc["R03", "recency_days"] == 30
    assert frame.attrs["thresholds"]["lapsed_after_days"] == 60


def test_owner_thresholds_win(shop):
    limits = lifecycle_thresholds(shop, lapsing_after_days=45, lapsed_after_days=90)
    assert limits.basis == "set by you"
    stages = customer_lifecycle(shop, thresholds=limits).set_index("customer_id")["lifecycle"]
    assert (stages["R04"], stages["R05"], stages["R06"], stages["N2"]) == ("active", "lapsing", "lapsing", "lapsing")
    with pytest.raises(AnalysisError, match="shorter than lapsed"):
        lifecycle_thresholds(shop, lapsing_after_days=90, lapsed_after_days=30)


def test_thin_data_gets_standard_windows_and_a_warning(imported, db):
    imported("Customer ID,Order Date,Amount\nA,2023-12-01,5\nA,2023-12-08,5\nB,2024-03-01,9\n")
    con = connect(db, read_only=True)
    limits = lifecycle_thresholds(con)
    frame = customer_lifecycle(con)
    con.close()
    assert (limits.lapsing_after_days, limits.lapsed_after_days, limits.repeat_customers) == (60, 120, 1)
    assert "Only 1 customers have bought more than once in the last year" in limits.warning
    assert dict(zip(frame["customer_id"], frame["lifecycle"], strict=True)) == {"A": "lapsing", "B": "new"}


def test_past_as_of_replays_the_clock(shop):
    frame = customer_lifecycle(shop, as_of="2024-01-01").set_index("customer_id")
    # On 2024-01-01 only R07..R11 had bought (their last purchase is that day).
    assert sorted(frame.index) == [f"R{i:02d}" for i in range(7, 12)]
    assert set(frame["lifecycle"]) == {"active"}


def test_the_customer_table_reads_the_same_rhythm_in_its_own_pass(shop):
    # The table takes the usual gaps from the value models' summary and the stages from its RFM columns.
    from segmentation.customers import customer_table
    from segmentation.value.clv import rfm_summary

    gaps = rfm_summary(shop, with_gaps=True)["usual_gap_days"]
    assert lifecycle_thresholds(shop, usual_gaps=gaps) == lifecycle_thresholds(shop)
    table = customer_table(shop)  # too small for the value models: their columns stay empty
    assert table.attrs["thresholds"] == lifecycle_thresholds(shop).as_dict()
    assert dict(zip(table["customer_id"], table["lifecycle"], strict=True)) == EXPECTED
