"""Machine-found groups: k-means clusters with names, drawn on two axes."""

from __future__ import annotations

from pydantic import Field

from tools.base import ToolArgs, ToolArgsError, ToolContext, ToolResult, assert_no_email, draw, tool
from tools.fairness import narrowing
from tools.wording import pct


class ClusterArgs(ToolArgs):
    k: int | None = Field(None, ge=2, le=8, description="Number of groups wanted (2-8); leave empty to choose.")
    as_of: str | None = Field(None, description="Date to analyse as of, YYYY-MM-DD; default: the last order.")
    attributes: list[str] | None = Field(
        None,
        max_length=8,
        description="Also cluster on these, from the customer lists and email activity: age, member_rating, "
        "open_rate, click_rate, email_consent, unsubscribed, bounced, tag:NAME, interest:NAME (e.g. ['open_rate', "
        "'tag:vegan']); empty: behaviour only. Use age only when the owner asks for it.",
    )


@tool(
    "cluster_customers",
    ClusterArgs,
    done="{n} groups",
    chart="cluster_scatter",
    step=lambda a: (
        f"Splitting customers into {a['k']} groups" if a.get("k") else "Finding groups of customers who shop alike"
    ),
    examples=("Split my customers into 4 groups",),
    cues=(r"clusters?|groups|kinds of customers",),
    next_step=(
        'Want a persona of the first group? Ask "tell me about cluster 2" for the next.',
        "tell me about cluster 1",
    ),
)
def cluster_customers(ctx: ToolContext, args: ClusterArgs) -> ToolResult:
    """Find groups of customers who behave alike (k-means on recency, frequency, spend, tenure, basket
    size, category and channel shares; with ``attributes``, also chosen ones such as open_rate or a tag),
    name each group, and flag unusual customers. Use it for 'split my customers into 4 groups' or 'what
    kinds of customers do I have'."""
    from segmentation import clustering
    from segmentation.cluster_attributes import SENSITIVE, parse_choices
    from segmentation.vocabulary import AnalysisError

    try:
        chosen = parse_choices(args.attributes)
    except AnalysisError as exc:
        raise ToolArgsError(f"cluster_customers: {exc}") from exc
    sensitive = [c for c in chosen if c in SENSITIVE]
    if sensitive:  # the same rule as a list narrowed by age: only when the owner asks (tools.fairness)
        narrowing(ctx, "cluster_customers", " and ".join(f"{c} > 0" for c in sensitive))
    with ctx.read() as con:
        result = clustering.cluster_customers(con, as_of=args.as_of, k=args.k, attributes=chosen)
    with_columns = [c for c in result.clusters.columns if c.startswith("with_")]
    table = result.clusters[["key", "name", "size", "share", "revenue_share", *with_columns]]
    outliers = int(result.assignments["outlier"].sum())
    summary = (
        f"{result.k} groups (silhouette {result.silhouette:.2f}): "
        + "; ".join(
            f"{r.key} '{r.name}' {r.size:,} customers ({pct(r.share)}), {pct(r.revenue_share)} of revenue"
            for r in table.itertuples()
        )
        + f". {outliers:,} unusual customers flagged (possible resellers or data errors)."
    )
    if chosen:
        summary += f" Clustered on behaviour and {', '.join(chosen)}."
    if sensitive:
        summary += (
            f" These groups are made with {' and '.join(sensitive)} because you asked for it; they are "
            "otherwise made from behaviour alone."
        )
    return ToolResult(
        summary=assert_no_email(summary),
        table=table,
        chart=draw(ctx, "cluster_scatter", result.assignments, dict(zip(table["key"], table["name"], strict=True))),
        facts=result.as_dict(),
    )
