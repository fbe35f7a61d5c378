"""Tools over RFM segments and lifecycle stages: the segment table, who is in a group, what it is like."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from segmentation.customers import customer_table
from segmentation.lifecycle import STAGES, Thresholds, lifecycle_thresholds
from segmentation.persona import days
from segmentation.rfm import SCORE_RULE, SEGMENT_KEYS
from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, csv_download, draw, tool
from tools.wording import AnyGroupKey, GroupKey, group_rule, label, money, pct, plural

AS_OF = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the day of the last order.")
PERSON_COLUMNS = ["first_name", "last_name", "email", "city", "marketing_consent"]


class AsOfArgs(ToolArgs):
    as_of: str | None = AS_OF


class ListArgs(ToolArgs):
    group: GroupKey = Field(description="An RFM segment or lifecycle stage, e.g. 'lapsed' or 'champions'.")
    sort_by: Literal["value", "recency", "clv"] = Field(
        "value", description="Order of the list: most spent, most recent, or highest predicted value."
    )
    limit: int = Field(50, ge=1, le=1000, description="How many customers to show in the table.")
    as_of: str | None = AS_OF


class GroupArgs(ToolArgs):
    group: AnyGroupKey = Field(description="An RFM segment, a lifecycle stage, or a cluster key (cluster_1...).")
    as_of: str | None = AS_OF


def group_summary_table(frame: pd.DataFrame, column: str, order: tuple[str, ...]) -> pd.DataFrame:
    """Customers, shares and revenue per segment or stage, in a fixed order."""
    table = frame.groupby(column).agg(
        customers=("customer_id", "count"), revenue=("monetary", "sum"),
        median_recency_days=("recency_days", "median"), median_frequency=("frequency", "median"),
    )
    table = table.reindex(list(order)).fillna({"customers": 0, "revenue": 0.0}).reset_index()
    table["customers"] = table["customers"].astype(int)
    table["share"] = (table["customers"] / max(len(frame), 1)).round(4)
    total = frame["monetary"].sum()
    table["revenue_share"] = (table["revenue"] / total).round(4) if total else 0.0
    table["revenue"] = table["revenue"].round(2)
    return table


@tool("compute_rfm", AsOfArgs)
def compute_rfm(ctx: ToolContext, args: AsOfArgs) -> ToolResult:
    """Score every customer on recency, frequency and monetary value (1-5) and group them into the ten
    RFM segments (champions, loyal, at_risk, hibernating, ...). Returns the size and revenue of each
    segment. Use it for 'split my customers into groups' or 'show me my segments'."""
    with ctx.read() as con:
        frame = customer_table(con, as_of=args.as_of)
    table = group_summary_table(frame, "segment", SEGMENT_KEYS)
    top = table.sort_values("revenue", ascending=False).iloc[0]
    biggest = table.sort_values("customers", ascending=False).iloc[0]
    summary = (
        f"{len(frame):,} customers scored as of {frame.attrs['as_of']} ({SCORE_RULE}). "
        f"Largest segment: {label(biggest['segment'])} ({biggest['customers']:,}, {pct(biggest['share'])}). "
        f"Most revenue: {label(top['segment'])} ({pct(top['revenue_share'])} of revenue). "
        + "; ".join(f"{label(r.segment)} {r.customers:,}" for r in table.itertuples())
        + "."
    )
    return ToolResult(
        summary=assert_no_email(summary), table=table, chart=draw(ctx, "segment_bars", table),
        facts={"customers": len(frame), "as_of": frame.attrs["as_of"], "segments": table.to_dict("records")},
    )


@tool("list_customers", ListArgs)
def list_customers(ctx: ToolContext, args: ListArgs) -> ToolResult:
    """List the customers in one RFM segment or lifecycle stage (e.g. lapsed, at_risk, champions), with
    how many there are, the revenue at stake and the rule that defines the group. The list itself goes
    to the person as a table and a CSV download; you get the counts."""
    column = "segment" if args.group in SEGMENT_KEYS else "lifecycle"
    with ctx.read() as con:
        frame = customer_table(con, as_of=args.as_of)
        members = frame[frame[column] == args.group]
        # Only the group's own details: every customer's would be 800,000 rows of text in a big shop.
        con.register("members", members[["customer_id"]])
        people = con.execute(
            f"SELECT customer_id, {', '.join(PERSON_COLUMNS)} FROM customers "
            "WHERE customer_id IN (SELECT customer_id FROM members)"
        ).df()
    thresholds = Thresholds(**frame.attrs["thresholds"])
    order = {"value": ("monetary", False), "recency": ("recency_days", True), "clv": ("clv", False)}[args.sort_by]
    members = members.sort_values([order[0], "customer_id"], ascending=[order[1], True])
    listed = members.merge(people, on="customer_id", how="left")[
        ["customer_id", *PERSON_COLUMNS[:4], "segment", "lifecycle", "recency_days", "frequency", "monetary",
         "clv", "p_alive", "marketing_consent"]
    ]
    n, spent, total = len(members), members["monetary"].sum(), frame["monetary"].sum()
    consented = int(listed["marketing_consent"].fillna(False).astype(bool).sum())
    rule = group_rule(args.group, thresholds)
    if n:
        summary = (
            f"{n:,} customers {_are(args.group)} as of {frame.attrs['as_of']} ({rule}). "
            f"Together they have spent {money(spent)} ({pct(spent / total if total else 0)} of revenue); "
            f"median last order {members['recency_days'].median():.0f} days ago, median "
            f"{plural(int(members['frequency'].median()), 'order')}. {consented:,} of them agreed to marketing."
        )
        clv = members["clv"].sum()
        if members["clv"].notna().any():
            summary += f" Predicted value over the next 90 days: {money(clv)}."
    else:
        summary = f"No customers {_are(args.group)} as of {frame.attrs['as_of']} ({rule})."
    chart = None
    if ctx.artifacts:  # the chart's table is work too, wasted where nobody sees the chart (the command line)
        if args.group in STAGES:
            stages = group_summary_table(frame, "lifecycle", STAGES)
            chart = draw(ctx, "lifecycle_bars", stages, frame.attrs["thresholds"])
        else:
            chart = draw(ctx, "segment_bars", group_summary_table(frame, "segment", SEGMENT_KEYS))
    return ToolResult(
        summary=assert_no_email(summary),
        table=listed.head(args.limit),
        chart=chart,
        downloads=csv_download(ctx, f"{args.group}_customers.csv", listed),
        facts={"group": args.group, "count": n, "revenue": round(float(spent), 2), "rule": rule,
               "consented": consented, "as_of": frame.attrs["as_of"]},
    )


def _days(value: float | None) -> str:
    return "n/a" if value is None else days(value)


def _are(group: str) -> str:
    """'are lapsed' for a stage; 'are in the can't-lose-them segment' for an RFM segment."""
    return f"are {group}" if group in STAGES else f"are in the {label(group)} segment"


