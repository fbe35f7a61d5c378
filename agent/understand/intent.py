"""What a question asks: one intent, from the phrase tables' rules, in a fixed order (specific first).

An intent is a tool's name, or one of three that repeat or change the last call: ``refine_draft``
("make it shorter and add 10% off"), ``export_list`` ("export that list") and ``refresh`` ("I've added
new sales, refresh"). A tool that has no entry in ``agent.intents.INTENT_PHRASES`` is found by the
``cues`` on its spec, so a new tool is understood without touching the agent.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agent import intents as phrases
from agent.dialogue import State
from agent.understand.slots import Slots, search

PSEUDO_INTENTS = ("refine_draft", "export_list", "refresh")
# Tools that take a group: a follow-up naming another group re-runs the last of these with it.
GROUP_TOOLS = (
    "list_customers",
    "describe_segment",
    "draft_campaign",
    "predict_value",
    "segment_by",
    "top_customers",
    "order_value",
    "purchase_rhythm",
    "sales_over_time",
    "group_entrants",
)


def _order() -> tuple[str, ...]:
    """The intents in the order they are tried: the agent's own, then any tool known only by its cues."""
    from tools.registry import REGISTRY

    extra = tuple(name for name, spec in sorted(REGISTRY.items()) if name not in phrases.INTENT_ORDER and spec.cues)
    # An intent of the agent's own whose tool is not registered (yet) is skipped.
    order = tuple(n for n in phrases.INTENT_ORDER if n in REGISTRY or n in PSEUDO_INTENTS)
    at = order.index("refresh") + 1  # a tool's own cues are specific to it: tried before the agent's broad rules
    return order[:at] + extra + order[at:]


def _pattern(name: str) -> str | None:
    if name in phrases.INTENT_PHRASES:
        return phrases.INTENT_PHRASES[name]
    from tools.registry import REGISTRY

    spec = REGISTRY.get(name)
    return "|".join(f"(?:{c})" for c in spec.cues) if spec and spec.cues else None


def detect(text: str, s: Slots, state: State) -> str | None:
    """The intent of one (cleaned) question, given its slots and the conversation so far."""
    ruled = _detect(text, s, state)
    found = _continues(text, s, state, ruled) or ruled
    if found is None or (found == "list_customers" and not s.group and not s.refers_back):
        from agent.understand.learned import sure_guess  # scikit-learn, only for a wording no rule knows

        return sure_guess(text) or found
    from agent.understand import learned

    if learned.ARBITRATE and found in ("list_customers", "describe_segment", "data_overview") and not s.refers_back:
        tool, probability = learned.guess(text)
        if tool != found and probability >= learned.ARBITRATE:
            return tool
    return found


# Words that start something new: a follow-up that has one of them is not "the same again, changed".
_NEW_ASK = (
    r"draft|write|compose|email|text|message|split|cluster|compare|forecast|predict|profile|describe|tell me"
    r"|persona|list|who|export|download|campaign|overview|segments|rfm|sales|revenue|average|how often|top"
)


def _continues(text: str, s: Slots, state: State, found: str | None) -> str | None:
    """A short follow-up that changes what the last call's arguments hold ("just the top 3", "for the at risk
    group", "what about as of 1 june", "now by predicted value") runs the last tool again, changed."""
    from tools.registry import REGISTRY

    spec = REGISTRY.get(state.tool or "")
    starts = re.match(r"(sort|order|rank|just|only|now|and|for|what about|how about|same|but|instead)\b", text)
    if not spec or not (s.follow_up or s.by_scheme or starts) or len(text.split()) > 9 or found in PSEUDO_INTENTS:
        return None
    if found == state.tool:
        return None
    fields = spec.args_model.model_fields
    changes = {
        "group": s.group,
        "limit": s.limit,
        "top": s.limit,
        "as_of": s.as_of,
        "start": s.period,
        "horizon_days": s.horizon,
        "window_days": s.days,
        "k": s.k,
        "by": s.rank_by or s.by_scheme,
        "scheme": s.by_scheme or (s.lifecycle or None),
        "sort_by": s.sort_by,
        "attribute": s.attribute,
    }
    if not any(v for name, v in changes.items() if name in fields):
        return None
    if found not in (None, "list_customers", "top_customers", "predict_value", "compute_rfm") or (
        found and search(r"like|describe|persona|tell me about|draft|write|email|text", text)
    ):
        return None
    return state.tool


