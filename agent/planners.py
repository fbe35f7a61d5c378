"""From an understood question to one tool call: a small planner per intent, and one that fills any
tool's arguments from the slots by their names (so a new tool needs no planner of its own).

A planner gets the question's cleaned text, its slots, the conversation's state and what may be known of
the shop (``Shop``), and returns a ``Plan``: a tool and its arguments, or a reply without a tool (a
question back, a refusal). Only valid arguments are planned: choices are checked against the tool's own
argument model, and sizes are clamped to its bounds, with a note saying so.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field

import annotated_types

from agent import intents as phrases
from agent.dialogue import State, merged
from agent.understand.behaviour import time_is_the_rule
from agent.understand.dates import dates_in, months_back
from agent.understand.slots import Slots, search
from segmentation.vocabulary import STAGES


@dataclass
class Plan:
    """One tool call (``tool`` and ``args``), or none and a ``reply`` (help, a question back, a refusal)."""

    tool: str | None
    args: dict = field(default_factory=dict)
    note: str = ""  # said before the summary: why this tool, which dates, what was adjusted
    reply: str = ""
    place: str | None = None  # "Leeds" in "how many of them live in Leeds?"
    moves: tuple[str | None, str | None] = (None, None)  # (from, to) in "who moved from champions to ..."
    offer: str | None = None  # for a reply: the question a plain "yes" to it stands for
    recap: str = ""  # said first when a plan repeats the last call changed ("Here is the draft again, shorter.")
    assumed: bool = False  # an argument the question left out was assumed (migration's start: three months)


@dataclass(frozen=True)
class Shop:
    """What planning may know besides the question: dates, file and campaign names, and the shop's place
    and product names (to recognise them in a question; a name never chooses a tool)."""

    last_order: Callable[[], dt.date] = dt.date.today  # turns "since September" into a date
    has_data: Callable[[], bool] = bool  # bool() is False: nothing to overwrite
    uploads: tuple[str, ...] = ()  # names of the files uploaded this session
    campaigns: Callable[[], list[tuple[str, str]]] = list  # (id, group) of each campaign so far, oldest first
    places: Callable[[], dict[str, str]] = dict  # normalised place name -> "city" or "country"
    words: Callable[[], frozenset[str]] = frozenset  # the shop's own words, for spelling
    segments: Callable[[], dict[str, str]] = dict  # the owner's saved segments: name -> condition
    attributes: Callable[[], dict[str, tuple[str, ...]]] = dict  # the lists' tags and interests: kind -> values
    names: Callable[[], dict[str, tuple[str, ...]]] = dict  # cities, countries, products, categories as stored


@dataclass
class Ask:
    """One question as the planners see it."""

    raw: str
    text: str
    s: Slots
    state: State
    shop: Shop

    def carried(self) -> str | None:
        """The group a follow-up means: the last one named for a pronoun, the last call's for 'and ...'."""
        if self.s.pronoun:
            return self.state.group
        return self.state.args.get("group") if self.s.follow_up else None

    def target(self, *, fallback: bool = True) -> str | None:
        """The group named, else the one referred back to, else (``fallback``) the conversation's."""
        picked = self.state.pick(self.s.pick) if self.s.pick else None
        return self.s.group or picked or self.carried() or (self.state.group if fallback else None)


# --- choices and bounds read from a tool's argument model ------------------------------------------------


def _choices(annotation: object) -> tuple | None:
    """The values a Literal (or Optional Literal) allows, else None."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    for inner in typing.get_args(annotation):
        found = _choices(inner)
        if found:
            return found
    return None


def _bounds(info) -> tuple[typing.Any, typing.Any]:
    """A field's ``ge`` and ``le`` as its model writes them (numbers, in every argument model); None where unset."""
    low = high = None
    for rule in info.metadata:
        if isinstance(rule, annotated_types.Ge):
            low = rule.ge
        elif isinstance(rule, annotated_types.Le):
            high = rule.le
    return low, high


WORDS = {
    "k": "groups",
    "limit": "customers",
    "horizon_days": "days ahead",
    "window_days": "days after a campaign",
    "top": "values",
    "discount_percent": "percent off",
}


