"""The Streamlit front door: chat with the assistant, import data, see the segments.

It renders what the agent and the tools return and computes nothing itself (DESIGN.md). Top to bottom:
page setup, the access gate, the sidebar (data import, settings), then four tabs: Chat, Segments,
Campaigns and Customers (one customer's page).
Each part lives in ``ui/``; only the open tab runs.
"""

from __future__ import annotations

import streamlit as st

from segmentation import currency
from ui.auth import require_access
from ui.chat import render_chat
from ui.data import data_state, shop_line
from ui.importer import render_import_sidebar
from ui.session import current_settings, render_settings, session_agent, tool_context, workspace

st.set_page_config(page_title="Customer segments", page_icon="🧁", layout="wide")

settings = current_settings()
if not require_access(settings):
    st.stop()

ctx = tool_context(settings)
ws = workspace()
agent = session_agent(ctx, settings, ws)
render_import_sidebar(ctx)
with st.sidebar:
    render_settings(agent, settings, ctx, ws)

st.title("Customer segments")
data = data_state(ctx.db_path)  # after the sidebar: an import there shows at once
if data.version is not None:
    st.caption(shop_line(data))
# Amounts on every tab carry the shop's currency (segmentation.currency): tables, charts, metrics.
with currency.using(data.currency):
    chat_tab, segments_tab, campaigns_tab, customers_tab = st.tabs(
        ["Chat", "Segments", "Campaigns", "Customers"], key="tab", on_change="rerun", bind="query-params"
    )
    if chat_tab.open:
        question = st.chat_input("Ask about your customers, e.g. who are my lapsed customers?")  # pinned below
        with chat_tab:
            render_chat(agent, ctx, ws, data, question)
    # The other tabs' modules (pandas, altair) load when a tab is first opened, not before the first paint.
    if segments_tab.open:
        from ui.dashboard import render_dashboard

        with segments_tab:
            render_dashboard(ctx, data)
    if campaigns_tab.open:
        with campaigns_tab:
            if data.version is None:
                st.info("Import your orders (or use the demo shop) in the sidebar first.")
            else:
                from ui.campaigns import render_campaigns_tab

                render_campaigns_tab(ctx, data)
    if customers_tab.open:
        from ui.customer import render_customers_tab

        with customers_tab:
            render_customers_tab(ctx, data)
if data.version is not None:  # last, once the page is drawn: scikit-learn loads while the owner types (ui/warm.py)
    from ui.warm import warm_up

    warm_up()