def _detect(text: str, s: Slots, state: State) -> str | None:
    named = bool(s.groups or s.cluster)
    for name in _order():
        if name == "segment_by":
            if s.attribute and (
                s.place is None
                or search(
                    r"customers|clients|buyers|shoppers|people|them|they|who"
                    r"|how many|live|based",
                    text,
                )
            ):
                if search(phrases.INTENT_PHRASES["order_value"], text):
                    continue
                return name
            continue
        pattern = _pattern(name)
        if not pattern or not search(pattern, text):
            continue
        chosen = _check(name, text, s, state, named)
        if chosen:
            return chosen
    if s.k is not None:
        return "cluster_customers"
    if s.pick and state.listing:
        return "describe_segment"  # "the biggest one" after a clustering or the segments
    if (
        s.refers_back
        and state.tool
        and (named or s.attribute or s.horizon or s.sms or s.email or s.days or s.period or s.limit)
    ):
        return (
            state.tool
            if (state.tool in GROUP_TOOLS or not named or state.tool == "compare_groups")
            else "list_customers"
        )
    if s.goal and s.groups:
        return "draft_campaign"  # "I want to reward my most loyal customers"
    return "list_customers" if named else None


def _check(name: str, text: str, s: Slots, state: State, named: bool) -> str | None:
    """``name``'s rule matched; the intent it means here, or None to keep looking."""
    rule = _RULES.get(name)
    if rule is not None:
        return rule(text, s, state, named)
    if (
        name == "predict_value"
        and search(
            r"(sort|sorted|order|ordered|rank|ranked) (\w+ ){0,2}by|by clv"
            r"|by lifetime value",
            text,
        )
        and (named or s.pronoun)
    ):
        return "list_customers"  # "the at-risk ones by clv, highest first"
    if name == "predict_value" and s.days and not s.horizon and not search(r"predict|forecast|will|expect", text):
        return None
    if (
        name == "cluster_customers"
        and search(r"rfm", text)
        and not search(
            r"not (the )?rfm|rather than|other than"
            r"|instead of",
            text,
        )
    ):
        return "compute_rfm"
    if (
        name == "measure_campaign"
        and search(r"rfm|segments?|clusters?|baseline", text)
        and not search(r"work|worked|result|results|measure|effect|lift|uplift|difference|worth|did", text)
    ):
        return None  # "RFM as of 1 Sept, the baseline before cmp-0001": a date, not a measurement
    if (
        name == "draft_campaign"
        and not search(
            r"draft|write|compose|craft|e ?mail|texts?|sms|newsletter|subject"
            r"|message|offer|promo|coupon|voucher|discount",
            text,
        )
        and search(r"rfm|segments?|clusters?|sales|revenue|compare|how many|average", text)
    ):
        return None  # "cluster as of 1 Sept, a pre-campaign picture": the campaign is not the ask
    if name in ("cluster_customers", "compute_rfm") and s.cluster and s.k is None:
        if search(r"who|list|show me the (people|customers)|people in|members|names|export|download|how many", text):
            return "list_customers"  # "who's in cluster 3"
        return "describe_segment"  # "tell me about cluster 2"
    if name == "data_overview" and named:  # "an overview of my champions", "how many customers churned"
        return "describe_segment" if search(r"overview|summary|summari[sz]e|describe", text) else "list_customers"
    if name in ("list_customers", "describe_segment") and len(s.groups) > 1:
        return "segment_migration"  # "champions who are now at risk"
    if name in ("compute_rfm", "list_customers", "describe_segment") and s.k is not None:
        return "cluster_customers"  # only clustering takes a number of groups
    if name == "list_customers" and s.goal and s.groups:
        return "draft_campaign"  # "I want to reward my most loyal customers"
    if name == "describe_segment" and s.pick and state.listing and not named:
        return name
    return name


