"""The top customers by what they have spent or are predicted to spend, and which segments they sit in."""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from segmentation.customers import customer_table
from segmentation.vocabulary import SEGMENT_KEYS
from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, csv_download, tool
from tools.members import K, group_of
from tools.segments import PERSON_COLUMNS
from tools.wording import AnyGroupKey, group_words, label, members_words, money, pct

RANK_BY = {"spend": ("monetary", "spend"), "predicted_value": ("clv", "predicted value")}
TOP_COLUMNS = ["rank", "customer_id", *PERSON_COLUMNS[:4], "segment", "lifecycle", "recency_days", "frequency",
               "monetary", "clv", "p_alive"]  # fmt: skip


class TopArgs(ToolArgs):
    by: Literal["spend", "predicted_value"] = Field(
        "spend", description="Rank by net spend so far ('spend') or by predicted value over the next 90 days "
        "('predicted_value')."
    )  # fmt: skip
    limit: int = Field(10, ge=1, le=1000, description="How many customers: the top N.")
    group: AnyGroupKey | None = Field(
        None, description="Only rank this RFM segment, lifecycle stage or cluster (cluster_1...); empty: everyone."
    )
    as_of: str | None = Field(None, description="Date to rank as of, YYYY-MM-DD; default: the day of the last order.")
    k: int | None = K


def segment_counts(segments: pd.Series) -> str:
    """'11 are champions, 5 loyal and 4 at risk': most first, ties in the segment map's order."""
    counts = segments.value_counts()
    order = sorted(counts.index, key=lambda k: (-counts[k], SEGMENT_KEYS.index(k) if k in SEGMENT_KEYS else 99))
    parts = [f"{counts[k]:,} {label(k)}" for k in order]
    parts[0] = parts[0].replace(" ", " are " if counts[order[0]] > 1 else " is ", 1)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@tool(
    "top_customers",
    TopArgs,
    step=lambda a: f"Ranking the top {a.get('limit', 10)} customers",
    done="top {n} ranked",
    examples=(
        "Who are my top 20 customers by spend?",
        "Show me my top 10 customers",
        "Who are my 50 biggest spenders?",
        "Which customers have the highest predicted value?",
        "Rank my customers by how much they spent",
    ),
    cues=(
        r"top \d+|biggest spenders|(spent|spend) the most|leaderboard|most valuable customers",
        r"(rank|ranking|sort) (my |all |the )?customers|highest (predicted|future|expected|lifetime) value",
    ),
    next_step=("Want to see how often your customers come back?", "how often do my customers come back?"),
)
def top_customers(ctx: ToolContext, args: TopArgs) -> ToolResult:
    """The top N customers by net spend so far or by predicted value, with their RFM segment and lifecycle
    stage; says how many of them are in each segment and their share of revenue. The list goes to the
    person as a table and a CSV download; you get the counts."""
    column, words = RANK_BY[args.by]
    with ctx.read() as con:
        frame = customer_table(con, as_of=args.as_of)
        as_of = frame.attrs["as_of"]
        if args.by == "predicted_value" and frame["clv"].isna().all():
            why = (frame.attrs["warnings"] or ["The value models could not run on this shop's data."])[-1]
            return ToolResult(
                summary=assert_no_email(
                    f"No ranking by predicted value: {why[:1].lower() + why[1:].rstrip('.')}; ranking by spend works."
                )
            )
        group = group_of(con, "top_customers", args.group, as_of=as_of, k=args.k, table=frame) if args.group else None
        pool = frame if group is None else frame[group.selects(frame["customer_id"])]
        top = pool.sort_values([column, "customer_id"], ascending=[False, True], na_position="last").head(args.limit)
        con.register("top_ids", top[["customer_id"]])
        people = con.execute(
            f"SELECT customer_id, {', '.join(PERSON_COLUMNS[:4])} FROM customers "
            "WHERE customer_id IN (SELECT customer_id FROM top_ids)"
        ).df()
    cluster = group if group is not None and group.is_cluster else None  # the group, where it is a cluster
    of = " " + (members_words(args.group, cluster.name) if cluster else group_words(args.group).removeprefix("your "))
    if top.empty:
        return ToolResult(
            summary=assert_no_email(f"No{of} to rank as of {as_of}."),
            facts={"count": 0, "by": args.by, "group": args.group, "as_of": as_of},
        )
    spent, total = float(top["monetary"].sum()), float(frame["monetary"].sum())
    summary = (
        f"Top {len(top):,}{of} by {words} as of {as_of}: {segment_counts(top['segment'])}. Together they have "
        f"spent {money(spent)}, {pct(spent / total if total else 0)} of all revenue"
    )
    facts = {"count": len(top), "by": args.by, "group": args.group, "as_of": as_of, "revenue": round(spent, 2),
             "revenue_share": round(spent / total, 4) if total else 0.0,
             "segments": {k: int(v) for k, v in top["segment"].value_counts().items()},
             **({"group_name": cluster.name, "k": cluster.k} if cluster else {})}  # fmt: skip
    if args.by == "predicted_value":
        value, all_value = float(top["clv"].sum()), float(frame["clv"].sum())
        summary += (
            f", and are predicted to spend {money(value)} over the next {frame.attrs['horizon_days']} days "
            f"({pct(value / all_value if all_value else 0)} of all predicted value)"
        )
        facts.update(predicted_value=round(value, 2))
    listed = top.assign(rank=range(1, len(top) + 1)).merge(people, on="customer_id", how="left")[TOP_COLUMNS]
    return ToolResult(
        summary=assert_no_email(summary + "."),
        table=listed,
        facts=facts,
        downloads=csv_download(ctx, f"top_{len(top)}_customers_by_{args.by}.csv", listed),
    )
