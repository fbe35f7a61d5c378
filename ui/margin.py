"""The sidebar's profit margin: with one, predicted value is profit; without, revenue (issue 16).

Kept per browser session in ``st.session_state`` (the widget's key) and on the session's ``ToolContext``,
where ``predict_value`` and the Segments tab read it. 0 means "not given": value stays revenue.
"""

from __future__ import annotations

import streamlit as st

from tools.base import ToolContext

MARGIN_KEY = "margin-percent"


def render_margin(ctx: ToolContext) -> None:
    """A number input, 0-100%: sets ``ctx.margin`` to a share (None at 0)."""
    percent = st.number_input(
        "Profit margin (%)",
        min_value=0.0,
        max_value=100.0,
        step=5.0,
        key=MARGIN_KEY,
        value=0.0,
        help="The share of revenue you keep as profit. With a margin, predicted customer value is profit; "
        "at 0 it is revenue. Either way it is in today's money, discounted at 10% a year.",
    )
    ctx.margin = percent / 100 if percent > 0 else None
