"""The Segments tab's groups are the clustering the person last saw: "split my customers into 4 groups" in the
chat, then the tab's cluster_2 is that clustering's cluster_2, not the automatic one's (issue 17)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from agent.offline import OfflineAgent
from segmentation.clustering import cluster_customers
from segmentation.outreach.persona import persona_markdown
from segmentation.store import connect_sandboxed
from tools.base import ToolContext
from tools.registry import run_tool
from ui.chat import SEEN_CLUSTERING

from .support import APP


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def names(db_path, k: int | None) -> list[str]:
    with connect_sandboxed(db_path) as con:
        return cluster_customers(con, k=k).clusters["name"].tolist()


def groups_shown(at: AppTest) -> list[str]:
    """The names in the tab's table of groups (the one table with a name per group and its revenue share)."""
    table = next(d.value for d in at.dataframe if {"name", "revenue_share"} <= set(d.value.columns))
    return table["name"].tolist()


def persona_of(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("###"))


def test_the_tab_shows_the_clustering_the_chat_last_showed(app_db):
    auto, four = names(app_db, None), names(app_db, 4)
    assert len(auto) != 4 and auto[1] != four[1]  # two clusterings that tell cluster_2 apart
    at = AppTest.from_file(APP, default_timeout=90)
    at = ok(at.run())
    at = ok(at.chat_input[0].set_value("Split my customers into 4 groups").run())
    at.query_params["tab"] = "Segments"
    at = ok(at.run())
    assert at.selectbox(key="dash-k").value == 4  # opens on the chat's clustering
    at = ok(at.button(key="dash-find-clusters").click().run())
    assert groups_shown(at) == four  # the tab's table of groups
    at = ok(at.selectbox(key="dash-group").set_value("cluster_2").run())
    assert four[1] in persona_of(at) and auto[1] not in persona_of(at)

    # A number picked in the tab is the clustering seen there, its cluster_2 the profile shown.
    at = ok(at.selectbox(key="dash-k").set_value(None).run())
    assert groups_shown(at) == auto
    at = ok(at.selectbox(key="dash-group").set_value("cluster_2").run())
    assert auto[1] in persona_of(at)

    # The chat takes these as the groups seen last (ui.chat.take_seen hands them to the agent on its next run).
    args, facts = at.session_state[SEEN_CLUSTERING]
    assert args["k"] is None and [c["name"] for c in facts["clusters"]] == auto


def test_the_chat_takes_the_groups_seen_in_the_tab_as_the_last_ones(app_db):
    """Split into 4 in the chat, then the automatic groups seen in the tab: the chat's "cluster 2" is theirs."""
    auto, four = names(app_db, None), names(app_db, 4)
    agent = OfflineAgent(ToolContext(db_path=app_db))
    agent.ask("Split my customers into 4 groups")
    seen = run_tool("cluster_customers", {"k": None}, ToolContext(db_path=app_db)).facts
    agent.saw("cluster_customers", {"k": None}, seen)
    turn = agent.ask("tell me about cluster 2")
    call = turn.tool_calls[-1]
    assert call.args["group"] == "cluster_2" and call.args.get("k") == len(auto)
    assert auto[1] in persona_markdown(call.result.persona) and four[1] not in persona_markdown(call.result.persona)
