"""Saved segments in the app (issue 18): beside the built-in groups in the Segments tab's and the Campaigns
tab's pickers, opening into their persona and customer list like any group."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

import cli
from segmentation.custom.saved import matching_ids
from segmentation.store import connect_sandboxed

from .support import APP


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_a_saved_segment_is_in_the_pickers_and_opens_like_any_group(app_db):
    condition = "lifecycle = lapsed and city = Leeds"
    assert cli.main(["segment", "save", "Leeds win-back", "--where", condition, "--db", str(app_db)]) == 0
    with connect_sandboxed(app_db) as con:
        members = matching_ids(con, condition)
    assert members  # the demo shop has lapsed customers in Leeds

    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["tab"] = "Segments"
    at = ok(at.run())
    picker = at.selectbox(key="dash-group")
    assert f"Leeds win-back (your segment, {len(members):,} customers)" in picker.options
    at = ok(picker.set_value("Leeds win-back").run())
    persona = next(m.value for m in at.markdown if m.value.startswith("###"))
    assert "Leeds win" in persona
    listed = at.main.dataframe[-1].value  # the segment's customers, last on the page
    assert len(listed) == len(members) and set(listed["lifecycle"]) == {"Lapsed"}

    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params["tab"] = "Campaigns"
    at = ok(at.run())
    assert f"Leeds win-back (your segment, {len(members):,} customers)" in at.selectbox(key="cmp-group").options
    at = ok(at.selectbox(key="cmp-group").set_value("Leeds win-back").run())
    assert any("to message and" in m.value for m in at.markdown)
