"""The offline agent: a deterministic planner from an owner's question to one tool call, and templates.

No network, no key, no model. A question is normalised, its slots read (group, attribute, place,
channel, goal, number of groups, horizon, dates), its intent picked from the phrase tables in
``agent/intents.py``, and one tool run through the same registry the LLM agent uses. The answer starts
with the tool's PII-free summary (the direct answer: counts and the rule), adds what the question
asked for in particular (Leeds' count) and one next step. Follow-ups keep context: the last group,
tool, attribute and channel carry over to "and how many of them live in Leeds?".

Planning reads the question and the conversation's own earlier *questions* only, never a tool's
result: text inside the data (a product called "ignore previous instructions") cannot steer it.
The one thing read from the store is the last order's date, to turn "since September" into a date.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from agent import intents as phrases
from agent.base import Event, Mode, OnEvent, ToolCall, Turn
from tools.base import ToolArgsError, ToolContext, ToolFailure, ToolResult

GROUP_TOOLS = ("list_customers", "describe_segment", "draft_campaign", "predict_value", "segment_by")
STAGES = ("new", "active", "lapsing", "lapsed")


@dataclass
class Plan:
    """One tool call (``tool`` and ``args``), or none and a ``reply`` (help, a question back)."""

    tool: str | None
    args: dict = field(default_factory=dict)
    note: str = ""  # said before the summary: why this tool, which dates, what was adjusted
    reply: str = ""
    place: str | None = None  # "Leeds" in "how many of them live in Leeds?"
    moves: tuple[str | None, str | None] = (None, None)  # (from, to) in "who moved from champions to ..."
    offer: str | None = None  # for a reply: the question a plain "yes" to it stands for


@dataclass(frozen=True)
class Shop:
    """What planning may know besides the question: dates and file names, never a value inside the data."""

    last_order: Callable[[], dt.date] = dt.date.today  # turns "since September" into a date
    has_data: Callable[[], bool] = bool  # bool() is False: nothing to overwrite
    uploads: tuple[str, ...] = ()  # names of the files uploaded this session
    campaigns: Callable[[], list[tuple[str, str]]] = list  # (id, group) of each campaign so far, oldest first


@dataclass
class State:
    """What a follow-up may refer back to: the last plan's tool, arguments and slots."""

    tool: str | None = None
    args: dict = field(default_factory=dict)
    group: str | None = None
    attribute: str | None = None
    channel: str | None = None
    offer: str | None = None  # the question the last next step offered ("draft them an email")


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'").replace("'", "")
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def _search(pattern: str, text: str) -> re.Match | None:
    return re.search(rf"\b(?:{pattern})\b", text)


def _earliest(table: tuple[tuple[str, str], ...], text: str) -> list[tuple[int, int, str]]:
    """Every (start, -length, value) the table finds, earliest first, longest on a tie, none overlapping
    an earlier one ("could become loyal" is potential_loyalists, not also loyal)."""
    found = sorted((m.start(), m.start() - m.end(), value)
                   for pattern, value in table for m in re.finditer(rf"\b(?:{pattern})\b", text))
    kept, end = [], -1
    for start, neg_length, value in found:
        if start >= end:
            kept.append((start, neg_length, value))
            end = start - neg_length
    return kept


def _number(word: str) -> int | None:
    return int(word) if word.isdigit() else phrases.NUMBER_WORDS.get(word)


_NUM = r"(\d+|" + "|".join(sorted(phrases.NUMBER_WORDS, key=len, reverse=True)) + r")"


@dataclass
class Slots:
    groups: list[str]
    moves: tuple[str | None, str | None]
    cluster: str | None
    attribute: str | None
    place: str | None
    sms: bool
    email: bool
    goal: str | None
    k: int | None
    horizon: int | None
    limit: int | None
    sort_by: str | None
    pronoun: bool  # "how many of *them*": the group the conversation is about
    follow_up: bool  # "what about ...", "and ...": the last question, one thing changed

    @property
    def refers_back(self) -> bool:
        return self.pronoun or self.follow_up

    def carried_group(self, state: State) -> str | None:
        """The group a follow-up means: the last one named for a pronoun, the last call's for 'and ...'."""
        return state.group if self.pronoun else state.args.get("group") if self.follow_up else None


