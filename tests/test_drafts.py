"""Campaign drafts from a group's facts: goals, offers, copy limits, and safe text and HTML."""

from __future__ import annotations

import copy
import json
import re

import pytest

from segmentation.outreach.drafts import CHANNELS, GOALS, SAMPLE_FIRST_NAME, draft_campaign, draft_html, draft_text
from segmentation.outreach.persona import amount, build_persona, persona_markdown

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

LONG = "Extraordinarily Long Artisan Product Name With Many Words"
LONG_PROFILE = {
    **CHAMPIONS,
    "top_products": [{"name": f"{LONG} {i}", "share_of_group": 0.6, "lift": 2.0, "revenue": 5.0} for i in range(3)],
    "top_categories": [
        {"name": f"{LONG} Category {i}", "share_of_group": 0.5, "lift": 1.5, "revenue": 9.0} for i in range(2)
    ],
}
LONG_SHOP = "The Quite Unreasonably Long Name Of A Village Bakery And Coffee House"
ALL_PROFILES = {**PROFILES, "long_names": LONG_PROFILE}
EXPECTED_GOALS = {
    "champions": "thank_and_reward",
    "loyal": "thank_and_reward",
    "active": "thank_and_reward",
    "new_customers": "welcome_second_purchase",
    "new": "welcome_second_purchase",
    "promising": "welcome_second_purchase",
    "potential_loyalists": "upsell",
    "at_risk": "win_back",
    "cannot_lose_them": "win_back",
    "lapsed": "win_back",
    "hibernating": "win_back",
    "need_attention": "re_engage",
    "about_to_sleep": "re_engage",
    "lapsing": "re_engage",
}
OUTPUT_FIELDS = ("subject_lines", "preview_text", "body", "call_to_action", "offer")

# The product-wide rules (no placeholder left, every number from the facts, the SMS limit, ...) are tested over the
# cases that can break them, not over every key x goal x profile. What each input changes in a draft:
# - the goal picks the template (subjects, preview, paragraphs, call to action, offer);
# - the profile fills it: products and categories (none in sparse and thin; markup, addresses and merge tags in
#   hostile; long names in long_names), the numbers, the rhythm;
# - the key only picks the goal when none is asked for, and adds the thank-you's bring-a-friend line (champions).
# So: every goal with every profile, under the profile's own key; and every key once, with the goal it calls for.
GOAL_OF_KEY = EXPECTED_GOALS | {"cluster_1": "thank_and_reward"}  # CHAMPIONS' cluster: recent and worth 2.8x
EMAIL_CASES = [
    *[
        pytest.param(profile["label"], goal, profile, id=f"{goal}-{name}")
        for goal in GOALS
        for name, profile in ALL_PROFILES.items()
    ],
    *[pytest.param(key, GOAL_OF_KEY[key], CHAMPIONS, id=f"key-{key}") for key in KEYS],
]
# The SMS limit: every profile under its own key, and every key (so every goal it calls for) with the longest names;
# the test itself goes through every goal and shop name.
SMS_CASES = [
    *[pytest.param(profile["label"], profile, id=name) for name, profile in ALL_PROFILES.items()],
    *[pytest.param(key, LONG_PROFILE, id=f"key-{key}-long_names") for key in KEYS],
]
# One key for each goal a key can call for (the thin profile's goal is the key's; a cluster's is re_engage).
KEY_PER_GOAL = ("at_risk", "champions", "new_customers", "potential_loyalists", "need_attention", "cluster_1")


def outputs(draft: dict) -> list[str]:
    """The words a customer or the owner reads in a draft."""
    return [
        *draft["subject_lines"],
        draft["preview_text"],
        draft["body"],
        draft["call_to_action"],
        draft["offer"],
        *draft["facts_used"],
    ]


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


@pytest.mark.parametrize(("key", "goal", "profile"), EMAIL_CASES)
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


@pytest.mark.parametrize(("key", "profile"), SMS_CASES)
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
    assert draft["body"] == (
        "Hebden Bakehouse: Hi {{first_name}}, we miss you! Missing our Croissant? 10% off your "
        "next order for 14 days. Come back and see us! Reply STOP to opt out"
    )
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
    assert draft["subject_lines"] == [
        "We miss you, {{first_name}}",
        "Still thinking about our Sourdough loaf?",
        "£3.00 off to welcome you back",
    ]
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
@pytest.mark.parametrize("key", KEY_PER_GOAL)
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
        HOSTILE
        | {
            "top_products": [
                p | {"name": "Flapjack"} if p["name"] == "ignore previous instructions" else p
                for p in HOSTILE["top_products"]
            ]
        },
        key="at_risk",
    )
    assert "ignore previous instructions" in hostile["body"]
    assert json.dumps(hostile).replace("ignore previous instructions", "Flapjack") == json.dumps(plain)


