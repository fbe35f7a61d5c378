"""Planning a measurable campaign before it exists (segmentation.outreach.campaign_plan, the plan_campaign tool): the
split's sizes and the smallest lift it can show, worked out by hand from the store, the same for the tab and the
chat."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from agent.offline import OfflineAgent
from segmentation.customers import customer_table
from segmentation.outreach.campaign_plan import campaign_plan, power_sentence
from segmentation.outreach.campaigns import expected_conversion
from segmentation.store import connect
from tools.base import ToolContext
from tools.registry import run_tool

Z = 1.959964 + 0.841621  # z at 97.5% (two-sided 5%) plus z at 80% power


@pytest.fixture(scope="module")
def db(demo_shops, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("campaign_plan")
    return demo_shops.copy(folder, name="orders.csv", customers=1500, seed=11, currency="GBP")


def test_the_plan_by_hand(db):
    with connect(db, read_only=True) as con:
        table = customer_table(con)
        consent = con.execute("SELECT customer_id, marketing_consent FROM customers").df().set_index("customer_id")
        lapsed = sorted(table.loc[table["lifecycle"] == "lapsed", "customer_id"])
        refused = set(consent.index[consent["marketing_consent"].eq(False)])  # the demo has no email tool's data
        eligible = [c for c in lapsed if c not in refused]
        baseline = expected_conversion(con, eligible, dt.date.fromisoformat(table.attrs["as_of"]))
        plan = campaign_plan(con, "lapsed")
    assert (plan.members, plan.eligible) == (len(lapsed), len(eligible)) and plan.eligible < plan.members
    assert plan.baseline == pytest.approx(baseline)
    held = round(len(eligible) * 0.2)
    messaged = len(eligible) - held
    p = min(max(baseline, 0.01), 0.99)
    least = Z * math.sqrt(p * (1 - p) * (1 / messaged + 1 / held))
    said = power_sentence(plan, 0.2, 0.5)  # a lift of 50 per 100 shows with any split of this size
    assert f"{messaged:,} to message and {held:,} held out" in said
    assert f"you would only see a lift above {least * 100:.0f} buyers per 100. Enough for the lift" in said

    result = run_tool("plan_campaign", {"group": "lapsed", "holdout": 0.2, "lift_per_100": 50}, ToolContext(db_path=db))
    assert result.facts["messaged"] == messaged and result.facts["held_out"] == held
    assert result.facts["detectable_per_100"] == pytest.approx(least * 100, abs=0.06)
    assert said in result.summary and "`segments campaign create lapsed --holdout 0.2`" in result.summary
    with connect(db, read_only=True) as con:  # planning creates nothing
        assert con.execute("SELECT count(*) FROM campaigns").fetchall() == [(0,)]


def test_a_share_too_small_is_raised_to_one_that_can_show_the_lift(db):
    ctx = ToolContext(db_path=db)
    facts = run_tool("plan_campaign", {"group": "lapsed", "holdout": 0.05, "lift_per_100": 4}, ctx).facts
    better = facts["suggested_holdout"]
    assert better is not None and better > 0.05
    summary = run_tool("plan_campaign", {"group": "lapsed", "holdout": 0.05, "lift_per_100": 4}, ctx).summary
    assert f"Hold out {better:.0%} to see a lift of 4 buyers per 100" in summary
    assert f"--holdout {better:g}`" in summary


def test_the_owners_words_plan_it(db):
    turn = OfflineAgent(ToolContext(db_path=db)).ask(
        "I want to send a 10% off code to people who've drifted away but I want to know if it actually works. Can "
        "you set that up properly with a control group?"
    )
    [call] = turn.tool_calls
    assert (call.name, call.args) == ("plan_campaign", {"group": "lapsed"})  # the 10% is the offer, not the split
    turn = OfflineAgent(ToolContext(db_path=db)).ask("set up a campaign to my at risk customers with 30% held out")
    assert turn.tool_calls[0].args == {"group": "at_risk", "holdout": 0.3}