def _check_refine_draft(text: str, s: Slots, state: State, named: bool) -> str | None:
    """A draft is open, and the question is about it rather than about a group it names."""
    if not state.draft or (named and not s.refers_back and not search(r"same|it|that|this", text)):
        return None
    return "refine_draft"


def _check_export_list(text: str, s: Slots, state: State, named: bool) -> str | None:
    """Something to export: a list shown, a group chosen, or one named."""
    return "export_list" if (state.lists or state.group or named) else None


def _check_purchase_rhythm(text: str, s: Slots, state: State, named: bool) -> str | None:
    """Not a question about the data's date range."""
    if search(r"how far back|date range|earliest order", text):
        return None
    return "purchase_rhythm"


def _check_refresh(text: str, s: Slots, state: State, named: bool) -> str | None:
    """Not a fresh analysis asked by name (RFM, segments, a campaign, revenue by something)."""
    return None if search(r"rfm|segments|clusters?|campaign|revenue (by|per|for)", text) else "refresh"


def _check_recommend_focus(text: str, s: Slots, state: State, named: bool) -> str | None:
    """Not an overview; about named people, whom to contact first."""
    if search(r"basics|overview|date range|big picture", text):
        return None
    if named or (s.pronoun and state.group):
        return "top_customers"  # "which of those should I contact first"
    return "recommend_focus"


def _check_plan_campaign(text: str, s: Slots, state: State, named: bool) -> str | None:
    """Setting one up; measuring a campaign that was sent is measure_campaign's."""
    if search(
        r"\b(did|was|were|has|have|how did|worked|results?|difference|made|against|vs|versus)\b", text
    ) and not search(r"set (\w+ )?up|should i hold|hold out|how (big|many|large)", text):
        return None
    return "plan_campaign"


def _check_compare_groups(text: str, s: Slots, state: State, named: bool) -> str | None:
    """Two groups or more to compare, or one and everyone else ("how do they compare to everyone else?")."""
    if search(phrases.EVERYONE_ELSE, text) and (named or (s.refers_back and state.group)):
        return "compare_groups"
    if len(s.every_group) + len(s.clusters) >= 2 or (named and state.group and s.group != state.group):
        return "compare_groups"
    return None


def _check_rank_groups(text: str, s: Slots, state: State, named: bool) -> str | None:
    """Groups ranked by money, unless a list of the top customers is meant."""
    if search(r"(losing|lose) the most|most (money )?to lose", text):
        return "rank_groups"  # "which group am I at risk of losing the most money on"
    if s.pick:
        return None  # "the biggest group" after a listing is that group
    if search(
        r"at stake|where (is|does) (the|my) money|(rank|ranking|ranked|league table)( \w+){0,2} (segments"
        r"|groups|stages)",
        text,
    ):
        return "rank_groups"
    money = search(
        r"revenue|money|cash|sales|worth|valuable|profitable|lucrative|earns?|earner|income|at stake"
        r"|share of",
        text,
    ) or (search(r"brings?|makes?|spends?|spending", text) and search(r"most|biggest|highest|best|top|more", text))
    grouped = search(r"segments?|groups?|stages?|rfm|segment wise|type of customer", text)
    if not (money and grouped) or (named and not s.lifecycle) or s.limit:
        return "top_customers" if (money and s.limit and search(r"customers|people|buyers", text)) else None
    return "rank_groups"