def valid(tool: str, args: dict) -> tuple[dict, str]:
    """``args`` kept to what ``tool`` accepts: unknown names and choices dropped, sizes clamped (and said)."""
    from tools.registry import REGISTRY
    from tools.wording import label

    fields = REGISTRY[tool].args_model.model_fields
    kept, notes = {}, []
    for name, value in args.items():
        info = fields.get(name)
        if info is None or value is None:
            continue
        choices = _choices(info.annotation)
        if choices is not None and value not in choices:
            if name in ("group", "group_a", "group_b") and str(value).startswith("cluster_"):
                notes.append(
                    f"This works on segments and stages, not machine-found groups, so I left "
                    f"{label(str(value)).replace('cluster', 'group')} out. "
                )
            continue
        low, high = _bounds(info)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and ((low is not None and value < low) or (high is not None and value > high)):
            floor, ceiling = low if low is not None else value, high if high is not None else value
            clamped = type(value)(min(max(value, floor), ceiling))
            notes.append(f"I can do {low:g} to {high:g} {WORDS.get(name, name)}, so I used {clamped:g}. ")
            value = clamped
        kept[name] = value
    return kept, "".join(notes)


# --- the slots, by argument name -------------------------------------------------------------------------


def slot_args(tool: str, a: Ask) -> dict:
    """Every argument ``tool`` takes that the question (or the conversation) fixes, by its name."""
    from tools.registry import REGISTRY

    s, fields = a.s, REGISTRY[tool].args_model.model_fields
    values: dict[str, object] = {}
    if "group" in fields:
        values["group"] = a.target(fallback=False)
    if "group_a" in fields:
        named = list(dict.fromkeys([*s.every_group, *s.clusters]))
        if len(named) == 1 and a.state.group and a.state.group != named[0]:
            named = [a.state.group, *named]
        values["group_a"], values["group_b"] = [*named, None, None][:2]
    if not s.period and search(
        r"(that|the) same (period|time|dates?|window)|that period|same period|for (it|that)$", a.text
    ):
        values["start"], values["end"] = a.state.period
    if s.period:
        values["start"] = s.period.start.isoformat() if s.period.start else None
        values["end"] = s.period.end.isoformat() if s.period.end else None
    if s.as_of:
        values["as_of"] = s.as_of.isoformat()
    elif search(r"back then|at that time|on that day|that date", a.text) and a.state.args.get("as_of"):
        values["as_of"] = a.state.args["as_of"]
    values.update(
        k=s.k,
        horizon_days=s.horizon,
        attribute=s.attribute,
        sort_by=s.sort_by,
        goal=s.goal,
        tone=s.tone,
        length=s.length,
        discount_percent=s.discount,
        campaign_id=s.campaign,
    )
    values["limit"] = s.limit
    values["top"] = s.limit
    if s.sms or s.email:
        values["channel"] = "sms" if s.sms else "email"
    by_choices = _choices(fields["by"].annotation) if "by" in fields else None
    if by_choices:
        if "segment" in by_choices:
            values["by"] = {"rfm": "segment", "lifecycle": "lifecycle"}.get(s.by_scheme or "") or (
                "segment"
                if search(r"(each|every|per|by|all|across) (\w+ )?(segments?|groups?)|segments", a.text)
                else None
            )
        else:
            pick = s.rank_by
            if pick == "spend" and "revenue" in by_choices:
                pick = "revenue"
            if pick == "predicted_value" and "value_at_stake" in by_choices:
                pick = "value_at_stake"
            values["by"] = pick if pick in by_choices else None
    if "scheme" in fields:
        named = [g for g in s.groups if g]
        values["scheme"] = s.by_scheme or (
            "lifecycle" if (s.lifecycle or (named and all(g in STAGES for g in named))) else None
        )
    return {k: v for k, v in values.items() if k in fields and v is not None}


def generic(tool: str, a: Ask, *, carry: bool = True) -> Plan:
    """Any tool: its arguments from the slots; with ``carry``, a follow-up keeps the last call's arguments."""
    args = slot_args(tool, a)
    if carry and a.s.refers_back and a.state.tool == tool:
        args = merged(a.state.args, args)
    args, note = valid(tool, args)
    return Plan(tool, args, note=note)


# --- the intents that need more than their slots ---------------------------------------------------------


