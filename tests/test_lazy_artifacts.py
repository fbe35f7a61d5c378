"""Downloads and charts are made when they are used, not with every answer: a download's bytes only on
demand, equal byte for byte to the CSV made at once; a chart when it is drawn (or its spec is read), equal to
the one built at once. Both survive pickling (the app caches results) and a caller changing its frame."""

from __future__ import annotations

import pickle

import altair as alt
import pandas as pd
import pytest

from segmentation import memo
from segmentation.customers import customer_table
from segmentation.store import connect_sandboxed
from tools import charts, export
from tools.base import CsvOf, Download, LazyChart, ToolContext, built_chart, csv_download, draw
from tools.export import safe_csv
from tools.registry import run_tool
from tools.segments import PERSON_COLUMNS

from .fixtures.charts import BREAKDOWN, SEGMENTS, STAGE_TABLE, THRESHOLDS

FRAME = pd.DataFrame(
    {"customer_id": ["C1", "C2", "C3"], "name": ["=HYPERLINK(1)", "Zoë", None], "spent": [1.5, -2.0, 3.0]}
)


@pytest.fixture(scope="module")
def ctx(demo_shops, tmp_path_factory) -> ToolContext:
    return ToolContext(db_path=demo_shops.copy(tmp_path_factory.mktemp("lazy"), customers=400, seed=5))


@pytest.fixture
def csv_calls(monkeypatch) -> list[int]:
    """Counts how often a CSV is made."""
    calls: list[int] = []
    real = export.safe_csv

    def counted(frame):
        calls.append(len(frame))
        return real(frame)

    monkeypatch.setattr(export, "safe_csv", counted)
    return calls


def test_a_download_is_made_only_when_asked_and_once(csv_calls):
    [download] = csv_download(ToolContext(), "list.csv", FRAME)
    assert download.lazy and callable(download.data) and csv_calls == []
    first = download.content()
    assert csv_calls == [3] and not download.lazy
    assert first == safe_csv(FRAME)  # byte for byte the CSV made at once (BOM, defused formula, accents)
    assert download.content() is first and csv_calls == [3]  # kept: made once


def test_a_download_is_the_frame_as_it_was_when_answered():
    frame = FRAME.copy()
    expected = safe_csv(frame)
    download = Download("list.csv", CsvOf(frame))
    frame.loc[0, "name"] = "changed"
    frame["spent"] = 0.0
    frame["extra"] = 1
    assert download.content() == expected


def test_eager_bytes_stay_as_they_are():
    download = Download("draft.txt", b"hello", "text/plain")
    assert not download.lazy and download.content() == b"hello"


def test_nobody_to_download_means_no_download(csv_calls):
    assert csv_download(ToolContext(artifacts=False), "list.csv", FRAME) == [] and csv_calls == []


def test_a_tool_answers_without_making_its_csv(ctx, csv_calls):
    result = run_tool("list_customers", {"group": "lapsed", "sort_by": "recency"}, ctx)
    assert csv_calls == [] and result.downloads[0].lazy
    # The eager CSV, made independently: the group's customers with their details, most recent first.
    with memo.disabled(), connect_sandboxed(ctx.db_path) as con:
        table = customer_table(con)
        people = con.execute(f"SELECT customer_id, {', '.join(PERSON_COLUMNS)} FROM customers").df()
    members = table[table["lifecycle"] == "lapsed"].sort_values(["recency_days", "customer_id"])
    listed = members.merge(people, on="customer_id", how="left")[
        [
            "customer_id",
            *PERSON_COLUMNS[:4],
            "segment",
            "lifecycle",
            "recency_days",
            "frequency",
            "monetary",
            "clv",
            "p_alive",
            "next_order_date",
            "marketing_consent",
        ]
    ]
    assert result.downloads[0].content() == safe_csv(listed)


