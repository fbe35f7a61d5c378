"""The Chat tab through AppTest: answers with their artifacts, live steps, history that survives a refresh.

Each test gets its own copy of one demo store (600 customers, seed 3), named by SEGMENTS_DB; the offline
agent answers (conftest removes any key). AppTest's default 3 s timeout is too short for agent flows.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from agent.base import CHECKED, OFFLINE, Event, ToolCall, Turn
from agent.grounding import NO_LOOK
from segmentation.store import connect, upgrade
from tools.base import ToolContext
from tools.registry import run_tool
from ui import history
from ui.chat import verdict
from ui.steps import step_end, step_start

from .support import APP

LAPSED = "who are my lapsed customers?"


def app(ws: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if ws:
        at.query_params["ws"] = ws
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def assistant(at: AppTest, n: int = -1):
    return [m for m in at.chat_message if m.name == "assistant"][n]


def charts_in(block) -> list:
    return block.get("vega_lite_chart")


def test_lapsed_question_gives_count_rule_chart_and_table_in_one_message(app_db):
    expected = run_tool("list_customers", {"group": "lapsed"}, ToolContext(db_path=app_db)).facts
    at = ask(app().run(), LAPSED)
    message = assistant(at)
    text = " ".join(m.value for m in message.markdown)
    assert f"{expected['count']:,} customers are lapsed" in text
    assert expected["rule"].split(" (")[0] in text  # "no order in the last 102 days"
    assert len(charts_in(message)) == 1 and len(message.dataframe) == 1
    assert expected["count"] <= 50 or len(message.dataframe[0].value) == 50  # the table is the list's head
    status = message.status[0]
    assert status.label == f"Finding lapsed customers... {expected['count']:,} found"
    downloads = message.get("download_button")
    assert [d.proto.label for d in downloads] == ["Download lapsed_customers.csv"]
    assert all(d.proto.ignore_rerun for d in downloads)  # a download never reruns the page


def test_offline_banner_and_suggested_question_button(app_db):
    at = app().run()
    assert any("running **offline**" in i.value and "OPENAI_BASE_URL" in i.value for i in at.info)
    at.button(key="suggest-0").click().run()
    assert not at.exception
    user = [m for m in at.chat_message if m.name == "user"]
    assert [u.markdown[0].value for u in user] == ["Who are my lapsed customers?"]
    assert "customers are lapsed" in assistant(at).markdown[-1].value
    assert not [b for b in at.button if b.key and b.key.startswith("suggest-")]  # help goes once you start


def test_refresh_keeps_history_per_workspace(app_db):
    first = ask(app("team").run(), LAPSED)
    said = assistant(first).markdown[-1].value

    again = app("team").run()  # a new browser session on the same link: a refresh
    assert not again.exception
    assert [m.markdown[0].value for m in again.chat_message if m.name == "user"] == [LAPSED]
    message = assistant(again)
    assert said in [m.value for m in message.markdown]
    assert len(charts_in(message)) == 1 and len(message.dataframe) == 1  # artifacts made again, not pickled

    other = app("someone-else").run()
    assert not other.chat_message and other.button(key="suggest-0")


def test_a_refresh_keeps_what_the_conversation_is_about(app_db):
    """After a refresh, "them" still means the group the conversation was about, and the last draft can be
    changed: the dialogue state is rebuilt from the saved turns."""
    ask(app("followups").run(), "draft an email for my at-risk customers")
    again = ask(app("followups").run(), "how many of them live in Leeds?")  # a new browser session
    calls = again.session_state["conversation"]["turns"][-1].turn.tool_calls
    assert [(c.name, c.args) for c in calls] == [("segment_by", {"group": "at_risk", "attribute": "city"})]
    shorter = ask(app("followups").run(), "make it shorter and add 10% off")
    calls = shorter.session_state["conversation"]["turns"][-1].turn.tool_calls
    assert [(c.name, c.args) for c in calls] == [
        ("draft_campaign", {"group": "at_risk", "channel": "email", "length": "short", "discount_percent": 10})
    ]


def test_suggestion_buttons_all_answer(app_db):
    from ui.chat import SUGGESTIONS

    for number, question in enumerate(SUGGESTIONS):
        at = app(f"suggest-{number}").run()
        at = at.button(key=f"suggest-{number}").click().run()
        assert not at.exception
        calls = at.session_state["conversation"]["turns"][-1].turn.tool_calls
        assert calls and all(c.error is None for c in calls), question


def test_clearing_the_conversation_forgets_it_for_the_link(app_db):
    at = ask(app("team").run(), LAPSED)
    at = at.button(key="clear-conversation").click().run()
    assert not at.exception and not at.chat_message and at.button(key="suggest-0")
    assert not app("team").run().chat_message


def test_a_widget_click_or_an_edit_keeps_the_answers(app_db):
    at = ask(app().run(), LAPSED)
    at = ask(at, "Draft an email for my at-risk customers")
    body = next(t for t in at.text_area if t.key.endswith("-draft-body"))
    assert "{{first_name}}" in body.value
    body.set_value("Hi {{first_name}}, we miss you.").run()
    assert not at.exception
    at.checkbox(key="imp-replace").check().run()  # any other widget on the page
    assert not at.exception
    assert len([m for m in at.chat_message if m.name == "assistant"]) == 2
    assert "customers are lapsed" in assistant(at, 0).markdown[-1].value
    assert len(charts_in(assistant(at, 0))) == 1
    assert next(t for t in at.text_area if t.key.endswith("-draft-body")).value == "Hi {{first_name}}, we miss you."
    labels = [d.proto.label for d in assistant(at, 1).get("download_button")]
    assert labels == ["Download at_risk_email.txt", "Download at_risk_email.html", "Download at_risk_audience.csv"]


class ScriptedAgent:
    """Streams a step and the answer in pieces, as the LLM agent does; or fails, as a bug would."""

    mode = "llm"

    def __init__(self, ctx, settings=None, *, fail: bool = False):
        self.ctx, self.fail = ctx, fail

    def ask(self, question, *, on_event=None):
        if self.fail:
            raise RuntimeError("boom")
        on_event(Event("tool_start", name="compute_rfm", args={}))
        result = run_tool("compute_rfm", {}, self.ctx)
        on_event(Event("tool_end", name="compute_rfm", text=result.summary))
        for piece in ("Your ", "segments ", "are ready."):
            on_event(Event("token", text=piece))
        return Turn(question, "Your segments are ready.", "llm", [ToolCall("compute_rfm", {}, result)])


@pytest.mark.parametrize("fail", [False, True], ids=["streams", "agent-fails"])
def test_a_model_agent_streams_and_a_failure_is_a_sentence(app_db, monkeypatch, fail):
    monkeypatch.setattr("ui.session.make_agent", lambda ctx, settings: ScriptedAgent(ctx, fail=fail))
    at = ask(app().run(), "show my segments")
    assert not any("running **offline**" in i.value for i in at.info)
    message = assistant(at)
    if fail:
        assert "something went wrong" in message.markdown[-1].value and not charts_in(message)
        return
    # 600 customers, one of whom (C00451) returned their only order: 599 with a purchase.
    assert message.status[0].label == "Scoring customers on recency, frequency and spend... 599 customers scored"
    assert "Your segments are ready." in [m.value for m in message.markdown]
    assert len(charts_in(message)) == 1 and len(message.dataframe) == 1


# ---------------------------------------------------------------- the parts, without a page


@pytest.mark.parametrize(
    ("name", "args", "summary", "said"),
    [
        ("list_customers", {"group": "lapsed"}, "212 customers are lapsed as of ...",
         "Finding lapsed customers... 212 found"),
        ("list_customers", {"group": "at_risk"}, "No customers are at risk as of ...",
         "Finding at-risk customers... none found"),
        ("cluster_customers", {"k": 4}, "4 groups (silhouette 0.31): ...",
         "Splitting customers into 4 groups... 4 groups"),
        ("draft_campaign", {"group": "lapsed", "channel": "sms"}, "Drafted an sms ...",
         "Drafting a text message to lapsed customers... done"),
        ("segment_by", {"attribute": "city", "group": "lapsed"}, "city of lapsed customers: Leeds: 12 ...",
         "Breaking lapsed customers down by city... done"),
        ("a_new_tool", {}, "3 things", "Running a new tool... done"),
    ],
    ids=["count", "none", "k", "sms", "no-count", "unknown-tool"],
)  # fmt: skip
def test_tool_steps_in_plain_words(name, args, summary, said):
    assert step_end(name, args, summary) == said
    assert step_start(name, args) == said.split("...")[0] + "..."


def test_history_saves_words_and_replays_artifacts(app_db):
    ctx = ToolContext(db_path=app_db)
    result = run_tool("list_customers", {"group": "lapsed"}, ctx)
    turns = [
        Turn(LAPSED, "421 are lapsed.", "offline", [ToolCall("list_customers", {"group": "lapsed"}, result)]),
        Turn("load the demo", "Loaded.", "offline", [ToolCall("load_data", {"source": "demo"}, None)]),
    ]
    assert history.load_turns(app_db, "w") == []  # no table yet
    assert [history.save_turn(app_db, "w", t) for t in turns] == [1, 2]
    assert history.save_turn(app_db, "other", turns[0]) == 1
    saved = history.load_turns(app_db, "w")
    assert [(s.turn, s.question, s.mode) for s in saved] == [(1, LAPSED, "offline"), (2, "load the demo", "offline")]
    replayed, complete = history.replay(saved[0], ctx, ("v",))
    assert complete and replayed.tool_calls[0].result.summary == result.summary
    not_rerun, _ = history.replay(saved[1], ctx, ("v",))
    assert not_rerun.tool_calls[0].result is None  # loading data is never run again
    history.clear(app_db, "w")
    assert history.load_turns(app_db, "w") == [] and len(history.load_turns(app_db, "other")) == 1
    assert history.save_turn(app_db.with_name("missing.duckdb"), "w", turns[0]) is None


def test_history_keeps_the_grounding_verdict_and_reads_rows_saved_before_it(app_db):
    ctx = ToolContext(db_path=app_db)
    turns = [
        Turn("hi", "Hello.", "llm", grounded=CHECKED),
        Turn(LAPSED, "The model's answer was not shown ...", "offline-fallback", grounded=NO_LOOK),
        Turn(LAPSED, "421 are lapsed.", "offline"),
    ]
    for t in turns:
        history.save_turn(app_db, "w", t)
    assert [s.grounded for s in history.load_turns(app_db, "w")] == [CHECKED, NO_LOOK, OFFLINE]
    assert history.replay(history.load_turns(app_db, "w")[1], ctx, ("v",))[0].grounded == NO_LOOK

    # A store from before the columns (and not upgraded yet): its rows load, claiming no verdict and no context.
    con = connect(app_db)
    con.execute("ALTER TABLE chat_history DROP COLUMN grounded")
    con.execute("ALTER TABLE chat_history DROP COLUMN state_json")
    con.execute("INSERT INTO chat_history VALUES ('old', 1, 'q', 'a', 'llm', '[]', now()::TIMESTAMP)")
    con.close()
    assert [(s.answer, s.grounded, s.state) for s in history.load_turns(app_db, "old")] == [("a", OFFLINE, None)]
    assert verdict(history.replay(history.load_turns(app_db, "old")[0], ctx, ("v",))[0]) is None
    upgrade(app_db)  # the app's start adds the column; old rows read as before, new ones keep theirs
    history.save_turn(app_db, "old", turns[0])
    assert [s.grounded for s in history.load_turns(app_db, "old")] == [OFFLINE, CHECKED]


def test_an_answer_reopened_after_an_import_is_shown_as_given_and_marked_out_of_date(app_db, tmp_path):
    import time

    from segmentation.demo.shop import write_demo_csv
    from segmentation.importing.ingest import import_file

    first = ask(app("team").run(), LAPSED)
    said = assistant(first).markdown[-1].value
    assert not [c for c in assistant(first).caption if c.value.startswith("Out of date")]
    time.sleep(1.1)  # saved turns and imports are timed to the second
    import_file(app_db, write_demo_csv(tmp_path / "more.csv", customers=80, seed=11))

    again = app("team").run()  # reopened after the import
    message = assistant(again)
    assert said in [m.value for m in message.markdown]  # the words as they were given
    assert [c.value for c in message.caption if c.value.startswith("Out of date: answered on ")]
    assert not charts_in(message) and not message.dataframe  # no table from other data under old words
    fresh = assistant(ask(again, LAPSED))
    assert not [c for c in fresh.caption if c.value.startswith("Out of date")]
    assert len(charts_in(fresh)) == 1 and len(fresh.dataframe) == 1
