"""How the customer base moves and splits: migration between dates, breakdowns by an attribute."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, draw, tool
from tools.members import K, group_of
from tools.wording import (
    Attribute,
    GroupOrSavedKey,
    group_words,
    label,
    members_words,
    money,
    pct,
    saved_words,
    upper_first,
)


class MigrationArgs(ToolArgs):
    start: str = Field(description="The earlier date, YYYY-MM-DD (e.g. three months ago).")
    end: str | None = Field(None, description="The later date, YYYY-MM-DD; default: the last order.")
    scheme: Literal["rfm", "lifecycle"] = Field("rfm", description="RFM segments or lifecycle stages.")


class BreakdownArgs(ToolArgs):
    attribute: Attribute = Field(description="What to break customers down by.")
    group: GroupOrSavedKey | None = Field(
        None,
        description="Only customers in this segment, stage, cluster (cluster_1...) or segment the owner "
        "saved (its name); empty: all.",
    )
    as_of: str | None = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the last order.")
    top: int = Field(
        5,
        ge=1,
        le=50,
        description="How many values to name, largest revenue first: 10 for 'my top ten products'; default 5.",
    )
    k: int | None = K


TABLE_ROWS = 20  # the table and chart show at least this many values before folding the rest into 'other'
PLURALS = {"city": "cities", "country": "countries", "category": "categories", "marketing_consent": "consent answers"}


@tool(
    "segment_migration",
    MigrationArgs,
    step="Tracing who moved between groups",
    chart="migration_heatmap",
    examples=("Who moved from champions to at risk in the last 3 months?",),
    cues=(r"moved|migrat\w*|changed",),
    next_step=("Want the list of customers who are at risk now?", "who are my at-risk customers?"),
)
def segment_migration(ctx: ToolContext, args: MigrationArgs) -> ToolResult:
    """Who moved between segments (or lifecycle stages) from one date to another, and which moves for
    the worse put the most money at stake ('which champions are slipping?')."""
    from segmentation import migration

    with ctx.read() as con:
        result = migration.segment_migration(con, start=args.start, end=args.end, scheme=args.scheme)
    worst = list(result.worsened["sentence"].head(3))
    summary = f"From {result.start} to {result.end}: " + (
        " ".join(s + "." for s in worst) if worst else "no customer moved to a worse group."
    )
    return ToolResult(
        summary=assert_no_email(summary),
        table=result.worsened.drop(columns="sentence"),
        chart=draw(ctx, "migration_heatmap", result.matrix),
        facts=result.as_dict(),
    )


@tool(
    "segment_by",
    BreakdownArgs,
    chart="breakdown_bars",
    step=lambda a: f"Breaking {group_words(a.get('group'))} down by {label(str(a.get('attribute', 'attribute')))}",
    examples=(
        "Break my customers down by city",
        "Which products do my loyal customers buy?",
        "Which channel do my customers use, online or in store?",
    ),
    cues=(r"by (city|country|channel|category|product)|break (\w+ )?down",),
    next_step=("Want this for your lapsed customers only?", "lapsed customers by {attribute}"),
)
def segment_by(ctx: ToolContext, args: BreakdownArgs) -> ToolResult:
    """Break customers and revenue down by country, city, marketing consent, channel, category or product,
    optionally within one segment or stage ('and how many of them live in Leeds?')."""
    from segmentation.breakdown import breakdown

    with ctx.read() as con:
        group = None
        if args.group:  # a segment or stage from the memoised customer table where there is one
            group = group_of(con, "segment_by", args.group, as_of=args.as_of, k=args.k)
        ids = group.members if group else None
        table = breakdown(con, args.attribute, as_of=args.as_of, customer_ids=ids, top=max(args.top, TABLE_ROWS))
    who = members_words(args.group, group.name) if group and group.is_cluster else group_words(args.group)
    if group and group.is_saved:
        who = f"the customers in {saved_words(group.key)}"
    many = PLURALS.get(args.attribute, f"{label(args.attribute)}s")
    # Named: the top values themselves, never the folded 'other' row; 'more' counts the distinct values
    # not named, not the table's rows.
    named = table[table["value"] != "other"].head(args.top) if table.attrs.get("folded") else table.head(args.top)
    more = int(table.attrs.get("values", len(table))) - len(named)
    summary = (
        f"{upper_first(who)} by {label(args.attribute)} ({table.attrs.get('customers', 0):,} customers, "
        f"{table.attrs.get('values', len(table)):,} {many}; shares are of these customers and their revenue): "
        + "; ".join(
            f"{r.value}: {r.customers:,} customers ({pct(r.customer_share)}), "
            f"{money(r.revenue)} ({pct(r.revenue_share)})"
            for r in named.itertuples()
        )
        + (f"; and {more:,} more {many}." if more > 0 else ".")
    )
    return ToolResult(
        summary=assert_no_email(summary),
        table=table,
        chart=draw(ctx, "breakdown_bars", table, args.attribute),
        facts={
            "attribute": args.attribute,
            "group": args.group,
            "values": int(table.attrs.get("values", len(table))),
            "named": len(named),
            "rows": table.head(max(args.top, TABLE_ROWS) + 1).to_dict("records"),
            **({"group_name": group.name, "k": group.k} if group and group.is_cluster else {}),
        },
    )
