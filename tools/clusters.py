"""Machine-found groups: k-means clusters with names, drawn on two axes."""

from __future__ import annotations

from pydantic import Field

from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, draw, tool
from tools.wording import pct


class ClusterArgs(ToolArgs):
    k: int | None = Field(None, ge=2, le=8, description="Number of groups wanted (2-8); leave empty to choose.")
    as_of: str | None = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the last order.")


@tool(
    "cluster_customers", ClusterArgs, done="{n} groups", chart="cluster_scatter",
    step=lambda a: (f"Splitting customers into {a['k']} groups" if a.get("k")
                    else "Finding groups of customers who shop alike"),
    examples=("Split my customers into 4 groups",), cues=(r"clusters?|groups|kinds of customers",),
    next_step=("Want a persona of the first group? Ask \"tell me about cluster 2\" for the next.",
               "tell me about cluster 1"),
)
def cluster_customers(ctx: ToolContext, args: ClusterArgs) -> ToolResult:
    """Find groups of customers who behave alike (k-means on recency, frequency, spend, tenure, basket
    size, category and channel shares), name each group, and flag unusual customers. Use it for
    'split my customers into 4 groups' or 'what kinds of customers do I have'."""
    from segmentation.clustering import cluster_customers as run_clustering

    with ctx.read() as con:
        result = run_clustering(con, as_of=args.as_of, k=args.k)
    table = result.clusters[["key", "name", "size", "share", "revenue_share"]]
    outliers = int(result.assignments["outlier"].sum())
    summary = (
        f"{result.k} groups (silhouette {result.silhouette:.2f}): "
        + "; ".join(
            f"{r.key} '{r.name}' {r.size:,} customers ({pct(r.share)}), {pct(r.revenue_share)} of revenue"
            for r in table.itertuples()
        )
        + f". {outliers:,} unusual customers flagged (possible resellers or data errors)."
    )
    return ToolResult(
        summary=assert_no_email(summary), table=table,
        chart=draw(ctx, "cluster_scatter", result.assignments, dict(zip(table["key"], table["name"], strict=True))),
        facts=result.as_dict(),
    )
