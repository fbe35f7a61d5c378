"""One customer in a question: "tell me about customer C00042", and "tell me more about the second one" after a
list of top customers.

An id is taken from the question as typed (its case kept: ids are matched as the data has them, forgivingly, by
the tool). A position ("the second one", "number 3") means a place in the last top-customers ranking, run again
with the same arguments, so it names the customer the person saw there; the id itself is never carried in the
conversation's state, which holds only plans and numbers.
"""

from __future__ import annotations

import re

from agent.dialogue import State

_ID = re.compile(r"\bcustomer\s+(?:id\s+|number\s+|no\.?\s+|#\s*)?(?P<id>[A-Za-z]*\d[\w-]*)\b", re.I)
_ORDINAL = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "top": 1,
}
_POSITION = re.compile(
    r"\b(?:the\s+)?(?P<word>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|top)\s+"
    r"(?:one|customer|person|guy|lady|woman|man|of (?:them|those|these)|on the list)\b"
    r"|\b(?:the\s+)?(?P<nth>\d{1,3})(?:st|nd|rd|th)\s+(?:one|customer|person|of (?:them|those|these)|on the list)\b"
    r"|\b(?:number|no\.?|#)\s*(?P<num>\d{1,3})\b",
    re.I,
)
_ABOUT = re.compile(r"tell me|more|about|who is|who s|look|details|info|what about|show|page|profile|describe", re.I)


def plan_customer(raw: str, state: State) -> tuple[str, dict] | None:
    """('describe_customer', args) for a question about one customer, or None."""
    named = _ID.search(raw)
    if named and not re.match(r"\d{1,2}$", named.group("id")):  # "customer 2" is a position, not an id
        return "describe_customer", {"customer_id": named.group("id")}
    if (
        state.tool == "describe_customer"
        and re.search(r"\b(they|them|their|he|she|his|her|this customer|that customer)\b", raw, re.I)
        and re.search(
            r"\b(last|when|usual(ly)?|normally|buy|get|order|worried|worry|spend|spent|come in|often)\b", raw, re.I
        )
    ):
        return "describe_customer", dict(state.args)  # "when did they last come in?": the same customer again
    if (
        state.tool not in ("top_customers", "describe_customer")
        or not state.lists
        or state.lists.get("tool") != "top_customers"
    ):
        return None
    position = _POSITION.search(raw)
    if not position or not (_ABOUT.search(raw) or len(raw.split()) <= 4):  # "and number 4?" is short enough
        return None
    rank = _ORDINAL.get((position.group("word") or "").lower()) or int(position.group("nth") or position.group("num"))
    listed = state.lists.get("args", {})
    args = {"top_rank": rank, **{k: listed[k] for k in ("by", "group", "as_of", "k") if listed.get(k) is not None}}
    return "describe_customer", args
