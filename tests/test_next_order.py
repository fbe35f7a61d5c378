"""The next order's due date (segmentation.value.nextorder) against a shop small enough to work out by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from segmentation.customers import customer_table
from segmentation.value import nextorder
from segmentation.value.nextorder import next_order_words, next_orders

# As of 2026-03-31 (D's last order). Purchase days, gaps inside the last year, usual gap (median), recency:
#   A: Feb 22, Mar 4, Mar 20 (two orders) -> gaps 10, 16 -> 13, 2 gaps: own rhythm; 11 days -> due Mar 20 + 13 = Apr 2
#   B: Feb 1, 8, 15, 22 -> 7, 3 gaps; last order 37 days ago > 3 x 7: rhythm broken, no date
#   C: Feb 28, Mar 8, Mar 16 -> gaps 8, 8 -> 8; 15 days <= 24 -> due Mar 24, 7 days overdue
#   D: Mar 1, Mar 31 -> one gap, 30: too few for its own -> the shop's gap (below): Mar 31 + 22 = Apr 22
#   E: one purchase Mar 25 (and a return, no purchase) -> the shop's gap: Apr 16
#   F: 2024-12-01, 2025-01-01, 2026-03-20: no gap inside the last year -> the shop's gap: Apr 11
#   G: Jan 1, Feb 10 -> one gap, 40; 49 days <= 3 x 22 -> Feb 10 + 22 = Mar 4, 27 days overdue
#   H: 2025-11-01, 2025-12-21 -> one gap, 50; 100 days > 66: no date
#   I: one purchase 2025-06-01, 303 days ago: no date
# The shop's typical gap: median of the usual gaps 13, 7, 8, 30, 40, 50 = (13 + 30) / 2 = 21.5 -> 22 days.
# Nine customers: too few for the value model, so p_alive is missing and the rhythm rule alone decides.
SHOP = """
Order ID,Customer ID,Order Date,Quantity,Unit Price,Status
A1,A,2026-02-22,1,10,paid
A2,A,2026-03-04,1,10,paid
A3,A,2026-03-20,1,10,paid
A4,A,2026-03-20,1,5,paid
B1,B,2026-02-01,1,10,paid
B2,B,2026-02-08,1,10,paid
B3,B,2026-02-15,1,10,paid
B4,B,2026-02-22,1,10,paid
C1,C,2026-02-28,1,10,paid
C2,C,2026-03-08,1,10,paid
C3,C,2026-03-16,1,10,paid
D1,D,2026-03-01,1,10,paid
D2,D,2026-03-31,1,10,paid
E1,E,2026-03-25,1,10,paid
E2,E,2026-03-28,-1,10,paid
F1,F,2024-12-01,1,10,paid
F2,F,2025-01-01,1,10,paid
F3,F,2026-03-20,1,10,paid
G1,G,2026-01-01,1,10,paid
G2,G,2026-02-10,1,10,paid
H1,H,2025-11-01,1,10,paid
H2,H,2025-12-21,1,10,paid
I1,I,2025-06-01,1,10,paid
"""
EXPECTED = {
    "A": ("2026-04-02", "own_gap"),
    "B": (None, None),
    "C": ("2026-03-24", "own_gap"),
    "D": ("2026-04-22", "shop_gap"),
    "E": ("2026-04-16", "shop_gap"),
    "F": ("2026-04-11", "shop_gap"),
    "G": ("2026-03-04", "shop_gap"),
    "H": (None, None),
    "I": (None, None),
}


def _pairs(frame: pd.DataFrame) -> dict:
    def value(v):
        return v if isinstance(v, str) else None

    return {r.customer_id: (value(r.next_order_date), value(r.next_order_basis)) for r in frame.itertuples()}


def test_the_customer_tables_next_orders_by_hand(shop_from, monkeypatch, empty_memo):
    # Segments of a nine-customer shop are too small to rest on anyway; made impossible so the test says so.
    monkeypatch.setattr(nextorder, "MIN_SEGMENT_REPEATERS", 10**9)
    table = customer_table(shop_from(SHOP))
    assert table.attrs["as_of"] == "2026-03-31" and table["p_alive"].isna().all()
    assert _pairs(table) == EXPECTED
    rows = table.set_index("customer_id")
    assert next_order_words(rows.loc["A"], "2026-03-31", 21.5) == (
        "Next order due around 2 Apr 2026 (in 2 days), based on their usual 13 days between orders."
    )
    assert next_order_words(rows.loc["C"], "2026-03-31", 21.5) == (
        "Next order was due around 24 Mar 2026, based on their usual 8 days between orders: 7 days overdue."
    )
    assert next_order_words(rows.loc["E"], "2026-03-31", 21.5) == (
        "Next order due around 16 Apr 2026 (in 16 days), based on your shop's typical 22 days between orders (they "
        "have too few orders for a rhythm of their own)."
    )
    assert next_order_words(rows.loc["B"], "2026-03-31", 21.5).startswith(
        "No next order expected: their last order was 37 days ago, more than three times"
    )


def test_a_replayed_date_uses_only_what_was_known_then(shop_from, monkeypatch, empty_memo):
    # As of Mar 10: A has Feb 22, Mar 4 (one gap, 10); C Feb 28, Mar 8 (one gap, 8); B 7 (three gaps); G 40;
    # H 50; no usual gap for D, F (its gap ended more than a year before) and I; E has not bought yet.
    # Shop gap: median(7, 8, 10, 40, 50) = 10. B: last Feb 22, 16 days <= 21 -> own, Mar 1. A: Mar 4 + 10.
    # G: 28 days <= 30 -> Feb 10 + 10. H: 79 days > 30, none.
    monkeypatch.setattr(nextorder, "MIN_SEGMENT_REPEATERS", 10**9)
    table = customer_table(shop_from(SHOP), as_of="2026-03-10")
    got = _pairs(table)
    assert got["B"] == ("2026-03-01", "own_gap") and got["A"] == ("2026-03-14", "shop_gap")
    assert got["C"] == ("2026-03-18", "shop_gap") and got["G"] == ("2026-02-20", "shop_gap")  # Feb 10 + 10
    assert got["D"] == ("2026-03-11", "shop_gap") and "E" not in got  # D: Mar 1 + 10; E had not bought yet
    assert got["H"] == got["F"] == got["I"] == (None, None)


def test_the_segments_rhythm_and_the_models_verdict():
    # Six repeat customers in 'loyal' (usual gaps 10, 12, 14, 16, 18, 20: typical 15) and two in 'hibernating'
    # (30 and 40: too few for a segment's rhythm). The shop: the median of all eight, (16 + 18) / 2 = 17.
    frame = pd.DataFrame(
        {
            "customer_id": list("abcdefghij"),
            "recency_days": [1, 1, 1, 1, 1, 1, 5, 5, 3, 3],
            "segment": ["loyal"] * 6 + ["hibernating"] * 2 + ["loyal", "hibernating"],
            "p_alive": [0.9] * 6 + [0.9, 0.9, 0.49, np.nan],
        }
    )
    usual = [10, 12, 14, 16, 18, 20, 30, 40, np.nan, np.nan]
    counts = [1, 1, 1, 1, 1, 2, 2, 2, 0, 0]  # only f, g, h have a rhythm of their own
    got = next_orders(frame, pd.Series(usual), pd.Series(counts), dt.date(2026, 3, 31))
    found = _pairs(got.assign(customer_id=frame["customer_id"]))
    dates = {key: date for key, (date, _) in found.items()}
    bases = {key: basis for key, (_, basis) in found.items()}
    # a-e: loyal's typical 15 from Mar 30; f: own 20; g, h: own 30 and 40 from Mar 26; i: p_alive 0.49, none;
    # j: hibernating has two repeat customers, too few: the shop's 17 from Mar 28 (p_alive missing: no verdict).
    assert dates == {
        **dict.fromkeys("abcde", "2026-04-14"),
        "f": "2026-04-19",
        "g": "2026-04-25",
        "h": "2026-05-05",
        "i": None,
        "j": "2026-04-14",
    }
    assert bases == {
        **dict.fromkeys("abcde", "segment_gap"),
        "f": "own_gap",
        "g": "own_gap",
        "h": "own_gap",
        "i": None,
        "j": "shop_gap",
    }
    words = next_order_words(dict(frame.iloc[0]) | dict(got.iloc[0]), "2026-03-31")
    assert words == (
        "Next order due around 14 Apr 2026 (in 14 days), based on the typical 15 days between orders "
        "in your Loyal segment (they have too few orders for a rhythm of their own)."
    )
    assert next_order_words(dict(frame.iloc[8]) | dict(got.iloc[8]), "2026-03-31") == (
        "No next order expected: the value model gives a 49% chance they are still buying, more likely gone than not."
    )


@pytest.mark.parametrize("shop_gap", [None, float("nan")])
def test_no_rhythm_at_all_is_said(shop_gap):
    row = {"next_order_date": None, "p_alive": float("nan"), "recency_days": 3}
    assert next_order_words(row, "2026-03-31", shop_gap).startswith("No next order date: no customer has bought twice")
