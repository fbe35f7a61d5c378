"""The Segments tab: the whole picture without typing, top to bottom.

Key figures; RFM segments (table, sizes and revenue, the R x F grid); lifecycle stages with their
thresholds; the most valuable customers at risk; machine-found groups (on demand: clustering takes a
moment); and any group opened into its profile, persona and customer list. Everything is read through
caches keyed by the data's version and the as-of date (``ui.data``), so a rerun costs almost nothing.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from segmentation.currency import compact_money
from segmentation.lifecycle import Thresholds
from segmentation.outreach.persona import amount
from segmentation.safety.markup import escape_markdown
from segmentation.store import connect_sandboxed
from segmentation.vocabulary import SEGMENT_KEYS, STAGES
from tools import charts
from tools.base import CsvOf, ToolArgsError, ToolContext, ToolFailure
from tools.segments import group_summary_table
from tools.wording import file_stem
from ui.breakdowns import render_breakdowns
from ui.builder import as_code, render_builder
from ui.chat import SEEN_CLUSTERING
from ui.data import DataState, Version, customer_frame, people, saved_sizes, tool_result
from ui.notices import empty_state
from ui.render import download_data, render_persona, show_chart
from ui.tables import show_table

TOP_AT_RISK = 20
AT_RISK = ("cannot_lose_them", "at_risk")


def render_dashboard(ctx: ToolContext, data: DataState) -> None:
    if data.problem:
        st.warning(escape_markdown(data.problem), icon=":material/error:")
        return
    if data.version is None:
        empty_state()
        return
    as_of = _as_of(data)
    frame = customer_frame(str(ctx.db_path), data.version, as_of, ctx.margin)
    _kpis(frame)
    _segments(frame)
    _lifecycle(frame)
    _at_risk(ctx, data.version, frame)
    clusters = _clusters(ctx, data.version, as_of)
    # Before the group picker: a segment saved here is in it on the same run.
    render_builder(str(ctx.db_path), data, as_of, frame)
    _group(ctx, data.version, as_of, frame, clusters)


def _as_of(data: DataState) -> str | None:
    """The as-of date typed (None: the last order's day, every analysis's default).

    A text field, not ``st.date_input``: Streamlit's date field takes a typed date only once the field loses
    focus (Enter opens its calendar instead), so a date typed and entered was ignored. Here Enter or leaving
    the field applies it; a date outside the data, or not a date, is said in one line and the last day is used.
    """
    first, last = dt.date.fromisoformat(data.first_date), dt.date.fromisoformat(data.last_date)
    typed = st.text_input(
        "As of",
        key="dash-as-of",
        width=220,
        placeholder=last.isoformat(),
        help=f"Replay any past day from {_day(first)} to {_day(last)}: only orders on or before "
        "it count. Write it as 2026-06-30 or 30/06/2026, then press Enter.",
    )
    if not typed or not typed.strip():
        return None
    picked = parse_day(typed)
    if picked is None:
        st.caption(
            f":material/error: '{escape_markdown(typed.strip()[:30])}' is not a date: write it as "
            f"{last.isoformat()} or {last:%d/%m/%Y}. Showing {_day(last)}, the last order's day."
        )
        return None
    if not first <= picked <= last:
        st.caption(
            f":material/error: Your orders run from {_day(first)} to {_day(last)}: pick a day between. "
            f"Showing {_day(last)}, the last order's day."
        )
        return None
    st.caption(f"As of {_day(picked)}: only orders on or before it count.")
    return None if picked == last else picked.isoformat()


# Day first before month first: 05/06/2026 is 5 June, as the UK writes it; 06/30/2026 can only be month first.
DAY_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y", "%Y/%m/%d", "%m/%d/%Y")


def parse_day(text: str) -> dt.date | None:
    """'2026-06-30', '30/06/2026' (day first, as the UK writes it), '30 Jun 2026' -> a date; else None."""
    cleaned = " ".join(text.strip().split())
    for fmt in DAY_FORMATS:
        try:
            return dt.datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return None


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _kpis(frame: pd.DataFrame) -> None:
    limits = Thresholds(**frame.attrs["thresholds"])
    n = len(frame)
    cols = st.columns(4)
    cols[0].metric("Customers", f"{n:,}", border=True)
    revenue = frame["monetary"].sum()
    cols[1].metric(
        "Revenue",
        compact_money(revenue, exact_below=10_000),
        border=True,
        help=f"{amount(revenue)}, net of returns and cancellations",
    )  # the exact sum: cut off in a quarter
    cols[2].metric(
        "Repeat rate",
        f"{(frame['frequency'] > 1).mean():.0%}" if n else "n/a",
        border=True,
        help="Share of customers who bought more than once",
    )
    cols[3].metric(
        "Lapsed",
        f"{(frame['lifecycle'] == 'lapsed').mean():.0%}" if n else "n/a",
        border=True,
        help=f"Lapsed = no order in {limits.lapsed_after_days} days ({limits.basis})",
    )
    for warning in frame.attrs.get("warnings", []):
        st.caption(f":material/info: {escape_markdown(warning)}")


def _segments(frame: pd.DataFrame) -> None:
    st.subheader("RFM segments")
    table = group_summary_table(frame, "segment", SEGMENT_KEYS)
    show_chart(charts.segment_bars(table), "dash-segment-bars")  # one under the other: side by side, cut off
    show_chart(charts.rfm_grid(frame), "dash-rfm-grid")
    show_table(table, "dash-segment-table")


def _lifecycle(frame: pd.DataFrame) -> None:
    st.subheader("Lifecycle")
    limits = Thresholds(**frame.attrs["thresholds"])  # the chart states them
    table = group_summary_table(frame, "lifecycle", STAGES)
    show_chart(charts.lifecycle_bars(table, limits), "dash-lifecycle")
    st.caption(escape_markdown(both_names(frame)))


HIGH_SEGMENTS = ("champions", "loyal", "cannot_lose_them")


def both_names(frame: pd.DataFrame) -> str:
    """Why a customer can be 'loyal' and 'lapsed' at once, with how many are, in the owner's words."""
    lapsed = frame[frame["lifecycle"] == "lapsed"]
    high = lapsed[lapsed["segment"].isin(HIGH_SEGMENTS)]
    said = (
        "RFM segments rank customers against each other (a loyal customer bought more often than most); "
        "lifecycle stages use your shop's clock (lapsed: no order for longer than your lapsed mark). So one "
        "customer can be both"
    )
    if high.empty:
        return said + "; today none of your lapsed customers is in a top segment."
    example = high.sort_values(["frequency", "customer_id"], ascending=[False, True]).iloc[0]
    return (
        said + f": {len(high):,} of your lapsed customers are in a top segment (champions, loyal or can't lose "
        f"them), for example one who is {charts.label(example['segment']).lower()}, but lapsed: "
        f"{int(example['frequency']):,} orders, none for {int(example['recency_days']):,} days."
    )


