"""When each customer's next order is due, and what that date rests on.

The rule, per customer at the as-of date D (purchase days as everywhere: purchases on one day merged):

1. **Likely gone: no date.** When the value model gives the customer a chance of still buying (``p_alive``)
   below one half, they are more likely gone than not, and a due date would be a promise the data does not
   make. Nor when their last order is more than ``MISSED_GAPS`` (3) of the gaps below ago: three visits
   missed is the shop's own mark for lapsed (``segmentation.lifecycle``), applied to the customer's rhythm, and
   a rhythm broken that long says nothing about the next visit. This rule alone decides where the shop is
   too small for the value model (``p_alive`` missing). One-time buyers from long ago fall here either way.
2. **Their own rhythm** (``own_gap``): a customer with at least ``MIN_OWN_GAPS`` (2) gaps between purchase
   days inside the last year (so three purchase days or more) is due on their last purchase day + their
   *usual gap*, the median of those gaps (``segmentation.lifecycle.USUAL_GAP_SQL``, the measure the shop's
   lapsing and lapsed marks are learned from).
3. **Their segment's rhythm** (``segment_gap``): anyone else is due on their last purchase day + the
   *typical gap* of their RFM segment, the median usual gap of the segment's customers who have one (the
   number ``segmentation.rhythm`` reports per segment), when at least ``MIN_SEGMENT_REPEATERS`` (5) of them do.
4. **The shop's rhythm** (``shop_gap``): else the shop's typical gap, the median usual gap of every customer
   who has one (the one its lifecycle marks come from). A shop where nobody has bought twice gives no date.

Gaps are rounded to whole days (half up). The date can be before D, by up to two gaps: the customer is
overdue, which is worth knowing (a regular two weeks late is the first sign of lapsing), so it is kept and the
words say "was due".

Why a rhythm and not the value model's own waiting time. The BG/NBD and Pareto/NBD treat purchases while
alive as a Poisson process, which has no memory: a weekly regular who bought yesterday and one who bought six
days ago get the same expected wait (the median of the posterior waiting time, (alpha + T)(2^(1/(r+x)) - 1),
depends on when they first bought, not on when they last did). Owners, and a bakery's regulars, work to a
rhythm; the date an owner checks against is "she comes every 34 days and last came on 3 May". The model is
used for what it is good at: whether the customer is likely still buying at all (rule 1).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from segmentation.lifecycle import LAPSED_MULTIPLE
from segmentation.vocabulary import group_title

NEXT_ORDER_COLUMNS = ["next_order_date", "next_order_basis"]
BASES = ("own_gap", "segment_gap", "shop_gap")
BASIS_TITLES = {"own_gap": "Their own rhythm", "segment_gap": "Their segment's rhythm", "shop_gap": "The shop's rhythm"}
MIN_OWN_GAPS = 2
MIN_SEGMENT_REPEATERS = 5
GONE_BELOW = 0.5  # p_alive under this: more likely gone than still buying
MISSED_GAPS = LAPSED_MULTIPLE  # last order more than this many gaps ago: the rhythm is broken


def next_orders(frame: pd.DataFrame, usual_gap_days: pd.Series, gap_counts: pd.Series, as_of: dt.date) -> pd.DataFrame:
    """``NEXT_ORDER_COLUMNS`` for each row of ``frame`` (the customer table's ``recency_days``, ``segment``,
    and ``p_alive``), by the rule in the module docstring; same index as ``frame``.

    ``usual_gap_days`` and ``gap_counts``: each row's usual gap (NaN without one) and how many gaps inside the
    last year it rests on, aligned with ``frame``'s rows. ``next_order_date`` is 'YYYY-MM-DD' text (it sorts as
    a date and prints the same in a table, a CSV and JSON); both columns are missing where there is no date.
    """
    usual = pd.Series(np.asarray(usual_gap_days, dtype=float), index=frame.index)
    counts = np.nan_to_num(np.asarray(gap_counts, dtype=float))
    shop = usual.median()  # NaN when nobody has a usual gap
    by_segment = usual.groupby(frame["segment"]).agg(["median", "count"])
    segment_gap = by_segment["median"].where(by_segment["count"] >= MIN_SEGMENT_REPEATERS)
    theirs = frame["segment"].map(segment_gap).to_numpy(dtype=float)

    own = (counts >= MIN_OWN_GAPS) & usual.notna().to_numpy()
    from_segment = ~own & ~np.isnan(theirs)
    gap = np.where(own, usual.to_numpy(), np.where(from_segment, theirs, shop))
    basis = np.where(own, BASES[0], np.where(from_segment, BASES[1], BASES[2]))

    days = np.floor(np.nan_to_num(gap) + 0.5).astype("int64")
    recency = frame["recency_days"].to_numpy(dtype="int64")
    with np.errstate(invalid="ignore"):  # a missing p_alive is no verdict: the rhythm rule alone decides
        gone = (frame["p_alive"].to_numpy(dtype=float) < GONE_BELOW) | (recency > MISSED_GAPS * days)
    none = gone | np.isnan(gap)
    last = np.datetime64(as_of, "D") - recency.astype("timedelta64[D]")
    due = last + days.astype("timedelta64[D]")
    # numpy's stubs take no None in np.where; at run time it makes the object arrays wanted here.
    dates = np.where(none, None, np.datetime_as_string(due, unit="D"))  # type: ignore[call-overload]
    bases = np.where(none, None, basis)  # type: ignore[call-overload]
    return pd.DataFrame(
        {"next_order_date": pd.array(dates, dtype="str"), "next_order_basis": pd.array(bases, dtype="str")},
        index=frame.index,
    )


def next_order_words(row: dict | pd.Series, as_of: dt.date | str, shop_gap: float | None = None) -> str:
    """The date and what it rests on, in an owner's words, for one customer-table row; e.g. 'Next order due
    around 6 Jun 2026 (in 12 days), based on their usual 34 days between orders.' ``shop_gap``: the shop's
    typical gap (None: nobody has bought twice), to say why there is no date."""
    day = dt.date.fromisoformat(str(as_of)[:10])
    date, basis = row.get("next_order_date"), row.get("next_order_basis")
    if not isinstance(date, str):
        alive = row.get("p_alive")
        if isinstance(alive, float) and not np.isnan(alive) and alive < GONE_BELOW:
            return (
                f"No next order expected: the value model gives a {alive:.0%} chance they are still buying, "
                "more likely gone than not."
            )
        if shop_gap is None or np.isnan(shop_gap):
            return "No next order date: no customer has bought twice in the last year, so there is no rhythm to go by."
        return (
            f"No next order expected: their last order was {int(row['recency_days']):,} days ago, more than "
            "three times the gap between orders a date would rest on, so their rhythm no longer says when they "
            "will be back."
        )
    due = dt.date.fromisoformat(date)
    last = day - dt.timedelta(days=int(row["recency_days"]))
    gap = (due - last).days
    based = {
        "own_gap": f"based on their usual {gap} days between orders",
        "segment_gap": f"based on the typical {gap} days between orders in your {group_title(row.get('segment'))} "
        "segment (they have too few orders for a rhythm of their own)",
        "shop_gap": f"based on your shop's typical {gap} days between orders (they have too few orders for a "
        "rhythm of their own)",
    }[str(basis)]
    shown = f"{due.day} {due:%b %Y}"
    ahead = (due - day).days
    if ahead >= 0:
        when = "today" if ahead == 0 else f"in {ahead} day{'s' if ahead != 1 else ''}"
        return f"Next order due around {shown} ({when}), {based}."
    late = -ahead
    return f"Next order was due around {shown}, {based}: {late} day{'s' if late != 1 else ''} overdue."
