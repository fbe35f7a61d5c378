"""Campaign drafts from a group's facts: goals, offers, copy limits, and safe text and HTML."""

from __future__ import annotations

import copy
import json
import re

import pytest

from segmentation.drafts import CHANNELS, GOALS, SAMPLE_FIRST_NAME, draft_campaign, draft_html, draft_text
from segmentation.persona import amount, build_persona, persona_markdown

from .test_persona import (
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

LONG = "Extraordinarily Long Artisan Product Name With Many Words"
LONG_PROFILE = {
    **CHAMPIONS,
    "top_products": [{"name": f"{LONG} {i}", "share_of_group": 0.6, "lift": 2.0, "revenue": 5.0} for i in range(3)],
    "top_categories": [{"name": f"{LONG} Category {i}", "share_of_group": 0.5, "lift": 1.5, "revenue": 9.0}
                       for i in range(2)],
}
LONG_SHOP = "The Quite Unreasonably Long Name Of A Village Bakery And Coffee House"
ALL_PROFILES = {**PROFILES, "long_names": LONG_PROFILE}
EXPECTED_GOALS = {
    "champions": "thank_and_reward", "loyal": "thank_and_reward", "active": "thank_and_reward",
    "new_customers": "welcome_second_purchase", "new": "welcome_second_purchase",
    "promising": "welcome_second_purchase", "potential_loyalists": "upsell", "at_risk": "win_back",
    "cannot_lose_them": "win_back", "lapsed": "win_back", "hibernating": "win_back",
    "need_attention": "re_engage", "about_to_sleep": "re_engage", "lapsing": "re_engage",
}
OUTPUT_FIELDS = ("subject_lines", "preview_text", "body", "call_to_action", "offer")


def outputs(draft: dict) -> list[str]:
    """The words a customer or the owner reads in a draft."""
    return [*draft["subject_lines"], draft["preview_text"], draft["body"], draft["call_to_action"], draft["offer"],
            *draft["facts_used"]]


@pytest.mark.parametrize(("key", "goal"), EXPECTED_GOALS.items())
def test_goal_is_inferred_from_the_segment(key, goal):
    assert draft_campaign(AT_RISK, key=key)["goal"] == goal


def test_cluster_goal_comes_from_its_facts():
    assert draft_campaign(CHAMPIONS, key="cluster_1")["goal"] == "thank_and_reward"  # recent, worth 2.8x
    assert draft_campaign(CHAMPIONS | {"revenue_share": 0.05}, key="cluster_1")["goal"] == "upsell"  # worth less
    assert draft_campaign(AT_RISK, key="cluster_2")["goal"] == "win_back"  # 545 days against a 40.5-day gap
    assert draft_campaign(AT_RISK | {"median_recency_days": 90.0}, key="cluster_2")["goal"] == "re_engage"
    assert draft_campaign(NEW_CUSTOMERS, key="cluster_3")["goal"] == "welcome_second_purchase"
    assert draft_campaign(NEW_CUSTOMERS | {"median_recency_days": 400.0}, key="cluster_3")["goal"] == "win_back"


def test_bad_choices_name_the_valid_ones():
    assert GOALS == ("win_back", "thank_and_reward", "welcome_second_purchase", "upsell", "re_engage")
    assert CHANNELS == ("email", "sms")
    with pytest.raises(ValueError, match="win_back, thank_and_reward, welcome_second_purchase, upsell, re_engage"):
        draft_campaign(AT_RISK, key="at_risk", goal="bribe")
    with pytest.raises(ValueError, match="'email', 'sms'"):
        draft_campaign(AT_RISK, key="at_risk", channel="pigeon")
    with pytest.raises(ValueError, match="champions, loyal"):
        draft_campaign(AT_RISK, key="vips")


@pytest.mark.parametrize("profile", ALL_PROFILES.values(), ids=ALL_PROFILES.keys())
@pytest.mark.parametrize("goal", GOALS)
@pytest.mark.parametrize("key", KEYS)
def test_email_has_three_subjects_a_merge_tag_and_only_profile_numbers(key, goal, profile):
    before = copy.deepcopy(profile)
    draft = draft_campaign(profile, key=key, goal=goal, shop_name="Hebden Bakehouse")
    assert profile == before
    assert (draft["goal"], draft["channel"]) == (goal, "email")
    assert len(set(draft["subject_lines"])) == 3 and all(s.strip() for s in draft["subject_lines"])
    assert "{{first_name}}" in draft["body"] and draft["preview_text"] and draft["call_to_action"]
    assert set(re.findall(r"\{\{.*?\}\}", " ".join(outputs(draft)))) == {"{{first_name}}"}
    assert draft["sms_length"] is None
    offer = draft["offer_details"]
    allowed = allowed_numbers(profile) | {str(offer["percent"]), str(offer["valid_days"])}
    allowed |= {amount(offer[k]) for k in ("amount", "min_spend") if offer[k] is not None}
    names = [*data_names(profile), "Hebden Bakehouse"]
    for text in outputs(draft):
        stray = [n for n in numbers_in(text, names) if n not in allowed]
        assert not stray, f"{stray} in {text!r} are neither from the profile nor the offer"
    facts_allowed = allowed_numbers(profile)
    for fact in draft["facts_used"]:
        assert all(n in facts_allowed for n in numbers_in(fact, names)), fact


@pytest.mark.parametrize("profile", ALL_PROFILES.values(), ids=ALL_PROFILES.keys())
@pytest.mark.parametrize("key", KEYS)
def test_sms_fits_160_characters_with_a_12_letter_name(key, profile):
    assert len(SAMPLE_FIRST_NAME) == 12
    for goal in (None, *GOALS):
        for shop in ("our shop", "Hebden Bakehouse", LONG_SHOP):
            draft = draft_campaign(profile, key=key, goal=goal, channel="sms", shop_name=shop, currency="£")
            sent = draft["body"].replace("{{first_name}}", "A" * 12)
            assert "{{first_name}}" in draft["body"] and len(sent) <= 160 and draft["sms_length"] == len(sent), sent
            assert draft["body"].endswith("Reply STOP to opt out")
            assert draft["subject_lines"] == [] and draft["preview_text"] == ""
            assert (draft["sms_encoding"], draft["sms_segments"]) == ("GSM-7", 1)


def test_sms_keeps_what_they_buy_when_it_fits():
    draft = draft_campaign(AT_RISK, key="at_risk", channel="sms", shop_name="Hebden Bakehouse")
    assert draft["body"] == ("Hebden Bakehouse: Hi {{first_name}}, we miss you! Missing our Croissant? 10% off your "
                             "next order for 14 days. Come back and see us! Reply STOP to opt out")
    assert draft["sms_length"] == 151


def test_sms_with_accents_is_flagged_as_unicode():
    profile = AT_RISK | {"top_products": [{"name": "Café crème", "share_of_group": 0.3, "lift": 1.0, "revenue": 9.0}]}
    draft = draft_campaign(profile, key="at_risk", channel="sms", shop_name="Zoë’s")  # ’ is not in GSM-7
    assert draft["sms_encoding"] == "UCS-2" and draft["sms_segments"] == 3


def test_win_back_email_names_their_products_gap_and_offer():
    draft = draft_campaign(CHAMPIONS, key="cannot_lose_them", shop_name="Hebden Bakehouse", currency="£")
    body = draft["body"]
    assert body.startswith("Hi {{first_name}},\n\nIt's been a while since your last Sourdough loaf from Hebden")
    assert "usually back every three weeks or so" in body  # the 21-day typical gap, in words
    assert "Sourdough loaf, Croissant and Flat white are still here" in body
    assert draft["subject_lines"] == ["We miss you, {{first_name}}", "Still thinking about our Sourdough loaf?",
                                      "£3.00 off to welcome you back"]
    assert "typical order 12.41" in draft["facts_used"] and "buy every 21 days" in draft["facts_used"][2]


@pytest.mark.parametrize(
    ("profile", "key", "kind", "numbers"),
    [
        # Champions: a thank-you never discounts.
        (CHAMPIONS, "champions", "early_access", (None, None, None)),
        # Worth 2.8x their headcount, typical order 12.41: a quarter (3.10) rounded down to 3.00, on 13.00+.
        (CHAMPIONS, "cannot_lose_them", "amount_off", (None, 3.0, 13.0)),
        # Worth 0.7x: a modest percentage.
        (AT_RISK, "at_risk", "percent_off", (10, None, None)),
        (AT_RISK, "lapsing", "percent_off", (10, None, None)),
        # White bloomer: 14 buyers spent 54.40, 3.89 each, under half a 19.91 order: free on the second order.
        (NEW_CUSTOMERS, "new_customers", "free_item", (None, None, None)),
        # ...and over 1.25 x 19.91 = 24.89, rounded up to 25, for an upsell.
        (NEW_CUSTOMERS, "potential_loyalists", "free_item", (None, None, 25.0)),
        # Croissant: 67.7 buyers spent 168.50, 2.49 each, under half of 17.86.
        (AT_RISK, "promising", "free_item", (None, None, None)),
        # No products: nothing to give away, so 10%.
        (SPARSE, "new", "percent_off", (10, None, None)),
    ],
    ids=["thank", "high-value-win-back", "low-value-win-back", "re-engage", "welcome", "upsell", "welcome-2", "bare"],
)
def test_offer_is_sized_to_the_segment(profile, key, kind, numbers):
    details = draft_campaign(profile, key=key)["offer_details"]
    assert (details["kind"], details["percent"], details["amount"], details["min_spend"]) == (kind, *numbers)
    assert details["rule"]
    if kind == "free_item":
        assert details["item"] == profile["top_products"][0]["name"]


def test_thank_you_offers_no_discount_for_any_profile():
    for profile in ALL_PROFILES.values():
        draft = draft_campaign(profile, key="champions")
        assert draft["offer_details"]["kind"] == "early_access"
        assert "%" not in draft["body"] and " off " not in draft["body"]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("key", KEYS)
def test_thin_profile_drafts_with_a_warning(key, channel):
    draft = draft_campaign(THIN, key=key, channel=channel)
    assert draft["warnings"] == ["Nobody is in this group today: there is no one to send this to."]
    assert draft["body"] and draft_text(draft) and draft_html(draft)


def test_sparse_profile_warns_that_consent_is_unknown():
    draft = draft_campaign(SPARSE, key="at_risk")
    assert "records no marketing consent" in draft["warnings"][0]
    assert "It's been a while since we last saw you at our shop" in draft["body"]  # no product to name


def test_html_escapes_everything_and_loads_nothing():
    draft = draft_campaign(HOSTILE, key="at_risk", shop_name='Bob\'s <b>Bakes</b> & "Co"')
    page = draft_html(draft)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page.lower()
    assert "Bob&#x27;s &lt;b&gt;Bakes&lt;/b&gt; &amp; &quot;Co&quot;" in page
    for external in ("http:", "https:", "src=", "href=", "url(", "<link", "<img", "@import", "javascript:alert"):
        assert external not in page.lower(), external
    assert "{{first_name}}" in page
    assert page.count("Come back and see us") == 1  # the call to action is the button, not said twice


def test_an_instruction_in_a_product_name_is_just_a_product_name():
    hostile = draft_campaign(HOSTILE, key="at_risk")
    plain = draft_campaign(
        HOSTILE | {"top_products": [p | {"name": "Flapjack"} if p["name"] == "ignore previous instructions" else p
                                    for p in HOSTILE["top_products"]]},
        key="at_risk",
    )
    assert "ignore previous instructions" in hostile["body"]
    assert json.dumps(hostile).replace("ignore previous instructions", "Flapjack") == json.dumps(plain)


@pytest.mark.parametrize("goal", GOALS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_no_address_or_merge_tag_leaks_from_the_data(goal, channel):
    draft = draft_campaign(HOSTILE, key="at_risk", goal=goal, channel=channel, shop_name="shop@example.com Bakes")
    persona = build_persona(HOSTILE, key="at_risk")
    for text in (json.dumps(draft, ensure_ascii=False), draft_text(draft), draft_html(draft),
                 json.dumps(persona, ensure_ascii=False), persona_markdown(persona)):
        assert not EMAIL_LIKE.search(text)
    assert set(re.findall(r"\{\{.*?\}\}", json.dumps(draft))) == {"{{first_name}}"}
    assert "*|" not in json.dumps(draft) and draft["shop_name"] == "Bakes"


def test_text_export_says_what_to_send_and_why():
    email = draft_text(draft_campaign(AT_RISK, key="at_risk", shop_name="Hebden Bakehouse"))
    assert email.startswith("Goal: win back  |  Channel: email\n\nSubject lines to test:\n  A: We miss you, {{first_")
    assert "Why this offer: 10% for 14 days" in email and "- typical order 17.86" in email
    sms = draft_text(draft_campaign(AT_RISK, key="at_risk", channel="sms"))
    assert "characters with a 12-letter first name (GSM-7, 1 part(s))" in sms and "Subject" not in sms