def _check_group_entrants(text: str, s: Slots, state: State, named: bool) -> str | None:
    """One group and a time: who joined it then (not who left it)."""
    if (
        len(s.groups) != 1
        or (s.moves[0] and s.moves[1])
        or not (
            s.period
            or search(
                r"recently|lately|newly|new to|this (week|month|year)|last (week|month|year)|since|that time"
                r"|that period|same (period|time|window)|back then",
                text,
            )
        )
    ):
        return None
    if search(r"from", text) and not search(r"from (the )?last|from \d", text):
        return None
    if search(r"out of|left|leaving|leave|stopped being|no longer|have not|has not|not been|not bought", text):
        return None  # who left a group: the moves out of it
    return "group_entrants"


def _check_segment_migration(text: str, s: Slots, state: State, named: bool) -> str | None:
    """Moves between groups, not a period's sales nor a list of who stopped buying."""
    moves = search(
        r"moved|move|moving|movement|changed?|changes|migrat\w*|flow|transitions?|shift\w*|went from"
        r"|became|dropped|who moved where",
        text,
    )
    if not moves and any(
        search(phrases.INTENT_PHRASES[other], text)
        for other in ("sales_over_time", "order_value", "purchase_rhythm", "top_customers")
    ):
        return None  # "sales since Christmas": a period, not a move
    if not named and not moves and search(r"compare", text) and search(r"(this|last) (week|month|quarter|year)", text):
        return "sales_over_time"  # "compare this month to last month"
    if not named and not moves and s.attribute and not s.period:
        return "segment_by"  # "how do my overseas customers compare": by country, not who moved
    if not (named or moves or search(r"since|compare", text)):
        return None  # "what changed" needs no group; "fell" or "turned" alone is not a move
    if search(r"havent|hasnt|have not|has not|not|stopped|no longer", text) and not search(
        r"moved|changed?|changes|migrat\w*|became|went from|dropped", text
    ):
        return None  # "who hasn't been in since the summer" asks for a list, not the moves
    return "segment_migration"


def _check_top_customers(text: str, s: Slots, state: State, named: bool) -> str | None:
    """The top customers, unless the top products, places or clusters are meant."""
    if search(r"clusters?|groups", text):
        return None  # "sort customers into clusters"
    if search(
        r"top (\d+|\w+) (products?|items?|categor\w+|cit(y|ies)|towns?|countr\w+|channels?)"
        r"|(products?|items?|categor\w+|cit(y|ies)|towns?|countr\w+|channels?)\b.*\btop",
        text,
    ):
        return "segment_by"  # "top 5 products for lapsed customers"
    if s.attribute in ("product", "category", "city", "country", "channel") and not search(
        r"customers|spenders|buyers|people|clients", text
    ):
        return "segment_by"  # "top ten products"
    if s.groups and s.groups[0] != "champions" and not s.limit and not s.rank_by:
        return None
    return "top_customers"


def _check_sales_over_time(text: str, s: Slots, state: State, named: bool) -> str | None:
    """Sales over time, unless a forecast, sales by something, or a ranking of groups."""
    if s.horizon or search(r"will|going to|expect|predict|forecast", text):
        return "predict_value"  # money ahead is a forecast
    if s.attribute and not s.place:
        return "segment_by"  # "sales by city"
    if s.by_scheme and not s.period:
        return "rank_groups"  # "revenue by segment"
    return "sales_over_time"


# Intents whose own rule decides alone; the others share the rules on the slots in _check.
_RULES: dict[str, Callable[[str, Slots, State, bool], str | None]] = {
    "plan_campaign": _check_plan_campaign,
    "refine_draft": _check_refine_draft,
    "export_list": _check_export_list,
    "purchase_rhythm": _check_purchase_rhythm,
    "refresh": _check_refresh,
    "recommend_focus": _check_recommend_focus,
    "compare_groups": _check_compare_groups,
    "rank_groups": _check_rank_groups,
    "group_entrants": _check_group_entrants,
    "segment_migration": _check_segment_migration,
    "top_customers": _check_top_customers,
    "sales_over_time": _check_sales_over_time,
}
