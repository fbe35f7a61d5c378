"""The words tools use for groups: names a person reads, and the rule that defines each group."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from segmentation.lifecycle import Thresholds
from segmentation.outreach import persona
from segmentation.outreach.persona import amount, clean
from segmentation.vocabulary import BREAKDOWN_ATTRIBUTES, DEFAULT_SEGMENT_MAP, GROUPS, SEGMENT_KEYS, STAGES

CLUSTER_KEYS = tuple(f"cluster_{i}" for i in range(1, 9))
GROUP_KEYS = SEGMENT_KEYS + STAGES

# Literal types the model sees as choices (pydantic turns them into JSON-schema enums).
if TYPE_CHECKING:  # a Literal built from a tuple is read at run time only: to the type checker they are text
    GroupKey = str
    AnyGroupKey = str
    Attribute = str
else:
    GroupKey = Literal[GROUP_KEYS]
    AnyGroupKey = Literal[GROUP_KEYS + CLUSTER_KEYS]
    Attribute = Literal[BREAKDOWN_ATTRIBUTES]


def _group_or_saved(value: str) -> str:
    """A built-in key as it is; any other text is taken for a saved segment's name (found, or refused naming the
    saved ones, by ``tools.members.group_of``); a cluster key past cluster_8 is refused here, as the Literal did."""
    value = value.strip()
    if value in GROUP_KEYS + CLUSTER_KEYS:
        return value
    if re.fullmatch(r"cluster_\d+", value) or not value or len(value) > 60:
        expected = ", ".join(repr(k) for k in GROUP_KEYS + CLUSTER_KEYS[:-1]) + f" or {CLUSTER_KEYS[-1]!r}"
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
    return value


# A built-in group or the name of a segment the owner saved (segmentation.custom.saved). The model sees the built-in
# keys as choices and that a saved segment's name is also accepted.
GroupOrSavedKey = Annotated[
    str,
    AfterValidator(_group_or_saved),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": list(GROUP_KEYS + CLUSTER_KEYS)},
                {"type": "string", "description": "the exact name of a segment the owner saved"},
            ]
        }
    ),
]


def file_stem(key: str) -> str:
    """A group's key as the start of a file name: 'Leeds win-back' -> 'leeds_win-back'."""
    return re.sub(r"[^\w-]+", "_", key.strip().lower()).strip("_") or "segment"


def saved_words(name: str) -> str:
    """How a saved segment is named in a sentence: "the 'Leeds win-back' segment"."""
    return f"the '{clean(name, 60)}' segment"


def label(key: str) -> str:
    """'at_risk' -> 'at risk'; 'cannot_lose_them' -> "can't-lose-them"; 'cluster_2' -> 'cluster 2'."""
    group = GROUPS.get(key)
    return group.label if group else key.replace("_", " ")


# A group as the words of a sentence: "Finding at-risk customers", "Describing your champions".
GROUP_WORDS = {key: group.words for key, group in GROUPS.items()}


def group_words(group: object) -> str:
    """'lapsed' -> 'lapsed customers'; 'cluster_2' -> 'customer group 2'; nothing -> 'customers'."""
    key = str(group or "")
    if key.startswith("cluster_"):
        return f"customer group {key.removeprefix('cluster_')}"
    return GROUP_WORDS.get(key) or (f"{label(key)} customers" if key else "customers")


CLUSTER_NAME_LIMIT = 80  # a cluster's name is made from its numbers and category names; longer than a product's


def cluster_title(key: str, name: str | None = None) -> str:
    """ "group 3 'Weekend regulars'": a cluster as answers name it (the owner saw 'cluster_3' and its name)."""
    number = key.removeprefix("cluster_")
    return f"group {number} '{clean(name, CLUSTER_NAME_LIMIT)}'" if name else f"group {number}"


def upper_first(text: str) -> str:
    """'group 3 'Weekend regulars'' -> 'Group 3 'Weekend regulars'' (str.capitalize would lower the rest)."""
    return text[:1].upper() + text[1:]


def members_words(group: object, name: str | None = None) -> str:
    """'lapsed customers', or "the customers in group 3 'Weekend regulars'" for a cluster; nothing: 'customers'."""
    key = str(group or "")
    if key.startswith("cluster_"):
        return f"customers in {cluster_title(key, name)}"
    return group_words(key)


def cluster_rule(k: int) -> str:
    """What defines a cluster, as said in answers (the counterpart of ``group_rule``)."""
    return (
        f"one of {k} groups of customers who shop alike, found by clustering on recency, frequency, spend, "
        "tenure, basket size and what they buy"
    )


def segment_rule(key: str) -> str:
    """The rule that defines an RFM segment, as said in answers."""
    for rule in DEFAULT_SEGMENT_MAP:
        if rule.segment == key:
            r = f"{rule.r_min}" if rule.r_min == rule.r_max else f"{rule.r_min}-{rule.r_max}"
            f = f"{rule.f_min}" if rule.f_min == rule.f_max else f"{rule.f_min}-{rule.f_max}"
            return f"recency score {r} and frequency score {f} of 5: {GROUPS[key].meaning}"
    raise KeyError(key)


def group_rule(key: str, thresholds: Thresholds) -> str:
    """The rule for any segment or stage, with the shop's own lifecycle thresholds."""
    if key in SEGMENT_KEYS:
        return segment_rule(key)
    stage = {
        "lapsed": f"no order in the last {thresholds.lapsed_after_days} days",
        "lapsing": f"last order {thresholds.lapsing_after_days + 1}-{thresholds.lapsed_after_days} days ago",
        "new": f"one order, within the last {thresholds.lapsing_after_days} days",
        "active": f"two or more orders, the last within {thresholds.lapsing_after_days} days",
    }[key]
    return f"{stage}, {thresholds.basis}"


def money(value: float | None) -> str:
    return "n/a" if value is None else amount(value)


def pct(share: float | None) -> str:
    """The same rounding the personas use, so one number reads the same on every screen."""
    return "n/a" if share is None else persona.pct(share)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")
