"""Words for the assistant's tool steps, as the status line shows them: "Finding lapsed customers... 421 found".

The agent reports a step by tool name and arguments when it starts and with the tool's summary when it
ends; these turn both into plain words. The count comes from the summary's first number, which every
tool leads with (see the tools' summaries), so a step reads the same live and when history is replayed.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def label(key: str) -> str:
    """The tools' word for a group; imported on first use, since the tools' wording pulls in the analytics
    (and pandas), which the first paint does without."""
    from tools.wording import label as tools_label

    return tools_label(key)


_STARTS: dict[str, Callable[[dict], str]] = {
    "load_data": lambda a: "Loading the demo shop" if a.get("source") == "demo"
                           else f"Loading {a.get('source', 'your file')}",
    "data_overview": lambda a: "Looking over your data",
    "compute_rfm": lambda a: "Scoring customers on recency, frequency and spend",
    "list_customers": lambda a: f"Finding {_group(a)}",
    "cluster_customers": lambda a: (f"Splitting customers into {a['k']} groups" if a.get("k")
                                    else "Finding groups of customers who shop alike"),
    "describe_segment": lambda a: f"Describing {_group(a)}",
    "draft_campaign": lambda a: f"Drafting {'a text message' if a.get('channel') == 'sms' else 'an email'} "
                                f"to {_group(a)}",
    "predict_value": lambda a: "Predicting what customers will spend",
    "segment_migration": lambda a: "Tracing who moved between groups",
    "segment_by": lambda a: f"Breaking {_group(a)} down by {label(str(a.get('attribute', 'attribute')))}",
    "measure_campaign": lambda a: "Measuring the campaign against its control group",
}  # fmt: skip

# What the first number of a tool's summary counts, per tool; the other tools' steps just say "done".
_COUNTS = {"list_customers": "{n} found", "compute_rfm": "{n} customers scored", "cluster_customers": "{n} groups"}
_FIRST_NUMBER = re.compile(r"\b(\d[\d,]*)\b")


# A group as the words of a step: "Finding at-risk customers", "Describing your champions".
_GROUP_WORDS = {
    "champions": "your champions", "loyal": "loyal customers", "potential_loyalists": "potential loyalists",
    "new_customers": "new customers", "promising": "promising customers",
    "need_attention": "customers who need attention", "about_to_sleep": "customers about to sleep",
    "at_risk": "at-risk customers", "cannot_lose_them": "customers you can't lose",
    "hibernating": "hibernating customers", "new": "new customers", "active": "active customers",
    "lapsing": "lapsing customers", "lapsed": "lapsed customers",
}  # fmt: skip


def _group(args: dict) -> str:
    group = str(args.get("group") or "")
    if group.startswith("cluster_"):
        return f"customer group {group.removeprefix('cluster_')}"
    return _GROUP_WORDS.get(group) or (f"{label(group)} customers" if group else "customers")


def step_start(name: str, args: dict | None) -> str:
    """'Finding lapsed customers...'"""
    try:
        words = _STARTS[name](args or {})
    except (KeyError, IndexError):
        words = f"Running {name.replace('_', ' ')}"
    return f"{words}..."


def step_end(name: str, args: dict | None, text: str, *, failed: bool = False) -> str:
    """'Finding lapsed customers... 421 found'; a failed step says so in a few words."""
    if failed:
        return f"{step_start(name, args)} could not finish"
    pattern = _COUNTS.get(name)
    if name == "list_customers" and (text or "").startswith("No "):
        return f"{step_start(name, args)} none found"
    match = _FIRST_NUMBER.search(text or "")
    if pattern and match:
        return f"{step_start(name, args)} {pattern.format(n=match.group(1))}"
    return f"{step_start(name, args)} done"