def read_slots(raw: str, text: str) -> Slots:
    strong = _earliest(phrases.GROUP_PHRASES, text)
    groups = list(dict.fromkeys(g for _, _, g in strong))
    if "new_customers" in raw.lower():
        groups = ["new_customers", *[g for g in groups if g != "new"]]
    if not groups:
        groups = [g for _, _, g in _earliest(phrases.WEAK_GROUP_PHRASES, text)][:1]
    cluster = re.search(r"\b(?:cluster|group) ?([1-8])\b", text)  # the tools make at most 8
    attrs = _earliest(phrases.ATTRIBUTE_PHRASES, text)
    place = _place(raw)
    attribute = attrs[0][2] if attrs else None
    if place and attribute in (None, "city", "country"):
        attribute = "country" if place.lower() in phrases.COUNTRIES else "city"
    k = re.search(rf"\b{_NUM} (?:different |distinct |separate )?(groups|clusters|segments|types|kinds|buckets"
                  rf"|personas|tribes)\b", text)
    horizon = _horizon(text)
    limit = re.search(r"\b(?:top|first|best) (\d+)\b", text)
    sort_by = ("recency" if _search(r"most recent|recently|latest|by recency|by last order", text)
               else "clv" if _search(r"predicted value|future value|by clv|most likely to spend", text) else None)
    goal = next((v for p, v in phrases.GOAL_PHRASES if _search(p, text)), None)
    return Slots(
        groups=groups, moves=_moves(text, strong),
        cluster=f"cluster_{cluster.group(1)}" if cluster else None,
        attribute=attribute, place=place, sms=bool(_search(phrases.SMS_PHRASES, text)),
        email=bool(_search(r"e ?mails?|newsletter", text)), goal=goal,
        k=_number(k.group(1)) if k else None, horizon=horizon,
        limit=int(limit.group(1)) if limit else None, sort_by=sort_by,
        pronoun=bool(_search(phrases.PRONOUNS, text)), follow_up=bool(re.search(phrases.FOLLOW_UPS, text)),
    )


def _moves(text: str, found: list[tuple[int, int, str]]) -> tuple[str | None, str | None]:
    """Which named group a move starts from and which it ends in: 'from champions', 'became lapsed'."""
    start = end = None
    for at, _, group in found:
        before = text[:at].split()[-2:]
        if end is None and {"became", "become", "becoming", "turned", "into", "to", "now"} & set(before):
            end = group
        elif start is None:
            start = group
    return start, end


# Capitalised words that open a question or a request, never a place ("Which customers are slipping away?").
_NOT_PLACES = frozenset({
    "which", "what", "who", "whose", "whom", "how", "where", "when", "why", "show", "list", "find", "give",
    "tell", "get", "are", "is", "do", "does", "did", "can", "could", "would", "will", "should", "any", "all",
    "our", "your", "these", "those", "top", "best", "most", "some", "each", "every",
})


def _place(raw: str) -> str | None:
    """A place the owner names: 'in Leeds', 'from Hebden Bridge', 'live in york'."""
    m = (re.search(r"\b(?:in|from|near|around)\s+([A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*)*)", raw)
         or re.match(r"([A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*)*)\s+(?:customers|clients|shoppers|buyers)\b", raw)
         or re.search(r"\b(?:live|living|lives|based|located)\s+(?:in|from)\s+([a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)",
                      raw.lower().rstrip("?!. ")))
    if not m:
        return None
    place = m.group(1).strip(" .'")
    norm = normalise(place)
    if norm.split(" ")[0] in _NOT_PLACES:  # "Which customers...", "Show customers...": a question, not a town
        return None
    if (not norm or _search(phrases.MONTH_WORD, norm) or norm in phrases.SEASONS
            or _earliest(phrases.GROUP_PHRASES, norm)
            or _search(r"the|a|my|total|store|shop|person|ages|a while|danger|i|rfm|cluster \d", norm)):
        return None
    return place if place[0].isupper() else place.title()


