"""Predicted value: who is likely to buy again soon, and what customers are worth ahead."""

from __future__ import annotations

from pydantic import Field

from segmentation.customers import customer_table
from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, csv_download, draw, tool
from tools.wording import GroupKey, label, money


class ValueArgs(ToolArgs):
    group: GroupKey | None = Field(None, description="Limit to one RFM segment or lifecycle stage; empty: all.")
    horizon_days: int = Field(90, ge=7, le=730, description="How many days ahead to predict.")
    as_of: str | None = Field(None, description="Date to predict from, YYYY-MM-DD; default: the last order.")


@tool("predict_value", ValueArgs)
def predict_value(ctx: ToolContext, args: ValueArgs) -> ToolResult:
    """Predict each customer's purchases and value over the coming days (BG/NBD and Gamma-Gamma) and the
    chance they are still a customer (P(alive)); name how many are likely to buy soon."""
    with ctx.read() as con:
        frame = customer_table(con, as_of=args.as_of, horizon_days=args.horizon_days)
    if args.group:
        frame = frame[(frame["segment"] == args.group) | (frame["lifecycle"] == args.group)]
    who = f"{label(args.group)} customers" if args.group else "customers"
    if frame["clv"].isna().all():
        note = "; ".join(frame.attrs["warnings"]) or "No prediction is possible for this group."
        return ToolResult(summary=assert_no_email(f"No value prediction for {who}: {note}"))
    likely = frame[frame["expected_purchases"] >= 1]
    ranked = frame.sort_values(["clv", "customer_id"], ascending=[False, True])
    summary = (
        f"Over the next {args.horizon_days} days {len(frame):,} {who} are expected to make "
        f"{frame['expected_purchases'].sum():,.0f} purchases worth {money(frame['clv'].sum())}. "
        f"{len(likely):,} are likely to buy at least once; median chance still active "
        f"{frame['p_alive'].median():.0%}. The top 10% by predicted value hold "
        f"{ranked['clv'].head(max(len(ranked) // 10, 1)).sum() / max(frame['clv'].sum(), 1e-9):.0%} of it."
    )
    columns = ["customer_id", "segment", "lifecycle", "p_alive", "expected_purchases", "clv", "monetary"]
    return ToolResult(
        summary=assert_no_email(summary), table=ranked[columns].head(100), chart=draw(ctx, "value_histograms", frame),
        downloads=csv_download(ctx, "predicted_value.csv", ranked[columns]),
        facts={"customers": len(frame), "likely_buyers": len(likely), "value": round(float(frame["clv"].sum()), 2),
               "horizon_days": args.horizon_days},
    )
