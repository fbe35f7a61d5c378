"""Issue 15: no made-up number from a model reaches the owner. The real ChatOpenAI client over HTTP to the local
fake server (tests/fake_openai.py), scripted as real servers and small models behave; each scenario ends in an
answer that passed the grounding check or in the offline assistant's, with the reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from agent.base import CHECKED, OFFLINE
from agent.grounding import NO_LOOK
from agent.llm import NOT_SHOWN_NOTE, LLMAgent
from agent.middleware import USE_A_TOOL
from agent.offline import OfflineAgent
from tests.conftest import REPO
from tests.fake_openai import FakeOpenAI, hang, text, text_calls, tool_calls
from tests.support.llm import ask, first_number, settings_for, shown_at_the_end
from tools.base import ToolContext, run_tool

INVENTED = "You have 276,000 champions, of which 3 are from your own team."


@pytest.fixture(scope="module")
def shop(demo_shops, tmp_path_factory):
    return demo_shops.copy(tmp_path_factory.mktemp("grounded"), name="orders.csv", customers=600, seed=11)


@pytest.fixture
def ctx(shop) -> ToolContext:
    return ToolContext(db_path=shop)


def test_an_answer_that_quotes_the_tools_numbers_is_shown_and_marked_checked(ctx, fake):
    summary = run_tool("list_customers", {"group": "champions"}, ctx).summary
    count = first_number(summary)
    fake.queue(
        tool_calls(("list_customers", {"group": "champions"})),
        text(f"You have {count} champions: your most recent, frequent and generous buyers."),
    )
    turn, events = ask(LLMAgent(ctx, settings_for(fake)), "who are my champions?")

    assert (turn.mode, turn.grounded) == ("llm", CHECKED)
    assert turn.answer == f"You have {count} champions: your most recent, frequent and generous buyers."
    assert shown_at_the_end(events) == turn.answer
    assert json.loads(json.dumps(turn.as_dict()))["tool_calls"][0]["summary"] == summary


def test_a_model_that_ignores_the_tools_is_asked_once_more_then_the_offline_assistant_answers(ctx, fake):
    fake.queue(text(INVENTED), text(INVENTED))
    turn, events = ask(LLMAgent(ctx, settings_for(fake)), "how many champions do I have?")

    offline = OfflineAgent(ctx).ask("how many champions do I have?")
    assert (turn.mode, turn.grounded) == ("offline-fallback", NO_LOOK)
    assert turn.answer == f"{NOT_SHOWN_NOTE.format(why=NO_LOOK)}\n\n{offline.answer}"
    assert "276,000" not in turn.answer and "276,000" not in shown_at_the_end(events)
    assert "276,000" in "".join(e.text for e in events if e.kind == "token")  # it was streamed, then withdrawn
    first, second = fake.requests
    assert "tool_choice" not in first and second["tool_choice"] == "required"  # the second try requires a tool
    assert [c.name for c in turn.tool_calls] == [c.name for c in offline.tool_calls]


def test_a_model_that_uses_a_tool_when_required_is_shown(ctx, fake):
    summary = run_tool("list_customers", {"group": "lapsed"}, ctx).summary
    fake.queue(
        text("Probably about a hundred."),
        tool_calls(("list_customers", {"group": "lapsed"})),
        text(f"{first_number(summary)} of your customers are lapsed; the list is below."),
    )
    turn, events = ask(LLMAgent(ctx, settings_for(fake)), "how many lapsed customers are there?")

    assert (turn.mode, turn.grounded) == ("llm", CHECKED)
    assert [c.name for c in turn.tool_calls] == ["list_customers"]
    assert "hundred" not in shown_at_the_end(events) and shown_at_the_end(events) == turn.answer
    assert fake.requests[1]["tool_choice"] == "required"
    assert "tool_choice" not in fake.requests[2]  # after the tool, the model answers freely


def test_an_invented_number_after_a_tool_call_falls_back_and_keeps_the_tools_tables(ctx, fake):
    fake.queue(
        tool_calls(("segment_by", {"attribute": "city", "group": "lapsed"})),
        text("Exactly 4,321 of your lapsed customers live in Leeds, 87% of them."),
    )
    turn, events = ask(LLMAgent(ctx, settings_for(fake)), "where do my lapsed customers live?")

    assert turn.mode == "offline-fallback" and "4,321" in turn.grounded
    assert turn.answer.startswith(NOT_SHOWN_NOTE.format(why=turn.grounded))
    assert "4,321" not in shown_at_the_end(events).replace(turn.grounded, "")
    by_city = [c for c in turn.tool_calls if c.name == "segment_by"]
    assert by_city and by_city[0].result is not None and len(by_city[0].result.table)  # still shown
    keys = [(c.name, json.dumps(c.args, sort_keys=True)) for c in turn.tool_calls]
    assert len(keys) == len(set(keys))  # the model's call and the offline one are not both shown


def test_a_question_that_is_not_about_the_data_needs_no_tool(ctx, fake):
    fake.queue(text("Hello! Ask me about your customers, for example who your lapsed customers are."))
    turn, _ = ask(LLMAgent(ctx, settings_for(fake)), "hi there")
    assert (turn.mode, turn.grounded, len(fake.requests)) == ("llm", CHECKED, 1)


def test_one_deadline_holds_the_whole_turn(ctx, fake):
    # The client's per-read timeout (10 s) never fires in 2 s; the turn's deadline does.
    fake.queue(hang(8))
    agent = LLMAgent(ctx, settings_for(fake, SEGMENTS_ANSWER_DEADLINE="2"))
    started = time.monotonic()
    turn, _ = ask(agent, "who are my champions?")
    took = time.monotonic() - started

    assert turn.mode == "offline-fallback" and turn.grounded == "no complete answer within 2 seconds"
    assert took < 7, took  # the deadline plus the offline answer, not the server's 8 s
    assert turn.tool_calls and turn.tool_calls[0].result is not None

    # The next question gets its own deadline, and the abandoned call does not leak into it.
    fake.queue(tool_calls(("data_overview", {})), text("Your shop's overview is below."))
    turn, _ = ask(agent, "give me an overview of my shop")
    assert (turn.mode, turn.grounded) == ("llm", CHECKED), turn.answer


def test_the_offline_assistant_says_its_answers_need_no_check(ctx):
    turn = OfflineAgent(ctx).ask("who are my champions?")
    assert (turn.mode, turn.grounded) == ("offline", OFFLINE)


def test_ask_json_shows_what_the_model_read_and_the_verdict(shop, fake):
    summary = run_tool("list_customers", {"group": "at_risk"}, ToolContext(db_path=shop)).summary
    fake.queue(
        tool_calls(("list_customers", {"group": "at_risk"})),
        text(f"{first_number(summary)} customers are at risk."),
        text(INVENTED),
        text(INVENTED),
    )
    env = {
        **os.environ,
        "OPENAI_API_KEY": "k",
        "OPENAI_BASE_URL": fake.base_url,
        "SEGMENTS_MODEL": "m",
        "SEGMENTS_MODEL_TIMEOUT": "10",
    }
    out = subprocess.run(
        [sys.executable, "-m", "cli", "ask", "--db", str(shop), "--json", "who is at risk?", "how many champions?"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    first, second = (json.loads(line) for line in out.stdout.splitlines())
    assert (first["mode"], first["grounded"]) == ("llm", "checked")
    assert first["tool_calls"] == [
        {"name": "list_customers", "args": {"group": "at_risk"}, "summary": summary, "error": None}
    ]
    assert (second["mode"], second["grounded"]) == ("offline-fallback", NO_LOOK)
    assert "276,000" not in out.stdout


def test_a_server_that_refuses_tool_choice_is_told_in_words(ctx, fake):
    """vLLM without --enable-auto-tool-choice answers 400 to tool_choice: the second try says it in words."""
    fake.refuse_tool_choice = True
    summary = run_tool("list_customers", {"group": "loyal"}, ctx).summary
    fake.queue(
        text(INVENTED),
        tool_calls(("list_customers", {"group": "loyal"})),
        text(f"{first_number(summary)} customers are loyal."),
    )
    agent = LLMAgent(ctx, settings_for(fake))
    turn, _ = ask(agent, "how many loyal customers do I have?")

    assert (turn.mode, turn.grounded) == ("llm", CHECKED)
    refused, worded = fake.requests[1], fake.requests[2]
    assert refused["tool_choice"] == "required" and "tool_choice" not in worded
    assert USE_A_TOOL in worded["messages"][0]["content"]
    # Remembered: the next second try goes straight to words.
    fake.queue(text(INVENTED), text(INVENTED))
    before = len(fake.requests)
    turn, _ = ask(agent, "how many champions do I have?")
    assert turn.grounded == NO_LOOK and len(fake.requests) == before + 2
    assert "tool_choice" not in fake.requests[-1] and USE_A_TOOL in fake.requests[-1]["messages"][0]["content"]


def test_a_fallback_follow_up_still_means_the_models_group(ctx, fake):
    """The model listed the lapsed customers; the next answer fails the check; the offline assistant that answers
    in its place reads "them" as the lapsed customers too."""
    fake.queue(
        tool_calls(("list_customers", {"group": "lapsed"})),
        text("Your lapsed customers are below."),
        tool_calls(("segment_by", {"attribute": "city", "group": "lapsed"})),
        text("All 9,999 live in Leeds."),
    )
    agent = LLMAgent(ctx, settings_for(fake))
    assert ask(agent, "who are my lapsed customers?")[0].grounded == CHECKED
    turn, _ = ask(agent, "and which cities do they live in?")

    assert turn.mode == "offline-fallback" and "9,999" in turn.grounded
    offline = next(c for c in turn.tool_calls if c.name == "segment_by")
    assert offline.args == {"attribute": "city", "group": "lapsed"}


def test_no_personal_data_reaches_the_model_on_any_new_path(tmp_path):
    """Every path issue 15 added sends the model what the guard masked: the request after streaming was refused,
    the second try told in words after tool_choice was refused, a tool call written as text, the fallback's memory
    of the offline assistant's results (a city that is really an address), and the next question's history."""
    from tests.test_model_safety import write_shop

    db, _ = write_shop(tmp_path, ["Rose tea", "Sencha", "Earl Grey"])
    ctx = ToolContext(db_path=db)
    question = "how many customers like Jane Doe (jane@example.com, 07700 900457, Flat 3, 12 Secret Street) are there?"
    with FakeOpenAI(refuse_tool_choice=True, refuse_stream=True) as fake:
        fake.queue(
            text(INVENTED),  # no tool: asked again, in words
            text_calls(("segment_by", {"attribute": "city"}), style="hermes"),  # a call written as text
            text("All 9,999 of them live in Leeds."),  # a number from nowhere
            tool_calls(("segment_by", {"attribute": "city"})),
            text("Most live in Leeds or York."),
        )
        agent = LLMAgent(ctx, settings_for(fake))
        first = agent.ask(question)
        second = agent.ask("and where do they live?")

    assert first.mode == "offline-fallback" and "9,999" in first.grounded
    assert (second.mode, second.grounded) == ("llm", CHECKED)
    assert fake.unscripted == 0 and any(USE_A_TOOL in t for t in fake.sent_texts())
    assert any("tool_choice" in r for r in fake.requests)  # refused, then said in words
    assert fake.requests[0]["stream"] is True and not fake.requests[-1].get("stream")  # refused, then plain
    secrets = ("Jane", "Doe", "jane@", "07700 900457", "Flat 3", "Secret Street", "LS1 4AB", "Okafor", "Patel")
    leaked = [(s, i) for i, body in enumerate(fake.sent_texts()) for s in secrets if s in body]
    assert leaked == []
    assert "[address]" in fake.sent_texts()[-1]  # the address-city was in what the model read, masked
