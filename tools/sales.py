"""Sales over time and average order value: what the shop took, how it moved, what a purchase is worth."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pandas as pd
from pydantic import Field

from segmentation.sales import monthly_sales, order_values, resolve_period, sales_totals
from tools.base import ToolArgs, ToolContext, ToolResult, assert_no_email, csv_download, draw, tool
from tools.members import K, group_of
from tools.wording import AnyGroupKey, group_words, label, members_words, money, pct, plural

END = Field(None, description="Last day of the period, YYYY-MM-DD (inclusive); default: the day of the last order.")


class SalesArgs(ToolArgs):
    start: str | None = Field(
        None, description="First day of the period, YYYY-MM-DD (inclusive); default: 12 months before the end."
    )
    end: str | None = END
    group: AnyGroupKey | None = Field(
        None, description="Only this RFM segment's or lifecycle stage's customers (members as of the end date), or "
        "a cluster's (cluster_1..., as cluster_customers found them as of the last order); empty: all customers."
    )  # fmt: skip
    k: int | None = K


class OrderValueArgs(ToolArgs):
    group: AnyGroupKey | None = Field(
        None,
        description="Only this RFM segment or lifecycle stage (members as of the end date), or cluster "
        "(cluster_1..., as cluster_customers found them as of the last order); empty: everyone.",
    )
    by: Literal["segment", "lifecycle"] | None = Field(
        None, description="Also one row per RFM segment ('segment') or lifecycle stage ('lifecycle')."
    )
    start: str | None = Field(
        None, description="First day of the period, YYYY-MM-DD (inclusive); default: the first order."
    )
    end: str | None = END
    k: int | None = K


def _num(value: float) -> float | None:
    """A number for ``facts``: None where there is none (NaN), so the facts stay plain JSON."""
    return None if pd.isna(value) else float(value)


def _cluster(con, tool: str, group: str | None, k: int | None):
    """A cluster group (its name and k, and a ToolArgsError for one beyond the clustering's k), or None for
    everyone or a segment or stage. Memoised: the sales queries ask for the same clustering again."""
    if not group or not group.startswith("cluster_"):
        return None
    return group_of(con, tool, group, k=k)


def _of(args: dict) -> str:
    """' of lapsed customers' for a group, nothing for everyone (the status line's words)."""
    return f" of {group_words(args['group'])}" if args.get("group") else ""


def _change(now: float, before: float, days: int) -> str:
    """'up 12% on the 30 days before (890.00)'."""
    if not before:
        return f"no sales in the {days} days before"
    change = (now - before) / before
    way = "up" if change > 0 else "down" if change < 0 else "level"
    return f"{way}{'' if way == 'level' else ' ' + pct(abs(change))} on the {days} days before ({money(before)})"


@tool(
    "sales_over_time",
    SalesArgs,
    step=lambda a: f"Adding up sales{_of(a)}",
    done="{n} purchases",
    chart="sales_trend",
    examples=(
        "How were sales over the last 12 months?",
        "What's my revenue month by month?",
        "How much did we make last month?",
        "Are sales growing?",
        "Show me the sales trend this year",
    ),
    cues=(
        r"revenue|sales|turnover|takings|monthly|month by month|trend|over time|growth|growing",
        r"how much (money )?(did|have|has) (we|i|the shop) (make|made|take|taken|earn|earned)",
    ),
    next_step=("Want to see the average order value by segment?", "what's my average order value by segment?"),
)
def sales_over_time(ctx: ToolContext, args: SalesArgs) -> ToolResult:
    """Revenue (net, purchases only), purchases, distinct customers and average order value over a period
    (default: the last 12 months), month by month, compared with the period of the same length just before.
    Guest purchases are counted apart. With a group, only that segment's or stage's customers."""
    with ctx.read() as con:
        start, end = resolve_period(con, start=args.start, end=args.end)
        cluster = _cluster(con, "sales_over_time", args.group, args.k)
        totals = sales_totals(con, start=start, end=end, group=args.group, k=args.k)
        monthly = monthly_sales(con, start=start, end=end, group=args.group, k=args.k)
    now = totals.iloc[0]
    days = (end - start).days + 1
    who = members_words(args.group, cluster.name) if cluster else group_words(args.group).removeprefix("your ")
    summary = (
        f"{plural(int(now['orders']), 'purchase')} by {int(now['customers']):,} {who} from {start} "
        f"to {end} ({days} days): revenue {money(now['revenue'])}"
    )
    facts = {"start": str(start), "end": str(end), "days": days, "group": args.group, "revenue": float(now["revenue"]),
             "orders": int(now["orders"]), "customers": int(now["customers"]),
             "avg_order_value": _num(now["avg_order_value"]), "guest_orders": int(now["guest_orders"]),
             "guest_revenue": float(now["guest_revenue"]), "previous_revenue": None,
             **({"group_name": cluster.name, "k": cluster.k} if cluster else {})}  # fmt: skip
    if len(totals) > 1:
        before = totals.iloc[1]
        facts["previous_revenue"] = float(before["revenue"])
        summary += f", {_change(now['revenue'], before['revenue'], days)}"
    if now["orders"]:
        best = monthly.loc[monthly["revenue"].idxmax()]
        summary += (
            f"; average order {money(now['avg_order_value'])}; best month {best['month']} ({money(best['revenue'])})"
        )
    summary += "."
    if now["guest_orders"]:
        summary += f" {plural(int(now['guest_orders']), 'guest purchase')} ({money(now['guest_revenue'])}) kept apart."
    # The first or last month is partial unless the period runs from a month's first day to another's last.
    partial = start.day != 1 or (end + dt.timedelta(days=1)).day != 1
    return ToolResult(
        summary=assert_no_email(summary),
        table=monthly,
        chart=draw(ctx, "sales_trend", monthly, partial),
        downloads=csv_download(ctx, "monthly_sales.csv", monthly),
        facts=facts,
    )


@tool(
    "order_value",
    OrderValueArgs,
    step=lambda a: f"Working out the average order{_of(a)}",
    done="{n} purchases",
    chart="order_value_bars",
    examples=(
        "What's my average order value?",
        "What is the average basket size by segment?",
        "How much do my champions spend per order?",
        "Average order value for each lifecycle stage",
    ),
    cues=(
        r"average (order|basket|spend|transaction)|order values?|aov|basket size",
        r"(spend|spent|spending) per (order|visit|transaction|purchase)|value per order",
    ),
    next_step=("Want to see who your top customers by spend are?", "who are my top 10 customers by spend?"),
)
def order_value(ctx: ToolContext, args: OrderValueArgs) -> ToolResult:
    """Average order value (net revenue / purchases, customers' purchases only) over a period (default: all
    orders), for everyone or one group; with ``by``, also for each RFM segment or lifecycle stage, as a
    table and a bar chart."""
    with ctx.read() as con:
        start, end = resolve_period(con, start=args.start, end=args.end, default_months=None)
        cluster = _cluster(con, "order_value", args.group, args.k)
        everyone = sales_totals(con, start=start, end=end).iloc[0]
        mine = sales_totals(con, start=start, end=end, group=args.group, k=args.k).iloc[0] if args.group else everyone
        table = (
            order_values(con, start=start, end=end, scheme="rfm" if args.by == "segment" else "lifecycle")
            if args.by
            else None
        )
    who = f" by {members_words(args.group, cluster.name) if cluster else group_words(args.group)}" if args.group else ""
    if not mine["orders"]:
        summary = f"No purchases{who} from {start} to {end}, so there is no average order value."
    else:
        summary = (
            f"{plural(int(mine['orders']), 'purchase')}{who} from {start} to {end} averaged "
            f"{money(mine['avg_order_value'])} each (revenue {money(mine['revenue'])})"
        )
        if args.group and everyone["orders"]:
            summary += f", against {money(everyone['avg_order_value'])} for all customers"
        summary += ". Guest purchases are left out."
    if table is not None:
        bought = table[table["orders"] > 0].sort_values(["avg_order_value", "group"], ascending=[False, True])
        per = "; ".join(f"{label(r.group)} {money(r.avg_order_value)}" for r in bought.itertuples())
        summary += f" By {'segment' if args.by == 'segment' else 'lifecycle stage'}, highest first: {per or 'none'}."
    rows = None if table is None else table.astype(object).where(table.notna(), None).to_dict("records")
    facts = {"start": str(start), "end": str(end), "group": args.group, "orders": int(mine["orders"]),
             "revenue": float(mine["revenue"]), "avg_order_value": _num(mine["avg_order_value"]),
             "overall_avg_order_value": _num(everyone["avg_order_value"]), "by_group": rows,
             **({"group_name": cluster.name, "k": cluster.k} if cluster else {})}  # fmt: skip
    return ToolResult(
        summary=assert_no_email(summary),
        table=table,
        chart=draw(ctx, "order_value_bars", table, _num(everyone["avg_order_value"])) if table is not None else None,
        downloads=csv_download(ctx, "order_value.csv", table) if table is not None else [],
        facts=facts,
    )