def _horizon(text: str) -> int | None:
    m = re.search(rf"\b(?:next|coming|over the next|within|in) (?:the )?{_NUM}? ?(day|week|month|quarter|year)s?\b",
                  text)
    if not m or not _search(r"next|coming|ahead|within|will|going to", text):
        return None
    return (_number(m.group(1)) if m.group(1) else 1) * phrases.UNIT_DAYS[m.group(2)]


def _months_back(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _recent(anchor: dt.date, month: int, day: int, year: int | None) -> dt.date:
    """The date with this month and day: in ``year`` if given, else the last one before ``anchor``."""
    day = min(day, calendar.monthrange(year or anchor.year, month)[1])
    if year:
        return dt.date(year, month, day)
    found = dt.date(anchor.year, month, day)
    return found if found < anchor else dt.date(anchor.year - 1, month, min(day, calendar.monthrange(
        anchor.year - 1, month)[1]))


def resolve_start(raw: str, text: str, anchor: dt.date) -> tuple[dt.date, str]:
    """The earlier date of 'since September', 'since 1 Sept', 'in the last 3 months', relative to the
    data's last order (``anchor``), and how it was read; three months back when the question has none."""
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", raw)
    if iso:
        try:
            return dt.date(*map(int, iso.groups())), ""
        except ValueError:
            pass
    month = rf"{phrases.MONTH_WORD}"
    m = (re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)? (?:of )?{month}\b(?: (\d{{4}}))?", text)
         or re.search(rf"\b{month} (\d{{1,2}})(?:st|nd|rd|th)?\b(?: (\d{{4}}))?", text))
    if m:
        parts = [g for g in m.groups() if g]
        day = int(parts[0]) if parts[0].isdigit() else int(next(p for p in parts[1:] if p.isdigit()))
        name = next(p for p in parts if not p.isdigit())
        year = int(parts[-1]) if len(parts[-1]) == 4 and parts[-1].isdigit() else None
        if 1 <= day <= 31:
            return _recent(anchor, phrases.MONTHS[name[:3]], day, year), ""
    m = re.search(rf"\b(?:since|from|after|in|start of|beginning of|end of|before) (?:the )?{month}\b"
                  rf"(?: (\d{{4}}))?", text)
    if m:
        year = re.search(r"\d{4}", m.group(0))
        return _recent(anchor, phrases.MONTHS[m.group(1)[:3]], 1, int(year.group()) if year else None), ""
    m = re.search(r"\b(?:since|from|after) (?:the )?(" + "|".join(phrases.SEASONS) + r")\b", text)
    if m:
        return _recent(anchor, *phrases.SEASONS[m.group(1)], None), ""
    if _search(r"this year|year to date|ytd", text):
        return dt.date(anchor.year if anchor > dt.date(anchor.year, 1, 1) else anchor.year - 1, 1, 1), ""
    m = re.search(rf"\b(?:last|past|previous) {_NUM}? ?(day|week|month|quarter|year)s?\b", text) or re.search(
        rf"\b{_NUM} (day|week|month|quarter|year)s? ago\b", text)
    if m:
        n = min(_number(m.group(1)) if m.group(1) else 1, 100)  # a century back is before any shop's data
        unit = m.group(2)
        if unit in ("month", "quarter", "year"):
            return _months_back(anchor, n * {"month": 1, "quarter": 3, "year": 12}[unit]), ""
        return anchor - dt.timedelta(days=n * phrases.UNIT_DAYS[unit]), ""
    return _months_back(anchor, 3), "You gave no date, so I compared with three months before your last order. "


def _clamp(value: int, low: int, high: int, what: str) -> tuple[int, str]:
    if low <= value <= high:
        return value, ""
    kept = min(max(value, low), high)
    return kept, f"I can do {low} to {high} {what}, so I used {kept}. "


