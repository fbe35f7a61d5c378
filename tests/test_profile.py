"""Group profiles against hand computation: the RFM fixture shop and a tiny shop with products."""

from __future__ import annotations

import pytest

from segmentation.profile import describe_group, describe_segment
from segmentation.store import connect
from segmentation.vocabulary import AnalysisError

from .fixtures.shops import ORDERS, TINY


@pytest.fixture
def rfm_shop(shop_from):
    return shop_from(ORDERS)


def test_at_risk_profile_by_hand(rfm_shop):
    p = describe_segment(rfm_shop, "at_risk")
    # at_risk on 2024-03-31 is G (2 x 12.00, last 2023-11-15) and I (2 x 8.00 and a 0.00 order, last 2023-09-01).
    assert (p.customers, p.share_of_customers) == (2, 0.2)
    # Base revenue: 100 + 40 + 15 + 60 + 65 + 200 + 24 + 5 + 16 + 10 = 535; the group's 24 + 16 = 40.
    assert (p.revenue, p.revenue_share) == (40.0, round(40 / 535, 4))
    assert (p.median_recency_days, p.median_frequency, p.median_monetary) == (174.5, 2.0, 20.0)
    assert p.avg_order_value == 10.0  # 40 over 4 purchases; I's 0.00 order is not a purchase
    assert p.typical_gap_days == 31.0  # G: Oct 15 -> Nov 15; I: Aug 1 -> Sep 1
    # 90 days earlier (2024-01-01) the base was E, F, G, H, I and only I was at_risk (R2 F3).
    assert (p.customers_90_days_earlier, p.size_change) == (1, 1)
    assert p.top_products == [] and p.channel_mix == {"unknown": 1.0}
    assert (p.consent_share, p.consent_known_share) == (None, 0.0)


def test_lift_mix_and_consent_by_hand(imported, db):
    imported(TINY)
    con = connect(db, read_only=True)
    p = describe_group(con, ["P1", "P2"], label="bread people")
    con.close()
    # Sourdough: both of the group's 2 customers, 2 of the base's 4: lift (2/2) / (2/4) = 2.
    # Latte: 1 of 2 in the group, 2 of 4 in the base: lift 1.
    assert p.top_products == [
        {"name": "Sourdough", "share_of_group": 1.0, "lift": 2.0, "revenue": 12.0},
        {"name": "Latte", "share_of_group": 0.5, "lift": 1.0, "revenue": 3.0},
    ]
    assert [c["name"] for c in p.top_categories] == ["Bread", "Drinks"]
    assert p.channel_mix == {"In store": round(8 / 15, 3), "Online": round(7 / 15, 3)}
    assert p.city_mix == {"Leeds": 0.5, "York": 0.5}
    assert (p.consent_share, p.consent_known_share) == (1.0, 0.5)  # P1 yes, P2 unknown
    assert p.avg_order_value == 5.0  # P1's two orders of 4, P2's one customer-day order of 7: 15 / 3
    assert p.customers_90_days_earlier is None


def test_unknown_key_names_the_valid_ones(rfm_shop):
    with pytest.raises(AnalysisError, match="champions, loyal"):
        describe_segment(rfm_shop, "vips")


def test_lifecycle_stage_profile(rfm_shop):
    p = describe_segment(rfm_shop, "lapsed")
    assert p.customers > 0 and p.label == "lapsed"
