"""RFM against a shop small enough to score by hand (worked out in the comments)."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from segmentation.rfm import DEFAULT_SEGMENT_MAP, SegmentRule, customer_rfm, validate_segment_map
from segmentation.vocabulary import AnalysisError

from .fixtures.shops import ORDERS

# ORDERS, by hand (as of its last order day, 2024-03-31; K is a guest and L only returned):
# recency: A0 J0 B1 C2 D30 E59 F121 G137 I212 H304   (days to 2024-03-31)
# frequency: A5 B4 E3 D2 G2 I2 C1 F1 H1 J1
# monetary: H5 J10 C15 I16 G24 B40 D60 E65 A100 F200
# score = min(5, 1 + floor(5 * worse / 9)), worse = other customers strictly worse (9 others):
# worse 0-1 -> 1, 2-3 -> 2, 4-5 -> 3, 6-7 -> 4, 8-9 -> 5.
EXPECTED = pd.DataFrame(
    [
        # id, recency, freq, monetary, R (worse), F (worse), M (worse), segment
        ("A", 0, 5, 100.0, 5, 5, 5, "champions"),  # R worse 8, F worse 9, M worse 8
        ("B", 1, 4, 40.0, 4, 5, 3, "loyal"),  # R 7, F 8, M 5
        ("C", 2, 1, 15.0, 4, 1, 2, "promising"),  # R 6, F 0, M 2
        ("D", 30, 2, 60.0, 3, 3, 4, "need_attention"),  # R 5, F 4, M 6
        ("E", 59, 3, 65.0, 3, 4, 4, "loyal"),  # R 4, F 7, M 7
        ("F", 121, 1, 200.0, 2, 1, 5, "hibernating"),  # R 3, F 0, M 9
        ("G", 137, 2, 24.0, 2, 3, 3, "at_risk"),  # R 2, F 4, M 4
        ("H", 304, 1, 5.0, 1, 1, 1, "hibernating"),  # R 0, F 0, M 0
        ("I", 212, 2, 16.0, 1, 3, 2, "at_risk"),  # R 1, F 4, M 3
        ("J", 0, 1, 10.0, 5, 1, 1, "new_customers"),  # R 8, F 0, M 1
    ],
    columns=["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment"],
)


@pytest.fixture
def shop(shop_from):
    return shop_from(ORDERS)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in ("recency_days", "frequency", "r_score", "f_score", "m_score"):
        out[col] = out[col].astype("int32")
    out["monetary"] = out["monetary"].astype("float64")
    for col in ("customer_id", "segment"):
        out[col] = out[col].astype(str)
    return out.reset_index(drop=True)


def test_hand_computed_rfm(shop):
    got = customer_rfm(shop)
    assert str(got.attrs["as_of"]) == "2024-03-31"
    assert_frame_equal(_typed(got), _typed(EXPECTED))


def test_identical_values_share_a_score(shop):
    got = customer_rfm(shop)
    for column, score in (("recency_days", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        assert (got.groupby(column)[score].nunique() == 1).all()


def test_as_of_replays_the_past(shop):
    got = customer_rfm(shop, as_of="2024-02-10").set_index("customer_id")
    # On 2024-02-10 E has bought 3 times (last 2024-02-01) and returned 10 that day: 75 - 10.
    assert got.loc["E", ["recency_days", "frequency", "monetary"]].tolist() == [9, 3, 65.0]
    # C, J and L had not bought yet; B had bought twice, the second time on the as-of day itself.
    assert {"C", "J", "L"}.isdisjoint(got.index)
    assert got.loc["B", ["recency_days", "frequency"]].tolist() == [0, 2]


def test_as_of_before_any_order_is_empty(shop):
    assert customer_rfm(shop, as_of="2020-01-01").empty


def test_bad_as_of_is_a_clear_error(shop):
    with pytest.raises(AnalysisError, match="not a date"):
        customer_rfm(shop, as_of="31/03/2024")


def test_segment_map_is_data_and_replaceable(shop):
    everyone_regular = [SegmentRule("regulars", 1, 5, 1, 5)]
    assert set(customer_rfm(shop, segment_map=everyone_regular)["segment"]) == {"regulars"}


def test_default_map_covers_every_cell_once():
    validate_segment_map(DEFAULT_SEGMENT_MAP)
    with pytest.raises(AnalysisError, match="R=5, F=4 0 segments"):
        validate_segment_map([r for r in DEFAULT_SEGMENT_MAP if r.segment != "champions"])