def _measure_plan(raw: str, text: str, group: str | None, shop: Shop) -> Plan:
    """Which campaign: the id named ('cmp-0002', 'campaign 2'), else the latest (to that group, if one is
    named). Only ids that exist are planned, so the tool never has to refuse one."""
    known = shop.campaigns()
    if not known:
        return Plan(None, reply="There is no campaign to measure yet. Create one with a control group first (the "
                    "Campaigns tab, or `segments campaign create SEGMENT`), then ask again once orders come in.")
    ids = [c for c, _ in known]
    number = re.search(r"\bcmp-?0*(\d+)\b", raw.lower()) or re.search(r"\bcampaign (?:no |number )?0*(\d+)\b", text)
    if number:
        wanted = f"cmp-{int(number.group(1)):04d}"
        if wanted not in ids:
            return Plan(None, reply=f"There is no campaign {wanted}; your campaigns are: {', '.join(ids)}.")
    else:
        wanted = next((c for c, g in reversed(known) if g == group), ids[-1])
    window = re.search(rf"\b(?:over|within|after|first|in) (?:the )?(?:first )?{_NUM} (day|week)s?\b", text)
    args = {"campaign_id": wanted}
    note = ""
    if window:
        args["window_days"], note = _clamp((_number(window.group(1)) or 1) * phrases.UNIT_DAYS[window.group(2)], 1,
                                           365, "days after a campaign")
    return Plan("measure_campaign", args, note=note)


def _no_cluster(group: str | None, what: str) -> tuple[str | None, str]:
    if group and group.startswith("cluster_"):
        return None, f"{what} work on segments and stages, not clusters, so this is about all customers. "
    return group, ""


def plan_question(question: str, state: State, shop: Shop = Shop()) -> Plan:
    """The tool and arguments for one question, given what the conversation was about."""
    raw = question.strip()
    text = normalise(raw)
    if not text or re.search(phrases.HELP, text):
        return Plan(None, reply=_help())
    if re.search(phrases.YES, text) and state.offer:
        return plan_question(state.offer, replace(state, offer=None), shop)
    fresh = bool(_search(r"replace|afresh|from scratch|start over|instead of", text))
    named_file = [n for n in sorted(shop.uploads) if n.lower() in raw.lower()]
    if not named_file and len(shop.uploads) == 1 and _search(r"(my|the|this) (file|export|upload|spreadsheet)", text):
        named_file = list(shop.uploads)
    if named_file and _search(r"load|import|use|add|upload|open|read", text):
        return Plan("load_data", {"source": named_file[0], **({"replace": True} if fresh else {})})
    s = read_slots(raw, text)
    bare = re.fullmatch(rf"(?:and |now |then |ok )?(?:try |what about |how about |make it |with )?{_NUM}"
                        r"(?: instead| please)?", text)
    if bare and state.tool == "cluster_customers":
        s.k = _number(bare.group(1))  # "try 5 instead" after a clustering
    group = s.groups[0] if s.groups else None
    intent = _intent(text, s, state)

    if intent is None:
        return Plan(None, reply=suggest(raw))
    if intent == "load_data":
        if not fresh and shop.has_data():  # the demo replaces what is there: ask first
            return Plan(None, reply="Loading the demo shop replaces the data you have now. Say \"yes\" to go "
                        "ahead.", offer="load the demo and replace my data")
        # The demo always replaces the data; past the question above, say so to the tool.
        return Plan("load_data", {"source": "demo", "replace": True})
    if intent == "measure_campaign":
        return _measure_plan(raw, text, group, shop)
    if intent == "data_overview":
        return Plan("data_overview", {})
    if intent == "compute_rfm":
        return Plan("compute_rfm", {}, note="Here are your RFM segments: named groups from how recently, how often "
                    "and how much each customer buys (ask for \"groups\" to let the data find its own). ")
    if intent == "cluster_customers":
        args, note = {}, ""
        if s.k is not None:
            args["k"], note = _clamp(s.k, 2, 8, "groups")
        return Plan("cluster_customers", args, note=note + "I let the data find groups of customers who behave "
                    "alike (for the standard named RFM segments, ask \"show me my segments\"). ")
    if intent == "segment_migration":
        start, note = resolve_start(raw, text, shop.last_order())
        lifecycle = (s.groups and all(g in STAGES for g in s.groups)) or _search(r"lifecycle|stages?", text)
        return Plan("segment_migration", {"start": start.isoformat(), "scheme": "lifecycle" if lifecycle else "rfm"},
                    note=note, moves=s.moves)
    if intent == "predict_value":
        target, note = _no_cluster(s.cluster or group or s.carried_group(state), "Predictions")
        horizon = s.horizon or (state.args.get("horizon_days") if s.refers_back and state.tool == intent else None)
        horizon, clamped = _clamp(horizon or 90, 7, 730, "days ahead")
        return Plan("predict_value", {"horizon_days": horizon, **({"group": target} if target else {})},
                    note=clamped + note)
    if intent == "segment_by":
        target, note = _no_cluster(group or s.carried_group(state), "Breakdowns")
        return Plan("segment_by", {"attribute": s.attribute or state.attribute or "city",
                                   **({"group": target} if target else {})}, note=note, place=s.place)
    # The rest need a group: the one named, else the one the conversation is about.
    target = s.cluster or group or s.carried_group(state) or (state.group if intent != "list_customers" else None)
    if intent == "draft_campaign":
        if target is None:
            return Plan(None, reply="Which customers should I write to? For example: " + _quote(
                ["Draft an email for my at-risk customers", "Write a text message to my new customers",
                 "Draft an email to win back my lapsed customers"]))
        if target.startswith("cluster_"):
            return Plan(None, reply="I can draft messages for RFM segments and lifecycle stages, not for "
                        "machine-found clusters yet. Try \"draft an email for my at-risk customers\".")
        channel = "sms" if s.sms else "email" if s.email else (state.channel if state.tool == intent else None)
        args = {"group": target, "channel": channel or "email"}
        return Plan("draft_campaign", {**args, "goal": s.goal} if s.goal else args)
    if intent == "describe_segment" or (target and target.startswith("cluster_")):
        return Plan("describe_segment", {"group": target}) if target else Plan("data_overview", {})
    if target is None:
        return Plan("data_overview", {}) if _search(r"customers|clients", text) else Plan(None, reply=suggest(raw))
    args, note = {"group": target}, ""
    if s.sort_by:
        args["sort_by"] = s.sort_by
    if s.limit:
        args["limit"], note = _clamp(s.limit, 1, 1000, "customers")
    return Plan("list_customers", args, note=note)


