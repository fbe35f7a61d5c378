"""The names the analyses share: RFM segments, lifecycle stages, breakdown attributes, the analysis error.

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

# Each group's title, wherever a group is named on its own: table cells, chart legends, persona cards, the
# command line's tables. (In a sentence, tools.wording names them: "at-risk customers".)
GROUP_TITLES: dict[str, str] = {
    "champions": "Champions",
    "loyal": "Loyal",
    "potential_loyalists": "Potential loyalists",
    "new_customers": "New customers",
    "promising": "Promising",
    "need_attention": "Need attention",
    "about_to_sleep": "About to sleep",
    "at_risk": "At risk",
    "cannot_lose_them": "Can't lose them",
    "hibernating": "Hibernating",
    "new": "New",
    "active": "Active",
    "lapsing": "Lapsing",
    "lapsed": "Lapsed",
}
assert set(GROUP_TITLES) == set(SEGMENT_KEYS + STAGES)  # one list of keys


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
