"""How often customers come back: typical days between purchases, per segment or lifecycle stage."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from segmentation import rhythm
from segmentation.rhythm import ALL, group_rhythm
from segmentation.sales import scheme_of
from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, csv_download, draw, tool
from tools.members import K, group_of
from tools.wording import AnyGroupKey, cluster_title, group_words, label, plural, upper_first


class RhythmArgs(ToolArgs):
    group: AnyGroupKey | None = Field(
        None,
        description="Only this RFM segment or lifecycle stage (its scheme is then used), or cluster "
        "(cluster_1...); empty: every group.",
    )
    scheme: Literal["rfm", "lifecycle"] = Field(
        "rfm", description="Groups to compare: RFM segments ('rfm') or lifecycle stages ('lifecycle')."
    )
    k: int | None = K


def _gap(days: float) -> str:
    """'21 days', '1.5 days': whole days from 10 up, one decimal below."""
    shown = f"{days:.0f}" if days >= 10 else f"{days:.1f}".rstrip("0").rstrip(".")
    return f"{shown} day" + ("" if shown == "1" else "s")


@tool(
    "purchase_rhythm",
    RhythmArgs,
    step=lambda a: f"Measuring how often {group_words(a.get('group'))} come back",
    done="{n} repeat customers",
    chart="rhythm_bars",
    examples=(
        "How often do my customers come back?",
        "How many days between orders for my champions?",
        "What's the typical gap between purchases for each lifecycle stage?",
        "How frequently do my loyal customers buy?",
    ),
    cues=(
        r"how often|how frequently|(days|time|gaps?) between (their )?(orders|purchases|visits)",
        r"purchase (rhythm|frequency|cycle|interval)|buying (rhythm|cycle)|rhythm|come back every",
    ),
    next_step=("Want to see who is overdue for a visit?", "which customers are lapsing?"),
)
def purchase_rhythm(ctx: ToolContext, args: RhythmArgs) -> ToolResult:
    """Typical days between purchases: each repeat customer's median gap between purchase days in the last year,
    then the median of those per RFM segment or lifecycle stage (and for the whole shop), with how many repeat
    customers each number rests on. One-time buyers have no gap yet and are counted apart."""
    cluster = None
    with ctx.read() as con:
        if args.group and args.group.startswith("cluster_"):
            scheme = "clusters"
            cluster = group_of(con, "purchase_rhythm", args.group, k=args.k)
            table = group_rhythm(con, args.group, cluster.members)
        else:
            scheme = scheme_of(args.group) if args.group else args.scheme
            table = rhythm.purchase_rhythm(con, scheme=scheme)
    shop = table[table["group"] == ALL].iloc[0]
    rows = table[table["group"] == args.group] if args.group else table[table["group"] != ALL]
    if math.isnan(shop["typical_gap_days"]):
        summary = f"0 repeat customers as of {table.attrs['as_of']}: nobody has bought on two different days yet."
    else:
        summary = (
            f"{int(shop['repeat_customers']):,} of your {int(shop['customers']):,} customers bought on more than "
            f"one day in the last year; typically they come back every {_gap(shop['typical_gap_days'])} (the median "
            f"of each one's median gap in that year, as of {table.attrs['as_of']})."
        )
    known = rows.dropna(subset=["typical_gap_days"]).sort_values(["typical_gap_days", "group"])
    waiting = rows[(rows["customers"] > 0) & rows["typical_gap_days"].isna()]["group"]
    if args.group:
        row = rows.iloc[0]
        name = upper_first(cluster_title(args.group, cluster.name)) if cluster else label(args.group).capitalize()
        summary += (
            f" {name}: every {_gap(row['typical_gap_days'])}, from "
            f"{plural(int(row['repeat_customers']), 'repeat customer')} of {int(row['customers']):,}."
            if len(known)
            else f" {name}: no repeat customers, so no gap yet."
        )
    elif len(known):
        kind = "segment" if scheme == "rfm" else "lifecycle stage"
        each = (
            f"{label(r.group)} {_gap(r.typical_gap_days)} ({r.repeat_customers:,} repeat)" for r in known.itertuples()
        )
        summary += f" By {kind}, most frequent first: {'; '.join(each)}."
    if not args.group and len(known) and len(waiting):
        summary += f" No repeat customers yet in: {', '.join(label(g) for g in waiting)}."
    facts = {"scheme": scheme, "group": args.group, "as_of": table.attrs["as_of"],
             **({"group_name": cluster.name, "k": cluster.k} if cluster else {}),
             "repeat_customers": int(shop["repeat_customers"]),
             "typical_gap_days": None if math.isnan(shop["typical_gap_days"]) else float(shop["typical_gap_days"]),
             "groups": table.astype(object).where(table.notna(), None).to_dict("records")}  # fmt: skip
    shown = table if not args.group else table[table["group"].isin([args.group, ALL])]
    return ToolResult(
        summary=assert_no_email(summary),
        table=shown,
        chart=draw(ctx, "rhythm_bars", shown),
        facts=facts,
        downloads=csv_download(ctx, "purchase_rhythm.csv", shown),
    )