def _intent(text: str, s: Slots, state: State) -> str | None:
    named = bool(s.groups or s.cluster)
    for name in phrases.INTENT_ORDER:
        if name == "segment_by":
            if s.attribute and (s.place is None or _search(r"customers|clients|buyers|shoppers|people|them|they|who"
                                                          r"|how many|live|based", text)):
                return name
        elif _search(phrases.INTENT_PHRASES[name], text):
            if name == "segment_migration" and not (named or _search(r"moved|changed?|changes|migrat\w*|since|compare",
                                                                     text)):
                continue  # "what changed" needs no group; "fell" or "turned" alone is not a move
            if name == "segment_migration" and _search(r"havent|hasnt|have not|has not|not|stopped|no longer", text) \
                    and not _search(r"moved|changed?|changes|migrat\w*|became|went from|dropped", text):
                continue  # "who hasn't been in since the summer" asks for a list, not the moves
            if name in ("cluster_customers", "compute_rfm") and s.cluster:
                return "describe_segment"  # "tell me about cluster 2"
            if name == "data_overview" and named:  # "an overview of my champions", "how many customers churned"
                return "describe_segment" if _search(r"overview|summary|summari[sz]e|describe", text) else \
                    "list_customers"
            if name in ("list_customers", "describe_segment") and len(s.groups) > 1:
                return "segment_migration"  # "champions who are now at risk"
            if name in ("compute_rfm", "list_customers", "describe_segment") and s.k is not None:
                return "cluster_customers"  # only clustering takes a number of groups
            if name == "list_customers" and s.goal and s.groups:
                return "draft_campaign"  # "I want to reward my most loyal customers"
            return name
    if s.k is not None:
        return "cluster_customers"
    if s.refers_back and state.tool and (named or s.attribute or s.horizon or s.sms or s.email):
        return state.tool if (state.tool in GROUP_TOOLS or not named) else "list_customers"
    if s.goal and s.groups:
        return "draft_campaign"  # "I want to reward my most loyal customers"
    return "list_customers" if named else None


