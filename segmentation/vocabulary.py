"""The names the analyses share: the 14 groups (RFM segments and lifecycle stages), breakdown attributes, the errors.

Kept apart from the analyses, with no pandas or NumPy, so a front door can build its menus and catch
errors without loading them: `segments --help` and every command's start stay quick.
"""

from __future__ import annotations

from typing import NamedTuple


class SegmentsError(Exception):
    """The root of this product's own errors: each message is one plain sentence for the owner.

    A front door catches this one class to say what is wrong and stop (exit 2 on the command line); the
    errors beneath it (an analysis, an import, a currency, the store) say which part refused. Most are
    also ValueErrors, as they were before this root existed, so older ``except ValueError`` still holds.
    """


class AnalysisError(SegmentsError, ValueError):
    """An analysis that cannot run on this data; the message is one plain sentence."""


class SegmentRule(NamedTuple):
    segment: str
    r_min: int
    r_max: int
    f_min: int
    f_max: int


DEFAULT_SEGMENT_MAP: tuple[SegmentRule, ...] = (
    SegmentRule("champions", 5, 5, 4, 5),
    SegmentRule("loyal", 3, 4, 4, 5),
    SegmentRule("potential_loyalists", 4, 5, 2, 3),
    SegmentRule("new_customers", 5, 5, 1, 1),
    SegmentRule("promising", 4, 4, 1, 1),
    SegmentRule("need_attention", 3, 3, 3, 3),
    SegmentRule("about_to_sleep", 3, 3, 1, 2),
    SegmentRule("at_risk", 1, 2, 3, 4),
    SegmentRule("cannot_lose_them", 1, 2, 5, 5),
    SegmentRule("hibernating", 1, 2, 1, 2),
)

SEGMENT_KEYS: tuple[str, ...] = tuple(rule.segment for rule in DEFAULT_SEGMENT_MAP)

STAGES: tuple[str, ...] = ("new", "active", "lapsing", "lapsed")


class Group(NamedTuple):
    """One of the 14 built-in groups (10 RFM segments, 4 lifecycle stages), and every way the product names it."""

    key: str
    title: str  # named on its own: a table cell, a chart legend, a persona card, the command line's tables
    words: str  # named in a sentence: "Finding at-risk customers", "Describing your champions"
    label: str  # the bare name, also before a noun: "at risk", "the can't-lose-them segment"
    meaning: str  # who they are, after "who": what an answer says the rule means
    portrait: str  # who they are, as a persona's line
    goal: str  # what a message to them is for: the persona's and the draft's campaign goal
    rank: int  # best first within its scheme: a move to a larger rank is a move for the worse (migration)
    colour: str  # on every chart: greens good (darkest best), ambers middling, reds slipping (darkest the
    #              biggest loss), grey long gone; hues vary within a family so neighbours on the RFM grid differ


# In SEGMENT_KEYS then STAGES order: a chart's legend and the Segments tab list them so.
GROUPS: dict[str, Group] = {
    g.key: g
    for g in (
        Group("champions", "Champions", "your champions", "champions",
              "bought recently and often", "recent, frequent buyers",
              "thank_and_reward", 0, "#00582f"),
        Group("loyal", "Loyal", "loyal customers", "loyal",
              "buy often, not quite as recently", "frequent buyers, not all of them recent",
              "thank_and_reward", 1, "#238b45"),
        Group("potential_loyalists", "Potential loyalists", "potential loyalists", "potential loyalists",
              "recent customers with a few purchases", "recent buyers with a few orders",
              "upsell", 2, "#74c476"),
        Group("new_customers", "New customers", "new customers", "new customers",
              "bought for the first time very recently", "first purchase, very recently",
              "welcome_second_purchase", 3, "#1b9e8a"),
        Group("promising", "Promising", "promising customers", "promising",
              "recent first-time buyers", "one purchase, fairly recently",
              "welcome_second_purchase", 4, "#b8d35a"),
        Group("need_attention", "Need attention", "customers who need attention", "need-attention",
              "middling on both recency and frequency", "middling on recency and frequency",
              "re_engage", 5, "#f2b701"),
        Group("about_to_sleep", "About to sleep", "customers about to sleep", "about to sleep",
              "have not bought for a while and rarely did", "one or two purchases, a while ago",
              "re_engage", 6, "#e8871e"),
        Group("at_risk", "At risk", "at-risk customers", "at risk",
              "used to buy often but have not for some time", "used to buy often, not lately",
              "win_back", 8, "#e34a33"),
        Group("cannot_lose_them", "Can't lose them", "customers you can't lose", "can't-lose-them",
              "were among your most frequent buyers but have gone quiet",
              "among your most frequent buyers, now gone quiet",
              "win_back", 7, "#a50f15"),
        Group("hibernating", "Hibernating", "hibernating customers", "hibernating",
              "bought rarely and long ago", "one or two purchases, long ago",
              "win_back", 9, "#9e9e9e"),
        # The stages' colours say the same as the segments': new like new customers, active like loyal, then
        # amber and red. What makes a stage is the shop's own rhythm (lifecycle.Thresholds.rule()).
        Group("new", "New", "new customers", "new",
              "have bought once, recently", "one purchase so far",
              "welcome_second_purchase", 1, "#1b9e8a"),
        Group("active", "Active", "active customers", "active",
              "have bought more than once, the last time recently", "repeat buyers",
              "thank_and_reward", 0, "#238b45"),
        Group("lapsing", "Lapsing", "lapsing customers", "lapsing",
              "are overdue for their next order", "overdue for their next order",
              "re_engage", 2, "#e8871e"),
        Group("lapsed", "Lapsed", "lapsed customers", "lapsed",
              "have missed several of their usual orders", "have missed several of their usual orders",
              "win_back", 3, "#e34a33"),
    )
}  # fmt: skip
assert tuple(GROUPS) == SEGMENT_KEYS + STAGES  # one list of keys, in one order
assert all(sorted(g.rank for g in GROUPS.values() if g.key in keys) == list(range(len(keys))) for keys in
           (SEGMENT_KEYS, STAGES))  # fmt: skip

# Each group's title, wherever a group is named on its own (``Group.title``).
GROUP_TITLES: dict[str, str] = {key: group.title for key, group in GROUPS.items()}


def group_title(key: object) -> str:
    """'cannot_lose_them' -> "Can't lose them"; 'cluster_3' -> 'Cluster 3'; anything else with its first letter up."""
    text = str(key)
    if text in GROUP_TITLES:
        return GROUP_TITLES[text]
    if text.startswith("cluster_") and text.removeprefix("cluster_").isdigit():
        return f"Cluster {text.removeprefix('cluster_')}"
    return text.replace("_", " ").capitalize()


CUSTOMER_ATTRIBUTES = ("country", "city", "marketing_consent")
LINE_ATTRIBUTES = ("channel", "category", "product")
BREAKDOWN_ATTRIBUTES = CUSTOMER_ATTRIBUTES + LINE_ATTRIBUTES

# How files write marketing consent (lower case): the orders importer reads these; customer lists add their
# tools' own words (segmentation.importing.contact_ingest).
CONSENT_YES = ("yes", "y", "true", "1", "subscribed", "opted in", "opt in", "opt-in", "accepted", "granted")
CONSENT_NO = (
    "no",
    "n",
    "false",
    "0",
    "unsubscribed",
    "not subscribed",
    "opted out",
    "opt out",
    "opt-out",
    "declined",
    "denied",
    "never subscribed",
)
