"""Showing a tool's artifacts in an assistant message: chart, table with its CSV, persona card, draft, files.

Every widget gets a key made from its turn and call (``prefix``), so a turn renders the same on every
run: a click anywhere on the page reruns the script and the whole conversation is drawn again from
session state. Downloads do not rerun the page at all (``on_click="ignore"``).

Tools hand over charts and CSV files unmade (``tools.base.LazyChart``, ``Download``): a chart is made here,
after the answer's words are on the screen, and kept for the next run; a CSV only when its button is clicked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from agent.base import ToolCall
from segmentation.safety.markup import escape_markdown
from tools.base import CsvOf, Download, LazyChart, ToolResult, built_chart
from ui.tables import show_table

if TYPE_CHECKING:  # altair loads with the first chart, not before the first paint
    import altair as alt

    from tools.charts import Chart


def render_calls(calls: list[ToolCall], prefix: str) -> None:
    """The artifacts of each call that returned a result, in the order the calls ran."""
    for i, call in enumerate(calls):
        if call.result is not None:
            render_result(call.result, f"{prefix}-c{i}")


def render_result(result: ToolResult, prefix: str) -> None:
    if result.chart is not None:
        show_chart(result.chart, f"{prefix}-chart")
    if result.persona:
        render_persona(result.persona)
    if result.draft:
        render_draft(result.draft, prefix)
    downloads = list(result.downloads)
    if result.draft:  # the draft editor offers the text and HTML of the edited draft instead
        downloads = [d for d in downloads if d.mime not in ("text/plain", "text/html")]
    if result.table is not None and len(result.table.columns):
        show_table(result.table, f"{prefix}-table")
        if not any(d.mime == "text/csv" for d in downloads):  # a tool's own CSV holds the full list
            downloads.append(Download("table.csv", CsvOf(result.table)))
    _download_row(downloads, prefix)


def show_chart(chart: alt.TopLevelMixin | LazyChart, key: str) -> None:
    """A chart at the size its builder gave it (a ``LazyChart`` is made here).

    Streamlit fits a chart without its own ``autosize`` into its width x height, title, legend and axes
    included: a map with its legend below came out half as tall, and the two-panel bars were cut off.
    "pad" keeps the plot at the builder's size and adds the decorations around it.
    """
    import altair as alt

    spec = chart.__dict__.get(_SPEC) if isinstance(chart, LazyChart) else None
    if spec is None:
        built = built_chart(chart)
        if built is None:
            return
        spec = vega_lite_spec(built.properties(autosize=alt.AutoSizeParams(type="pad", contains="padding")))
        if isinstance(chart, LazyChart):  # an answer's chart never changes: converted once, drawn on every run
            chart.__dict__[_SPEC] = spec
    st.vega_lite_chart(spec=spec, key=key, width="content")


_SPEC = "_vega_lite_spec"


def vega_lite_spec(chart: Chart) -> dict:
    """The Vega-Lite spec ``st.altair_chart`` would send, made once: Altair's ``to_dict`` validates against the
    JSON schema, about 45 ms a chart, and every earlier answer's chart is drawn again on each run (0.28 s of the
    eighth answer at Online Retail, bench/RESULTS.md). Streamlit's own conversion keeps its theme handling and
    sends the data as Arrow, as ``st.altair_chart`` does."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    return _convert_altair_to_vega_lite_spec(chart)


def render_persona(persona: dict) -> None:
    try:
        from segmentation.outreach.persona import persona_markdown
    except ImportError:  # an older checkout without personas: the name and the facts still say a lot
        name, facts = persona.get("name", "Persona"), persona.get("facts", [])
        text = f"### {name}\n" + "\n".join(f"- {f}" for f in facts)
    else:
        text = persona_markdown(persona)
    with st.container(border=True):
        st.markdown(text)


def render_draft(draft: dict, prefix: str) -> None:
    """The draft, editable; the .txt and .html downloads carry the edits."""
    from segmentation.outreach import drafts

    # Edits are kept apart from the widgets: Streamlit forgets a widget's value when it is not drawn on
    # a run (the Segments tab is open), and the owner's edits must survive that.
    edits = st.session_state.setdefault("draft_edits", {})

    def field(kind, label: str, name: str, initial: str, **kwargs) -> str:
        key = f"{prefix}-draft-{name}"
        return kind(label, value=edits.get(key, initial), key=key, on_change=_keep, args=(edits, key), **kwargs)

    with st.container(border=True):
        edited = dict(draft)
        if draft.get("channel") == "email":
            st.markdown(f"**Email draft** · goal: {draft.get('goal', '').replace('_', ' ')}")
            lines = field(
                st.text_area,
                "Subject lines to test (one per line)",
                "subjects",
                "\n".join(draft.get("subject_lines", [])),
                height=100,
            )
            edited["subject_lines"] = [s.strip() for s in lines.splitlines() if s.strip()]
            edited["preview_text"] = field(st.text_input, "Preview text", "preview", draft.get("preview_text", ""))
            edited["body"] = field(st.text_area, "Message", "body", draft.get("body", ""), height=260)
        else:
            st.markdown(f"**Text message draft** · goal: {draft.get('goal', '').replace('_', ' ')}")
            edited["body"] = field(st.text_area, "Message", "body", draft.get("body", ""), height=120)
            length = len(edited["body"].replace("{{first_name}}", drafts.SAMPLE_FIRST_NAME))
            edited["sms_length"] = length
            st.caption(f"{length} characters with a 12-letter first name; one text holds {drafts.SMS_LIMIT}.")
        # The offer, its rule and the warnings name the group's products: escaped, so none can add markup.
        st.markdown(f"**Offer:** {escape_markdown(draft.get('offer', ''))}")
        if (draft.get("offer_details") or {}).get("rule"):
            st.caption(f"Why this offer: {escape_markdown(draft['offer_details']['rule'])}")
        for warning in draft.get("warnings", []):
            st.warning(escape_markdown(warning), icon=":material/warning:")
        name = f"{draft.get('key', 'campaign')}_{draft.get('channel', 'draft')}"
        files = [Download(f"{name}.txt", drafts.draft_text(edited).encode("utf-8"), "text/plain")]
        if draft.get("channel") == "email":
            files.append(Download(f"{name}.html", drafts.draft_html(edited).encode("utf-8"), "text/html"))
        _download_row(files, f"{prefix}-draft")


def _keep(edits: dict, key: str) -> None:
    edits[key] = st.session_state[key]


def download_data(file: Download):
    """What ``st.download_button`` takes for ``file``: always the function that gives its bytes on the click
    (made then, and kept for the next click). Bytes handed over directly would be put on the server, under
    a URL, at every drawing of the page; on the click, the file exists only for the browser that asked,
    and ``ui.gate`` deletes it once served."""
    return file.content


def _download_row(files: list[Download], prefix: str) -> None:
    if not files:
        return
    for column, (i, file) in zip(st.columns(len(files)), enumerate(files), strict=True):
        column.download_button(
            f"Download {file.file_name}",
            download_data(file),
            file_name=file.file_name,
            mime=file.mime,
            key=f"{prefix}-dl{i}",
            on_click="ignore",
            icon=":material/download:",
        )
