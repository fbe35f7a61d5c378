"""One customer in the chat: "tell me about customer C00042", "tell me more about the second one".

The same page as ``segments customer ID`` and the app's Customers tab (``segmentation.customer_page``), split
as every tool is: the person gets the whole page (their name and contact details in the table and the download,
their orders in the chart); the summary and facts, which a model may read, hold the id, numbers, groups and
dates only. No name, email, phone, city or address of a customer reaches a model through this tool.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from segmentation.outreach.persona import clean
from tools.base import ToolArgs, ToolArgsError, ToolContext, ToolResult, assert_no_email, csv_download, tool
from tools.members import K, group_of
from tools.wording import AnyGroupKey

RANKED_BY = {"spend": "monetary", "predicted_value": "clv"}


class CustomerArgs(ToolArgs):
    customer_id: str | None = Field(
        None, min_length=1, max_length=60, description="The customer's id as the data has it (e.g. '58120')."
    )
    top_rank: int | None = Field(
        None, ge=1, le=1000, description="Instead of an id: the customer ranked here (1 = the top) by `by`, as "
        "top_customers ranks them (the 'second one' of a top list is 2)."
    )  # fmt: skip
    by: Literal["spend", "predicted_value"] = Field("spend", description="What top_rank ranks by.")
    group: AnyGroupKey | None = Field(None, description="With top_rank: rank within this group only.")
    as_of: str | None = Field(None, description="Date to read them as of, YYYY-MM-DD; default: the last order's day.")
    k: int | None = K


def _ranked_id(con, args: CustomerArgs) -> str:
    """The id of the customer ``top_customers`` puts at ``args.top_rank`` (same order, same ties)."""
    from segmentation.customers import customer_table

    assert args.top_rank is not None  # the caller asks by rank only when one is given

    frame = customer_table(con, as_of=args.as_of)
    if args.group:
        group = group_of(con, "describe_customer", args.group, as_of=frame.attrs["as_of"], k=args.k, table=frame)
        frame = frame[group.selects(frame["customer_id"])]
    column = RANKED_BY[args.by]
    ranked = frame.sort_values([column, "customer_id"], ascending=[False, True], na_position="last")
    if args.top_rank > len(ranked):
        raise ToolArgsError(f"top_rank {args.top_rank} is past the last of the {len(ranked):,} customers ranked.")
    return str(ranked.iloc[args.top_rank - 1]["customer_id"])


@tool(
    "describe_customer",
    CustomerArgs,
    step=lambda a: f"Looking up customer {a.get('customer_id') or '#' + str(a.get('top_rank', ''))}",
    examples=("Tell me about customer 58120", "Look up customer CUST58120"),  # ids no demo or test shop has
    cues=(r"\bcustomer (?:id |number |no |#)?[a-z]*\d[\w-]*\b.*|\bwho is [a-z]*\d{3,}[\w-]*",),
    next_step=("Want the list of the others in their segment?", "list them"),
)
def describe_customer(ctx: ToolContext, args: CustomerArgs) -> ToolResult:
    """One customer by id (or by their rank among the top customers): orders, spend, RFM segment and lifecycle
    stage, the value model's chance they still buy and predicted value, when their next order is due, the groups
    they are in and the campaigns they were in. You get numbers and groups only; their name and contact details
    go to the person, never to you."""
    from segmentation.customer_page import customer_page
    from segmentation.customer_text import KIND_WORDS, consent_words, standing_lines
    from tools import charts

    if (args.customer_id is None) == (args.top_rank is None):
        raise ToolArgsError("Give exactly one of customer_id or top_rank.")
    with ctx.read() as con:
        wanted = args.customer_id if args.customer_id is not None else _ranked_id(con, args)
        page = customer_page(con, wanted, as_of=args.as_of, k=args.k, margin=ctx.margin)
        usual = con.execute(  # what they buy most often: products, not who they are
            "SELECT product, count(DISTINCT order_id) AS orders FROM order_lines WHERE customer_id = $id "
            "AND net_amount > 0 AND product IS NOT NULL AND order_date <= $day GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3",
            {"id": page.customer_id, "day": page.as_of},
        ).fetchall()
    row = page.row
    ranked = f" (number {args.top_rank} by {args.by.replace('_', ' ')})" if args.top_rank else ""
    facts: dict = {
        "customer_id": page.customer_id,
        "as_of": page.as_of,
        "top_rank": args.top_rank,
        "marketing_consent": page.marketing_consent,
        "campaigns": len(page.campaigns),
        "groups": [{"kind": g.kind, "key": g.key} for g in page.groups],
    }
    if row is None:
        summary = f"Customer {page.customer_id}{ranked}: {page.next_order}"
    else:
        first = pd.Timestamp(page.orders.loc[page.orders["is_purchase"], "order_date"].min())
        last = pd.Timestamp(page.orders.loc[page.orders["is_purchase"], "order_date"].max())
        facts.update(
            usual_products=[{"product": clean(p), "orders": int(n)} for p, n in usual], last_order=f"{last:%Y-%m-%d}"
        )
        facts.update(
            orders=int(row["frequency"]),
            spent=round(float(row["monetary"]), 2),
            segment=row["segment"],
            lifecycle=row["lifecycle"],
            recency_days=int(row["recency_days"]),
            first_order=f"{first:%Y-%m-%d}",
            next_order_date=row.get("next_order_date"),
            group=row["segment"],
        )  # "list them" next means the rest of their segment
        others = [
            f"{g.title} ({KIND_WORDS.get(g.kind, g.kind)})" for g in page.groups if g.kind in ("cluster", "saved")
        ]
        summary = (
            f"Customer {page.customer_id}{ranked}, as of {page.as_of}: first order {first:%Y-%m-%d}, last order "
            f"{last:%Y-%m-%d}"
            + (f"; buys most often {', '.join(f'{clean(p)} ({n:,} orders)' for p, n in usual)}" if usual else "")
            + ". "
            + " ".join(line.rstrip(".") + "." for line in standing_lines(page))
            + (f" Also in: {'; '.join(others)}." if others else "")
            + f" Marketing consent: {consent_words(page.marketing_consent)}; "
            + (
                f"in {len(page.campaigns):,} campaign{'s' if len(page.campaigns) != 1 else ''}."
                if len(page.campaigns)
                else "in no campaign yet."
            )
        )
    # The person's view: who they are, then the orders (the table and its download hold the contact details).
    shown = page.orders.assign(order_date=lambda d: pd.to_datetime(d["order_date"]).dt.strftime("%Y-%m-%d"))
    shown.insert(0, "customer_id", page.customer_id)
    for key in ("first_name", "last_name", "email", "city", "country"):
        shown[key] = page.contact.get(key)
    return ToolResult(
        summary=assert_no_email(summary),
        table=shown,
        chart=charts.customer_orders(page.orders, f"Customer {page.customer_id}'s orders")
        if len(page.orders)
        else None,
        facts=facts,
        downloads=csv_download(ctx, f"customer_{page.customer_id}_orders.csv", shown),
    )


__all__ = ["CustomerArgs", "describe_customer"]