def plan_load(a: Ask) -> Plan:
    fresh = bool(search(r"replace|afresh|from scratch|start over|instead of", a.text))
    if not fresh and a.shop.has_data():  # the demo replaces what is there: ask first
        return Plan(
            None,
            reply='Loading the demo shop replaces the data you have now. Say "yes" to go ahead.',
            offer="load the demo and replace my data",
        )
    return Plan("load_data", {"source": "demo", "replace": True})


def plan_measure(a: Ask) -> Plan:
    """Which campaign: the id named ('cmp-0002', 'campaign 2'), else the last one measured, else the latest
    (to that group, if one is named). Only ids that exist are planned, so the tool never has to refuse one."""
    known = a.shop.campaigns()
    if not known:
        return Plan(
            None,
            reply="There is no campaign to measure yet. Create one with a control group first (the "
            "Campaigns tab, or `segments campaign create SEGMENT`), then ask again once orders come in.",
        )
    ids = [c for c, _ in known]
    if a.s.campaign:
        if a.s.campaign not in ids:
            return Plan(None, reply=f"There is no campaign {a.s.campaign}; your campaigns are: {', '.join(ids)}.")
        wanted = a.s.campaign
    elif a.state.campaign.get("campaign_id") in ids and not a.s.groups:
        wanted = a.state.campaign["campaign_id"]
    else:
        wanted = next((c for c, g in reversed(known) if g == a.s.group), ids[-1])
    args: dict = {"campaign_id": wanted}
    window = re.search(
        r"\b(?:over|within|after|first|in|for|to|at) (?:the )?(?:first |next )?(\d+|\w+) (day|week"
        r"|month)s?\b",
        a.text,
    ) or re.search(r"\b(\d+|\w+) (day|week|month)s? (?:window|instead|after|later|on)\b", a.text)
    if window or a.s.days:
        from agent.understand.dates import number

        n = number(window.group(1)) if window else None
        days = n * phrases.UNIT_DAYS[window.group(2)] if n and window else a.s.days
        if days:
            args["window_days"] = days
    elif a.state.campaign.get("campaign_id") == wanted and "window_days" in a.state.campaign and a.s.refers_back:
        args["window_days"] = a.state.campaign["window_days"]
    args, note = valid("measure_campaign", args)
    return Plan("measure_campaign", args, note=note)


def plan_migration(a: Ask) -> Plan:
    anchor = a.shop.last_order()
    note, assumed = "", False
    if a.s.period and a.s.period.start:
        start = a.s.period.start
    elif a.s.days:
        start = anchor - dt.timedelta(days=a.s.days)
    elif a.s.refers_back and a.state.tool == "segment_migration":
        start = dt.date.fromisoformat(a.state.args["start"])
    elif a.s.as_of:
        start = a.s.as_of
    elif dates_in(a.raw, a.text, anchor):
        start = dates_in(a.raw, a.text, anchor)[0][1]
    else:
        start = months_back(anchor, 3)
        note = "You gave no date, so I compared with three months before your last order. "
        assumed = True
    lifecycle = bool(a.s.groups and all(g in STAGES for g in a.s.groups)) or a.s.lifecycle
    args = {"start": start.isoformat(), "scheme": "lifecycle" if lifecycle else "rfm"}
    if a.s.period and a.s.period.end and a.s.period.end < anchor:
        args["end"] = a.s.period.end.isoformat()
    return Plan("segment_migration", args, note=note, moves=a.s.moves, assumed=assumed)


def plan_entrants(a: Ask) -> Plan:
    args = slot_args("group_entrants", a)
    anchor = a.shop.last_order()
    if "start" not in args and search(r"that time|that period|same (time|period|window)|back then", a.text):
        start, end = a.state.period
        args.update({k: v for k, v in (("start", start), ("end", end)) if v})
    if "start" not in args:
        since = anchor - dt.timedelta(days=a.s.days) if a.s.days else months_back(anchor, 3)
        args["start"] = since.isoformat()
    args, note = valid("group_entrants", args)
    if "group" not in args:
        return Plan(
            None, reply=_which_group("Who joined which group? For example: ", ["Who went lapsed in the last 3 months?"])
        )
    return Plan("group_entrants", args, note=note)


def plan_cluster(a: Ask) -> Plan:
    args = slot_args("cluster_customers", a)
    args, note = valid("cluster_customers", args)
    return Plan(
        "cluster_customers",
        args,
        note=note + "I let the data find groups of customers who behave alike (for "
        'the standard named RFM segments, ask "show me my segments"). ',
    )


