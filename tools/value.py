"""Predicted value: who is likely to buy again soon, and what customers are worth ahead."""

from __future__ import annotations

from pydantic import Field

from segmentation.customers import customer_table
from segmentation.value.discounting import DEFAULT_DISCOUNT_RATE, MAX_HORIZON_DAYS, value_kind
from tools.alive import alive_words
from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, csv_download, draw, tool
from tools.members import K, group_of
from tools.wording import AnyGroupKey, label, members_words, money


class ValueArgs(ToolArgs):
    group: AnyGroupKey | None = Field(
        None, description="Limit to one RFM segment, lifecycle stage or cluster (cluster_1...); empty: all."
    )
    horizon_days: int = Field(
        90, ge=7, le=MAX_HORIZON_DAYS, description="How many days ahead to predict (at most three years)."
    )
    margin: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Share of revenue that is profit (e.g. 0.4): value becomes profit; empty: value is revenue.",
    )
    discount_rate: float = Field(
        DEFAULT_DISCOUNT_RATE, ge=0, lt=1, description="Yearly rate future money is discounted at (0.1 = 10%)."
    )
    as_of: str | None = Field(None, description="Date to predict from, YYYY-MM-DD; default: the last order.")
    k: int | None = K


@tool(
    "predict_value",
    ValueArgs,
    step="Predicting what customers will spend",
    chart="value_histograms",
    examples=("How much will my customers spend in the next 90 days?",),
    cues=(r"predict\w*|forecast\w*|lifetime value|clv|next \d+ days",),
    next_step=("Want to see who is at risk of not coming back?", "who are my at-risk customers?"),
)
def predict_value(ctx: ToolContext, args: ValueArgs) -> ToolResult:
    """Predict each customer's purchases and value over the coming days (BG/NBD and Gamma-Gamma) and the
    chance they are still a customer (P(alive)); name how many are likely to buy soon."""
    if args.margin is None and ctx.margin is not None:  # the margin the owner set in the app, unless asked otherwise
        args = args.model_copy(update={"margin": ctx.margin})
    with ctx.read() as con:
        frame = customer_table(
            con, as_of=args.as_of, horizon_days=args.horizon_days, margin=args.margin, discount_rate=args.discount_rate
        )
        # Only where P(alive) is high across the base can the model have seen nobody leave: elsewhere the fit
        # (a second one, on a date other than the cached default) is not needed.
        near_one = frame["p_alive"].notna().any() and frame["p_alive"].quantile(0.1) >= 0.9
        dropout = dropout_chance(con, frame.attrs["as_of"]) if near_one else None
        group = (
            group_of(con, "predict_value", args.group, as_of=frame.attrs["as_of"], k=args.k, table=frame)
            if args.group
            else None
        )
    churn_seen = dropout is None or dropout >= NO_CHURN_DROPOUT
    # The chart leaves out a chance-still-active panel that would mean nothing.
    attrs = {**frame.attrs, "churn_seen": churn_seen}
    if group is not None:
        frame = frame[group.selects(frame["customer_id"])]
    frame.attrs = attrs
    if group is not None and group.is_cluster:
        who = members_words(args.group, group.name)
    else:
        who = f"{label(args.group)} customers" if args.group else "customers"
    if frame["clv"].isna().all():
        note = "; ".join(frame.attrs["warnings"]) or "No prediction is possible for this group."
        return ToolResult(summary=assert_no_email(f"No value prediction for {who}: {note}"))
    likely = frame[frame["expected_purchases"] >= 1]
    ranked = frame.sort_values(["clv", "customer_id"], ascending=[False, True])
    summary = (
        f"Over the next {args.horizon_days} days {len(frame):,} {who} are expected to make "
        f"{frame['expected_purchases'].sum():,.0f} purchases worth {money(frame['clv'].sum())} of {_kind(args)}, "
        f"in today's money (discounted at {args.discount_rate:.0%} a year). "
        f"{len(likely):,} are likely to buy at least once; "
        + alive_words(frame, churn_seen=churn_seen, dropout=dropout, group=args.group)
        + " The top 10% by predicted value hold "
        f"{ranked['clv'].head(max(len(ranked) // 10, 1)).sum() / max(frame['clv'].sum(), 1e-9):.0%} of it."
        # Which purchase model predicted, and the back-test that chose it for this shop.
         + (f" Model: {frame.attrs['model_reason']}" if frame.attrs.get("model_reason") else "")
    )
    columns = ["customer_id", "segment", "lifecycle", "p_alive", "expected_purchases", "clv", "monetary"]
    return ToolResult(
        summary=assert_no_email(summary),
        table=ranked[columns].head(100),
        chart=draw(ctx, "value_histograms", frame),
        downloads=csv_download(ctx, "predicted_value.csv", ranked[columns]),
        facts={
            "customers": len(frame),
            "likely_buyers": len(likely),
            "value": round(float(frame["clv"].sum()), 2),
            "horizon_days": args.horizon_days,
            "churn_seen": churn_seen,
            "value_kind": value_kind(args.margin),
            "margin": args.margin,
            "discount_rate": args.discount_rate,
            "model": frame.attrs.get("model"),
            "median_p_alive": round(float(frame["p_alive"].median()), 4) if churn_seen and len(frame) else None,
            **({"group": args.group, "group_name": group.name, "k": group.k} if group and group.is_cluster else {}),
        },
    )


def _kind(args: ValueArgs) -> str:
    return "revenue" if args.margin is None else f"profit at a {args.margin:.0%} margin"


NO_CHURN_DROPOUT = 0.01  # below this fitted chance of leaving after a purchase, P(alive) is ~1 for everyone


def dropout_chance(con, as_of: str) -> float | None:
    """The chosen purchase model's mean chance that a customer drops out before their next purchase, as fitted at
    ``as_of`` (the import caches the default date's fit; another date is fitted again); None when the models
    cannot be fitted. BG/NBD: a / (a + b), the chance of leaving after a purchase. Pareto/NBD: the mean dropout
    rate against the mean purchase rate plus it, (s/beta) / (r/alpha + s/beta), the chance the race between
    leaving and buying again is lost. Near zero, the model has seen no customer leave and rates everyone as still
    active (Online Retail: 0.05%)."""
    from segmentation.value.clv import BGNBDFit, fit_models
    from segmentation.vocabulary import AnalysisError

    try:
        fit = fit_models(con, as_of=as_of).purchases
    except AnalysisError:
        return None
    if isinstance(fit, BGNBDFit):
        return fit.a / (fit.a + fit.b)
    leaving, buying = fit.s / fit.beta, fit.r / fit.alpha
    return leaving / (buying + leaving)
