"""The Campaigns tab: create a campaign with a control group, and see whether each one worked."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from segmentation import campaigns
from segmentation.lifecycle import STAGES
from segmentation.markup import escape_markdown
from segmentation.rfm import SEGMENT_KEYS, AnalysisError, resolve_as_of
from segmentation.store import STORE_LOCK, StoreError, connect, connect_sandboxed
from tools import charts
from tools.base import ToolContext


def render_campaigns_tab(ctx: ToolContext) -> None:
    st.subheader("Campaigns")
    st.caption(
        "Each campaign keeps a random control group that is not messaged, so you can see later whether the "
        "message made a difference. Customers who said no to marketing are never in an audience."
    )
    _create_form(ctx)
    try:
        with connect_sandboxed(ctx.db_path) as con:
            listed = campaigns.list_campaigns(con)
            results = {cid: _measure(con, cid) for cid in listed["id"]}
    except (StoreError, AnalysisError) as exc:
        st.info(escape_markdown(exc))
        return
    if listed.empty:
        st.info("No campaigns yet: create one above, send the audience file, and come back after new orders.")
        return
    for row in listed.itertuples():
        result = results[row.id]
        with st.expander(f"{row.id}: {row.segment}, from {row.as_of}", expanded=row.Index == len(listed) - 1):
            cols = st.columns(3)
            cols[0].metric("Messaged", f"{row.audience:,}")
            cols[1].metric("Held out", f"{row.control:,}")
            if isinstance(result, str):
                st.info(escape_markdown(result))
                continue
            cols[2].metric("Extra buyers per 100", f"{result.lift['conversion_diff'] * 100:+.0f}")
            st.write(result.verdict)
            st.altair_chart(charts.treated_vs_control(result.as_dict()), key=f"campaign-chart-{row.id}")


def _measure(con, campaign_id: str):
    try:
        return campaigns.measure_campaign(con, campaign_id)
    except AnalysisError as exc:
        return str(exc)


def _create_form(ctx: ToolContext) -> None:
    with st.form("create-campaign"):
        group = st.selectbox("Who to message", SEGMENT_KEYS + STAGES, index=SEGMENT_KEYS.index("at_risk"))
        holdout = st.slider("Held out as a control group", 0.05, 0.5, 0.1, 0.05, format="%.2f")
        seed = st.number_input("Random seed (the same seed gives the same split)", 0, 10_000, 0)
        submitted = st.form_submit_button("Create campaign")
    if not submitted:
        return
    try:
        with STORE_LOCK.exclusive(), connect(ctx.db_path) as con:
            from segmentation.profile import group_members

            day = resolve_as_of(con, None)
            members = group_members(con, group, as_of=day)
            con.execute("BEGIN TRANSACTION")
            created = campaigns.create_campaign(con, group, members=members, as_of=day, holdout=holdout,
                                                seed=int(seed))
            out = Path(tempfile.mkdtemp(prefix="segments-campaign-"))
            paths = campaigns.export_arms(con, created.id, out)
            con.execute("COMMIT")
    except (AnalysisError, StoreError) as exc:
        st.error(escape_markdown(exc))
        return
    day = dt.date.fromisoformat(created.as_of)
    st.success(
        f"Campaign {created.id}: {created.audience:,} to message, {created.control:,} held out, "
        f"{created.excluded_no_consent:,} left out for lack of marketing consent (as of {day:%d %b %Y})."
    )
    for arm, path in paths.items():
        # Read on the click (a callable), so the list is on the server under a URL only when asked for.
        st.download_button(f"Download {arm}.csv", path.read_bytes, file_name=f"{created.id}_{arm}.csv",
                           mime="text/csv", key=f"download-{created.id}-{arm}")
    st.dataframe(pd.read_csv(paths["audience"]).head(20), hide_index=True)
