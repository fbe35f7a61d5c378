"""Breakdowns on the tiny products shop of test_profile, computed by hand."""

from __future__ import annotations

import pytest

from segmentation.breakdown import breakdown
from segmentation.vocabulary import AnalysisError

from .fixtures.shops import TINY

# As of 2024-01-08: P1 (2 orders of 4.00, Leeds, in store, Bread), P2 (one order: Sourdough 4 + Latte 3,
# York, online), P3 (Latte 3, Hull, online), P4 (Cake 20, Leeds, in store). RFM: P1 champions (R5 F5),
# P2 hibernating (R1), P3 hibernating (R2), P4 promising (R4 F1).


@pytest.fixture
def shop(shop_from):
    return shop_from(TINY)


def _rows(frame, *cols):
    return {row["value"]: tuple(row[c] for c in cols) for row in frame.to_dict("records")}


def test_by_city(shop):
    frame = breakdown(shop, "city")
    assert list(frame["value"]) == ["Leeds", "York", "Hull"]
    assert _rows(frame, "customers", "orders", "revenue", "avg_order_value") == {
        "Leeds": (2, 3, 28.0, round(28 / 3, 2)),
        "York": (1, 1, 7.0, 7.0),
        "Hull": (1, 1, 3.0, 3.0),
    }
    assert _rows(frame, "revenue_share")["Leeds"] == (round(28 / 38, 4),)
    assert _rows(frame, "customer_share") == {"Leeds": (0.5,), "York": (0.25,), "Hull": (0.25,)}  # of 4
    assert (frame.attrs["values"], frame.attrs["folded"], frame.attrs["customers"]) == (3, 0, 4)
    assert _rows(frame, "seg_champions", "seg_promising", "seg_hibernating")["Leeds"] == (0.5, 0.5, 0.0)


def test_by_channel_and_category(shop):
    channel = breakdown(shop, "channel")
    assert _rows(channel, "customers", "orders", "revenue", "avg_order_value") == {
        "In store": (2, 3, 28.0, round(28 / 3, 2)),
        "Online": (2, 2, 10.0, 5.0),
    }
    category = breakdown(shop, "category")
    assert _rows(category, "customers", "orders", "revenue") == {
        "Cakes": (1, 1, 20.0),
        "Bread": (2, 3, 12.0),
        "Drinks": (2, 2, 6.0),
    }
    assert category["revenue"].sum() == 38.0  # every net line belongs to exactly one category


def test_by_consent(shop):
    frame = breakdown(shop, "marketing_consent")
    assert _rows(frame, "customers", "revenue") == {
        "consented": (2, 28.0),
        "unknown": (1, 7.0),
        "not consented": (1, 3.0),
    }


def test_missing_or_unknown_attribute_is_a_clear_error(imported, db, shop):
    with pytest.raises(AnalysisError, match="use one of country"):
        breakdown(shop, "star_sign")
    with pytest.raises(AnalysisError, match="has no country"):
        breakdown(shop, "country")


def test_the_folded_tail_counts_each_customer_and_order_once(shop):
    # Top 1 category by revenue is Cakes (P4, 20.00); Bread (P1 twice, P2) and Drinks (P2, P3) fold into
    # 'other': customers P1, P2, P3 = 3 (the rows summed to 4), orders P1 x 2, P2, P3 = 4 (summed: 5).
    frame = breakdown(shop, "category", top=1)
    assert list(frame["value"]) == ["Cakes", "other"]
    assert _rows(frame, "customers", "customer_share", "orders", "revenue", "avg_order_value")["other"] == (
        3,
        0.75,
        4,
        18.0,
        4.5,
    )
    assert (frame.attrs["values"], frame.attrs["folded"]) == (3, 2)
    # Segment mix of 'other': P1 champions, P2 and P3 hibernating, each once.
    assert _rows(frame, "seg_champions", "seg_hibernating")["other"] == (round(1 / 3, 3), round(2 / 3, 3))