def suggest(question: str, n: int = 3) -> str:
    """'I'm not sure what you mean' and the ``n`` example questions nearest to this one, in a fixed order."""
    words = set(normalise(question).split()) - phrases.STOP_WORDS

    def score(example: str) -> float:
        theirs = set(normalise(example).split()) - phrases.STOP_WORDS
        overlap = len(words & theirs) / max(len(words | theirs), 1)
        return overlap + 0.5 * difflib.SequenceMatcher(None, normalise(question), normalise(example)).ratio()

    ranked = sorted(range(len(phrases.EXAMPLES)), key=lambda i: (-score(phrases.EXAMPLES[i]), i))
    return "I'm not sure what you mean. I can answer questions like: " + _quote(
        [phrases.EXAMPLES[i] for i in ranked[:n]])


def _quote(questions: list[str]) -> str:
    return "; ".join(f"\"{q}\"" for q in questions) + "."


def _help() -> str:
    return ("I answer questions about your customers from your own data, offline: who is lapsed or at risk, your "
            "segments and groups, what a group is like, who moved, what customers will spend, breakdowns by city "
            "or product, and email or text drafts. For example: " + _quote(list(phrases.EXAMPLES[:4])))


class OfflineAgent:
    """The embedded default agent: one conversation, deterministic, no network."""

    mode: Mode = "offline"

    def __init__(self, ctx: ToolContext, *, mode: Mode = "offline") -> None:
        self.ctx = ctx
        self.mode = mode  # the LLM agent's fallback passes "offline-fallback"
        self.state = State()

    def plan(self, question: str) -> Plan:
        shop = Shop(self._last_order_date, self._has_data, tuple(self.ctx.uploads), self._campaigns)
        return plan_question(question, self.state, shop)

    def ask(self, question: str, *, on_event: OnEvent | None = None) -> Turn:
        return self.answer_with(question, self.plan(question), on_event=on_event)

    def answer_with(self, question: str, plan: Plan, *, on_event: OnEvent | None = None) -> Turn:
        """Run ``plan``'s tool (if any), write the answer, remember the context, report progress."""
        from tools.registry import run_tool

        emit = on_event or (lambda event: None)
        calls: list[ToolCall] = []
        answer = plan.reply
        if plan.tool:
            call = ToolCall(plan.tool, dict(plan.args))
            calls.append(call)
            emit(Event("tool_start", name=call.name, args=dict(call.args)))
            try:
                call.result = run_tool(call.name, call.args, self.ctx)
            except ToolFailure as exc:
                call.error = str(exc)
            except ToolArgsError as exc:  # a plan never makes one, but a tool may ("cluster_5" of four)
                call.error = "That did not work: " + str(exc).split(": ", 1)[-1]
            emit(Event("tool_end", name=call.name, text=call.error or call.result.summary))
            answer, offer = (call.error, None) if call.error else compose(plan, call.result)
            self._remember(plan, offer)
        else:
            self.state = replace(self.state, offer=plan.offer)
        emit(Event("token", text=answer))
        return Turn(question=question, answer=answer, mode=self.mode, tool_calls=calls)

    def _remember(self, plan: Plan, offer: str | None) -> None:
        args = plan.args
        self.state = State(
            tool=plan.tool, args=dict(args), group=args.get("group", self.state.group),
            attribute=args.get("attribute", self.state.attribute), channel=args.get("channel", self.state.channel),
            offer=offer,
        )

    def _last_order_date(self) -> dt.date:
        return self._last_order() or dt.date.today()  # no data yet: the migration tool says so in its own words

    def _has_data(self) -> bool:
        return self._last_order() is not None

    def _campaigns(self) -> list[tuple[str, str]]:
        import duckdb

        from segmentation.campaigns import list_campaigns
        from segmentation.store import StoreError

        try:
            with self.ctx.read() as con:
                frame = list_campaigns(con)
        except (StoreError, duckdb.Error, OSError):
            return []
        return list(zip(frame["id"].astype(str), frame["segment"].astype(str), strict=True))

    def _last_order(self) -> dt.date | None:
        import duckdb

        from segmentation.rfm import last_order_date
        from segmentation.store import StoreError

        try:
            with self.ctx.read() as con:
                return last_order_date(con)
        except (StoreError, duckdb.Error, OSError):
            return None