def plan_rfm(a: Ask) -> Plan:
    args, note = valid("compute_rfm", slot_args("compute_rfm", a))
    return Plan(
        "compute_rfm",
        args,
        note=note + "Here are your RFM segments: named groups from how recently, how "
        'often and how much each customer buys (ask for "groups" to let the data find its own). ',
    )


def plan_predict(a: Ask) -> Plan:
    args = slot_args("predict_value", a)
    if "group" not in args and a.carried():
        args["group"] = a.carried()
    if a.s.refers_back and a.state.tool == "predict_value":
        args = merged(a.state.args, args)
        if a.s.days and not a.s.horizon:
            args["horizon_days"] = a.s.days
    args.setdefault("horizon_days", 90)
    args, note = valid("predict_value", args)
    return Plan("predict_value", args, note=note)


def plan_breakdown(a: Ask) -> Plan:
    args = slot_args("segment_by", a)
    if "group" not in args and a.carried():
        args["group"] = a.carried()
    args.setdefault("attribute", a.state.attribute or "city")
    args, note = valid("segment_by", args)
    return Plan("segment_by", args, note=note, place=a.s.place)


def plan_draft(a: Ask) -> Plan:
    args = slot_args("draft_campaign", a)
    if "group" not in args:
        target = a.target()
        if target:
            args["group"] = target
    if "group" not in args:
        return Plan(
            None,
            reply=_which_group(
                "Which customers should I write to? For example: ",
                [
                    "Draft an email for my at-risk customers",
                    "Write a text message to my new customers",
                    "Draft an email to win back my lapsed customers",
                ],
            ),
        )
    if "channel" not in args and a.state.tool == "draft_campaign" and a.s.refers_back and a.state.channel:
        args["channel"] = a.state.channel
    args.setdefault("channel", "email")
    args, note = valid("draft_campaign", args)
    return Plan("draft_campaign", args, note=note)


def plan_refine(a: Ask) -> Plan:
    """The last draft again with what changed: length, tone, discount, channel (or another group)."""
    changes = slot_args("draft_campaign", a)
    if not a.s.group:
        changes.pop("group", None)
    if a.s.sms or a.s.email:
        changes["channel"] = "sms" if a.s.sms else "email"
    args, note = valid("draft_campaign", merged(a.state.draft, changes))
    said = [
        f"{args['discount_percent']}% off" if "discount_percent" in changes else "",
        "shorter" if changes.get("length") == "short" else "",
        f"in a {changes['tone']} tone" if "tone" in changes else "",
        "as a text message" if changes.get("channel") == "sms" else "",
    ]
    said = [w for w in said if w]
    return Plan("draft_campaign", args, note=note, recap=f"Here is the draft again, {', '.join(said)}." if said else "")


def plan_export(a: Ask) -> Plan:
    """'export that list': the last call that made a list, run again for its download."""
    if a.s.group:
        args, note = valid("list_customers", {**slot_args("list_customers", a), "group": a.s.group})
        return Plan("list_customers", args, note=note + "The whole list is in the CSV download under this answer. ")
    if a.state.lists:
        return Plan(
            a.state.lists["tool"],
            dict(a.state.lists["args"]),
            note="The whole list is in the CSV download under this answer. ",
        )
    group = a.state.group
    if group and not group.startswith("cluster_"):
        return Plan(
            "list_customers", {"group": group}, note="The whole list is in the CSV download under this answer. "
        )
    return Plan(
        None,
        reply=_which_group(
            "Which list should I export? For example: ",
            ["Export my lapsed customers", "Download my at-risk customers as a CSV"],
        ),
    )


def plan_refresh(a: Ask) -> Plan:
    """'I've added new sales, refresh': every answer reads the data as it is now, so run the last one again."""
    from tools.registry import REGISTRY

    note = (
        "Every answer reads your data as it is now, so this includes everything imported so far (import new "
        "sales in the sidebar, or `segments import FILE`). "
    )
    spec = REGISTRY.get(a.state.tool or "")
    if spec and spec.read_only:
        return Plan(a.state.tool, dict(a.state.args), note=note)
    return Plan("data_overview", {}, note=note)


