"""The grounding check (agent.grounding) on its own: which numbers an answer may write, which questions need the
data, what a draft must keep. The sources are real tool summaries of a demo shop, copied as the tools write them;
each expectation below was worked out by hand from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.base import CHECKED
from agent.grounding import NO_LOOK, about_the_data, check_answer, numbers_from_nowhere
from agent.middleware import for_model
from segmentation.safety.privacy import Names

CHAMPIONS = for_model(
    "list_customers",
    summary=(
        "81 customers are in the champions segment as of 2026-11-20 (recency score 5 and frequency score 4-5 of 5: "
        "bought recently and often). Together they have spent 24,409.95 (40% of revenue); median last order 9 days "
        "ago, "
        "median 11 orders. 57 of them agreed to marketing. Predicted value over the next 90 days: 4,678.03."
    ),
)
AT_RISK = for_model(
    "describe_segment",
    summary=(
        "at risk: 49 customers (+8 in 90 days), 8.2% of customers and 4.1% of revenue. Median last order 499 days ago, "
        "typical order 14.60, typical gap 48 days. Top categories (share buying, lift): Pastries (61%, 1.2x)."
    ),
)
OVERVIEW = for_model(
    "data_overview",
    summary=(
        "Best month 2025-12. Orders from 2024-11-21 to 2026-11-20: 600 customers made 4,380 purchases, revenue "
        "61,224.70. 0.47 of customers bought more than once."
    ),
)
SOURCES = [CHAMPIONS, AT_RISK, OVERVIEW]


@pytest.mark.parametrize(
    "answer",
    [
        "You have 81 champions; together they spent 24,409.95.",
        "They have spent £24,409.95, which is 40% of your revenue.",
        "Champions spent about 24,410 (24.4k, or £24k).",  # rounded to what is shown, two digits kept
        "Revenue was 61,224.7 over 4380 purchases.",  # 61,224.70 and 4,380 written another way
        "Your best month was December 2025.",  # a table's month, 2025-12
        "Revenue was roughly 61,000, or 61.2 thousand.",
        "8% of your customers are at risk; their typical order is 14.6.",  # 8.2% and 14.60, rounded
        "47% of customers bought more than once.",  # 0.47 as a share
        "Pastries lead with a 1.2x lift.",
        "As of 20 November 2026 (Nov 20, 2026; 20/11/2026), your data runs from 21 Nov 2024.",
        "1. Champions\n2. Loyal\n3. At risk",  # list markers count the page, not the shop
        "The 3rd group, cluster_3, and Q4 are ordinal or identifiers.",
        "Two of them, and three or four others.",  # number words up to twelve
        "Their recency score is 5 and frequency score 4-5; the next 90 days look good.",
    ],
)
def test_numbers_the_results_hold_pass(answer):
    assert numbers_from_nowhere(answer, SOURCES) == []


@pytest.mark.parametrize(
    ("answer", "invented"),
    [
        ("You have 276,000 champions, of which 3 are from your own team.", ["276,000", "3"]),
        ("Revenue was about 60,000.", ["60,000"]),  # one significant digit: 61,224.70 is not "60,000"
        ("Champions spent 24,500.", ["24,500"]),  # 24,409.95 rounds to 24,400, not 24,500
        ("Their typical order is 14.61.", ["14.61"]),  # shown to the penny, so it must be the penny
        ("9% of your customers are at risk.", ["9%"]),  # 8.2% rounds to 8%
        ("Exactly 4,321 of your lapsed customers live in Leeds, 87% of them.", ["4,321", "87%"]),
        ("Your data ends on 21 November 2026.", ["21 November 2026"]),
        ("About a hundred are lapsed.", ["a hundred"]),
        ("Champions are worth 1.5x the others.", ["1.5x"]),
        ("Your 25th best customer is loyal.", ["25th"]),
    ],
)
def test_numbers_from_nowhere_are_named_as_written(answer, invented):
    assert numbers_from_nowhere(answer, SOURCES) == invented


def test_the_question_and_the_tools_arguments_are_sources_too():
    assert numbers_from_nowhere("Here are your 4 groups.", [OVERVIEW]) == ["4"]
    assert numbers_from_nowhere("Here are your 4 groups.", [OVERVIEW, "split my customers into 4 groups"]) == []
    verdict = check_answer(
        "Here are your top 15 customers.",
        question="who are my best customers?",
        results=[OVERVIEW],
        called_tools=True,
        asked=[{"limit": 15}],
    )
    assert verdict.ok, verdict.reason


@pytest.mark.parametrize(
    ("question", "about"),
    [
        ("how many champions do I have?", True),
        ("and where do they live?", True),  # a follow-up about the last group
        ("which punters are at rsik", True),  # the owners' words, as the offline assistant reads them
        ("draft an email for my lapsed customers", True),
        ("what's my revenue?", True),
        ("who should I email this week?", True),
        ("hi there", False),
        ("thanks!", False),
        ("what can you do?", False),
        ("what is RFM?", False),  # what a word means, not this shop's data
        ("what does at risk mean?", False),
        ("do i need an umbrella tomorrow", False),
    ],
)
def test_which_questions_need_the_data(question, about):
    assert about_the_data(question) is about


def test_a_data_question_answered_without_a_tool_is_not_shown():
    verdict = check_answer(
        "You have lots of champions.", question="how many champions?", results=[], called_tools=False
    )
    assert (verdict.ok, verdict.reason) == (False, NO_LOOK)
    assert check_answer("Hello! Ask me about your customers.", question="hi", results=[], called_tools=False).ok


def test_the_reason_names_the_invented_number():
    verdict = check_answer(
        "You have 276,000 champions.", question="how many champions?", results=[CHAMPIONS], called_tools=True
    )
    assert not verdict.ok
    assert verdict.reason == (
        "the model wrote a number (276,000) found in none of this question's tool results nor in your question"
    )
    assert (
        check_answer(
            "You have 81 champions.", question="how many champions?", results=[CHAMPIONS], called_tools=True
        ).reason
        == CHECKED
    )


DRAFT = for_model(
    "draft_campaign",
    summary=(
        "Drafted an email to at risk customers, goal win back; 36 of 49 may be contacted (13 left out: no marketing "
        "consent). Offer: 10% off the next order, for 14 days."
    ),
)
DRAFT_FACTS = [
    {"group": "at_risk", "audience": 36, "left_out_no_consent": 13, "offer": "10% off the next order, for 14 days"}
]


def draft_verdict(answer: str, names: Names | None = None):
    return check_answer(
        answer,
        question="draft an email for my at risk customers",
        results=[DRAFT],
        called_tools=True,
        drafts=DRAFT_FACTS,
        names=names,
    )


def test_a_draft_keeps_the_offer():
    kept = "Subject: We miss you\n\nHi {{first_name}},\n\nHere's 10% off your next order, for 14 days.\n\nThe team"
    assert draft_verdict(kept).ok, draft_verdict(kept).reason

    changed = draft_verdict(kept.replace("10% off", "61% off"))  # 61% is in the results, but not as the offer
    assert not changed.ok and "61% off" in changed.reason and "10% off the next order" in changed.reason

    dropped = draft_verdict("Subject: We miss you\n\nHi {{first_name}},\n\nCome back and see us.\n\nThe team")
    assert not dropped.ok and "leaves out" in dropped.reason

    # Saying the draft is below, without rewriting it, keeps every fact (the tool's draft is what is shown).
    assert draft_verdict("I drafted a win-back email for your 36 reachable at-risk customers; it is below.").ok


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("Subject: Hi\n\nWrite to sarah.jones@example.com for 10% off, for 14 days.", "an email address"),
        ("Subject: Hi\n\nCall 07700 900123 for 10% off, for 14 days.", "a phone number"),
        ("Subject: Hi\n\nDear Mrs Patel, 10% off, for 14 days.", "a customer's name"),
        ("Subject: Hi\n\nDear Ada Okafor, 10% off, for 14 days.", "a customer's name"),
    ],
)
def test_no_answer_holds_customer_data(answer, kind):
    names = Names(first=frozenset({"ada", "sarah"}), last=frozenset({"okafor", "jones"}))
    verdict = draft_verdict(answer, names)
    assert not verdict.ok and verdict.reason == f"the model's answer holds {kind}, which it is never given"


def test_results_are_read_as_the_model_read_them():
    """A result is the JSON the model was given; its strings are read, escapes undone (a quote, a pound sign)."""
    result = json.dumps({"tool": "order_value", "result": 'Typical order \u00a314.60 ("median").'})
    verdict = check_answer(
        "Your typical order is £14.60.", question="what's a typical order?", results=[result], called_tools=True
    )
    assert verdict.ok, verdict.reason
    assert "314.60" in result  # read raw, "\u00a314.60" would have been 314.60


BLIND = json.loads((Path(__file__).parent / "corpus" / "grounding_blind.json").read_text(encoding="utf-8"))


def test_answers_written_blind_are_judged_as_their_writer_meant():
    """Real tool summaries of the demo shop, and answers to them written by someone who never read agent/: four
    faithful ones per case as different models write (rounded, bulleted, dates spelt out, drafts rewritten) and two
    invented ones (a made-up number, a subtle one). Every faithful answer passes; every invented one fails but the
    one the check cannot see: "no order in the last 90 days" where the rule said 87, with 90 elsewhere in the
    result ("the next 90 days"), since a number is matched by value, not by what it counts."""
    wrong = []
    for case in BLIND["answers"]:
        tool = BLIND["cases"][case["case"]]
        drafts = [{"offer": tool["offer"]}] if "offer" in tool else []
        verdict = check_answer(
            case["answer"],
            question=tool["question"],
            results=[for_model(tool["tool"], summary=tool["result"])],
            called_tools=True,
            drafts=drafts,
            asked=[tool["args"]],
        )
        if verdict.ok != (case["kind"] == "faithful"):
            wrong.append((case["case"], case["kind"], case["answer"][:80], verdict.reason))
    assert [(c, k) for c, k, *_ in wrong] == [(1, "invented")], wrong
    assert len(BLIND["answers"]) == 84
