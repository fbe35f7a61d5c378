"""How the customer base moves and splits: migration between dates, breakdowns by an attribute."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, draw, tool
from tools.wording import Attribute, GroupKey, label, money, pct


class MigrationArgs(ToolArgs):
    start: str = Field(description="The earlier date, YYYY-MM-DD (e.g. three months ago).")
    end: str | None = Field(None, description="The later date, YYYY-MM-DD; default: the last order.")
    scheme: Literal["rfm", "lifecycle"] = Field("rfm", description="RFM segments or lifecycle stages.")


class BreakdownArgs(ToolArgs):
    attribute: Attribute = Field(description="What to break customers down by.")
    group: GroupKey | None = Field(None, description="Only customers in this segment or stage; empty: all.")
    as_of: str | None = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the last order.")


@tool("segment_migration", MigrationArgs)
def segment_migration(ctx: ToolContext, args: MigrationArgs) -> ToolResult:
    """Who moved between segments (or lifecycle stages) from one date to another, and which moves for
    the worse put the most money at stake ('which champions are slipping?')."""
    from segmentation.migration import segment_migration as migrate

    with ctx.read() as con:
        result = migrate(con, start=args.start, end=args.end, scheme=args.scheme)
    worst = list(result.worsened["sentence"].head(3))
    summary = f"From {result.start} to {result.end}: " + (
        " ".join(s + "." for s in worst) if worst else "no customer moved to a worse group."
    )
    return ToolResult(
        summary=assert_no_email(summary), table=result.worsened.drop(columns="sentence"),
        chart=draw(ctx, "migration_heatmap", result.matrix), facts=result.as_dict(),
    )


@tool("segment_by", BreakdownArgs)
def segment_by(ctx: ToolContext, args: BreakdownArgs) -> ToolResult:
    """Break customers and revenue down by country, city, marketing consent, channel, category or product,
    optionally within one segment or stage ('and how many of them live in Leeds?')."""
    from segmentation.breakdown import breakdown
    from segmentation.customers import customer_table

    with ctx.read() as con:
        ids = None
        if args.group:
            frame = customer_table(con, as_of=args.as_of, group=args.group)
            ids = frame["customer_id"].tolist()
        table = breakdown(con, args.attribute, as_of=args.as_of, customer_ids=ids)
    who = f"{label(args.group)} customers" if args.group else "customers"
    rows = table.head(5).itertuples()
    summary = f"{label(args.attribute).capitalize()} of {who}: " + "; ".join(
        f"{r.value}: {r.customers:,} customers, {money(r.revenue)} ({pct(r.revenue_share)})" for r in rows
    ) + (f"; {len(table) - 5} more." if len(table) > 5 else ".")
    return ToolResult(
        summary=assert_no_email(summary), table=table, chart=draw(ctx, "breakdown_bars", table, args.attribute),
        facts={"attribute": args.attribute, "group": args.group, "rows": table.head(20).to_dict("records")},
    )