def plan_list(a: Ask) -> Plan:
    target = a.s.group or (a.state.pick(a.s.pick) if a.s.pick else None) or a.carried()
    if target is None:
        return Plan("data_overview", {}) if search(r"customers|clients", a.text) else Plan(None)
    args = {"group": target, **{k: v for k, v in slot_args("list_customers", a).items() if k != "group"}}
    args, note = valid("list_customers", args)
    return Plan("list_customers", args, note=note)


def plan_describe(a: Ask) -> Plan:
    target = a.target()
    if not target:
        return Plan("data_overview", {})
    args, note = valid("describe_segment", {"group": target, **({"as_of": a.s.as_of.isoformat()} if a.s.as_of else {})})
    return Plan("describe_segment", args, note=note)


def plan_top(a: Ask) -> Plan:
    args = slot_args("top_customers", a)
    if "group" not in args and a.s.pronoun and a.state.group:
        args["group"] = a.state.group
    if args.get("group") == "champions" and not a.s.pronoun and not search(r"vips?|champions?", a.text):
        # "my top 20 customers" are everyone's top 20, whatever their segment; "among my regulars" is a group
        others = [g for g in a.s.every_group if g != "champions"]
        args.pop("group")
        if others:
            args["group"] = others[0]
    if "by" not in args and a.s.pronoun and search(r"first|contact|call|email|target", a.text):
        args["by"] = "predicted_value"  # "which of those should I contact first": most value ahead
    if a.s.refers_back and a.state.tool == "top_customers":
        args = merged(a.state.args, args)
    args, note = valid("top_customers", args)
    return Plan("top_customers", args, note=note)


def plan_compare(a: Ask) -> Plan:
    if search(phrases.EVERYONE_ELSE, a.text) and a.target():
        args, note = valid(
            "compare_groups",
            {
                "group_a": a.target(),
                "group_b": "everyone_else",
                **({"as_of": a.s.as_of.isoformat()} if a.s.as_of else {}),
            },
        )
        return Plan("compare_groups", args, note=note)
    args, note = valid("compare_groups", slot_args("compare_groups", a))
    if "group_a" not in args or "group_b" not in args:
        return Plan(
            None,
            reply=_which_group(
                "Which two groups should I compare? For example: ",
                ["Compare my champions with my loyal customers", "How do lapsed and at-risk customers differ?"],
            ),
        )
    return Plan("compare_groups", args, note=note)


def _which_group(lead: str, examples: list[str]) -> str:
    return lead + "; ".join(f'"{q}"' for q in examples) + "."


def plan_people(a: Ask) -> Plan:
    """'how many of my champions are under 30?': the age bands, with the count under that age; 'what do my
    lapsed customers care about?': their interests; 'by gender', 'by tag', 'by income'."""
    args = slot_args("customers_by_attribute", a)
    args.pop("attribute", None)
    under = re.search(r"\b(?:under|younger than|below) (\d{2})\b", a.text)
    if under:
        args["under_age"] = int(under.group(1))
    for pattern, attribute in (
        (r"\bages?\b|how old|\byoung|\bolder\b", "age_band"),
        (r"gender", "gender"),
        (r"income", "income_band"),
        (r"\btags?\b|tagged", "tag"),
        (r"\bregions?\b", "region"),
        (r"interest|care about|into\b|like", "interest"),
    ):
        if not under and search(pattern, a.text):
            args["attribute"] = attribute
            break
    args, note = valid("customers_by_attribute", args)
    return Plan("customers_by_attribute", args, note=note)


def plan_engagement(a: Ask) -> Plan:
    """'who opens our emails but hasn't bought in 3 months?': the behaviour group and its window."""
    text = a.text
    not_buying = re.search(r"\b(not|never|n t|no longer|nothing)\b.{0,12}\b(buy|bought|order|purchas)", text)
    not_opening = re.search(r"\b(not|never|n t|no longer|nothing)\b.{0,12}\b(open|read)", text)
    if re.search(r"unsubscrib|bounc|unreachable|can ?not (be )?reach", text):
        group = "unreachable"
    elif not_opening and not not_buying:
        group = "buying_not_opening"
    else:
        group = "engaged_not_buying"
    args: dict = {"group": group}
    window = re.search(r"\b(\d+|a|one|two|three|four|five|six|nine|twelve) (day|week|month|year)s?\b", text)
    if window:
        words = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "nine": 9, "twelve": 12}
        n = int(window.group(1)) if window.group(1).isdigit() else words[window.group(1)]
        args["days"] = n * {"day": 1, "week": 7, "month": 30, "year": 365}[window.group(2)]
    if a.s.as_of:
        args["as_of"] = a.s.as_of.isoformat()
    args, note = valid("email_engagement", args)
    return Plan("email_engagement", args, note=note)


