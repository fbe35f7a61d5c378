"""The Customers tab: one customer's page, found by id or name.

The same facts as ``segments customer ID`` (``segmentation.customer_page``): orders over time as a chart,
scores, stage and its history at month ends, value and the chance they are still buying, the next order's due
date and what it rests on, the groups they are in, consent and campaigns. Their name, email and city show here
and in the page's download only: nothing on this tab is handed to the assistant.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from segmentation.customer_page import CustomerNotFound, CustomerPage, customer_page
from segmentation.customer_text import KIND_WORDS, consent_words, contact_line, page_text
from segmentation.outreach.persona import amount
from segmentation.safety.markup import escape_markdown
from segmentation.store import connect_sandboxed
from tools import charts
from tools.base import ToolContext
from ui.data import DataState, Version
from ui.notices import empty_state
from ui.render import show_chart
from ui.tables import COLUMNS, show_table

MATCHES = 20
ARM_WORDS = {"audience": "Messaged", "control": "Held out (control)"}


@st.cache_data(show_spinner=False, max_entries=16)
def _page(db_path: str, version: Version, customer_id: str, k: int | None, margin: float | None) -> CustomerPage:
    with connect_sandboxed(db_path) as con:
        return customer_page(con, customer_id, k=k, margin=margin)


@st.cache_data(show_spinner=False, max_entries=16)
def search_customers(db_path: str, version: Version, text: str) -> pd.DataFrame:
    """Up to ``MATCHES`` customers whose id, name or email holds ``text`` (any case; a bound value, never SQL):
    exact ids first, then by id."""
    with connect_sandboxed(db_path) as con:
        return con.execute(
            """
            SELECT customer_id, concat_ws(' ', first_name, last_name) AS name FROM customers
            WHERE contains(lower(customer_id), $q) OR contains(lower(concat_ws(' ', first_name, last_name)), $q)
               OR contains(lower(coalesce(email, '')), $q)
            ORDER BY lower(customer_id) <> $q, customer_id LIMIT $n
            """,
            {"q": text.strip().lower(), "n": MATCHES},
        ).df()


def render_customers_tab(ctx: ToolContext, data: DataState) -> None:
    if data.version is None:
        empty_state()
        return
    typed = st.text_input(
        "Find a customer",
        key="cust-find",
        placeholder="Customer id, name or email",
        help="Type part of an id, a name or an email, then press Enter.",
    )
    if not typed or not typed.strip():
        st.caption("Their orders, scores, stage over time, predicted value, next order, groups and campaigns.")
        return
    found = search_customers(str(ctx.db_path), data.version, typed)
    if found.empty:
        st.info(f"No customer's id, name or email holds '{escape_markdown(typed.strip()[:40])}'.")
        return
    ids = found["customer_id"].tolist()
    names = dict(zip(ids, found["name"], strict=True))
    chosen = (
        ids[0]
        if len(ids) == 1
        else st.selectbox(
            f"{len(ids)} customers match" + (" (the first 20)" if len(ids) == MATCHES else ""),
            ids,
            key="cust-pick",
            format_func=lambda i: f"{i} · {names[i]}" if names[i] else i,
        )
    )
    from ui.dashboard import chat_cluster_k

    k = st.session_state.get("dash-k") or chat_cluster_k()  # the groups the person last saw, by the same keys
    try:
        page = _page(str(ctx.db_path), data.version, chosen, k, ctx.margin)
    except CustomerNotFound as exc:
        st.info(escape_markdown(exc))
        return
    render_page(page)


def render_page(page: CustomerPage) -> None:
    """The page, top to bottom: who, where they stand, their orders, history, groups and campaigns."""
    st.subheader(escape_markdown(page.name or page.customer_id))
    st.caption(
        escape_markdown(
            f"{contact_line(page)}. Marketing consent: {consent_words(page.marketing_consent)}. As of {page.as_of}."
        )
    )
    row = page.row
    if row is None:
        st.info(escape_markdown(page.next_order))
        return
    attrs = page.table_attrs
    cols = st.columns(5)
    cols[0].metric("Orders", f"{int(row['frequency']):,}", border=True)
    cols[1].metric("Spent", amount(row["monetary"]), border=True, help="Net of returns and cancellations")
    known = row.get("p_alive") == row.get("p_alive") and row.get("p_alive") is not None  # NaN is not itself
    cols[2].metric(
        f"Predicted value ({attrs['horizon_days']} days)", amount(row["clv"]) if known else "n/a", border=True
    )
    cols[3].metric(
        "Chance still active", f"{row['p_alive']:.0%}" if known else "n/a", border=True, help=COLUMNS["p_alive"][2]
    )
    due = row.get("next_order_date")
    cols[4].metric("Next order due", due if isinstance(due, str) else "none", border=True)
    st.markdown(escape_markdown(page.next_order))
    st.markdown(
        escape_markdown(
            f"RFM scores R{row['r_score']} F{row['f_score']} M{row['m_score']}, last order "
            f"{int(row['recency_days']):,} "
            f"days ago. Groups: " + "; ".join(f"{g.title} ({KIND_WORDS.get(g.kind, g.kind)})" for g in page.groups)
        )
    )
    show_chart(charts.customer_orders(page.orders), "cust-orders-chart")
    if len(page.history):
        st.markdown("**Segment and stage at each month end**")
        show_table(page.history, "cust-history")
    st.markdown("**Orders by month**")
    show_table(page.monthly, "cust-monthly")
    st.markdown("**Campaigns**")
    if page.campaigns.empty:
        st.caption("Not in any campaign yet.")
    else:
        show_table(page.campaigns.assign(arm=page.campaigns["arm"].map(ARM_WORDS)), "cust-campaigns")
    with st.expander(f"Every order ({len(page.orders):,})"):
        show_table(page.orders, "cust-orders")
    safe_id = re.sub(r"[^A-Za-z0-9_.-]", "_", page.customer_id)  # an id is the shop's text: no path in a file name
    st.download_button(
        "Download this page (text)",
        page_text(page).encode("utf-8"),
        file_name=f"customer_{safe_id}.txt",
        mime="text/plain",
        key="cust-dl",
        on_click="ignore",
        icon=":material/download:",
    )
