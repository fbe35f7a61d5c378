"""A team on one link (issue 17): a follow-up means the same to everyone, after a reload, and in a page that was
already open when a teammate asked.

AppTest sessions stand for browsers: each ``app("team")`` is a new session on the same workspace and store (a
teammate, or a reload). Expected numbers are computed here from the store, not taken from the app.
"""

from __future__ import annotations

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from agent.base import ToolCall, Turn
from agent.dialogue import State
from segmentation.customers import customer_table
from ui import history

from .support import APP

LAPSED = "who are my lapsed customers?"
LEEDS = "how many of them live in Leeds?"


def app(ws: str = "team") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["ws"] = ws
    return at.run()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def last_answer(at: AppTest) -> str:
    message = [m for m in at.chat_message if m.name == "assistant"][-1]
    return message.markdown[-1].value


def questions(at: AppTest) -> list[str]:
    return [m.markdown[0].value for m in at.chat_message if m.name == "user"]


def leeds(db, group: str | None) -> int:
    """Customers in Leeds (of ``group``, a lifecycle stage), straight from the store's tables."""
    with duckdb.connect(str(db), read_only=True) as con:
        ids = set(customer_table(con, group=group)["customer_id"]) if group else None
        rows = con.execute("SELECT customer_id FROM customers WHERE city = 'Leeds'").fetchall()
    return sum(1 for (customer,) in rows if ids is None or customer in ids)


def test_the_shared_workspaces_follow_up_after_a_reload(app_db):
    """Someone asks about the lapsed customers; a teammate opening the link (or anyone reloading) asks "how many of
    them live in Leeds?" and is told about the lapsed ones, not everyone."""
    expected, everyone = leeds(app_db, "lapsed"), leeds(app_db, None)
    assert 0 < expected < everyone  # the question tells the two readings apart

    ask(app(), LAPSED)
    teammate = app()  # a new session on the same link: a teammate, or a reload
    assert questions(teammate) == [LAPSED]
    ask(teammate, LEEDS)
    assert last_answer(teammate).startswith(f"{expected} of your lapsed customers are in Leeds")
    calls = teammate.session_state["conversation"]["turns"][-1].turn.tool_calls
    assert [(c.name, c.args) for c in calls] == [("segment_by", {"group": "lapsed", "attribute": "city"})]


def test_a_page_open_before_a_teammate_asked_follows_the_teammate(app_db):
    """The page was open (and had asked about champions) before a teammate asked about the lapsed customers: its
    next run shows the teammate's turn, and its follow-up is about the lapsed customers, the latest answer."""
    mine = ask(app(), "tell me about my champions")
    ask(app(), LAPSED)
    mine.run()  # what the page's watcher does once it sees the new turn
    assert questions(mine) == ["tell me about my champions", LAPSED]
    ask(mine, LEEDS)
    assert last_answer(mine).startswith(f"{leeds(app_db, 'lapsed')} of your lapsed customers are in Leeds")
    # And the teammate, in turn, sees this answer and carries on from it.
    theirs = app()
    assert questions(theirs) == ["tell me about my champions", LAPSED, LEEDS]


def test_the_last_clustering_is_shared(app_db):
    ask(app(), "split my customers into 4 groups")
    (cluster_call,) = app().session_state["conversation"]["turns"][-1].turn.tool_calls
    biggest = max(cluster_call.result.facts["clusters"], key=lambda c: c["size"])["key"]
    teammate = ask(app(), "tell me about the biggest one")
    calls = teammate.session_state["conversation"]["turns"][-1].turn.tool_calls
    assert [(c.name, c.args.get("group")) for c in calls] == [("describe_segment", biggest)]


def test_the_context_is_saved_with_each_turn(app_db):
    ask(app(), "draft an email for my at-risk customers")
    (saved,) = history.load_turns(app_db, "team")
    state = State.from_dict(saved.state)
    assert state.group == "at_risk" and state.draft.get("group") == "at_risk"


def test_turns_saved_before_the_context_was_kept_still_carry_on(app_db):
    """A row without a saved context (an older version wrote it): the context is rebuilt from the turns' calls."""
    history.save_turn(app_db, "team", Turn(LAPSED, "…", "offline", [ToolCall("list_customers", {"group": "lapsed"})]))
    assert history.load_turns(app_db, "team")[0].state is None
    teammate = ask(app(), LEEDS)
    assert last_answer(teammate).startswith(f"{leeds(app_db, 'lapsed')} of your lapsed customers are in Leeds")


def test_a_clear_by_a_teammate_empties_an_open_page(app_db):
    mine = ask(app(), LAPSED)
    other = app()
    other.button(key="clear-conversation").click().run()
    mine.run()
    assert not mine.chat_message
    ask(mine, LEEDS)  # "them" went with the conversation: everyone
    calls = mine.session_state["conversation"]["turns"][-1].turn.tool_calls
    assert [c.args.get("group") for c in calls] == [None]


@pytest.mark.parametrize(
    "saved",
    [
        None,
        "x",
        {"listing": "x", "period": [1, 2], "group": 5, "cluster_k": True},
        {"draft": [1], "lists": "y", "offer": 3},
    ],
    ids=["none", "text", "bad", "worse"],
)
def test_a_damaged_saved_context_means_less_never_something_else(saved):
    assert State.from_dict(saved) == State()


def test_a_context_reads_back_as_it_was():
    state = (
        State()
        .after(
            "cluster_customers",
            {"k": 2},
            {"clusters": [{"key": "cluster_1", "size": 5}, {"key": "cluster_2", "size": 9}]},
        )
        .after("draft_campaign", {"group": "cluster_2", "channel": "sms"})
        .after("sales_summary", {"start": "2026-01-01", "end": None})
    )
    import json

    assert State.from_dict(json.loads(json.dumps(state.to_dict()))) == state