def plan_campaign(a: Ask) -> Plan:
    """'send a 10% off code to people who drifted away, with a control group': the split's plan for that group
    (a held-out share said in the question is used; a discount is the draft's business, not the split's)."""
    target = a.target()
    if not target:
        return Plan(
            None,
            reply=_which_group(
                "Which group is the campaign for? For example: ",
                [
                    "Set up a win-back email for my lapsed customers with a control group",
                    "How many of my at-risk customers should I hold out?",
                ],
            ),
        )
    args: dict = {"group": target}
    share = r"(\d{1,2}) ?(?:%|percent|per cent)"
    held = re.search(rf"\b{share}\s+(?:\w+\s+)?(?:held out|hold ?out|control|as (?:a )?control)", a.text) or re.search(
        rf"(?:hold(?:ing)? out|held out|control group of)\s+{share}", a.text
    )
    if held:
        args["holdout"] = int(held.group(1)) / 100
    if a.s.as_of:
        args["as_of"] = a.s.as_of.isoformat()
    args, note = valid("plan_campaign", args)
    return Plan("plan_campaign", args, note=note)


# Intents whose question, with a group and who-they-are words, is a list of the group narrowed by them; a count
# or breakdown ("how many of my champions are under 30?") stays the breakdown it asks for.
NARROWABLE = ("list_customers", "customers_by_attribute", "email_engagement", "export_list")
_COUNTING = (
    r"\bhow many\b|\bwhat (share|percent|proportion)|\bbreak\b|\bsplit\b|\bby (age|gender|income|tags?|"
    r"interests?)\b|\bwhat (are|do|does|is)\b|\bcare about\b|\binterested in$"
)


_LISTING = (
    r"^(list|show|who|which|only|just|give me|get me|find)\b"
    r"|\b(list|show me|who are|which of|only the|just the)\b"
)


def narrows_last_list(a: Ask) -> bool:
    """'only the ones in Leeds', 'just those who spent over 100': the last list, narrowed further. After a list of
    everyone narrowed by a condition, also 'which of them are in Halifax', 'how many of them are under 40': that
    list has no group a breakdown could stand for, so a question about them is the list narrowed again."""
    if a.state.tool != "list_customers" or a.s.groups or a.s.cluster:
        return False
    if re.match(r"(and )?(only|just|but only|now only|of (them|those),? (only|just))\b", a.text):
        return True
    everyone = not a.state.args.get("group") and bool(a.state.args.get("where"))
    return everyone and bool(re.search(r"\b(which|how many|who|any|are any|all) of (them|those|these)\b", a.text))


def _totals_of_last_list(a: Ask) -> bool:
    """'how much have those spent altogether', right after a list narrowed by a condition: its total is the
    list's, not the shop's sales."""
    return (
        a.state.tool == "list_customers"
        and bool(a.state.args.get("where"))
        and a.s.pronoun
        and bool(search(r"\bhow much\b.{0,30}\b(spent|spend|spending|worth)\b|\b(altogether|in total|total)\b", a.text))
    )


def _behaviour_parts(a: Ask, intent: str) -> list[str]:
    """Conditions for what customers did, said in a list question (``agent.understand.behaviour``): place,
    purchases, spend, time since the last order, how often. A place narrows a list only."""
    from agent.understand.behaviour import behaviour_conditions

    parts = behaviour_conditions(a.raw, a.text, a.shop.last_order(), a.shop.names())
    if intent != "list_customers":
        parts = [p for p in parts if not p.startswith(("city ", "country "))]
    return parts


# Questions about everyone (no group named) that a condition can answer: a list or a count of the customers who
# did or are what was said ("everyone in halifax or todmorden who spent over a hundred quid", "how many only ever
# bought once"). Totals of money over a period stay the sales questions they are.
_EVERYONE_INTENTS = (*NARROWABLE, "segment_by", "data_overview", "sales_over_time")
# A question that opens by asking for people is a list, whatever else its words are like ("who opens most of our
# emails but hasn't bought since july" is not July's sales).
_PEOPLE_FIRST = (
    r"^(can (you|u) )?(who|whos|which|anyone|anybody|everyone|everybody|list|show|pull up|find|get me|give me)\b"
    r"|^how many (people|ppl|customers|folks?)\b"
)
_ABOUT_PEOPLE = (
    r"\b(who|whos|which|anyone|anybody|everyone|everybody|people|ppl|customers|folk|folks|those|ones|how many|"
    r"list|show|pull up|find|get me|give me)\b"
)


