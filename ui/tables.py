"""How the app shows a tool's table: headers in words, groups by their titles, shares as percentages, money
in the shop's currency, and no column of blanks.

The tools' tables keep their raw columns (keys, shares from 0 to 1, unrounded values): their CSV downloads
and the command line read them, and a program wants them so. This is only the view: one place, so every
table on every tab reads the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from segmentation import currency
from segmentation.vocabulary import GROUP_TITLES, group_title

if TYPE_CHECKING:
    import pandas as pd

# Column -> (header, kind, help). Kinds: money, share (0-1), count, days, decimal, score, text, consent, group,
# basis (a next order date's, segmentation.value.nextorder).
COLUMNS: dict[str, tuple[str, str, str | None]] = {
    "customer_id": ("Customer", "text", None),
    "first_name": ("First name", "text", None),
    "last_name": ("Last name", "text", None),
    "full_name": ("Name", "text", None),
    "email": ("Email", "text", None),
    "city": ("City", "text", None),
    "country": ("Country", "text", None),
    "segment": ("RFM segment", "group", "Ranks customers against each other on recency and frequency"),
    "lifecycle": ("Stage", "group", "Your shop's clock: how long since the last order, against your usual gap"),
    "group": ("Group", "group", None),
    "key": ("Group", "group", None),
    "name": ("Name", "text", None),
    "rank": ("Rank", "count", None),
    "recency_days": ("Days since last order", "count", None),
    "frequency": ("Orders", "count", None),
    "monetary": ("Spent", "money", "Net of returns and cancellations"),
    "r_score": ("R score", "score", "Recency score, 1-5: 5 bought most recently"),
    "f_score": ("F score", "score", "Frequency score, 1-5: 5 bought most often"),
    "m_score": ("M score", "score", "Spend score, 1-5: 5 spent most"),
    "clv": (
        "Predicted value",
        "money",
        "What the value model expects the customer to spend over the horizon, in today's money",
    ),
    "expected_purchases": ("Expected purchases", "decimal", None),
    "p_alive": (
        "Chance still active",
        "share",
        "The value model's chance the customer has not silently stopped "
        "buying. Not a stage: 'lapsed' means no order for longer than your shop's gap rule, and many "
        "lapsed customers are still likely active. Rank who to win back by predicted value.",
    ),
    "next_order_date": (
        "Next order due",
        "text",
        "When the next order is due: the last order plus the customer's "
        "usual days between orders (three orders or more), else their segment's or the shop's; none "
        "for customers more likely gone than not. Before today: overdue.",
    ),
    "next_order_basis": ("Due date from", "basis", None),
    "marketing_consent": ("Consents to marketing", "consent", None),
    "customers": ("Customers", "count", None),
    "size": ("Customers", "count", None),
    "repeat_customers": ("Repeat customers", "count", None),
    "reachable": (
        "Reachable",
        "count",
        "Customers with an email address who consent to marketing, where the data records consent",
    ),
    "orders": ("Orders", "count", None),
    "revenue": ("Revenue", "money", None),
    "avg_order_value": ("Average order", "money", None),
    "value_at_stake": ("Value at stake", "money", "Predicted value of the group's customers over the horizon"),
    "spent_last_year": ("Spent in the year before", "money", None),
    "revenue_per_customer": ("Revenue per customer", "money", None),
    "share": ("Share of customers", "share", None),
    "customer_share": ("Share of customers", "share", None),
    "revenue_share": ("Share of revenue", "share", None),
    "value_share": ("Share of value at stake", "share", None),
    "median_recency_days": ("Median days since last order", "days", None),
    "median_frequency": ("Median orders", "decimal", None),
    "typical_gap_days": ("Typical days between orders", "days", None),
    "urgency": ("Urgency", "decimal", None),
    "value_points": ("Value points", "decimal", None),
    "reach_points": ("Reach points", "decimal", None),
    "size_points": ("Size points", "decimal", None),
    "score": ("Score", "decimal", None),
    "reason": ("Why", "text", None),
    "month": ("Month", "text", None),
    "month_end": ("Month end", "text", None),
    "order_id": ("Order", "text", None),
    "order_date": ("Date", "text", None),
    "net_amount": ("Value", "money", "Net of returns and cancellations"),
    "line_count": ("Lines", "count", None),
    "channel": ("Channel", "text", None),
    "is_purchase": ("Purchase", "consent", "An order worth more than nothing once returns are taken off"),
    "campaign_id": ("Campaign", "text", None),
    "created_at": ("Created", "text", None),
    "as_of": ("Members as of", "text", None),
    "goal": ("Goal", "text", None),
    "arm": ("Side", "text", None),
    "measure": ("Measure", "text", None),
}
# A breakdown's per-segment shares: seg_champions -> "Champions" (a share of the row's customers).
SEGMENT_SHARE_PREFIX = "seg_"
PERSONAL_TEXT = ("first_name", "last_name", "full_name", "email", "city", "country")


def table_view(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame as shown, and its ``column_config``: groups titled, shares as percentages, empty columns gone.

    Money takes the active currency's sign (``segmentation.currency.using``); the frame itself is not changed.
    """
    from pandas.api.types import is_numeric_dtype

    sign = currency.prefix()
    shown = frame.copy(deep=False)
    config: dict[str, Any] = {}
    for column in list(shown.columns):
        header, kind, help_text = COLUMNS.get(column, (None, None, None))
        if column.startswith(SEGMENT_SHARE_PREFIX) and column.removeprefix(SEGMENT_SHARE_PREFIX) in GROUP_TITLES:
            header, kind = group_title(column.removeprefix(SEGMENT_SHARE_PREFIX)), "share"
        values = shown[column]
        if column in PERSONAL_TEXT and values.isna().all():
            shown = shown.drop(columns=column)  # a file without names: no column of "None" in every row
            continue
        if kind == "group":
            shown[column] = values.map(lambda v: group_title(v) if isinstance(v, str) else v)
        elif kind == "basis":
            from segmentation.value.nextorder import BASIS_TITLES  # it imports pandas: not on the first page's path

            shown[column] = values.map(lambda v: BASIS_TITLES.get(v, "") if isinstance(v, str) else "")
        elif kind == "share" and values.dtype.kind == "f":
            shown[column] = values * 100  # shown "39.3%"; sorting stays numeric
        elif kind == "text" and not is_numeric_dtype(values):
            shown[column] = values.fillna("")  # a missing city reads as blank, not "None"
        config[column] = _config(
            kind,
            header or column.replace("_", " ").capitalize(),
            help_text,
            sign,
            frame.attrs.get("horizon_days") if column == "clv" else None,
        )
    return shown, config


def _config(kind: str | None, header: str, help_text: str | None, sign: str, horizon: int | None) -> Any:
    if horizon:
        header = f"{header} ({horizon} days)"
    number = st.column_config.NumberColumn
    if kind == "money":
        return number(header, format=f"{sign.replace('%', '%%')}%,.2f", help=help_text)
    if kind == "share":
        return number(header, format="%.1f%%", help=help_text)
    if kind in ("count", "score"):
        return number(header, format="%,d", help=help_text)
    if kind == "days":
        return number(header, format="%,.0f", help=help_text)
    if kind == "decimal":
        return number(header, format="%,.2f", help=help_text)
    if kind == "consent":
        return st.column_config.CheckboxColumn(header, help=help_text)
    return st.column_config.Column(header, help=help_text)


def show_table(frame: pd.DataFrame, key: str) -> None:
    """``st.dataframe`` of ``table_view(frame)``, without the index."""
    shown, config = table_view(frame)
    st.dataframe(shown, hide_index=True, key=key, column_config=config)