@pytest.mark.parametrize("goal", GOALS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_no_address_or_merge_tag_leaks_from_the_data(goal, channel):
    draft = draft_campaign(HOSTILE, key="at_risk", goal=goal, channel=channel, shop_name="shop@example.com Bakes")
    persona = build_persona(HOSTILE, key="at_risk")
    for text in (
        json.dumps(draft, ensure_ascii=False),
        draft_text(draft),
        draft_html(draft),
        json.dumps(persona, ensure_ascii=False),
        persona_markdown(persona),
    ):
        assert not EMAIL_LIKE.search(text)
    assert set(re.findall(r"\{\{.*?\}\}", json.dumps(draft))) == {"{{first_name}}"}
    assert "*|" not in json.dumps(draft) and draft["shop_name"] == "Bakes"


def test_text_export_says_what_to_send_and_why():
    email = draft_text(draft_campaign(AT_RISK, key="at_risk", shop_name="Hebden Bakehouse"))
    assert email.startswith("Goal: win back  |  Channel: email\n\nSubject lines to test:\n  A: We miss you, {{first_")
    assert "Why this offer: 10% for 14 days" in email and "- typical order 17.86" in email
    sms = draft_text(draft_campaign(AT_RISK, key="at_risk", channel="sms"))
    assert "characters with a 12-letter first name (GSM-7, 1 part(s))" in sms and "Subject" not in sms


# --- refinements: length, tone, discount; clusters through the tool ------------------------------------------

from segmentation.outreach.drafts import LENGTHS, TONES  # noqa: E402

GREETINGS = {
    "warm": "Hi {{first_name}},",
    "formal": "Dear {{first_name}},",
    "playful": "Hey {{first_name}}!",
    "urgent": "Hi {{first_name}},",
}
SIGN_OFFS = {
    "warm": "See you soon,",
    "formal": "Kind regards,",
    "playful": "See you very soon!",
    "urgent": "Don't miss out,",
}


def test_warm_and_standard_are_the_defaults():
    for profile, key in ((AT_RISK, "at_risk"), (CHAMPIONS, "champions"), (NEW_CUSTOMERS, "new_customers")):
        for channel in CHANNELS:
            plain = draft_campaign(profile, key=key, channel=channel, shop_name="Hebden Bakehouse")
            assert (
                draft_campaign(
                    profile,
                    key=key,
                    channel=channel,
                    shop_name="Hebden Bakehouse",
                    tone="warm",
                    length="standard",
                    discount_percent=None,
                )
                == plain
            )
            assert (plain["tone"], plain["length"]) == ("warm", "standard")


@pytest.mark.parametrize("key", ["at_risk", "champions", "new_customers", "potential_loyalists", "lapsing"])
def test_tones_change_greeting_sign_off_and_wording(key):
    drafts = {t: draft_campaign(AT_RISK, key=key, tone=t, shop_name="Hebden Bakehouse") for t in TONES}
    for tone, draft in drafts.items():
        lines = draft["body"].split("\n\n")
        assert lines[0] == GREETINGS[tone] and lines[-1] == f"{SIGN_OFFS[tone]}\nThe team at Hebden Bakehouse"
        assert draft == draft_campaign(AT_RISK, key=key, tone=tone, shop_name="Hebden Bakehouse")  # deterministic
        assert draft["facts_used"] == drafts["warm"]["facts_used"] and draft["offer"] == drafts["warm"]["offer"]
    assert len({d["body"] for d in drafts.values()}) == 4
    formal = " ".join(outputs(drafts["formal"]))
    assert not re.search(r"\b(It's|we've|Here's|We're|haven't)\b", formal)
    urgent = drafts["urgent"]
    assert urgent["call_to_action"].endswith(" today") and urgent["subject_lines"][0].startswith("Ends soon: ")
    assert urgent["preview_text"].startswith("This offer ") and "Don't wait: this offer " in urgent["body"]


def test_formal_win_back_by_hand():
    draft = draft_campaign(AT_RISK, key="at_risk", tone="formal", shop_name="Hebden Bakehouse")
    assert draft["body"] == (
        "Dear {{first_name}},\n\nIt has been some time since we last welcomed you at Hebden Bakehouse, and we have "
        "missed you. Our regulars are usually back about once a month, and we would be delighted to welcome you "
        "again.\n\nCroissant, Sourdough loaf and White bloomer are still here, just as you remember.\n\n"
        "Please enjoy 10% off your next order, for the next 14 days.\n\nWe look forward to your visit.\n\n"
        "Kind regards,\nThe team at Hebden Bakehouse"
    )
    assert draft["subject_lines"] == [
        "We would be glad to see you again, {{first_name}}",
        "May we remind you of our Croissant?",
        "10% off to welcome you back",
    ]


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize(
    ("profile", "key"),
    [(AT_RISK, "at_risk"), (CHAMPIONS, "champions"), (NEW_CUSTOMERS, "new_customers"), (AT_RISK, "lapsing")],
    ids=["at_risk", "champions", "new_customers", "lapsing"],
)
def test_short_is_noticeably_shorter_with_the_same_facts(profile, key, tone):
    full = draft_campaign(profile, key=key, tone=tone, shop_name="Hebden Bakehouse")
    short = draft_campaign(profile, key=key, tone=tone, length="short", shop_name="Hebden Bakehouse")
    assert len(short["body"]) <= 0.8 * len(full["body"]), short["body"]
    assert len(short["preview_text"]) < len(full["preview_text"])
    assert short["facts_used"] == full["facts_used"] and short["offer_details"] == full["offer_details"]
    assert short["body"].startswith(GREETINGS[tone]) and short["body"].endswith("The team at Hebden Bakehouse")
    assert "Hebden Bakehouse" in short["body"].split("\n\n")[1]
    for item in [i["name"] for i in profile["top_products"][:3]]:
        if item in full["body"]:
            assert item in short["body"], item


def test_short_sms_is_shorter():
    full = draft_campaign(AT_RISK, key="at_risk", channel="sms", shop_name="Hebden Bakehouse")
    short = draft_campaign(AT_RISK, key="at_risk", channel="sms", length="short", shop_name="Hebden Bakehouse")
    assert short["body"] == (
        "Hebden Bakehouse: Hi {{first_name}}, we miss you! 10% off your next order for 14 days. Reply STOP to opt out"
    )
    assert short["sms_length"] < full["sms_length"]


@pytest.mark.parametrize("goal", GOALS)
def test_a_discount_replaces_the_offer_and_is_named(goal):
    for channel in CHANNELS:
        for length in LENGTHS:
            draft = draft_campaign(
                CHAMPIONS, key="champions", goal=goal, channel=channel, length=length, discount_percent=15, currency="£"
            )
            details = draft["offer_details"]
            assert (details["kind"], details["percent"], details["amount"], details["valid_days"]) == (
                "percent_off",
                15,
                None,
                14,
            )
            assert "as you asked" in details["rule"] and draft["offer"] == "15% off the next order, for 14 days"
            assert "15% off" in draft["body"]
            if channel == "email":
                assert any("15% off" in s for s in draft["subject_lines"]) and len(set(draft["subject_lines"])) == 3
    thank = draft_campaign(CHAMPIONS, key="champions", discount_percent=15)
    assert "usually needs no discount" in thank["offer_details"]["rule"]


@pytest.mark.parametrize("bad", [0, 91, -5, True, 12.5, "10"])
def test_a_discount_outside_1_to_90_is_refused(bad):
    with pytest.raises(ValueError, match="from 1 to 90"):
        draft_campaign(AT_RISK, key="at_risk", discount_percent=bad)
    with pytest.raises(ValueError, match="'warm', 'formal', 'playful', 'urgent'"):
        draft_campaign(AT_RISK, key="at_risk", tone="grumpy")
    with pytest.raises(ValueError, match="'standard', 'short'"):
        draft_campaign(AT_RISK, key="at_risk", length="tiny")


@pytest.mark.parametrize("tone", TONES)
def test_every_refined_sms_fits_160_characters(tone):
    for profile in ALL_PROFILES.values():
        for key in ("champions", "at_risk", "new_customers", "potential_loyalists", "lapsing", "cluster_1"):
            for goal in (None, *GOALS):
                for length in LENGTHS:
                    for discount in (None, 90):
                        for shop in ("Hebden Bakehouse", LONG_SHOP):
                            draft = draft_campaign(
                                profile,
                                key=key,
                                goal=goal,
                                channel="sms",
                                shop_name=shop,
                                currency="£",
                                tone=tone,
                                length=length,
                                discount_percent=discount,
                            )
                            sent = draft["body"].replace("{{first_name}}", "A" * 12)
                            assert len(sent) <= 160 and draft["sms_length"] == len(sent), sent
                            assert draft["body"].endswith("Reply STOP to opt out") and "{{first_name}}" in draft["body"]


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("discount", [None, 25])
def test_refined_emails_use_only_profile_and_offer_numbers(tone, length, discount):
    for name, profile in ALL_PROFILES.items():
        for goal in GOALS:
            draft = draft_campaign(
                profile,
                key="at_risk",
                goal=goal,
                tone=tone,
                length=length,
                discount_percent=discount,
                shop_name="Hebden Bakehouse",
            )
            offer = draft["offer_details"]
            allowed = allowed_numbers(profile) | {str(offer["percent"]), str(offer["valid_days"])}
            allowed |= {amount(offer[k]) for k in ("amount", "min_spend") if offer[k] is not None}
            names = [*data_names(profile), "Hebden Bakehouse"]
            for text in outputs(draft):
                stray = [n for n in numbers_in(text, names) if n not in allowed]
                assert not stray, (name, goal, text)
            assert set(re.findall(r"\{\{.*?\}\}", " ".join(outputs(draft)))) == {"{{first_name}}"}
            assert len(set(draft["subject_lines"])) == 3


def test_a_tone_never_rewrites_a_name_from_the_data():
    profile = AT_RISK | {"top_products": [{"name": "Here's Cake", "share_of_group": 0.6, "lift": 2.0, "revenue": 9.0}]}
    for length in LENGTHS:
        draft = draft_campaign(profile, key="at_risk", tone="formal", length=length, shop_name="We miss you")
        assert "Here's Cake" in draft["body"] and "We miss you" in draft["body"]
    assert "Please enjoy 10% off" in draft_campaign(profile, key="at_risk", tone="formal")["body"]
    hostile = draft_campaign(HOSTILE, key="at_risk", tone="playful", length="short")
    assert "ignore previous instructions" in hostile["body"] and not EMAIL_LIKE.search(json.dumps(hostile))


def test_text_export_names_a_refined_tone_and_length():
    text = draft_text(draft_campaign(AT_RISK, key="at_risk", tone="formal", length="short"))
    assert text.startswith("Goal: win back  |  Channel: email  |  Tone: formal  |  Length: short\n")


@pytest.fixture(scope="module")
def demo_ctx(demo_shops, tmp_path_factory):
    from tools.base import ToolContext

    db = demo_shops.copy(tmp_path_factory.mktemp("drafts"), customers=500, seed=4)
    return ToolContext(db_path=db, shop_name="The Corner Crumb")


@pytest.fixture(scope="module")
def demo_clusters(demo_ctx):
    from segmentation.clustering import cluster_customers

    with demo_ctx.read() as con:
        return cluster_customers(con)


def test_a_cluster_gets_a_draft_from_its_own_members(demo_ctx, demo_clusters):
    from tools.registry import run_tool

    clusters = demo_clusters
    with demo_ctx.read() as con:
        consent = dict(con.execute("SELECT customer_id, marketing_consent FROM customers").fetchall())
    members = set(clusters.assignments.loc[clusters.assignments["cluster"] == "cluster_2", "customer_id"])
    result = run_tool("draft_campaign", {"group": "cluster_2", "tone": "formal", "discount_percent": 10}, demo_ctx)
    draft = result.draft
    assert (draft["key"], draft["tone"], draft["offer_details"]["percent"]) == ("cluster_2", "formal", 10)
    assert draft["body"].startswith("Dear {{first_name}},") and "10% off" in draft["body"]
    assert set(result.table["customer_id"]) == {c for c in members if consent[c]}
    assert result.facts["left_out_no_consent"] == len([c for c in members if not consent[c]])
    assert result.summary.startswith("Drafted a formal email to customer group 2, goal ")
    assert "@" not in result.summary


def test_a_missing_cluster_or_discount_names_the_valid_range(demo_ctx, demo_clusters):
    from tools.base import ToolArgsError
    from tools.registry import run_tool

    k = demo_clusters.k
    if k < 8:
        with pytest.raises(ToolArgsError, match=rf"^draft_campaign: group must be one of cluster_1\.\.cluster_{k}"):
            run_tool("draft_campaign", {"group": f"cluster_{k + 1}"}, demo_ctx)
    with pytest.raises(ToolArgsError, match="draft_campaign: discount_percent"):
        run_tool("draft_campaign", {"group": "at_risk", "discount_percent": 95}, demo_ctx)
    with pytest.raises(ToolArgsError, match="'urgent'"):
        run_tool("draft_campaign", {"group": "at_risk", "tone": "grumpy"}, demo_ctx)


def test_draft_examples_show_refinements_but_not_follow_ups():
    from tools.registry import REGISTRY

    examples = REGISTRY["draft_campaign"].examples
    assert "Write a formal email to cluster 2" in examples
    assert not any("shorter" in e.lower() for e in examples)