def _everyone_narrowed(intent: str, a: Ask, parts: list[str]) -> bool:
    """Whether a question naming no group is a list of everyone narrowed by ``parts``: two conditions or more,
    or one that is not a place alone (a place alone is the breakdown by place the owner knows)."""
    if intent not in _EVERYONE_INTENTS or not parts or not search(_ABOUT_PEOPLE, a.text):
        return False
    if intent == "sales_over_time" and not search(_PEOPLE_FIRST, a.text):
        return False
    if intent == "email_engagement" and all(p.startswith(("open_rate", "click_rate", "unsubscribed")) for p in parts):
        return False  # "who buys but never opens our emails": the email behaviour groups answer that
    if len(parts) >= 2:
        return True
    only = parts[0]
    if only.startswith(("city ", "country ")):
        return bool(search(_LISTING, a.text))  # "do we get a lot from leeds, manchester": where they are, by place
    return intent != "customers_by_attribute" or not search(_COUNTING, a.text)


def plan_narrowed(intent: str, a: Ask) -> Plan | None:
    """'lapsed customers in the vegan tag', 'my champions who are under 30', 'customers who opened our emails but
    are at risk': list_customers for the group named, with the words as a ``where`` condition; None when the
    question names no group, has no such words, or asks for a count or breakdown instead."""
    from agent.understand.filters import attribute_condition

    if search(r"\b(draft|write|compose)\b.{0,30}\b(e ?mail|text|sms|message|newsletter)", a.text):
        intent = "draft_campaign"  # "draft an email to my champions who are under 30": a draft, however it reads
    if _totals_of_last_list(a):  # "how much have those spent altogether?": the list's own sums, again
        return Plan("list_customers", dict(a.state.args))
    narrowing_last = narrows_last_list(a)
    if narrowing_last or (
        intent == "segment_by" and a.s.place and search(_LISTING, a.text) and not search(r"\bhow many\b", a.text)
    ):
        intent = "list_customers"  # "only the ones in Leeds" after a list; "list my lapsed customers in Leeds"
    group = a.s.group or (a.state.pick(a.s.pick) if a.s.pick else None) or (a.carried() if a.s.pronoun else None)
    if group is None and narrowing_last:
        group = a.state.args.get("group")
    if group is None and not a.s.cluster and intent != "draft_campaign":
        return _plan_everyone(intent, a, narrowing_last)
    if intent in ("sales_over_time", "data_overview", "segment_by") and search(_PEOPLE_FIRST, a.text):
        intent = "list_customers"  # "who opens most of our emails but hasn't bought since july": people, not sales
    if intent == "draft_campaign":
        return _draft_to_a_narrowed_list(a, group)
    if intent not in NARROWABLE or (intent == "customers_by_attribute" and search(_COUNTING, a.text)):
        return None
    if group is None:
        return None
    if intent == "email_engagement" and not search(re.escape(group.replace("_", " ").removesuffix("s")), a.text):
        return None  # "who opens our emails but hasn't bought in 3 months?": a behaviour group, not 'lapsed'
    condition, note = attribute_condition(a.raw, a.shop.attributes())
    parts = [p for p in (condition, *_behaviour_parts(a, intent)) if p]
    if time_is_the_rule(group, a.text, parts):
        group = None  # "who haven't been in for a couple of months": that long, not the shop's lapsed line
    return _narrowed_list(intent, a, group, parts, note, narrowing_last)


