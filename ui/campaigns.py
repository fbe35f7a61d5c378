"""The Campaigns tab: plan a campaign that can be measured, create it, download its lists, see whether it worked."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from segmentation.outreach import campaigns
from segmentation.outreach.campaign_plan import HOLDOUT_SHARES, CampaignPlan, campaign_plan, power_sentence
from segmentation.outreach.persona import amount
from segmentation.safety.markup import escape_markdown
from segmentation.store import STORE_LOCK, connect, connect_sandboxed, resolve_as_of
from segmentation.vocabulary import SEGMENT_KEYS, STAGES, AnalysisError, SegmentsError
from tools import charts
from tools.base import ToolContext
from ui.data import DataState, Version, customer_frame, saved_sizes

CREATED_KEY = "campaign-created"  # the last creation's sentence, kept across reruns


def render_campaigns_tab(ctx: ToolContext, data: DataState) -> None:
    st.subheader("Campaigns")
    st.caption(
        "Each campaign keeps a random control group that is not messaged, so you can see later whether the "
        "message made a difference. Customers who said no to marketing are never in an audience."
    )
    _plan_and_create(ctx, data)
    try:
        with connect_sandboxed(ctx.db_path) as con:
            listed = campaigns.list_campaigns(con)
            results = {cid: _measure(con, cid) for cid in listed["id"]}
    except SegmentsError as exc:
        st.info(escape_markdown(exc))
        return
    if listed.empty:
        st.info("No campaigns yet: create one above, send the audience file, and come back after new orders.")
        return
    for row in listed.itertuples():
        _campaign_card(ctx, row, results[row.id], expanded=row.Index == len(listed) - 1)


@st.cache_data(max_entries=64, show_spinner=False)
def _plan(db_path: str, version: Version, group: str) -> CampaignPlan:
    with connect_sandboxed(db_path) as con:
        return campaign_plan(con, group)


def _group_names(db_path: str, version: Version) -> dict[str, str]:
    """Each built-in group as the Segments tab shows it (its name, kind and size), then each saved segment."""
    frame = customer_frame(db_path, version, None)
    sizes = {**frame["segment"].value_counts().to_dict(), **frame["lifecycle"].value_counts().to_dict()}
    names = {
        key: f"{charts.label(key)} ({'stage' if key in STAGES else 'segment'}, {int(sizes.get(key, 0)):,} customers)"
        for key in [*SEGMENT_KEYS, *STAGES]
    }
    # The owner's saved segments (segmentation.custom.saved) after the built-in groups: a campaign can go to any of
    # them.
    return names | {name: f"{name} (your segment, {n:,} customers)" for name, n in saved_sizes(db_path).items()}


def _plan_and_create(ctx: ToolContext, data: DataState) -> None:
    # Plain widgets, not a form: the sizes and the power line follow each choice as it is made.
    if data.version is None:  # app.py opens this tab only once there is data
        return
    names = _group_names(str(ctx.db_path), data.version)
    group = st.selectbox(
        "Who to message",
        list(names),
        format_func=names.__getitem__,
        index=SEGMENT_KEYS.index("at_risk"),
        key="cmp-group",
    )
    cols = st.columns(3)
    holdout = cols[0].select_slider(
        "Held out as a control group",
        HOLDOUT_SHARES,
        value=0.1,
        format_func=lambda share: f"{share:.0%}",
        key="cmp-holdout",
    )
    lift = cols[1].number_input("Smallest lift worth finding (extra buyers per 100)", 1, 50, 5, key="cmp-lift") / 100
    seed = cols[2].number_input("Random seed (the same seed gives the same split)", 0, 10_000, 0, key="cmp-seed")
    try:
        plan = _plan(str(ctx.db_path), data.version, group)
    except SegmentsError as exc:
        st.info(escape_markdown(exc))
        return
    st.write(escape_markdown(power_sentence(plan, holdout, lift)))
    if st.button("Create campaign", key="cmp-create"):
        st.session_state[CREATED_KEY] = _create(ctx, group, holdout, int(seed))
    created = st.session_state.get(CREATED_KEY)
    if created is not None:
        ok, sentence = created
        (st.success if ok else st.error)(escape_markdown(sentence))


def _create(ctx: ToolContext, group: str, holdout: float, seed: int) -> tuple[bool, str]:
    """(created, what to say): the campaign is recorded; its lists are downloaded from its card below."""
    try:
        with STORE_LOCK.exclusive(), connect(ctx.db_path) as con:
            from segmentation.profile import group_members

            day = resolve_as_of(con, None)
            created = campaigns.create_campaign(
                con, group, members=group_members(con, group, as_of=day), as_of=day, holdout=holdout, seed=seed
            )
    except SegmentsError as exc:
        return False, str(exc)
    day = dt.date.fromisoformat(created.as_of)
    return True, (
        f"Campaign {created.id}: {created.audience:,} to message, {created.control:,} held out, "
        f"{created.excluded_no_consent:,} left out for lack of marketing consent (as of {_day(day)}). "
        "Its lists are in its card below."
    )


def _day(day) -> str:
    day = pd.Timestamp(day).date()
    return f"{day.day} {day:%b %Y}"


def _measure(con, campaign_id: str):
    try:
        return campaigns.measure_campaign(con, campaign_id)
    except AnalysisError as exc:
        return str(exc)


def _campaign_card(ctx: ToolContext, row, result, *, expanded: bool) -> None:
    with st.expander(f"{row.id}: {charts.label(row.segment)}, from {_day(row.as_of)}", expanded=expanded):
        cols = st.columns(4)
        cols[0].metric("Messaged", f"{row.audience:,}")
        cols[1].metric("Held out", f"{row.control:,}")
        _downloads(ctx, row.id)
        if isinstance(result, str):
            st.info(escape_markdown(result))
            return
        measured = result.days_observed > 0 and min(row.audience, row.control) >= campaigns.MIN_ARM
        if measured:
            cols[2].metric("Extra buyers per 100", f"{result.lift['conversion_diff'] * 100:+.0f}")
            treated, diff = result.treated["revenue_per_customer"], result.lift["revenue_diff"]
            cols[3].metric(
                "Revenue per customer messaged",
                amount(treated),
                f"{'+' if diff >= 0 else ''}{amount(diff)} against held out",
            )
        st.write(escape_markdown(result.verdict))
        if measured:
            st.altair_chart(charts.treated_vs_control(result.as_dict()), key=f"campaign-chart-{row.id}")


def _downloads(ctx: ToolContext, campaign_id: str) -> None:
    """Both lists, for as long as the campaign exists; read on the click and without a rerun of the page."""
    cols = st.columns(2)
    for col, arm in zip(cols, campaigns.ARMS, strict=True):

        def read(arm: str = arm) -> bytes:
            with connect_sandboxed(ctx.db_path) as con:
                return campaigns.arm_csv(con, campaign_id, arm)

        col.download_button(
            f"Download {arm}.csv",
            read,
            file_name=f"{campaign_id}_{arm}.csv",
            mime="text/csv",
            key=f"download-{campaign_id}-{arm}",
            on_click="ignore",
            icon=":material/download:",
        )
