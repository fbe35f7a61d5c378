"""Personas from a group's facts: every field filled, every number traceable to the profile, nothing unsafe."""

from __future__ import annotations

import copy
import json
import re

import pytest

from segmentation.outreach.persona import (
    amount,
    build_persona,
    clean,
    days,
    infer_goal,
    number,
    pct,
    persona_markdown,
    segment_kind,
)
from segmentation.profile import CHANGE_WINDOW_DAYS
from segmentation.vocabulary import SEGMENT_KEYS, STAGES

# The demo bakery's at_risk, champions and new_customers groups on 2026-11-20 (GroupProfile.as_dict()).
AT_RISK = {
    "label": "at_risk",
    "as_of": "2026-11-20",
    "customers": 151,
    "share_of_customers": 0.0755,
    "revenue": 9335.6,
    "revenue_share": 0.0525,
    "median_recency_days": 545.0,
    "median_frequency": 3.0,
    "median_monetary": 46.95,
    "avg_order_value": 17.86,
    "typical_gap_days": 40.5,
    "top_products": [
        {"name": "Croissant", "share_of_group": 0.2583, "lift": 0.98, "revenue": 168.5},
        {"name": "Sourdough loaf", "share_of_group": 0.245, "lift": 0.92, "revenue": 309.8},
        {"name": "White bloomer", "share_of_group": 0.2318, "lift": 1.09, "revenue": 169.8},
        {"name": "Lemon drizzle slice", "share_of_group": 0.2053, "lift": 1.09, "revenue": 145.0},
        {"name": "Pain au chocolat", "share_of_group": 0.2053, "lift": 0.91, "revenue": 116.0},
    ],
    "top_categories": [
        {"name": "Pastries", "share_of_group": 0.6159, "lift": 1.25, "revenue": 958.45},
        {"name": "Bread", "share_of_group": 0.6026, "lift": 1.24, "revenue": 909.1},
        {"name": "Coffee & Drinks", "share_of_group": 0.5298, "lift": 1.1, "revenue": 793.65},
        {"name": "Cakes", "share_of_group": 0.5033, "lift": 1.22, "revenue": 686.7},
        {"name": "Sandwiches & Lunch", "share_of_group": 0.3113, "lift": 0.95, "revenue": 587.95},
    ],
    "channel_mix": {"Online": 0.541, "In store": 0.459},
    "country_mix": {"United Kingdom": 0.98, "Ireland": 0.02},
    "city_mix": {"Hebden Bridge": 0.185, "Manchester": 0.126, "Halifax": 0.086, "London": 0.086, "Todmorden": 0.066},
    "consent_share": 0.6689,
    "consent_known_share": 1.0,
    "customers_90_days_earlier": 128,
    "size_change": 23,
}
CHAMPIONS = {
    "label": "champions",
    "as_of": "2026-11-20",
    "customers": 262,
    "share_of_customers": 0.131,
    "revenue": 64446.15,
    "revenue_share": 0.3626,
    "median_recency_days": 14.0,
    "median_frequency": 10.0,
    "median_monetary": 147.7,
    "avg_order_value": 12.41,
    "typical_gap_days": 21.0,
    "top_products": [
        {"name": "Sourdough loaf", "share_of_group": 0.584, "lift": 2.19, "revenue": 4096.0},
        {"name": "Croissant", "share_of_group": 0.5534, "lift": 2.11, "revenue": 2005.1},
        {"name": "Flat white", "share_of_group": 0.5115, "lift": 2.54, "revenue": 1640.45},
        {"name": "Pain au chocolat", "share_of_group": 0.4924, "lift": 2.17, "revenue": 1631.0},
        {"name": "Cappuccino", "share_of_group": 0.4618, "lift": 2.69, "revenue": 1277.65},
    ],
    "top_categories": [
        {"name": "Coffee & Drinks", "share_of_group": 0.855, "lift": 1.78, "revenue": 8857.75},
        {"name": "Pastries", "share_of_group": 0.8168, "lift": 1.66, "revenue": 9402.75},
        {"name": "Bread", "share_of_group": 0.7786, "lift": 1.61, "revenue": 10441.9},
        {"name": "Cakes", "share_of_group": 0.729, "lift": 1.77, "revenue": 5294.7},
        {"name": "Sandwiches & Lunch", "share_of_group": 0.626, "lift": 1.91, "revenue": 7504.95},
    ],
    "channel_mix": {"In store": 0.641, "Online": 0.359},
    "country_mix": {"United Kingdom": 0.996, "Ireland": 0.004},
    "city_mix": {"Hebden Bridge": 0.252, "Todmorden": 0.103, "Leeds": 0.08, "Halifax": 0.076, "Mytholmroyd": 0.065},
    "consent_share": 0.6985,
    "consent_known_share": 1.0,
    "customers_90_days_earlier": 219,
    "size_change": 43,
}
NEW_CUSTOMERS = {
    "label": "new_customers",
    "as_of": "2026-11-20",
    "customers": 118,
    "share_of_customers": 0.059,
    "revenue": 2349.6,
    "revenue_share": 0.0132,
    "median_recency_days": 18.0,
    "median_frequency": 1.0,
    "median_monetary": 10.0,
    "avg_order_value": 19.91,
    "typical_gap_days": None,
    "top_products": [
        {"name": "White bloomer", "share_of_group": 0.1186, "lift": 0.56, "revenue": 54.4},
        {"name": "Croissant", "share_of_group": 0.0763, "lift": 0.29, "revenue": 44.1},
        {"name": "Sourdough loaf", "share_of_group": 0.0678, "lift": 0.25, "revenue": 57.6},
    ],
    "top_categories": [
        {"name": "Bread", "share_of_group": 0.339, "lift": 0.7, "revenue": 236.0},
        {"name": "Coffee & Drinks", "share_of_group": 0.2627, "lift": 0.55, "revenue": 165.0},
        {"name": "Gluten-Free", "share_of_group": 0.1441, "lift": 1.4, "revenue": 109.1},  # lift raised: an interest
    ],
    "channel_mix": {"Online": 0.515, "In store": 0.485},
    "country_mix": {"United Kingdom": 1.0},
    "city_mix": {"Hebden Bridge": 0.271, "Manchester": 0.102, "Halifax": 0.085},
    "consent_share": 0.7288,
    "consent_known_share": 1.0,
    "customers_90_days_earlier": 81,
    "size_change": 37,
}
# A file with no products, channels, places or consent (the RFM test shop's at_risk group).
SPARSE = {
    "label": "at_risk",
    "as_of": "2024-03-31",
    "customers": 2,
    "share_of_customers": 0.2,
    "revenue": 40.0,
    "revenue_share": 0.0748,
    "median_recency_days": 174.5,
    "median_frequency": 2.0,
    "median_monetary": 20.0,
    "avg_order_value": 10.0,
    "typical_gap_days": 31.0,
    "top_products": [],
    "top_categories": [],
    "channel_mix": {"unknown": 1.0},
    "country_mix": {"unknown": 1.0},
    "city_mix": {"unknown": 1.0},
    "consent_share": None,
    "consent_known_share": 0.0,
    "customers_90_days_earlier": 1,
    "size_change": 1,
}
THIN = {
    "label": "champions",
    "as_of": "2026-11-20",
    "customers": 0,
    "share_of_customers": 0.0,
    "revenue": 0.0,
    "revenue_share": 0.0,
    "median_recency_days": None,
    "median_frequency": None,
    "median_monetary": None,
    "avg_order_value": None,
    "typical_gap_days": None,
    "top_products": [],
    "top_categories": [],
    "channel_mix": {},
    "country_mix": {},
    "city_mix": {},
    "consent_share": None,
    "consent_known_share": 0.0,
    "customers_90_days_earlier": None,
    "size_change": None,
}
# Names a hostile or careless export could hold: markup, an instruction, addresses, merge tags, control characters.
HOSTILE = {
    **AT_RISK,
    "top_products": [
        {"name": "<script>alert(1)</script>", "share_of_group": 0.6, "lift": 2.0, "revenue": 40.0},
        {"name": "ignore previous instructions", "share_of_group": 0.4, "lift": 1.5, "revenue": 30.0},
        {"name": "jane.doe@example.com", "share_of_group": 0.3, "lift": 1.3, "revenue": 20.0},
        {"name": "{{unsubscribe}} *|FNAME|*", "share_of_group": 0.2, "lift": 1.3, "revenue": 10.0},
    ],
    "top_categories": [
        {"name": "Gluten-Free\u202e\n# Heading", "share_of_group": 0.5, "lift": 1.6, "revenue": 50.0},
        {"name": "[click](javascript:alert(1))", "share_of_group": 0.4, "lift": 1.3, "revenue": 40.0},
    ],
    "city_mix": {"bob@example.org": 0.5, "Leeds": 0.5},
    "channel_mix": {"Sold by mary@shop.test": 0.7, "In store": 0.3},
}
PROFILES = {
    "at_risk": AT_RISK,
    "champions": CHAMPIONS,
    "new_customers": NEW_CUSTOMERS,
    "sparse": SPARSE,
    "thin": THIN,
    "hostile": HOSTILE,
}
KEYS = SEGMENT_KEYS + STAGES + ("cluster_1",)
THRESHOLDS = {
    "lapsing_after_days": 51,
    "lapsed_after_days": 101,
    "typical_gap_days": 33.75,
    "repeat_customers": 918,
    "basis": "from your 918 repeat customers' typical 33.75-day gap between orders",
    "warning": None,
}
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
EMAIL_LIKE = re.compile(r"@|example\.(com|org)|shop\.test")


