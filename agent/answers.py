"""The offline agent's written answer: what was asked in particular, why, the tool's summary, one next step.

Everything here reads the plan and the tool's PII-free summary and facts; names and emails are never in
either. A question that is not understood gets the two or three closest things the assistant can
answer, chosen from the question's own words among every tool's example questions.
"""

from __future__ import annotations

import difflib

from agent import intents as phrases
from agent.planners import Plan
from agent.understand.text import clean, normalise
from tools.base import ToolResult


def compose(plan: Plan, result: ToolResult) -> tuple[str, str | None]:
    """The answer and the question a plain "yes" to its next step stands for."""
    summary = result.summary.strip()
    parts = [
        plan.recap,
        _place_sentence(plan, result) or _moves_sentence(plan, result),
        plan.note.strip(),
        summary[:1].upper() + summary[1:],
    ]
    step, offer = next_step(plan, result)
    return " ".join(p for p in [*parts, step] if p), offer


def next_step(plan: Plan, result: ToolResult) -> tuple[str, str | None]:
    from tools.registry import REGISTRY
    from tools.wording import label

    group, key = plan.args.get("group"), plan.tool or ""
    if key == "segment_by" and group:
        key = "segment_by_group"
    elif key == "list_customers" and result.facts.get("count") == 0:
        key = "list_customers_empty"
    elif key in ("describe_segment", "predict_value") and group and group.startswith("cluster_"):
        groups = plan.args.get("k") or result.facts.get("k") or 0
        # The last of k groups has no next one ("cluster 4?" after three groups): the tool's own next step.
        key = "describe_cluster" if int(group.split("_")[1]) < groups else key
    spec = REGISTRY.get(plan.tool or "")
    found = phrases.NEXT_STEPS.get(key) or (spec.next_step if spec else None)
    if not found:
        return "", None
    step, offer = found
    other = "a text message" if plan.args.get("channel") == "email" else "an email"
    following = int(group.split("_")[1]) + 1 if group and group.startswith("cluster_") else 0
    fill = {"other": other, "attribute": label(plan.args.get("attribute", "")), "next": following}
    return step.format(**fill), offer.format(**fill) if offer else None


def examples() -> list[str]:
    """Every question the assistant is known to answer: the tools' examples, in registry order."""
    from tools.registry import REGISTRY

    seen: dict[str, None] = {}
    for spec in REGISTRY.values():
        for example in spec.examples:
            seen.setdefault(example, None)
    return list(seen)


def suggest(question: str, n: int = 3) -> str:
    """'I'm not sure what you mean' and the ``n`` example questions nearest to this one's own words."""
    asked = clean(question)
    words = set(asked.split()) - phrases.STOP_WORDS
    pool = examples()

    def score(example: str) -> float:
        theirs = set(normalise(example).split()) - phrases.STOP_WORDS
        overlap = len(words & theirs) / max(len(words | theirs), 1)
        return overlap + 0.5 * difflib.SequenceMatcher(None, asked, normalise(example)).ratio()

    ranked = sorted(range(len(pool)), key=lambda i: (-score(pool[i]), i))
    return "I'm not sure what you mean. The closest things I can answer: " + quote([pool[i] for i in ranked[:n]])


def quote(questions: list[str]) -> str:
    return "; ".join(f'"{q}"' for q in questions) + "."


def help_text() -> str:
    return (
        "I answer questions about your customers from your own data, offline: who is lapsed or at risk, your "
        "segments and groups, what a group is like, two groups side by side, who moved or newly joined a group, "
        "sales and order value over any period, your top customers, which group to focus on, how often customers "
        "come back, what they will spend, breakdowns by city or product, and email or text drafts. I can't send "
        "messages, change or delete data, or show one person's contact details here. For example: "
        + quote(list(phrases.EXAMPLES[:4]))
    )


def _place_sentence(plan: Plan, result: ToolResult) -> str:
    """'39 of your lapsed customers are in Leeds (...)', read from the breakdown's value and numbers only."""
    if plan.tool != "segment_by" or not plan.place or result.table is None:
        return ""
    from tools.wording import label, money

    group = plan.args.get("group")
    who = (
        "your customers"
        if not group
        else f"your {label(group)}"
        if group.endswith(("s", "customers"))
        else f"your {label(group)} customers"
    )
    table = result.table
    hits = table[table["value"].astype(str).map(normalise) == normalise(plan.place)]
    if hits.empty:
        return f"None of {who} are in {plan.place}, going by the {label(plan.args['attribute'])} in your data."
    row = hits.iloc[0]
    return (
        f"{int(row['customers']):,} of {who} are in {plan.place}; they have spent {money(float(row['revenue']))} "
        f"in all."
    )


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

    if start is not None and start in matrix and end and end in matrix[start]:
        return f"{matrix[start][end]:,} customers who were {label(start)} on {day0} are {label(end)} on {day1}."
    if start is not None and start in matrix:
        row = matrix[start]
        others = {k: n for k, n in row.items() if k != start}
        return (
            f"Of the {sum(row.values()):,} customers who were {label(start)} on {day0}, {row.get(start, 0):,} "
            f"still are on {day1}; the others are now: {listing(others)}."
        )
    if end is None:  # not reached: without the start in the matrix, the end is in it (checked above)
        return ""
    came = {k: row.get(end, 0) for k, row in matrix.items() if k != end}
    return (
        f"{sum(came.values()):,} customers became {label(end)} between {day0} and {day1}; they were: {listing(came)}."
    )
