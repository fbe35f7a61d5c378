"""The offline assistant's understanding stages, each on its own: text, dates, slots, declines, parts, state.

Dates are read against the demo shop's clock: its last order is on 2026-11-20 (a Friday).
"""

from __future__ import annotations

import datetime as dt

import pytest

from agent.dialogue import State
from agent.understand import dates
from agent.understand.decline import decline
from agent.understand.parts import split_parts
from agent.understand.slots import read_slots
from agent.understand.text import clean, expand_slang, normalise

ANCHOR = dt.date(2026, 11, 20)


# --- text: normalise, slang, spelling ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Who r my lapesd custmers?", "who are my lapsed customers"),
        ("show me the chmapions", "show me the champions"),
        ("wot did my regs buy", "what did my regulars buy"),
        ("the avrage ordr vaule", "the average order value"),
        ("hibernatng ppl", "hibernating people"),
        ("reccomend a segment", "recommend a segment"),
    ],
    ids=["typos", "swap", "slang", "three-typos", "dropped-letter", "double-letter"],
)
def test_clean_fixes_typos_and_slang(raw, cleaned):
    assert clean(raw) == cleaned


@pytest.mark.parametrize(
    "raw",
    ["what's the weather tomorrow", "tell me about my bakery", "xyzzy plugh"],
    ids=["weather-is-not-rather", "unknown-word-kept", "nonsense-kept"],
)
def test_clean_leaves_words_it_does_not_know_alone(raw):
    assert clean(raw) == expand_slang(normalise(raw))


def test_shop_words_are_spelt_too():
    assert clean("customers in hebdn bridge", ["hebden", "bridge"]) == "customers in hebden bridge"


# --- dates and periods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("revenue last month", "2026-10-01", "2026-10-31"),
        ("sales this month", "2026-11-01", "2026-11-20"),
        ("sales this year", "2026-01-01", "2026-11-20"),
        ("sales last year", "2025-01-01", "2025-12-31"),
        ("in the last 3 months", "2026-08-20", "2026-11-20"),
        ("over the last few months", "2026-08-20", "2026-11-20"),
        ("in the last 90 days", "2026-08-22", "2026-11-20"),
        ("last week", "2026-11-13", "2026-11-20"),
        ("revenue in Q3", "2026-07-01", "2026-09-30"),
        ("revenue in Q4", "2025-10-01", "2025-12-31"),
        ("revenue in Q3 2025", "2025-07-01", "2025-09-30"),
        ("since Christmas", "2025-12-25", "2026-11-20"),
        ("since June", "2026-06-01", "2026-11-20"),
        ("since the summer", "2026-06-01", "2026-11-20"),
        ("since 1st june", "2026-06-01", "2026-11-20"),
        ("sales in june", "2026-06-01", "2026-06-30"),
        ("between 1 June and 2026-08-31", "2026-06-01", "2026-08-31"),
        ("from 01/06/2026 to 15/07/2026", "2026-06-01", "2026-07-15"),
    ],
    ids=lambda v: v if " " in str(v) else None,
)
def test_periods(question, start, end):
    found = dates.period(question, clean(question), ANCHOR)
    assert (str(found.start), str(found.end)) == (start, end)


@pytest.mark.parametrize(
    ("question", "day"),
    [
        ("rfm as of 1st june", "2026-06-01"),
        ("segments as of June 1 2025", "2025-06-01"),
        ("how did things look as at 2026-03-31", "2026-03-31"),
        ("segments as of the end of june", "2026-06-30"),
    ],
)
def test_as_of(question, day):
    assert str(dates.as_of(question, clean(question), ANCHOR)) == day


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("over the next 30 days", 30),
        ("next quarter", 91),
        ("in the coming year", 365),
        ("next 6 weeks", 42),
        ("what will they spend", None),
    ],
)
def test_horizon(question, days):
    assert dates.horizon(clean(question)) == days


def test_no_period_when_none_is_named():
    assert dates.period("who are my lapsed customers", "who are my lapsed customers", ANCHOR) is None


# --- slots ---------------------------------------------------------------------------------------------------


def slots(question: str, places: dict | None = None):
    return read_slots(question, clean(question), ANCHOR, places)


def test_sizes():
    assert slots("split my customers into seven groups").k == 7
    assert slots("top ten products").limit == 10
    assert slots("who are my 20 best customers").limit == 20
    assert slots("who spent over £100").min_spend == 100
    assert slots("over 2k").min_spend == 2000