def _at_risk(ctx: ToolContext, version: Version, frame: pd.DataFrame) -> None:
    st.subheader("Most valuable customers at risk")
    risky = frame[frame["segment"].isin(AT_RISK)].sort_values(["monetary", "customer_id"], ascending=[False, True])
    if risky.empty:
        st.caption("Nobody is at risk or in 'can't lose them' today.")
        return
    listed = risky.merge(people(str(ctx.db_path), version), on="customer_id", how="left")[
        [
            "customer_id",
            "first_name",
            "last_name",
            "email",
            "city",
            "segment",
            "recency_days",
            "frequency",
            "monetary",
            "clv",
            "p_alive",
            "marketing_consent",
        ]
    ]
    st.caption(
        f"{len(risky):,} customers are at risk or can't-lose-them; together they have spent "
        f"{amount(risky['monetary'].sum())}. The top {min(TOP_AT_RISK, len(risky))} by spend:"
    )
    shown = listed.head(TOP_AT_RISK)
    shown.attrs["horizon_days"] = frame.attrs.get("horizon_days")
    show_table(shown, "dash-at-risk")
    # Made on the click: the tab is drawn again on every run, and the list is rarely downloaded.
    st.download_button(
        "Download all of them (CSV)",
        CsvOf(listed),
        file_name="at_risk_customers.csv",
        mime="text/csv",
        key="dash-at-risk-dl",
        on_click="ignore",
        icon=":material/download:",
    )


def chat_cluster_k() -> int | None:
    """How many groups the chat's last clustering in this session showed (None: it made none)."""
    turns = (st.session_state.get("conversation") or {}).get("turns", [])
    for shown in reversed(turns):
        for call in reversed(shown.turn.tool_calls):
            if call.name == "cluster_customers" and call.result is not None and call.result.facts:
                return int(call.result.facts["k"])
    return None


def _cluster_k() -> int | None:
    """The number of groups for this tab (None: the automatic choice): the clustering the person last saw.

    "Split my customers into 4 groups" in the chat, then this tab: its cluster_2 is the chat's cluster_2, not
    the automatic clustering's (issue 17). The tab follows each new clustering in the chat; a number picked
    here holds until the chat shows another.
    """
    seen = chat_cluster_k()
    if seen is not None and st.session_state.get("dash-chat-k") != seen:
        st.session_state["dash-chat-k"] = seen
        st.session_state["dash-k"] = seen  # set before the widget is made: it opens on the chat's k
    return st.selectbox(
        "Number of groups",
        [None, *range(2, 9)],
        key="dash-k",
        width=220,
        format_func=lambda k: "Automatic" if k is None else f"{k} groups",
        help="Automatic: the number of groups that separates your customers best. The "
        "chat's last split into groups sets it.",
    )