def compose(plan: Plan, result: ToolResult) -> tuple[str, str | None]:
    """The answer (what was asked in particular, the why, the tool's summary, one next step) and the
    question a plain "yes" to that next step stands for."""
    summary = result.summary.strip()
    parts = [_place_sentence(plan, result) or _moves_sentence(plan, result), plan.note.strip(),
             summary[:1].upper() + summary[1:]]
    step, offer = next_step(plan, result)
    return " ".join(p for p in [*parts, step] if p), offer


def next_step(plan: Plan, result: ToolResult) -> tuple[str, str | None]:
    from tools.wording import label

    group, key = plan.args.get("group"), plan.tool
    if key == "segment_by":
        key = "segment_by_group" if group else key
    elif key == "list_customers" and result.facts.get("count") == 0:
        key = "list_customers_empty"
    elif key in ("describe_segment", "predict_value") and group and group.startswith("cluster_"):
        key = "describe_cluster"
    step, offer = phrases.NEXT_STEPS[key]
    other = "a text message" if plan.args.get("channel") == "email" else "an email"
    following = int(group.split("_")[1]) + 1 if group and group.startswith("cluster_") else 0
    fill = {"other": other, "attribute": label(plan.args.get("attribute", "")), "next": following}
    return step.format(**fill), offer.format(**fill) if offer else None


def _place_sentence(plan: Plan, result: ToolResult) -> str:
    """'39 of your lapsed customers are in Leeds (...)', read from the breakdown's value and numbers only."""
    if plan.tool != "segment_by" or not plan.place or result.table is None:
        return ""
    from tools.wording import label, money

    group = plan.args.get("group")
    who = ("your customers" if not group else f"your {label(group)}" if group.endswith(("s", "customers"))
           else f"your {label(group)} customers")
    table = result.table
    hits = table[table["value"].astype(str).map(normalise) == normalise(plan.place)]
    if hits.empty:
        return f"None of {who} are in {plan.place}, going by the {label(plan.args['attribute'])} in your data."
    row = hits.iloc[0]
    return (f"{int(row['customers']):,} of {who} are in {plan.place}; they have spent {money(float(row['revenue']))} "
            f"in all.")


def _moves_sentence(plan: Plan, result: ToolResult) -> str:
    """'Of the 90 customers who were champions on 2026-06-01, 43 still are; 47 are now loyal.' (from the matrix)"""
    start, end = plan.moves
    matrix = result.facts.get("matrix") or {}
    if plan.tool != "segment_migration" or not (start in matrix or any(end in row for row in matrix.values())):
        return ""
    from segmentation.migration import NEW_ARRIVALS
    from tools.wording import label

    day0, day1 = result.facts["start"], result.facts["end"]

    def listing(counts: dict[str, int]) -> str:
        moved = sorted(((n, k) for k, n in counts.items() if n), key=lambda x: -x[0])
        return ", ".join(f"{n:,} {'not yet customers' if k == NEW_ARRIVALS else label(k)}" for n, k in moved) or "none"

    if start in matrix and end and end in matrix[start]:
        return f"{matrix[start][end]:,} customers who were {label(start)} on {day0} are {label(end)} on {day1}."
    if start in matrix:
        row = matrix[start]
        others = {k: n for k, n in row.items() if k != start}
        return (f"Of the {sum(row.values()):,} customers who were {label(start)} on {day0}, {row.get(start, 0):,} "
                f"still are on {day1}; the others are now: {listing(others)}.")
    came = {k: row.get(end, 0) for k, row in matrix.items() if k != end}
    return (f"{sum(came.values()):,} customers became {label(end)} between {day0} and {day1}; they were: "
            f"{listing(came)}.")