def test_groups_places_and_channels():
    s = slots("how many of my lapsed customers live in leeds", {"leeds": "city", "ireland": "country"})
    assert (s.group, s.place, s.attribute, s.pronoun) == ("lapsed", "Leeds", "city", False)
    assert slots("customers in Dublin", {"dublin": "city"}).place == "Dublin"
    assert slots("what about ireland", {"ireland": "country"}).attribute == "country"
    assert slots("text my at-risk regulars").sms and slots("text my at-risk regulars").group == "at_risk"
    assert slots("big spenders who haven't been back in ages").group == "cannot_lose_them"


def test_draft_changes():
    s = slots("make it shorter, more formal and add 15% off")
    assert (s.length, s.tone, s.discount) == ("short", "formal", 15)
    assert slots("add a 10 percent discount").discount == 10
    assert slots("we sold 50 croissants").discount is None


def test_references_back():
    assert slots("and how many of them live in Leeds?").pronoun
    assert slots("what about the loyal ones").follow_up
    assert slots("tell me about the biggest one").pick == "biggest"
    assert slots("the second group").pick == "2"
    assert slots("what if we look at 60 days instead").days == 60
    assert slots("how did campaign 2 do").campaign == "cmp-0002"


# --- declines ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "starts"),
    [
        ("delete my lapsed customers", "I can't delete data"),
        ("wipe all the data", "I can't delete data"),
        ("send the email now", "I can't send emails"),
        ("text them for me", "I can't send emails"),
        ("what's Jane Smith's phone number", "I can't give one person's contact details"),
        ("give me customer 0042's email address", "I can't give one person's contact details"),
        ("change my prices", "I can't change your data"),
        ("what's the weather tomorrow", "I can't help with the weather"),
        ("can you do my tax return", "I can't help with tax or finance"),
        ("who won the football", "I can't help with sport"),
    ],
)
def test_declines_say_what_why_and_the_nearest_thing(question, starts):
    answer = decline(clean(question))
    assert answer and answer.startswith(starts)
    assert ":" in answer  # the why follows the what


@pytest.mark.parametrize(
    "question",
    [
        "who are my lapsed customers",
        "draft an email to send to my lapsed customers",
        "how many customers have we lost",
        "which customers have an email",
        "what did my regulars buy last week",
        "sales in the rain",
    ],
)
def test_ordinary_questions_are_not_declined(question):
    assert decline(clean(question)) is None


# --- two-part questions --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("how many lapsed, and what did they buy?", ["how many lapsed", "what did they buy?"]),
        ("who are my lapsed customers? draft them an email", ["who are my lapsed customers", "draft them an email"]),
        (
            "split my customers into groups and tell me about the biggest one",
            ["split my customers into groups", "tell me about the biggest one"],
        ),
        ("who are my champions and loyal customers", ["who are my champions and loyal customers"]),
        ("compare champions and loyal", ["compare champions and loyal"]),
    ],
)
def test_split_parts(question, parts):
    assert split_parts(question) == parts


# --- dialogue state ------------------------------------------------------------------------------------------


def test_state_remembers_group_listing_draft_and_lists():
    state = (
        State()
        .after("list_customers", {"group": "lapsed"})
        .after(
            "cluster_customers",
            {"k": 3},
            {
                "clusters": [
                    {"key": "cluster_1", "size": 5},
                    {"key": "cluster_2", "size": 9},
                    {"key": "cluster_3", "size": 2},
                ]
            },
        )
    )
    assert state.group == "lapsed" and state.cluster_k == 3
    assert (state.pick("biggest"), state.pick("smallest"), state.pick("1"), state.pick("9")) == (
        "cluster_2",
        "cluster_3",
        "cluster_1",
        None,
    )
    state = state.after("draft_campaign", {"group": "at_risk", "channel": "sms"})
    assert state.draft == {"group": "at_risk", "channel": "sms"} and state.group == "at_risk"
    assert state.lists == {"tool": "list_customers", "args": {"group": "lapsed"}}


def test_state_is_rebuilt_from_saved_calls():
    calls = [
        ("list_customers", {"group": "lapsed"}, {"count": 3}),
        ("segment_by", {"attribute": "city", "group": "lapsed"}, None),
    ]
    assert State.replayed(calls) == State().after(*calls[0]).after(*calls[1])


# --- the learned fallback ------------------------------------------------------------------------------------


def test_learned_fallback_masks_groups_and_is_deterministic():
    from agent.understand import learned

    assert (
        learned.mask("how much did my lapsed customers spend in june 2025")
        == "how much did my grp customers spend in month num"
    )
    first = learned.guess(clean("how often do people pop back in"))
    assert first == learned.guess(clean("how often do people pop back in"))
    assert first[0] == "purchase_rhythm" and first[1] >= learned.SURE


def test_learned_fallback_stays_quiet_when_unsure():
    from agent.understand import learned

    assert learned.sure_guess(clean("purple monkey dishwasher")) is None