def _clusters(ctx: ToolContext, version: Version, as_of: str | None):
    """Machine-found groups, once asked for (per data version and date); their ToolResult, or None."""
    st.subheader("Groups that shop alike")
    k = _cluster_k()
    wanted = (version, as_of)
    if st.session_state.get("dash-clusters-for") != wanted:
        st.caption("k-means on recency, frequency, spend, tenure, basket size, categories and channels.")
        if not st.button("Find customer groups", key="dash-find-clusters", icon=":material/scatter_plot:"):
            return None
        st.session_state["dash-clusters-for"] = wanted
    try:
        with st.spinner("Finding groups..."):
            result = tool_result(ctx, version, "cluster_customers", {"as_of": as_of, "k": k})
    except (ToolArgsError, ToolFailure) as exc:
        st.info(escape_markdown(exc))
        return None
    show_chart(result.chart, "dash-cluster-map")
    show_table(result.table, "dash-cluster-table")
    # The chat's next "cluster 2" means one of these groups: the clustering the person saw last (ui.chat).
    st.session_state[SEEN_CLUSTERING] = ({"as_of": as_of, "k": k}, result.facts)
    return result


def _saved_changes(ctx: ToolContext, version: Version, name: str) -> str | None:
    """A saved segment's condition, who joined and left with the latest import ("12 joined and 3 left since the
    import of 1 December"), and the two lists to download, with names and emails for the owner (issue 18). Read
    afresh, not cached by data version: a segment is saved without an import. Returns its condition."""
    from segmentation.custom.saved import SegmentError, change_words, require_segment, segment_history, segment_moves

    try:
        with connect_sandboxed(ctx.db_path) as con:
            found = require_segment(con, name)
            history = segment_history(con, found.name)
            moves = segment_moves(con, found.name, last_only=True)
    except SegmentError as exc:
        st.info(escape_markdown(exc))
        return None
    st.caption(f"{as_code(found.condition)}: {escape_markdown(change_words(history))}")
    listed = moves[["customer_id", "move"]].merge(people(str(ctx.db_path), version), on="customer_id", how="left")
    cols = st.columns(2)
    for col, move in zip(cols, ("joined", "left"), strict=True):
        who = listed[listed["move"] == move].drop(columns="move").reset_index(drop=True)
        col.download_button(
            f"Who {move} ({len(who):,})",
            CsvOf(who),
            file_name=f"{file_stem(found.name)}_{move}.csv",
            mime="text/csv",
            key=f"dash-saved-{move}",
            on_click="ignore",
            icon=":material/download:",
            disabled=who.empty,
        )
    return found.condition


def _group(ctx: ToolContext, version: Version, as_of: str | None, frame: pd.DataFrame, clusters) -> None:
    st.subheader("Look closer at one group")
    sizes = {**frame["segment"].value_counts().to_dict(), **frame["lifecycle"].value_counts().to_dict()}
    options = [*SEGMENT_KEYS, *STAGES]
    names = {}
    if clusters is not None:
        names = dict(zip(clusters.table["key"], clusters.table["name"], strict=True))
        sizes |= dict(zip(clusters.table["key"], clusters.table["size"], strict=True))
        options += list(names)
    saved = saved_sizes(str(ctx.db_path), as_of)  # the owner's own segments, beside the built-in ones
    sizes |= saved
    options += list(saved)

    def shown(key: str) -> str:
        if key in saved:
            return f"{key} (your segment, {saved[key]:,} customers)"
        kind = "stage" if key in STAGES else "group" if key in names else "segment"
        name = f"{charts.label(key)}: {names[key]}" if key in names else charts.label(key)
        return f"{name} ({kind}, {int(sizes.get(key, 0)):,} customers)"

    key = st.selectbox("Group", options, format_func=shown, key="dash-group")
    # A cluster key of the clustering shown above (its k), not of the automatic one.
    k = {"k": clusters.facts["k"]} if key in names else {}
    try:
        profile = tool_result(ctx, version, "describe_segment", {"group": key, "as_of": as_of, **k})
    except (ToolArgsError, ToolFailure) as exc:
        st.info(escape_markdown(exc))
        return
    condition = _saved_changes(ctx, version, key) if key in saved else None
    if profile.persona:
        render_persona(profile.persona)
    render_breakdowns(str(ctx.db_path), version, as_of, key, k=k.get("k"), condition=condition)
    if key in names:
        return  # a cluster's members are on the map above; the customer list takes a segment or stage
    members = tool_result(ctx, version, "list_customers", {"group": key, "as_of": as_of, "limit": 200})
    if members.table is not None and len(members.table):
        show_table(members.table, "dash-group-members")
        for i, file in enumerate(members.downloads):
            st.download_button(
                f"Download {file.file_name}",
                download_data(file),
                file_name=file.file_name,
                mime=file.mime,
                key=f"dash-group-dl{i}",
                on_click="ignore",
                icon=":material/download:",
            )