def test_every_tools_csv_equals_the_one_made_at_once(ctx, csv_calls):
    for name, args in (
        ("predict_value", {"horizon_days": 30}),
        ("draft_campaign", {"group": "at_risk"}),
        ("top_customers", {"limit": 20}),
    ):
        result = run_tool(name, args, ctx)
        lazy = [d for d in result.downloads if d.lazy]
        assert lazy and csv_calls == [], name
        for download in lazy:
            frame = download.data.frame
            assert download.content() == safe_csv(frame.copy()), name
            csv_calls.clear()


def test_a_result_with_unmade_files_and_chart_pickles(ctx):
    """The app caches tool results with st.cache_data, which pickles them."""
    result = run_tool("predict_value", {}, ctx)
    again = pickle.loads(pickle.dumps(result))
    assert again.downloads[0].lazy and isinstance(again.chart, LazyChart) and not again.chart.built
    assert again.downloads[0].content() == result.downloads[0].content()
    assert again.chart.to_dict() == result.chart.to_dict()


BUILDS = {
    "segment_bars": (SEGMENTS,),
    "lifecycle_bars": (STAGE_TABLE, THRESHOLDS),
    "breakdown_bars": (BREAKDOWN, "city"),
}


@pytest.mark.parametrize("builder", BUILDS)
def test_a_chart_is_made_when_first_used_and_equals_the_one_made_at_once(builder, monkeypatch):
    calls: list[str] = []
    real = getattr(charts, builder)

    def counted(*args):
        calls.append(builder)
        return real(*args)

    monkeypatch.setattr(charts, builder, counted)
    chart = draw(ToolContext(), builder, *BUILDS[builder])
    assert isinstance(chart, LazyChart) and calls == []
    spec = chart.to_dict()  # any attribute is the built chart's
    assert calls == [builder] and chart.built and chart.args == ()
    assert spec == real(*BUILDS[builder]).to_dict()
    assert built_chart(chart) is built_chart(chart) and calls == [builder]  # made once
    assert draw(ToolContext(artifacts=False), builder, *BUILDS[builder]) is None


def test_a_chart_is_drawn_from_its_data_as_it_was():
    table = SEGMENTS.copy()
    chart = draw(ToolContext(), "segment_bars", table)
    table["customers"] = 0
    table.loc[0, "segment"] = "loyal"
    assert chart.to_dict() == charts.segment_bars(SEGMENTS).to_dict()


def test_built_chart_passes_a_plain_chart_and_none_through():
    plain = charts.segment_bars(SEGMENTS)
    assert built_chart(plain) is plain and built_chart(None) is None


def test_the_look_is_the_same_spec_as_configuring_step_by_step():
    """``_finish`` sets title and configuration in one step; the spec is what the chained calls gave."""
    layered = alt.Chart(STAGE_TABLE).mark_bar().encode(x="lifecycle:N", y="customers:Q")
    layered = layered + layered.mark_text().encode(text="customers:Q")
    for chart in (layered, alt.hconcat(layered, layered)):
        stepwise = (
            chart.properties(title=alt.TitleParams("T", subtitle=["a", "b"], anchor="start"))
            .configure_title(fontSize=15, subtitleFontSize=12, subtitleColor="#555555")
            .configure_axis(labelFontSize=12, titleFontSize=12, titleFontWeight="normal", labelLimit=200)
            .configure_legend(labelFontSize=12, titleFontSize=12, titleFontWeight="normal")
            .configure_view(stroke=None)
        )
        assert charts._finish(chart, "T", ["a", "b"]).to_dict() == stepwise.to_dict()


def test_the_page_passes_unmade_bytes_as_a_function():
    from ui.render import download_data

    lazy = Download("list.csv", CsvOf(FRAME))
    made = download_data(lazy)
    assert callable(made) and made() == safe_csv(FRAME) and not lazy.lazy
    # Made bytes too go as a function: a file is put on the server only on the click (issue 14, finding 11).
    made = download_data(Download("a.txt", b"x", "text/plain"))
    assert callable(made) and made() == b"x"
