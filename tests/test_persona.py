"""Personas from a group's facts: every field filled, every number traceable to the profile, nothing unsafe."""

from __future__ import annotations

import copy
import json

import pytest

from segmentation.outreach.persona import (
    amount,
    build_persona,
    days,
    infer_goal,
    number,
    pct,
    persona_markdown,
    segment_kind,
)

from .fixtures.profiles import (
    AT_RISK,
    CHAMPIONS,
    EMAIL_LIKE,
    HOSTILE,
    KEYS,
    NEW_CUSTOMERS,
    PROFILES,
    SPARSE,
    THIN,
    allowed_numbers,
    data_names,
    numbers_in,
)

THRESHOLDS = {
    "lapsing_after_days": 51,
    "lapsed_after_days": 101,
    "typical_gap_days": 33.75,
    "repeat_customers": 918,
    "basis": "from your 918 repeat customers' typical 33.75-day gap between orders",
    "warning": None,
}


def texts(persona: dict) -> list[str]:
    fields = ("name", "demographics", "lifecycle_stage", "next_best_action")
    lists = ("interests", "needs_and_goals", "best_channels", "facts")
    return [persona[f] for f in fields] + [t for f in lists for t in persona[f]]


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        (pct, 0.0755, "7.6%"),
        (pct, 0.0525, "5.3%"),
        (pct, 0.6159, "62%"),
        (pct, 0.2, "20%"),
        (pct, 0.09, "9%"),
        (pct, 0.0996, "10%"),
        (pct, 0.996, "99.6%"),
        (pct, 1.0, "100%"),
        (pct, 0.0004, "0.04%"),
        (pct, 0.0, "0%"),
        (amount, 9335.6, "9,335.60"),
        (amount, 17.86, "17.86"),
        (days, 40.5, "41"),
        (days, 514.5, "515"),
        (number, 14.5, "14.5"),
        (number, 2.0, "2"),
        (number, 1.25, "1.25"),
        (number, 1.1, "1.1"),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_number_rules(rule, value, expected):
    assert rule(value) == expected


def test_at_risk_persona_by_hand():
    persona = build_persona(AT_RISK, key="at_risk", thresholds=THRESHOLDS)
    # Croissant is bought by 26% of them but 0.98x as often as by the average customer: Pastries (1.25x) names them.
    assert persona["name"] == "The Fading Monthly Pastry Regular"
    assert persona["segment"] == {"key": "at_risk", "label": "At risk", "kind": "rfm"}
    assert persona["facts"][:6] == [
        "151 customers (7.6% of your customers) bringing 5.3% of revenue (9,335.60)",
        "typical order 17.86",
        "median spend to date 46.95 per customer",
        "median 3 purchases each",
        "buy every 41 days (median gap between their orders)",
        "last bought a median 545 days ago",
    ]
    assert "62% buy Pastries, 1.25x the shop average" in persona["facts"]
    assert "up 23 from 128 customers 90 days earlier" in persona["facts"]
    assert persona["interests"] == [
        "Pastries (bought 1.25x as often as by your average customer)",
        "Bread (bought 1.24x as often as by your average customer)",
        "Cakes (bought 1.22x as often as by your average customer)",
    ]
    assert "545 days ago, past your lapsed mark of 101 days" in persona["lifecycle_stage"]
    assert persona["best_channels"] == [
        "Online (54% of their spend)",
        "In store (46% of their spend)",
        "Email or SMS to the 67% who agreed to marketing",
    ]
    assert persona["demographics"].startswith("Mostly from Hebden Bridge (19%), Manchester (13%) and Halifax (8.6%)")
    assert "Win them back" in persona["next_best_action"] and "Pastries" in persona["next_best_action"]


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
@pytest.mark.parametrize("key", KEYS)
def test_every_field_is_filled_and_every_number_comes_from_the_profile(key, profile):
    before = copy.deepcopy(profile)
    persona = build_persona(profile, key=key, thresholds=THRESHOLDS)
    assert profile == before  # input never mutated
    for field in (
        "name",
        "segment",
        "demographics",
        "interests",
        "lifecycle_stage",
        "needs_and_goals",
        "best_channels",
        "next_best_action",
        "facts",
    ):
        assert persona[field], field
        if isinstance(persona[field], list):
            assert all(isinstance(t, str) and t.strip() for t in persona[field]), field
    allowed, names = allowed_numbers(profile, THRESHOLDS), data_names(profile)
    for text in texts(persona):
        stray = [n for n in numbers_in(text, names) if n not in allowed]
        assert not stray, f"{stray} in {text!r} are not from the profile"