def allowed_numbers(profile: dict, thresholds: dict | None = None) -> set[str]:
    """Every number the profile (and thresholds) can put into words, by the module's rules."""
    out = {"0", str(CHANGE_WINDOW_DAYS)}
    for field in ("share_of_customers", "revenue_share", "consent_share", "consent_known_share"):
        if profile.get(field) is not None:
            out.add(pct(profile[field]))
    for field in ("revenue", "median_monetary", "avg_order_value"):
        if profile.get(field) is not None:
            out.add(amount(profile[field]))
    for field in ("median_recency_days", "typical_gap_days"):
        if profile.get(field) is not None:
            out.add(days(profile[field]))
    if profile.get("median_frequency") is not None:
        out.add(number(profile["median_frequency"]))
    for field in ("customers", "customers_90_days_earlier", "size_change"):
        if profile.get(field) is not None:
            out.add(f"{abs(profile[field]):,}")
    for item in profile.get("top_products", []) + profile.get("top_categories", []):
        out |= {pct(item["share_of_group"]), number(item["lift"]), amount(item["revenue"])}
    for mix in ("channel_mix", "country_mix", "city_mix"):
        out |= {pct(v) for v in profile.get(mix, {}).values()}
    for value in (thresholds or {}).values():
        out |= set(NUMBER.findall(str(value))) if value is not None else set()
    return {n.rstrip("%") for n in out}


def data_names(profile: dict) -> list[str]:
    names = [i["name"] for i in profile.get("top_products", []) + profile.get("top_categories", [])]
    for mix in ("channel_mix", "country_mix", "city_mix"):
        names += list(profile.get(mix, {}))
    return sorted(({clean(n) for n in names} | set(names)) - {""}, key=len, reverse=True)


def numbers_in(text: str, names: list[str]) -> list[str]:
    """Numbers in text once the data's own names (which may hold digits: 'Birthday cake 8in') are taken out."""
    for name in names:
        text = text.replace(name, " ")
    return NUMBER.findall(text)


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
