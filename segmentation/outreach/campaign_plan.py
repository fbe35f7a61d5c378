"""Before a campaign is created: who in a group may be contacted, how the random split would fall, and whether
that split can show the lift the owner hopes for (the power line). The Campaigns tab and the assistant's
``plan_campaign`` tool say the same sentence from here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from segmentation.outreach import campaigns

HOLDOUT_SHARES = tuple(round(0.05 * i, 2) for i in range(1, 11))  # the shares offered: 5% to 50%
ASSUMED_BASELINE = 0.1  # buyers per customer in 30 days when the value model cannot say


@dataclass(frozen=True)
class CampaignPlan:
    """What a campaign on one group would be: who may be contacted, and how many would buy anyway."""

    eligible: int
    members: int  # in the group, before those who said no to marketing (or cannot be reached) are left out
    baseline: float | None  # share expected to buy in the 30 days anyway; None when the model cannot say
    as_of: str


def campaign_plan(
    con: duckdb.DuckDBPyConnection, group: str, as_of: dt.date | str | None = None, *, members: list[str] | None = None
) -> CampaignPlan:
    """The plan for a campaign to ``group`` (a segment, stage, cluster or saved segment) as of ``as_of``;
    ``members``: the group's customers where the caller has them (a cluster of a chosen k)."""
    from segmentation.profile import group_members
    from segmentation.store import resolve_as_of

    day = resolve_as_of(con, as_of)
    if members is None:
        members = group_members(con, group, as_of=day)
    eligible = campaigns.eligible_members(con, members)
    baseline = campaigns.expected_conversion(con, eligible, day)
    return CampaignPlan(len(eligible), len(set(members)), baseline, day.isoformat())


def power_sentence(plan: CampaignPlan, holdout: float, lift: float) -> str:
    """The split's sizes and the smallest lift it can show, with a share that can show ``lift`` if this cannot."""
    messaged, held_out = campaigns.split_sizes(plan.eligible, holdout)
    baseline = plan.baseline if plan.baseline is not None else ASSUMED_BASELINE
    anyway = (
        f"{baseline * 100:.0f} in 100 of them are expected to buy in the 30 days anyway"
        if plan.baseline is not None
        else "assuming 10 in 100 would buy in the 30 days anyway (no value model)"
    )
    sizes = f"{messaged:,} to message and {held_out:,} held out ({anyway})."
    if plan.members > plan.eligible:
        sizes = (
            f"{plan.eligible:,} of the {plan.members:,} may be contacted (the rest said no to marketing or "
            "cannot be reached): " + sizes
        )
    if held_out < campaigns.MIN_ARM or messaged < campaigns.MIN_ARM:
        verdict = (
            f" Too few to measure: a fair comparison needs at least {campaigns.MIN_ARM} in each group, and "
            "waiting will not change that."
        )
    else:
        least = campaigns.detectable_lift(messaged, held_out, baseline)
        verdict = f" With {held_out:,} held out you would only see a lift above {least * 100:.0f} buyers per 100."
        if least <= lift:
            return sizes + verdict + " Enough for the lift you want to find."
    better = suggested_holdout(plan, lift)
    if better is not None:
        return sizes + verdict + f" Hold out {better:.0%} to see a lift of {lift * 100:.0f} buyers per 100."
    return (
        sizes + verdict + f" Even holding out half, this group is too small to show a lift of {lift * 100:.0f} "
        "buyers per 100: choose a bigger group, or look for a larger effect."
    )


def suggested_holdout(plan: CampaignPlan, lift: float) -> float | None:
    """The smallest offered share whose split can show ``lift``; None if even half cannot."""
    baseline = plan.baseline if plan.baseline is not None else ASSUMED_BASELINE
    return campaigns.suggest_holdout(plan.eligible, baseline, lift, HOLDOUT_SHARES)