@pytest.mark.parametrize("profile", [AT_RISK, CHAMPIONS, NEW_CUSTOMERS], ids=["at_risk", "champions", "new"])
@pytest.mark.parametrize("key", KEYS)
def test_name_mentions_the_top_product_or_category(key, profile):
    # The first item the group buys more often than the average customer (a product bought by a quarter of them,
    # else a category): never one they buy less of.
    name = build_persona(profile, key=key)["name"].lower()
    above = [i for i in profile["top_products"] if i["lift"] > 1 and i["share_of_group"] >= 0.25] or [
        i for i in profile["top_categories"] if i["lift"] > 1
    ]
    assert above[0]["name"].split()[0][:4].lower() in name, (name, above[0])
    below = {
        i["name"].split()[0][:4].lower() for i in profile["top_products"] + profile["top_categories"] if i["lift"] <= 1
    }
    assert not [head for head in below if head in name]


def test_names_follow_segment_and_rhythm():
    assert build_persona(CHAMPIONS, key="champions")["name"] == "The Fortnightly Sourdough Loaf Champion"
    # No rhythm: one order; Gluten-Free is the one category they buy more than most (1.4x; Bread 0.7x).
    assert build_persona(NEW_CUSTOMERS, key="new_customers")["name"] == "The Gluten-Free Newcomer"
    assert build_persona(AT_RISK, key="lapsed")["name"] == "The Lapsed Monthly Pastry Buyer"
    assert build_persona(SPARSE, key="hibernating")["name"] == "The Sleeping Monthly Buyer"  # no products
    assert build_persona(THIN, key="cannot_lose_them")["name"] == "The Empty Can't Lose Them Group"


@pytest.mark.parametrize("key", KEYS)
def test_thin_profile_says_so_honestly(key):
    persona = build_persona(THIN, key=key)
    assert persona["facts"] == ["0 customers in this group"]
    assert "nobody" in persona["lifecycle_stage"].lower() and "nobody" in persona["next_best_action"].lower()
    assert "no city, country" in persona["demographics"]
    assert "no interests" in persona["interests"][0]


def test_sparse_profile_has_no_invented_places_channels_or_interests():
    persona = build_persona(SPARSE, key="at_risk")
    assert "no city, country" in persona["demographics"]
    assert persona["best_channels"][0].startswith("Not recorded")
    assert "consent is not in your data" in persona["best_channels"][1]
    assert "No categories or products" in persona["interests"][0]
    assert (
        "overdue" not in persona["lifecycle_stage"] and "far past their usual 31-day gap" in persona["lifecycle_stage"]
    )  # 174.5 days against a 31-day rhythm, without thresholds


def test_interests_are_the_shops_own_names_bought_above_average():
    profile = {
        **NEW_CUSTOMERS,
        "top_categories": [
            {"name": "Gluten-Free", "share_of_group": 0.3, "lift": 1.4, "revenue": 1.0},
            {"name": "Knitting Wool", "share_of_group": 0.2, "lift": 1.9, "revenue": 1.0},
            {"name": "Bread", "share_of_group": 0.5, "lift": 1.2, "revenue": 1.0},  # not above 1.2: no interest
        ],
    }
    interests = build_persona(profile, key="new")["interests"]
    # No word list of one trade: a cake stand in a giftware shop is not a sweet tooth.
    assert interests == [
        "Gluten-Free (bought 1.4x as often as by your average customer)",
        "Knitting Wool (bought 1.9x as often as by your average customer)",
    ]
    gifts = {
        **NEW_CUSTOMERS,
        "top_categories": [{"name": "CAKE STAND", "share_of_group": 0.3, "lift": 1.5, "revenue": 1.0}],
    }
    assert build_persona(gifts, key="new")["interests"] == [
        "Cake stand (bought 1.5x as often as by your average customer)"
    ]
    flat = build_persona(AT_RISK | {"top_categories": AT_RISK["top_categories"][2:3]}, key="at_risk")["interests"]
    assert flat == [
        "No stand-out interest: they buy no category much more often than your average customer "
        "(closest: Coffee & Drinks, 1.1x)."
    ]


