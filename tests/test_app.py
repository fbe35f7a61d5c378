"""The whole page through AppTest: the Segments tab, the empty state, settings and the shared-link workspace.

The chat's own flows are in test_app_chat.py. The store is the demo shop (600 customers, seed 3) built
once per module, copied per test, and named by SEGMENTS_DB.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from segmentation.customers import customer_table
from segmentation.store import connect_sandboxed

from .support import APP


def app(**params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_segments_tab_shows_kpis_segments_lifecycle_and_at_risk(app_db):
    with connect_sandboxed(app_db) as con:
        frame = customer_table(con)
    at = ok(app(tab="Segments").run())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {
        "Customers": f"{len(frame):,}",
        "Revenue": f"{frame['monetary'].sum() / 1000:,.0f}k",  # 51,015.60 is its help: cut off in a quarter
        "Repeat rate": f"{(frame['frequency'] > 1).mean():.0%}",
        "Lapsed": f"{(frame['lifecycle'] == 'lapsed').mean():.0%}",
    }
    assert [s.value for s in at.subheader] == [
        "RFM segments", "Lifecycle", "Most valuable customers at risk", "Groups that shop alike",
        "Build your own segment", "Look closer at one group",
    ]  # fmt: skip
    assert len(at.get("vega_lite_chart")) == 3  # segment bars, R x F grid, lifecycle
    lapsed = frame.attrs["thresholds"]["lapsed_after_days"]
    assert f"lapsed = no order in {lapsed} days" in at.get("vega_lite_chart")[2].proto.spec  # the stated rule
    segments = at.dataframe[0].value
    assert segments["customers"].sum() == len(frame)
    risky = at.dataframe[1].value
    assert set(risky["segment"]) <= {"At risk", "Can't lose them"} and risky["monetary"].is_monotonic_decreasing
    assert not at.chat_input  # only the open tab runs


def test_clusters_on_demand_and_a_group_opens_into_its_persona(app_db):
    at = ok(app(tab="Segments").run())
    assert any("###" in m.value for m in at.markdown)  # the first group's persona card
    at = ok(at.button(key="dash-find-clusters").click().run())
    assert len(at.get("vega_lite_chart")) == 4  # + the customer map
    assert any(o.startswith("Cluster 1: ") for o in at.selectbox(key="dash-group").options)
    at = ok(at.selectbox(key="dash-group").set_value("cluster_1").run())
    assert len(at.get("vega_lite_chart")) == 4  # still there: the clusters are remembered for this data
    persona = next(m.value for m in at.markdown if m.value.startswith("###"))
    assert "(cluster\\_1)" in persona
    at = ok(at.selectbox(key="dash-group").set_value("lapsed").run())
    members = at.main.dataframe[-1].value  # the group's customers, last on the page
    assert set(members["lifecycle"]) == {"Lapsed"} and len(members) == 200  # titled, as every table


def test_no_database_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTS_DB", str(tmp_path / "none.duckdb"))
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    for tab in ("Chat", "Segments"):
        at = ok(app(tab=tab).run())
        assert any("No shop data yet" in i.value and "segments demo" in i.value for i in at.info), tab
        assert not at.metric
    assert not (tmp_path / "none.duckdb").exists()  # looking did not create a database


def test_settings_say_which_assistant_and_which_shared_conversation(app_db):
    at = ok(app(ws="bakery team").run())
    said = " ".join(m.value for m in at.sidebar.markdown)
    assert "offline assistant" in said and str(app_db) in said and "`bakery-team`" in said


def test_a_configured_model_is_named_in_settings(app_db, monkeypatch):
    class Quiet:
        mode = "llm"

        def ask(self, question, *, on_event=None):
            raise AssertionError("not asked")

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("SEGMENTS_MODEL", "llama3.1")
    monkeypatch.setattr("ui.session.make_agent", lambda ctx, settings: Quiet())
    at = ok(app().run())
    said = " ".join(m.value for m in at.sidebar.markdown)
    assert "llama3.1 at 127.0.0.1:11434" in said and "sk-test" not in said
    assert not any("running **offline**" in i.value for i in at.info)


def test_the_first_page_draws_without_the_analysis_libraries(app_db):
    """The Chat tab's first run, in a fresh process as a server's first visitor gets it, loads no pandas,
    pyarrow or altair: each would delay the first paint (pandas alone by a third of a second)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from streamlit.testing.v1 import AppTest; "
        f"at = AppTest.from_file({APP!r}, default_timeout=60).run(); "
        "assert not at.exception, at.exception; assert at.chat_input; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'altair', 'scipy', 'sklearn', 'langchain') if m in sys.modules))"
    )
    env = {**os.environ, "SEGMENTS_DB": str(app_db), "OPENAI_API_KEY": ""}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_segments_tab_says_why_loyal_and_lapsed_can_meet(app_db):
    with connect_sandboxed(app_db) as con:
        frame = customer_table(con)
    lapsed = frame[frame["lifecycle"] == "lapsed"]
    top = lapsed[lapsed["segment"].isin(["champions", "loyal", "cannot_lose_them"])]
    at = ok(app(tab="Segments").run())
    (said,) = [c.value for c in at.caption if c.value.startswith("RFM segments rank customers against each other")]
    assert f"{len(top):,} of your lapsed customers are in a top segment" in said
    most = top.sort_values(["frequency", "customer_id"], ascending=[False, True]).iloc[0]
    assert f"{int(most['frequency']):,} orders, none for {int(most['recency_days']):,} days" in said
