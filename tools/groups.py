"""Tools that weigh groups against each other: rank them, compare two, and say which to act on first."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from segmentation.compare import EVERYONE_ELSE
from segmentation.outreach.persona import clean
from tools.base import ToolArgs, ToolArgsError, ToolContext, ToolResult, assert_no_email, draw, tool
from tools.members import K, unknown_group
from tools.wording import GROUP_WORDS, GroupOrSavedKey, group_words, label, money, pct

NAME_LIMIT = 80  # a cluster's name is made from its numbers and category names; longer than a product's
AS_OF = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the day of the last order.")
VALUE_AT_STAKE = (
    "value at stake (what the group's customers are expected to spend over the next 90 days, "
    "i.e. what would be lost if they went quiet)"
)


class RankArgs(ToolArgs):
    by: Literal["revenue", "value_at_stake"] = Field(
        "revenue",
        description="What to rank by: revenue so far, or value_at_stake = the predicted spend of the "
        "group's customers over the next 90 days (what would be lost if they went quiet).",
    )
    scheme: Literal["rfm", "lifecycle"] = Field("rfm", description="RFM segments, or lifecycle stages.")
    as_of: str | None = AS_OF


class CompareArgs(ToolArgs):
    group_a: GroupOrSavedKey = Field(
        description="The first group: an RFM segment, lifecycle stage, cluster_N or "
        "the name of a segment the owner saved."
    )
    group_b: GroupOrSavedKey = Field(
        description="The second group, different from the first; 'everyone_else' for every other customer."
    )
    as_of: str | None = AS_OF
    k: int | None = K


class FocusArgs(ToolArgs):
    as_of: str | None = AS_OF


@tool(
    "rank_groups",
    RankArgs,
    done="{n} groups ranked",
    chart="group_ranking_bars",
    step=lambda a: (
        f"Ranking {'stages' if a.get('scheme') == 'lifecycle' else 'segments'} by "
        f"{'value at stake' if a.get('by') == 'value_at_stake' else 'revenue'}"
    ),
    examples=(
        "Rank my segments by revenue",
        "Which segments bring in the most money?",
        "Which groups have the most value at stake?",
        "Rank my lifecycle stages by value at stake",
        "Order my customer groups from most to least valuable",
    ),
    cues=(
        r"\brank\w*|\border (my )?(\w+ )?(groups|segments|stages)",
        r"value at stake|at stake",
        r"(which|what) (groups?|segments?|stages?) (bring|brings|make|makes|earn|earns|are worth|is worth)",
        r"most (to least )?valuable (groups?|segments?|stages?)",
    ),
    next_step=("Want to know which group to focus on first?", "which group should I focus on first?"),
)
def rank_groups(ctx: ToolContext, args: RankArgs) -> ToolResult:
    """Rank the RFM segments (or lifecycle stages) by revenue, or by value at stake: the predicted value of
    the group's customers, i.e. what they are expected to spend over the next 90 days, which is what would
    be lost if they went quiet. Gives each group's customers, revenue and share of revenue. Falls back to
    revenue, saying why, when the shop is too small for the value models."""
    from segmentation import ranking

    with ctx.read() as con:
        ranked = ranking.rank_groups(con, by=args.by, scheme=args.scheme, as_of=args.as_of)
    table, kind = ranked.table, "stages" if args.scheme == "lifecycle" else "segments"
    field, share = ("value_at_stake", "value_share") if ranked.by == "value_at_stake" else ("revenue", "revenue_share")
    what = VALUE_AT_STAKE if ranked.by == "value_at_stake" else "revenue so far"
    top = "; ".join(
        f"{r.rank}. {label(r.group)} {money(getattr(r, field))} ({pct(getattr(r, share))}, {r.customers:,} customers)"
        for r in table[table["customers"] > 0].head(5).itertuples()
    )
    summary = f"{len(table)} {kind} ranked by {what} as of {ranked.as_of}: {top}."
    if ranked.fallback:
        summary += f" {ranked.fallback}"
    return ToolResult(
        summary=assert_no_email(summary),
        table=table,
        chart=draw(ctx, "group_ranking_bars", table, ranked.by),
        facts=ranked.as_dict(),
    )


def _short(key: str) -> str:
    """'at-risk customers', 'champions', 'cluster 2', 'everyone else', "'VIP list'": a group as a sentence names
    it."""
    if key.startswith("cluster_"):
        return f"cluster {key.removeprefix('cluster_')}"
    if key == EVERYONE_ELSE:
        return "everyone else"
    if key not in GROUP_WORDS:
        return f"'{clean(key, NAME_LIMIT)}'"  # a saved segment's name
    return GROUP_WORDS[key].removeprefix("your ")


def _who(key: str, n: int, names: dict[str, str]) -> str:
    """'62 at-risk customers', '101 champions', '185 customers in cluster 2 (One-time big-basket ...)'."""
    if key.startswith("cluster_"):
        return f"{n:,} customers in {_short(key)} ({clean(names[key], NAME_LIMIT)})"
    if key == EVERYONE_ELSE:
        return f"the other {n:,} customers"
    if key not in GROUP_WORDS:
        return f"{n:,} customers in {_short(key)}"
    return f"{n:,} {_short(key)}"


def _column(key: str, names: dict[str, str]) -> str:
    if key.startswith("cluster_"):
        return f"{_short(key)}: {clean(names[key], NAME_LIMIT)}"
    if key == EVERYONE_ELSE or key not in GROUP_WORDS:
        return _short(key).strip("'")
    return label(key)


@tool(
    "compare_groups",
    CompareArgs,
    chart="group_comparison_bars",
    step=lambda a: f"Comparing {group_words(a.get('group_a'))} with {group_words(a.get('group_b'))}",
    examples=(
        "Compare my champions with my at-risk customers",
        "How are loyal customers different from hibernating ones?",
        "Champions vs at risk: what's the difference?",
        "Compare cluster 1 and cluster 2",
        "What is the difference between my lapsed and active customers?",
    ),
    cues=(r"compar\w*", r"\bvs\b|\bversus\b", r"differen\w* (between|from)|differ from|side by side"),
    next_step=('Want an email draft for one of them? Say which, e.g. "draft an email for my at-risk customers".', None),
)
def compare_groups(ctx: ToolContext, args: CompareArgs) -> ToolResult:
    """Set two groups (RFM segments, lifecycle stages, clusters or saved segments; the second may be
    'everyone_else', all other customers) side by side: size and share of customers,
    revenue and its share, median spend per customer, average order value, median orders, median days since
    the last order, typical days between orders, top products and share with marketing consent; and name
    the biggest differences between them."""
    from segmentation import compare
    from segmentation.compare import COMPARE_METRICS, UnknownGroup, format_metric

    if args.group_a == args.group_b:
        raise ToolArgsError(f"compare_groups: group_b must differ from group_a (both are '{args.group_a}').")
    with ctx.read() as con:
        try:
            result = compare.compare_groups(con, args.group_a, args.group_b, as_of=args.as_of, k=args.k)
        except UnknownGroup as exc:
            raise ToolArgsError(unknown_group("compare_groups", exc, field=None)) from exc
    a, b = result.groups
    metrics = result.metrics.set_index("metric")
    columns = {key: _column(key, result.names) for key in (a, b)}
    rows = [
        {
            "measure": words,
            **{
                columns[key]: format_metric(kind, metrics.at[metric, key], consent_recorded=result.consent_recorded)
                for key in (a, b)
            },
        }
        for metric, words, kind in COMPARE_METRICS
    ]
    kinds = " / ".join(sorted(set(result.top_kind.values())))  # products, unless a group bought none with a name
    rows.insert(
        len(rows) - 1,
        {
            "measure": f"top {kinds}",
            **{columns[key]: ", ".join(clean(i) for i in result.top_items[key]) or "n/a" for key in (a, b)},
        },
    )
    table = pd.DataFrame(rows)
    sizes = {key: int(metrics.at["customers", key]) for key in (a, b)}
    summary = f"{_who(a, sizes[a], result.names)} against {_who(b, sizes[b], result.names)} as of {result.as_of}."
    if result.differences:
        summary += (
            " Biggest differences: "
            + "; ".join(
                f"{d['words']}: {_short(a)} {format_metric(d['kind'], d['a'])}, {_short(b)} "
                f"{format_metric(d['kind'], d['b'])} ({d['ratio']:.1f}x)"
                for d in result.differences[:3]
            )
            + "."
        )
    else:
        summary += " They are alike: no measure differs by 20% or more."
    for key in (a, b):
        items = ", ".join(clean(i) for i in result.top_items[key])
        if items:
            summary += f" Top {result.top_kind[key]} of {_short(key)}: {items}."
    consent = [
        format_metric("share", metrics.at["consent_share", key], consent_recorded=result.consent_recorded)
        for key in (a, b)
    ]
    summary += (
        f" Marketing consent: {_short(a)} {consent[0]}, {_short(b)} {consent[1]}."
        if result.consent_recorded
        else " Marketing consent: not recorded in the data."
    )
    names = {key: columns[key] for key in (a, b) if key.startswith("cluster_")}
    return ToolResult(
        summary=assert_no_email(summary),
        table=table,
        chart=draw(ctx, "group_comparison_bars", result.metrics, names),
        facts=result.as_dict(),
    )


@tool(
    "recommend_focus",
    FocusArgs,
    done="{n} groups scored",
    chart="focus_bars",
    step="Weighing which group to focus on first",
    examples=(
        "Which group should I focus on first?",
        "Which segment should I prioritise?",
        "Where should I start with my marketing budget?",
        "Which customers should I target first?",
        "What is the most important group to work on right now?",
    ),
    cues=(
        r"focus (on|first)|(start|begin) with|where (should|do) i (start|begin)",
        r"prioriti[sz]\w*|priority",
        r"target first|first to target|most important (group|segment)|work on (first|right now)",
    ),
    next_step=('Ask for a draft for the first group, e.g. "draft an email for my at-risk customers".', None),
)
def recommend_focus(ctx: ToolContext, args: FocusArgs) -> ToolResult:
    """Which RFM segment to focus on first, and why. Every segment gets a score (0-100): urgency (segments
    slipping away, like at_risk, cannot_lose_them and about_to_sleep, weigh more than champions, who are
    fine) x a blend of value at stake (what the group is expected to spend over the next 90 days; revenue
    when the shop is too small for the value models), customers who may be messaged (marketing consent),
    and size. Names the first segment with its reasons in numbers, then the next two."""
    from segmentation import focus
    from segmentation.focus import WEIGHTS, top_reasons

    with ctx.read() as con:
        ranking = focus.recommend_focus(con, as_of=args.as_of)
    table = ranking.table
    scored = table[table["customers"] > 0]
    reasons = top_reasons(ranking)
    if not reasons:
        summary = f"0 segments scored as of {ranking.as_of}: no customer has bought yet."
        return ToolResult(summary=assert_no_email(summary), table=table, facts=ranking.as_dict())
    scores = scored["score"].head(3).tolist()
    summary = f"{len(scored)} segments scored as of {ranking.as_of}; focus first on {reasons[0]} (score {scores[0]})."
    if len(reasons) > 1:
        summary += " Next: " + "; ".join(f"{r} (score {s})" for r, s in zip(reasons[1:], scores[1:], strict=True)) + "."
    value = "value at stake" if ranking.basis == "clv" else "revenue so far"
    if ranking.basis == "clv":
        summary += (
            " Value at stake = what the group's customers are expected to spend over the next 90 days, "
            "i.e. what would be lost if they went quiet."
        )
    summary += (
        f" Score = 100 x urgency x ({WEIGHTS['value']} x {value} on a log scale + {WEIGHTS['reach']} x "
        f"customers who may be messaged + {WEIGHTS['size']} x size), each against the top segment."
    )
    if ranking.fallback:
        summary += f" {ranking.fallback}"
    if not ranking.consent_recorded:
        summary += " The data records no marketing consent, so everyone counts as reachable: check before sending."
    return ToolResult(
        summary=assert_no_email(summary),
        table=table,
        chart=draw(ctx, "focus_bars", table),
        facts=ranking.as_dict(),
    )