def test_lifecycle_stage_against_thresholds_and_without():
    active = build_persona(CHAMPIONS, key="active", thresholds=THRESHOLDS)["lifecycle_stage"]
    assert active.startswith("Active customers.") and "inside your lapsing mark of 51 days" in active
    assert "918 repeat customers" in active
    lapsing = build_persona(AT_RISK | {"median_recency_days": 73.0}, key="lapsing", thresholds=THRESHOLDS)
    assert "between your lapsing (51) and lapsed (101 days) marks" in lapsing["lifecycle_stage"]
    alone = build_persona(CHAMPIONS, key="champions")["lifecycle_stage"]
    assert alone == (
        "Champions: recent, frequent buyers. The typical member last bought 14 days ago, within their "
        "usual 21-day gap between orders."
    )


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("champions", "referrals"),
        ("loyal", "early access"),
        ("potential_loyalists", "spend threshold"),
        ("new_customers", "second purchase"),
        ("promising", "second purchase"),
        ("need_attention", "Remind"),
        ("about_to_sleep", "Wake"),
        ("at_risk", "Win them back"),
        ("cannot_lose_them", "personally"),
        ("hibernating", "stop messaging"),
        ("new", "second purchase"),
        ("active", "thank-you"),
        ("lapsing", "before they lapse"),
        ("lapsed", "Win them back"),
    ],
)
def test_next_best_action_fits_the_segment(key, words):
    assert words in build_persona(AT_RISK, key=key)["next_best_action"]


def test_needs_follow_the_goal():
    assert "Early access" in " ".join(build_persona(CHAMPIONS, key="champions")["needs_and_goals"])
    assert "A reason to come back" in build_persona(AT_RISK, key="at_risk")["needs_and_goals"]


def test_clusters_use_their_name_and_their_facts():
    profile = CHAMPIONS | {"label": "Frequent in-store regulars"}
    persona = build_persona(profile, key="cluster_3")
    assert persona["segment"] == {"key": "cluster_3", "label": "Frequent in-store regulars", "kind": "cluster"}
    assert persona["goal"] == "thank_and_reward" and persona["name"] == "The Fortnightly Sourdough Loaf Regular"
    assert infer_goal(AT_RISK | {"label": "x"}, "cluster_1") == "win_back"  # 545 days > 3 x 40.5
    assert infer_goal(NEW_CUSTOMERS, "cluster_2") == "welcome_second_purchase"  # one order, 18 days ago
    assert infer_goal(THIN, "cluster_2") == "re_engage"


def test_unknown_key_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"champions, loyal, .*lapsed, or cluster_1"):
        build_persona(AT_RISK, key="vips")
    assert segment_kind("cluster_12") == "cluster"
    with pytest.raises(ValueError):
        segment_kind("cluster_0")


def test_hostile_names_stay_text_and_carry_no_address():
    persona = build_persona(HOSTILE, key="at_risk")
    dumped = json.dumps(persona, ensure_ascii=False)
    card = persona_markdown(persona)
    assert not EMAIL_LIKE.search(dumped) and not EMAIL_LIKE.search(card)
    assert "{{" not in dumped and "|*" not in dumped  # no merge tag can ride in on a product name
    assert "\u202e" not in dumped and "\n" not in "".join(texts(persona))
    assert "<script>" not in card and r"\<script\>alert(1)\</script\>" in card
    assert "[click](" not in card and "\n# Heading" not in card
    assert "ignore previous instructions" in " ".join(persona["facts"])


def test_markdown_card_holds_every_section():
    card = persona_markdown(build_persona(AT_RISK, key="at_risk", thresholds=THRESHOLDS))
    assert card.startswith("### The Fading Monthly Pastry Regular\n*At risk* (at\\_risk) · as of 2026-11-20")
    for heading in (
        "**Who they are:**",
        "**Interests and values**",
        "**Lifecycle stage:**",
        "**Needs and goals**",
        "**Best channels**",
        "**Next best action:**",
        "**The numbers**",
    ):
        assert heading in card
    assert "- 151 customers (7\\.6% of your customers)" in card
