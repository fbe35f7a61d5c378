"""Slots: everything a question fixes besides what it asks. Groups, a place, an attribute, sizes (k groups,
top N, days ahead, a window), dates and periods, a money threshold, a campaign id, a channel, a goal, a
tone, a length, a discount, and the words that point back at the conversation ("them", "the biggest one").

Reads the cleaned question (``agent.understand.text``) and, for places, the raw one (capitals) and the
shop's own place names; never a tool's result.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from agent import intents as phrases
from agent.understand import dates
from agent.understand.dates import NUM, Period, number
from agent.understand.text import normalise


def search(pattern: str, text: str) -> re.Match | None:
    return re.search(rf"\b(?:{pattern})\b", text)


def earliest(table: tuple[tuple[str, str], ...], text: str) -> list[tuple[int, int, str]]:
    """Every (start, -length, value) the table finds, earliest first, longest on a tie, none overlapping
    an earlier one ("could become loyal" is potential_loyalists, not also loyal)."""
    found = sorted(
        (m.start(), m.start() - m.end(), value)
        for pattern, value in table
        for m in re.finditer(rf"\b(?:{pattern})\b", text)
    )
    kept, end = [], -1
    for start, neg_length, value in found:
        if start >= end:
            kept.append((start, neg_length, value))
            end = start - neg_length
    return kept


@dataclass
class Slots:
    groups: list[str] = field(default_factory=list)
    every_group: list[str] = field(default_factory=list)  # all groups named, weak words too, in order
    clusters: list[str] = field(default_factory=list)  # every cluster named ("cluster 1 vs cluster 2")
    by_scheme: str | None = None  # "by segment" -> "rfm", "by stage" -> "lifecycle"
    moves: tuple[str | None, str | None] = (None, None)
    cluster: str | None = None
    attribute: str | None = None
    place: str | None = None
    sms: bool = False
    email: bool = False
    goal: str | None = None
    k: int | None = None
    horizon: int | None = None
    limit: int | None = None
    sort_by: str | None = None
    rank_by: str | None = None  # "spend" or "predicted_value" (top customers); "revenue"/"value_at_stake" (groups)
    period: Period | None = None
    as_of: dt.date | None = None
    days: int | None = None  # a bare "60 days" ("what if we look at 60 days instead")
    min_spend: float | None = None
    campaign: str | None = None
    tone: str | None = None
    length: str | None = None
    discount: int | None = None
    lifecycle: bool = False  # "stages", "lifecycle": the lifecycle scheme rather than RFM
    pronoun: bool = False  # "how many of *them*": the group the conversation is about
    follow_up: bool = False  # "what about ...", "and ...": the last question, one thing changed
    pick: str | None = None  # "biggest", "smallest", "first", "second"... of the last listing of groups

    @property
    def refers_back(self) -> bool:
        return self.pronoun or self.follow_up or self.pick is not None

    @property
    def group(self) -> str | None:
        return self.cluster or (self.groups[0] if self.groups else None)


_ORDINALS = {
    "first": "1",
    "second": "2",
    "third": "3",
    "fourth": "4",
    "fifth": "5",
    "sixth": "6",
    "seventh": "7",
    "eighth": "8",
    "last": "last",
    "biggest": "biggest",
    "largest": "biggest",
    "smallest": "smallest",
    "top": "1",
}


def read_slots(raw: str, text: str, anchor: dt.date, places: dict[str, str] | None = None) -> Slots:
    """``raw``: the question as typed; ``text``: cleaned; ``places``: the shop's place names (normalised ->
    'city' or 'country'), so "customers in leeds" finds Leeds without a capital."""
    strong = earliest(phrases.GROUP_PHRASES, text)
    groups = list(dict.fromkeys(g for _, _, g in strong))
    if "new_customers" in raw.lower() or search(r"new customers segment", text):
        groups = ["new_customers", *[g for g in groups if g not in ("new", "new_customers")]]
    weak = earliest(phrases.WEAK_GROUP_PHRASES, text)
    if not groups:
        groups = [g for _, _, g in weak][:1]
    taken = [(at, at - neg) for at, neg, _ in strong]
    every = [(at, g) for at, _, g in strong] + [
        (at, g) for at, neg, g in weak if not any(a <= at < b for a, b in taken)
    ]
    bare = [
        (m.start(), g)
        for pattern, g in phrases.BARE_GROUP_WORDS
        for m in re.finditer(rf"\b(?:{pattern})\b", text)
        if not any(a <= m.start() < b for a, b in taken)
    ]
    every_group = list(dict.fromkeys(g for _, g in sorted(every + bare)))
    cluster_words = r"\b(?:cluster|group|segment) (?:number )?([1-8]|one|two|three|four|five|six|seven|eight)\b"
    clusters = [f"cluster_{number(m.group(1))}" for m in re.finditer(cluster_words, text)]
    cluster = re.search(cluster_words, text)
    without_groups = text
    for at, neg, _ in sorted(strong, reverse=True):  # "cannot lose them" is a group, not a "them"
        without_groups = without_groups[:at] + without_groups[at - neg :]
    attrs = earliest(phrases.ATTRIBUTE_PHRASES, text)
    place, kind = _place(raw, text, places or {})
    found = [value for _, _, value in attrs]
    attribute = "category" if "category" in found else found[0] if found else None
    if place and attribute in (None, "city", "country"):
        attribute = kind or ("country" if place.lower() in phrases.COUNTRIES else "city")
    k = (
        re.search(
            rf"\b{NUM} (?:\w+ ){{0,2}}(groups|clusters|segments|types|kinds|buckets|personas|tribes"
            r"|groupings|categories of customers)\b",
            text,
        )
        or re.search(rf"\bk (?:equals |of |is )?{NUM}\b", text)
        or re.search(rf"\bk means (?:with |into |of )?{NUM}\b", text)
        or re.search(
            rf"\b(?:cluster|clustr|split|break|divide|group)\w* (?:\w+ ){{0,3}}into {NUM}\b"
            r"(?! (?:day|week|month|year|percent))",
            text,
        )
        or re.search(rf"\b(?:groups|clusters)\b.*\b{NUM} of them\b", text)
        or re.search(rf"\b(?:cluster|clusters|groups)\b.*\b(?:say|maybe|about|like) {NUM}$", text)
    )
    limit = (
        re.search(rf"\b(?:top|first|best|biggest|highest|largest|leading) {NUM}\b", text)
        or re.search(
            rf"\b{NUM} (?:best|top|biggest|highest|most valuable) (?:customers|spenders|buyers|products"
            r"|items|cities|towns|categories)\b",
            text,
        )
        or re.search(
            rf"\b(?:give me|show me|just|only|list) (?:the )?{NUM}\b(?! (?:day|week|month|year|percent))", text
        )
        or re.search(rf"\b{NUM} (?:people|customers|spenders|buyers) (?:who|that)\b", text)
        or re.search(rf"\b(?:which|the) {NUM} (?:people|customers|spenders|buyers)\b", text)
        or re.search(r"\bsingle (biggest|best|top)\b", text)
        or re.search(r"\b(number one) customer\b", text)
        or re.search(rf"\bwhich {NUM} (?:will|are)\b", text)
    )
    sort_by = (
        "recency"
        if search(r"most recent|recently first|latest first|by recency|by last order", text)
        else "clv"
        if search(r"predicted value|future value|by clv|by lifetime value|most likely to spend", text)
        else "value"
        if search(
            r"(most valuable|highest value|biggest spenders?|highest spend(ers)?) first"
            r"|(sort|sorted|order|ordered|rank|ranked) (\w+ ){0,2}by (value|spend|revenue"
            r"|money)"
            r"|by value|biggest spend(ers)? first|highest spend(ers)? first",
            text,
        )
        else None
    )
    rank_by = (
        "predicted_value"
        if search(
            r"predicted|future|lifetime value|likely to spend|expected|forecast"
            r"|going forward|will be worth",
            text,
        )
        else "value_at_stake"
        if search(
            r"at stake|to lose|value at risk|could lose|worth the most"
            r"|losing the most"
            r"|lose the most",
            text,
        )
        else "spend"
        if search(
            r"spend|spent|spending|spends|spender|spenders|revenue|money|sales|cash"
            r"|earn\w*|makes? (me )?(the )?most",
            text,
        )
        else None
    )
    goal = next((v for p, v in phrases.GOAL_PHRASES if search(p, text)), None)
    if search(r"only (ever )?(buy|bought|ordered|shopped) (\w+ ){0,3}once|second (purchase|order|visit)", text) or (
        goal == "win_back" and groups[:1] in (["new"], ["new_customers"])
    ):
        goal = "welcome_second_purchase"  # new customers are not won back: they are brought back a second time
    period = dates.period(raw, text, anchor)
    bare_days = re.search(rf"\b{NUM} (day|week|month)s?\b", text)
    money = re.search(
        r"\b(?:over|more than|above|at least|greater than|upwards of|north of|exceeding) (?:gbp |usd "
        r"|eur )?"
        r"(\d+(?:\.\d+)?)(k)?\b",
        re.sub(r"[£$€]", "", text),
    )
    discount = re.search(rf"\b{NUM} ?(?:percent|per cent|pc)(?: off| discount)?\b", text)
    campaign = re.search(r"\bcmp ?0*(\d+)\b", text) or re.search(r"\bcampaign (?:no |number |#)?0*(\d+)\b", text)
    pick = re.search(
        r"\b(biggest|largest|smallest|first|second|third|fourth|fifth|sixth|seventh|eighth|last|top)"
        r" (one|group|cluster|segment|of (them|those|these))\b",
        text,
    ) or re.search(r"\b(?:the|that) (biggest|largest|smallest)$", text)
    return Slots(
        groups=groups,
        moves=_moves(
            text,
            sorted(
                strong
                + [(at, 0, g) for at, g in bare if re.search(r"\b(from|to|into|became|become|now)\s*$", text[:at])]
            ),
        ),
        cluster=f"cluster_{number(cluster.group(1))}" if cluster else None,
        attribute=attribute,
        place=place,
        sms=bool(search(phrases.SMS_PHRASES, text)),
        email=bool(search(r"e ?mails?|newsletter", text)),
        goal=goal,
        k=number(k.group(1)) if k else None,
        horizon=dates.horizon(text),
        limit=(1 if limit.group(1) in ("number one", "biggest", "best", "top") else number(limit.group(1)))
        if limit
        else None,
        sort_by=sort_by,
        rank_by=rank_by,
        period=period,
        as_of=dates.as_of(raw, text, anchor),
        days=(number(bare_days.group(1)) or 1) * phrases.UNIT_DAYS[bare_days.group(2)] if bare_days else None,
        min_spend=float(money.group(1)) * (1000 if money.group(2) else 1) if money else None,
        campaign=f"cmp-{int(campaign.group(1)):04d}" if campaign else None,
        tone=min(((m.start(), t) for p, t in phrases.TONES for m in [search(p, text)] if m), default=(0, None))[1],
        length=(
            "short"
            if search(r"shorter|short|brief|briefer|snappier|concise|cut it down|trim", text)
            else "standard"
            if search(r"longer|more detail|full length", text)
            else None
        ),
        discount=number(discount.group(1))
        if discount and search(r"off|discount|percent|per cent|coupon|voucher", text)
        else None,
        lifecycle=bool(search(r"lifecycle|stages?", text)),
        pronoun=bool(search(phrases.PRONOUNS, without_groups)),
        follow_up=bool(re.search(phrases.FOLLOW_UPS, text)),
        pick=_ORDINALS[pick.group(1)] if pick else None,
        every_group=every_group,
        clusters=clusters,
        by_scheme=(
            "lifecycle"
            if search(r"(by|per|each|every|across) (\w+ )?(stages?|lifecycle)", text)
            else "rfm"
            if search(
                r"(by|per|each|every|across) (\w+ )?(segments?|rfm)|segment by segment|rfm"
                r"|segment wise|rfm segments?",
                text,
            )
            else None
        ),
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
_NOT_PLACES = frozenset(
    {
        "which",
        "what",
        "who",
        "whose",
        "whom",
        "how",
        "where",
        "when",
        "why",
        "show",
        "list",
        "find",
        "give",
        "tell",
        "get",
        "are",
        "is",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "will",
        "should",
        "any",
        "all",
        "our",
        "your",
        "these",
        "those",
        "top",
        "best",
        "most",
        "some",
        "each",
        "every",
        "draft",
        "write",
        "send",
        "email",
        "split",
        "compare",
        "break",
        "rank",
        "please",
        "and",
        "now",
        "ok",
        "so",
        "then",
        "vip",
        "vips",
    }
)


def _place(raw: str, text: str, places: dict[str, str]) -> tuple[str | None, str | None]:
    """A place the owner names, and whether the shop knows it as a 'city' or a 'country'."""
    for name in sorted(places, key=len, reverse=True):  # the shop's own places, in any case
        if len(name) > 2 and re.search(rf"\b(?:in|from|near|around|at|live in|based in|for) {re.escape(name)}\b", text):
            return _title(name, raw), places[name]
    follow_up = re.search(phrases.FOLLOW_UPS, text)
    for name in sorted(places, key=len, reverse=True):
        if (
            len(name) > 3
            and re.search(rf"\b{re.escape(name)}\b", text)
            and (
                follow_up
                or re.search(rf"\b{re.escape(name)} (customers|clients|people|shoppers|buyers|based|folk|ones)\b", text)
            )
        ):
            return _title(name, raw), places[name]
    m = (
        re.search(r"\b(?:in|from|near|around)\s+([A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*)*)", raw)
        or re.match(r"([A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*)*)\s+(?:customers|clients|shoppers|buyers)\b", raw)
        or re.search(
            r"\b(?:live|living|lives|based|located)\s+(?:in|from)\s+([a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)",
            raw.lower().rstrip("?!. "),
        )
    )
    if not m:
        return None, None
    place = m.group(1).strip(" .'")
    norm = normalise(place)
    if not norm or norm.split(" ")[0] in _NOT_PLACES:
        return None, None
    if (
        search(phrases.MONTH_WORD, norm)
        or norm in phrases.SEASONS
        or earliest(phrases.GROUP_PHRASES, norm)
        or search(r"the|a|my|total|store|shop|person|ages|a while|danger|i|rfm|cluster \d|q[1-4]|\d+", norm)
    ):
        return None, None
    return (place if place[0].isupper() else place.title()), places.get(norm)


def _title(name: str, raw: str) -> str:
    """The place as the owner wrote it when capitalised, else in title case."""
    m = re.search(re.escape(name), raw, re.IGNORECASE)
    written = m.group(0) if m else name
    return written if written[:1].isupper() else written.title()
