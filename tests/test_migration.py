"""Migration between two dates on the hand-scored RFM shop (see test_rfm and test_profile)."""

from __future__ import annotations

import pytest

from segmentation.migration import NEW_ARRIVALS, segment_migration
from segmentation.vocabulary import AnalysisError

from .fixtures.shops import ORDERS


@pytest.fixture
def shop(shop_from):
    return shop_from(ORDERS)


def test_rfm_moves_by_hand(shop):
    m = segment_migration(shop, start="2024-01-01")
    # On 2024-01-01 (five buyers): E potential_loyalists, F promising, G need_attention, H hibernating,
    # I at_risk. On 2024-03-31: E loyal, F hibernating, G at_risk, H hibernating, I at_risk, and five
    # newcomers: A champions, B loyal, C promising, D need_attention, J new_customers.
    moves = dict(zip(m.moves["customer_id"], zip(m.moves["from_group"], m.moves["to_group"], strict=True), strict=True))
    assert moves == {
        "A": (NEW_ARRIVALS, "champions"),
        "B": (NEW_ARRIVALS, "loyal"),
        "C": (NEW_ARRIVALS, "promising"),
        "D": (NEW_ARRIVALS, "need_attention"),
        "E": ("potential_loyalists", "loyal"),
        "F": ("promising", "hibernating"),
        "G": ("need_attention", "at_risk"),
        "H": ("hibernating", "hibernating"),
        "I": ("at_risk", "at_risk"),
        "J": (NEW_ARRIVALS, "new_customers"),
    }
    assert m.matrix.loc["potential_loyalists", "loyal"] == 1
    assert m.matrix.loc[NEW_ARRIVALS].sum() == 5
    assert int(m.matrix.to_numpy().sum()) == 10
    # Moves for the worse, by money at stake: F spent 200.00 on 2023-12-01, G 12.00 on 2023-11-15
    # (its 2023-10-15 order is also within the year before 2024-03-31): 24.00.
    assert m.worsened[["from_group", "to_group", "customers", "spent_last_year"]].to_dict("records") == [
        {"from_group": "promising", "to_group": "hibernating", "customers": 1, "spent_last_year": 200.0},
        {"from_group": "need_attention", "to_group": "at_risk", "customers": 1, "spent_last_year": 24.0},
    ]
    assert m.worsened["sentence"][0] == (
        "1 customer went from promising to hibernating; this customer spent 200.00 in the year before"
    )


def test_lifecycle_scheme_counts_everyone(shop):
    m = segment_migration(shop, start="2024-01-01", scheme="lifecycle")
    assert int(m.matrix.to_numpy().sum()) == 10
    assert list(m.matrix.columns) == ["new", "active", "lapsing", "lapsed"]


def test_dates_in_the_wrong_order_are_refused(shop):
    with pytest.raises(AnalysisError, match="must be before"):
        segment_migration(shop, start="2024-03-31", end="2024-01-01")
