"""Breakdowns on the tiny products shop of test_profile, computed by hand."""

from __future__ import annotations

import pytest

from segmentation.breakdown import breakdown
from segmentation.rfm import AnalysisError

from .test_profile import TINY

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
        "Leeds": (2, 3, 28.0, round(28 / 3, 2)), "York": (1, 1, 7.0, 7.0), "Hull": (1, 1, 3.0, 3.0),
    }
    assert _rows(frame, "revenue_share")["Leeds"] == (round(28 / 38, 4),)
    assert _rows(frame, "seg_champions", "seg_promising", "seg_hibernating")["Leeds"] == (0.5, 0.5, 0.0)


def test_by_channel_and_category(shop):
    channel = breakdown(shop, "channel")
    assert _rows(channel, "customers", "orders", "revenue", "avg_order_value") == {
        "In store": (2, 3, 28.0, round(28 / 3, 2)), "Online": (2, 2, 10.0, 5.0),
    }
    category = breakdown(shop, "category")
    assert _rows(category, "customers", "orders", "revenue") == {
        "Cakes": (1, 1, 20.0), "Bread": (2, 3, 12.0), "Drinks": (2, 2, 6.0),
    }
    assert category["revenue"].sum() == 38.0  # every net line belongs to exactly one category


def test_by_consent(shop):
    frame = breakdown(shop, "marketing_consent")
    assert _rows(frame, "customers", "revenue") == {
        "consented": (2, 28.0), "unknown": (1, 7.0), "not consented": (1, 3.0),
    }


def test_missing_or_unknown_attribute_is_a_clear_error(imported, db, shop):
    with pytest.raises(AnalysisError, match="use one of country"):
        breakdown(shop, "star_sign")
    with pytest.raises(AnalysisError, match="has no country"):
        breakdown(shop, "country")
