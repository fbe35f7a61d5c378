"""What an answer says about P(alive), and how it keeps it apart from the "lapsed" stage.

The two measure different things and often disagree: ``lapsed`` is a rule on the calendar (no order for longer
than the shop's typical gap allows), P(alive) is the value model's chance that a customer has not silently
stopped buying, read from their own rhythm. A customer who used to buy twice a year is lapsed after a quiet
quarter yet very likely still a customer (CDNOW at its calibration date: 80% of lapsed customers have
P(alive) >= 0.5). So an answer never ranks "who is worth winning back" by P(alive): a customer nearly sure to be
alive who buys once a year is worth less than a likelier-gone regular; expected purchases and value weigh both.
Where the model saw nobody leave, P(alive) is ~100% for everyone and is not quoted at all.
"""

from __future__ import annotations

import pandas as pd

NO_CHURN_WORDS = (
    "the model sees no sign of customers leaving in this data (it puts the chance of dropping out after a "
    "purchase at {dropout:.2%}), so it rates nearly everyone as still active, however long ago they bought: go by "
    "expected purchases instead."
)
WIN_BACK_GROUPS = frozenset({"lapsed", "lapsing", "at_risk", "cannot_lose_them", "hibernating", "about_to_sleep"})


def alive_words(frame: pd.DataFrame, *, churn_seen: bool, dropout: float | None, group: str | None = None) -> str:
    """The P(alive) sentence of a value answer over ``frame`` (the customer table's rows for the group asked).

    With churn seen: the median chance, what it means, and how many lapsed customers the model still rates
    more likely active than not (the disagreement said, with the lapsed rule from ``frame.attrs``). Without:
    ``NO_CHURN_WORDS``. For a win-back group, that the list is ranked by predicted value, not by the chance.
    """
    if not churn_seen:
        return NO_CHURN_WORDS.format(dropout=dropout or 0.0)
    said = (
        f"median chance still active {frame['p_alive'].median():.0%} (the model's chance that a customer has "
        "not silently stopped buying, not a stage"
    )
    lapsed = frame[frame["lifecycle"] == "lapsed"]
    limits = frame.attrs.get("thresholds") or {}
    if len(lapsed) and limits.get("lapsed_after_days"):
        alive = int((lapsed["p_alive"] >= 0.5).sum())
        said += (
            f': "lapsed" only means no order in {limits["lapsed_after_days"]} days, your gap rule, and the '
            f"model still rates {alive:,} of the {len(lapsed):,} lapsed customers here more likely active than "
            "not"
        )
    said += ")."
    if group in WIN_BACK_GROUPS:
        said += (
            " Who is worth winning back goes by expected purchases and value, not by that chance: the list "
            "is ranked by predicted value."
        )
    return said