def _draft_to_a_narrowed_list(a: Ask, group: str | None) -> Plan | None:
    """A draft goes to a whole group (segment, stage, cluster or saved segment): for customers narrowed further
    ("... in the vegan tag", "the gluten free crowd who ...", "draft them an email" after such a list), say how to
    save them as a segment first, rather than write to the whole group, the wrong people. None: a plain draft."""
    from agent.understand.filters import attribute_condition

    on_screen = a.state.tool == "list_customers" and bool(a.state.args.get("where"))
    if group is None and on_screen and (a.s.pronoun or not a.s.groups):
        return Plan(None, reply=_SAVE_FIRST.format(say="save them as a name of your choice"))
    condition, _ = attribute_condition(a.raw, a.shop.attributes())
    # Time since the last order is what the named group already says ("lapsed customers who haven't ordered in 3
    # months"); a place, a purchase, spend or how often is not.
    what = [p for p in _behaviour_parts(a, "list_customers") if not p.startswith(("recency", "last_order"))]
    if group is None or (condition is None and not what):
        return None
    who = re.sub(r"^.*?\b(?:to|for)\s+", "", a.raw.strip().rstrip("?.! "), count=1, flags=re.I)
    return Plan(None, reply=_SAVE_FIRST.format(say=f"save {who} as a name of your choice"))


_SAVE_FIRST = (
    "A draft goes to a whole group, so I have not written one to all of them. Save the ones you mean as a segment "
    'first (say "{say}"), then ask for a draft to that segment.'
)


def _plan_everyone(intent: str, a: Ask, narrowing_last: bool) -> Plan | None:
    """'everyone in halifax or todmorden who spent over a hundred quid': list_customers with no group, narrowed;
    also 'only the ones who ...' after such a list. None when the question is not one (``_everyone_narrowed``)."""
    from agent.understand.filters import attribute_parts

    if narrowing_last:
        intent = "list_customers"
    who, note = attribute_parts(a.raw, a.shop.attributes())  # each a condition: "under 30 and into vegan" is two
    parts = [*who, *_behaviour_parts(a, "list_customers")]
    if not narrowing_last and not _everyone_narrowed(intent, a, parts):
        return None
    return _narrowed_list("list_customers", a, None, parts, note, narrowing_last)


def _narrowed_list(
    intent: str, a: Ask, group: str | None, parts: list[str], note: str, narrowing_last: bool
) -> Plan | None:
    """list_customers for ``group`` (None: everyone who bought) where all of ``parts`` hold, and what the list on
    screen was narrowed by when this narrows it further."""
    if narrowing_last and a.state.args.get("where"):
        parts = [a.state.args["where"], *parts]  # "only the ones in Leeds" keeps what the list was narrowed by
    if not parts:
        return None
    args = {
        **({"group": group} if group else {}),
        "where": " and ".join(parts),
        **{k: v for k, v in slot_args("list_customers", a).items() if k not in ("group", "where")},
    }
    args, adjusted = valid("list_customers", args)
    if intent == "export_list":
        note += "The whole list is in the CSV download under this answer. "
    return Plan("list_customers", args, note=note + adjusted)


PLANNERS: dict[str, Callable[[Ask], Plan]] = {
    "plan_campaign": plan_campaign,
    "customers_by_attribute": plan_people,
    "email_engagement": plan_engagement,
    "load_data": plan_load,
    "measure_campaign": plan_measure,
    "segment_migration": plan_migration,
    "group_entrants": plan_entrants,
    "cluster_customers": plan_cluster,
    "compute_rfm": plan_rfm,
    "predict_value": plan_predict,
    "segment_by": plan_breakdown,
    "draft_campaign": plan_draft,
    "refine_draft": plan_refine,
    "export_list": plan_export,
    "refresh": plan_refresh,
    "list_customers": plan_list,
    "describe_segment": plan_describe,
    "top_customers": plan_top,
    "compare_groups": plan_compare,
    "data_overview": lambda a: Plan("data_overview", {}),
}


def plan_intent(intent: str, a: Ask) -> Plan:
    planner = PLANNERS.get(intent)
    plan = planner(a) if planner else generic(intent, a)
    return with_cluster_k(plan, a.state)


def with_cluster_k(plan: Plan, state: State) -> Plan:
    """A cluster named after a clustering of k groups is one of those k (the tools' default k may differ)."""
    from tools.registry import REGISTRY

    spec = REGISTRY.get(plan.tool or "")
    groups = [plan.args.get(n) for n in ("group", "group_a", "group_b")]
    if (
        spec
        and "k" in spec.args_model.model_fields
        and "k" not in plan.args
        and state.cluster_k
        and any(str(g).startswith("cluster_") for g in groups if g)
    ):
        plan.args["k"] = state.cluster_k
    return plan