@tool("describe_segment", GroupArgs)
def describe_segment(ctx: ToolContext, args: GroupArgs) -> ToolResult:
    """Describe one group (RFM segment, lifecycle stage or cluster) as facts and a persona: size, value,
    rhythm, favourite products and categories, channels, places, consent, and change over 90 days."""
    from segmentation.persona import build_persona
    from segmentation.profile import describe_group
    from segmentation.profile import describe_segment as profile_of

    with ctx.read() as con:
        if args.group.startswith("cluster_"):
            from segmentation.clustering import cluster_customers

            clusters = cluster_customers(con, as_of=args.as_of)
            members = clusters.assignments[clusters.assignments["cluster"] == args.group]
            if members.empty:
                from tools.base import ToolArgsError

                raise ToolArgsError(f"describe_segment: group must be one of cluster_1..cluster_{clusters.k}.")
            profile = describe_group(con, members["customer_id"], as_of=args.as_of,
                                     label=str(members["cluster_name"].iloc[0]))
        else:
            profile = profile_of(con, args.group, as_of=args.as_of)
        thresholds = lifecycle_thresholds(con, as_of=args.as_of).as_dict()
    facts = profile.as_dict()
    persona = build_persona(facts, key=args.group, thresholds=thresholds)
    top = ", ".join(f"{p['name']} ({pct(p['share_of_group'])}, {p['lift']:.1f}x)" for p in facts["top_categories"][:3])
    change = "" if facts["size_change"] is None else f" ({facts['size_change']:+,} in 90 days)"
    summary = (
        f"{label(facts['label'])}: {facts['customers']:,} customers{change}, {pct(facts['share_of_customers'])} of "
        f"customers and {pct(facts['revenue_share'])} of revenue. Median last order "
        f"{_days(facts['median_recency_days'])} days ago, median {_days(facts['median_frequency'])} orders, "
        f"typical order {money(facts['avg_order_value'])}, "
        f"typical gap {_days(facts['typical_gap_days'])} days. Top categories (share buying, lift): {top or 'n/a'}. "
        f"Persona: {persona['name']}."
    )
    return ToolResult(summary=assert_no_email(summary), persona=persona, facts=facts)
