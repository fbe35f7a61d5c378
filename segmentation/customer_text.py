"""A customer's page (``segmentation.customer_page``) as plain text for the terminal, and as JSON-ready facts.

The same facts the app's Customers tab shows, in the same words; personal details included, since both are the
owner's own screens (never a model's input).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from segmentation.customer_page import CustomerPage
from segmentation.lifecycle import Thresholds
from segmentation.outreach.persona import amount
from segmentation.value.modelchoice import MODEL_NAMES
from segmentation.vocabulary import group_title

LAST_ORDERS = 10
KIND_WORDS = {
    "segment": "RFM segment",
    "stage": "lifecycle stage",
    "cluster": "group that shops alike",
    "saved": "saved segment",
}


def consent_words(consent: bool | None) -> str:
    return "not recorded" if consent is None else "yes" if consent else "no"


def contact_line(page: CustomerPage) -> str:
    """'Customer C00010: Liam Mason, liam@example.org, Leeds, United Kingdom' (what the data holds)."""
    parts = [page.name] + [str(page.contact[k]) for k in ("email", "city", "country") if page.contact.get(k)]
    shown = ", ".join(p for p in parts if p)
    return f"Customer {page.customer_id}" + (f": {shown}" if shown else "")


def standing_lines(page: CustomerPage) -> list[str]:
    """Scores, segment, stage, value and next order, one fact a line (nothing when they had no purchase yet)."""
    row, attrs = page.row, page.table_attrs
    if row is None:
        return [page.next_order]
    orders = int(row["frequency"])
    lines = [
        f"RFM scores R{row['r_score']} F{row['f_score']} M{row['m_score']}: {group_title(row['segment'])} segment "
        f"({orders:,} order{'s' if orders != 1 else ''}, the last {int(row['recency_days']):,} days ago, "
        f"{amount(row['monetary'])} spent)",
        f"Lifecycle stage: {group_title(row['lifecycle'])}; {Thresholds(**attrs['thresholds']).rule()}",
    ]
    if _known(row.get("p_alive")):
        model = MODEL_NAMES.get(attrs.get("model") or "", "the value model")
        kind = "value" if attrs.get("margin") is None else "profit"
        lines.append(
            f"Predicted {kind} over the next {attrs['horizon_days']} days: {amount(row['clv'])}; "
            f"chance they are still buying: {row['p_alive']:.0%} ({model})"
        )
    else:
        lines.append(
            "Predicted value and chance still buying: not available " + (f"({page.notes[-1]})" if page.notes else "")
        )
    lines.append(page.next_order)
    return lines


def history_spans(history: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(first month end, last month end, segment, stage) for each run of month ends where neither changed."""
    spans: list[list[str]] = []
    for end, segment, stage in history[["month_end", "segment", "lifecycle"]].itertuples(index=False):
        if spans and spans[-1][2:] == [segment, stage]:
            spans[-1][1] = end
        else:
            spans.append([end, end, segment, stage])
    return [(first, last, segment, stage) for first, last, segment, stage in spans]


def page_text(page: CustomerPage) -> str:
    """The whole page, top to bottom, as the command line prints it."""
    out = [contact_line(page), f"Marketing consent: {consent_words(page.marketing_consent)}. As of {page.as_of}.", ""]
    out += standing_lines(page)
    if page.groups:
        out += ["", "Groups: " + "; ".join(f"{g.title} ({KIND_WORDS.get(g.kind, g.kind)})" for g in page.groups)]
    if len(page.history):
        out += ["", "At each month end (RFM segment, lifecycle stage):"]
        for first, last, segment, stage in history_spans(page.history):
            when = first if first == last else f"{first} to {last}"
            out.append(f"  {when}: {group_title(segment)}, {group_title(stage)}")
    out += ["", "Orders by month:" if len(page.monthly) else "No purchases on or before the as-of date."]
    for month, orders, revenue in page.monthly.itertuples(index=False):
        out.append(f"  {month}: {orders:,} order{'s' if orders != 1 else ''}, {amount(revenue)}")
    if len(page.orders):
        shown = page.orders.tail(LAST_ORDERS)
        out += [
            "",
            f"Last {len(shown)} of {len(page.orders):,} orders:" if len(page.orders) > len(shown) else "Orders:",
        ]
        for order in shown.itertuples(index=False):
            what = "" if order.is_purchase else " (returned or cancelled: not a purchase)"
            channel = f", {order.channel}" if isinstance(order.channel, str) else ""
            out.append(f"  {order.order_date:%Y-%m-%d} {order.order_id}: {amount(order.net_amount)}{channel}{what}")
    out += [""] + (["Campaigns: none yet."] if page.campaigns.empty else ["Campaigns:"])
    for c in page.campaigns.itertuples(index=False):
        side = "messaged" if c.arm == "audience" else "held out as control (not messaged)"
        out.append(f"  {c.campaign_id} to {group_title(c.segment)} (members as of {c.as_of:%Y-%m-%d}): {side}")
    return "\n".join(out)


def page_facts(page: CustomerPage) -> dict[str, Any]:
    """The page as JSON-ready facts (``segments customer ID --json``)."""
    row = None if page.row is None else {k: (None if not _present(v) else v) for k, v in page.row.items()}
    return {
        "customer_id": page.customer_id,
        "as_of": page.as_of,
        "contact": page.contact,
        "marketing_consent": page.marketing_consent,
        "customer": row,
        "next_order": page.next_order,
        "groups": [{"kind": g.kind, "key": g.key, "title": g.title} for g in page.groups],
        "history": page.history.to_dict("records"),
        "monthly": page.monthly.to_dict("records"),
        "orders": [{**o, "order_date": str(o["order_date"])[:10]} for o in page.orders.to_dict("records")],
        "campaigns": [
            {**c, "created_at": str(c["created_at"]), "as_of": str(c["as_of"])[:10]}
            for c in page.campaigns.to_dict("records")
        ],
    }


def _known(value: object) -> bool:
    return isinstance(value, float | int) and not math.isnan(value)


def _present(value: object) -> bool:
    return not (value is None or (isinstance(value, float) and math.isnan(value)))
