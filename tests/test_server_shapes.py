"""Issue 15: what real OpenAI-compatible servers send (OpenAI, Ollama, vLLM, LM Studio, llama.cpp server), each a
scripted scenario of the fake server, over real HTTP with the real ChatOpenAI client. Every scenario ends in an
answer that passed the grounding check, or in the offline assistant's with the reason in words."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from agent.base import CHECKED
from agent.llm import FALLBACK_NOTE, NO_TOOLS, NO_TOOLS_NOTE, WRITE_REFUSED, LLMAgent
from agent.middleware import with_tool_calls
from agent.shapes import repair_arguments, split_tool_calls, tool_calls_in_text
from segmentation.store import connect, table_counts
from tests.conftest import REPO
from tests.fake_openai import (
    LLAMA_CPP_NO_TOOLS,
    OLLAMA_NO_TOOLS,
    TEXT_CALL_STYLES,
    FakeOpenAI,
    drip,
    malformed_stream,
    text,
    text_calls,
    tool_calls,
)
from tests.support.llm import ask, first_number, settings_for, shown_at_the_end
from tools.base import ToolContext, run_tool

KNOWN = {"list_customers", "data_overview"}


@pytest.fixture(scope="module")
def shop(demo_shops, tmp_path_factory):
    """The demo shop of tests/test_grounded_answers.py (600 customers, seed 11), a copy for this module."""
    return demo_shops.copy(tmp_path_factory.mktemp("grounded"), name="orders.csv", customers=600, seed=11)


@pytest.fixture
def ctx(shop) -> ToolContext:
    return ToolContext(db_path=shop)


def count_of(ctx: ToolContext, group: str) -> str:
    return first_number(run_tool("list_customers", {"group": group}, ctx).summary)


# -- agent.shapes, the text alone ----------------------------------------------------------------------------


@pytest.mark.parametrize("style", TEXT_CALL_STYLES)
def test_each_written_form_is_read_as_the_calls_it_names(style):
    written = text_calls(("list_customers", {"group": "lapsed"}), ("data_overview", {}), style=style).text
    calls, rest = split_tool_calls(written, KNOWN)
    assert [(c["name"], c["args"], c["type"]) for c in calls] == [
        ("list_customers", {"group": "lapsed"}, "tool_call"),
        ("data_overview", {}, "tool_call"),
    ]
    assert rest == "" and len({c["id"] for c in calls}) == 2


def test_words_around_a_written_call_stay_and_unknown_names_are_no_calls():
    calls, rest = split_tool_calls(
        'Let me look.\n<tool_call>{"name": "list_customers", "arguments": {"group": "loyal"}}</tool_call>', KNOWN
    )
    assert [c["args"] for c in calls] == [{"group": "loyal"}] and rest == "Let me look."
    example = 'Call it like {"name": "delete_everything", "arguments": {}}.'
    assert tool_calls_in_text(example, KNOWN) == []
    assert tool_calls_in_text('{"name": "delete_everything", "arguments": {}}', KNOWN) == []
    assert tool_calls_in_text("You have 12 lapsed customers.", KNOWN) == []
    assert [c["args"] for c in tool_calls_in_text('[TOOL_CALLS]list_customers[ARGS]{"group": "new"}', KNOWN)] == [
        {"group": "new"}
    ]


@pytest.mark.parametrize(
    "args, expected",
    [
        ('{"group": "lapsed"} </s>', {"group": "lapsed"}),
        ('{"group":"lapsed"}}', {"group": "lapsed"}),
        ('"{\\"group\\": \\"lapsed\\"}"', {"group": "lapsed"}),
        ('{"group": "lapsed"', None),
        ("group=lapsed", None),
        ("[1, 2]", None),
    ],
)
def test_repair_arguments_takes_the_first_complete_object(args, expected):
    assert repair_arguments(args) == expected


def test_an_invalid_call_whose_arguments_have_text_after_them_becomes_valid():
    from langchain_core.messages import AIMessage

    def invalid(args: str, call_id: str) -> dict:
        return {"name": "list_customers", "args": args, "id": call_id, "error": None, "type": "invalid_tool_call"}

    message = AIMessage("", invalid_tool_calls=[invalid('{"group":"lapsed"}}', "c1"), invalid("not json", "c2")])
    repaired = with_tool_calls(message, frozenset(KNOWN))
    assert [(c["id"], c["args"]) for c in repaired.tool_calls] == [("c1", {"group": "lapsed"})]
    assert [c["id"] for c in repaired.invalid_tool_calls] == ["c2"]  # still the retry's to judge


# -- over HTTP: tool calls as text -----------------------------------------------------------------------------


@pytest.mark.parametrize("style", TEXT_CALL_STYLES)
def test_a_tool_call_written_as_text_is_run_and_the_answer_is_grounded(ctx, fake, style):
    count = count_of(ctx, "lapsed")
    fake.queue(
        text_calls(("list_customers", {"group": "lapsed"}), style=style), text(f"{count} of your customers are lapsed.")
    )
    turn, events = ask(LLMAgent(ctx, settings_for(fake)), "who are my lapsed customers?")

    assert (turn.mode, turn.grounded) == ("llm", CHECKED), turn.answer
    assert [(c.name, c.args) for c in turn.tool_calls] == [("list_customers", {"group": "lapsed"})]
    assert turn.tool_calls[0].result is not None
    assert shown_at_the_end(events) == turn.answer == f"{count} of your customers are lapsed."
    streamed = "".join(e.text for e in events if e.kind == "token")
    assert '"list_customers"' in streamed  # the call was streamed as text, then withdrawn
    # The model is shown its call as a call, with the tool's result, not as text.
    sent = fake.requests[1]["messages"]
    assistant = next(m for m in sent if m["role"] == "assistant")
    assert assistant["tool_calls"][0]["function"]["name"] == "list_customers"
    assert "list_customers" not in (assistant.get("content") or "")
    assert any(m["role"] == "tool" for m in sent)


def test_a_tool_call_written_as_text_in_a_plain_reply_is_run_too(ctx, fake):
    """A server that does not stream: the whole message comes at once, text call and all."""
    fake.refuse_stream = True
    count = count_of(ctx, "at_risk")
    fake.queue(text_calls(("list_customers", {"group": "at_risk"})), text(f"{count} customers are at risk."))
    turn, events = ask(LLMAgent(ctx, settings_for(fake)), "who is at risk?")

    assert (turn.mode, turn.grounded) == ("llm", CHECKED), turn.answer
    assert [(c.name, c.args) for c in turn.tool_calls] == [("list_customers", {"group": "at_risk"})]
    assert "<tool_call>" not in shown_at_the_end(events) and "<tool_call>" not in turn.answer


def test_several_calls_written_at_once_are_all_run(ctx, fake):
    lapsed, loyal = count_of(ctx, "lapsed"), count_of(ctx, "loyal")
    fake.queue(
        text_calls(
            ("list_customers", {"group": "lapsed"}),
            ("list_customers", {"group": "loyal"}),
            before="I will look at both groups.\n",
        ),
        text(f"{lapsed} lapsed and {loyal} loyal customers."),
    )
    turn, events = ask(LLMAgent(ctx, settings_for(fake)), "how many lapsed and loyal customers do I have?")

    assert (turn.mode, turn.grounded) == ("llm", CHECKED), turn.answer
    assert [c.args for c in turn.tool_calls] == [{"group": "lapsed"}, {"group": "loyal"}]
    assert shown_at_the_end(events) == turn.answer
    assert "<tool_call>" not in shown_at_the_end(events)


@pytest.mark.parametrize("arguments", ['{"group": "lapsed"} </s>', '{"group":"lapsed"}}'])
def test_arguments_with_text_after_the_json_are_repaired(ctx, fake, arguments):
    count = count_of(ctx, "lapsed")
    fake.queue(tool_calls(("list_customers", arguments)), text(f"{count} customers are lapsed."))
    turn, _ = ask(LLMAgent(ctx, settings_for(fake)), "who are my lapsed customers?")

    assert (turn.mode, turn.grounded) == ("llm", CHECKED), turn.answer
    assert [(c.name, c.args) for c in turn.tool_calls] == [("list_customers", {"group": "lapsed"})]
    assert len(fake.requests) == 2  # repaired, not retried


def test_arguments_with_text_after_them_are_repaired_without_streaming_too(ctx, fake):
    """The plain reply's arguments are parsed by the client in one go, not as a stream's partial JSON."""
    fake.refuse_stream = True
    count = count_of(ctx, "lapsed")
    fake.queue(tool_calls(("list_customers", '{"group": "lapsed"} </s>')), text(f"{count} customers are lapsed."))
    turn, _ = ask(LLMAgent(ctx, settings_for(fake)), "who are my lapsed customers?")
    assert (turn.mode, turn.grounded) == ("llm", CHECKED), turn.answer
    assert [c.args for c in turn.tool_calls] == [{"group": "lapsed"}]


def test_a_write_tool_called_in_text_is_refused_and_said(ctx, fake, shop):
    before = table_counts(connect(shop, read_only=True))
    fake.queue(text_calls(("load_data", {"source": "demo", "replace": True})), text("Done."))
    turn, _ = ask(LLMAgent(ctx, settings_for(fake)), "hi, load the demo please")

    assert WRITE_REFUSED.format(tools="load_data") in turn.answer
    assert table_counts(connect(shop, read_only=True)) == before


# -- over HTTP: streaming ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["refuse_stream", "ignore_stream"])
def test_a_server_that_does_not_stream_is_asked_plainly(ctx, fake, how):
    setattr(fake, how, True)
    count = count_of(ctx, "champions")
    fake.queue(
        *([text("unused")] if how == "ignore_stream" else []),
        tool_calls(("list_customers", {"group": "champions"})),
        text(f"You have {count} champions."),
    )
    agent = LLMAgent(ctx, settings_for(fake))
    turn, events = ask(agent, "who are my champions?")

    assert (turn.mode, turn.grounded) == ("llm", CHECKED), turn.answer
    assert turn.answer == f"You have {count} champions."
    assert shown_at_the_end(events) in ("", turn.answer)  # a plain reply is not streamed; the view shows the turn's
    assert fake.requests[0]["stream"] is True
    assert all(not r.get("stream") for r in fake.requests[1:])  # remembered: plain from then on
    if how == "refuse_stream":
        assert len(fake.requests) == 3


def test_a_malformed_stream_falls_back_with_the_reason(ctx, fake):
    fake.queue(malformed_stream())
    turn, events = ask(LLMAgent(ctx, settings_for(fake)), "who are my champions?")

    assert turn.mode == "offline-fallback"
    assert turn.grounded == "the server sent a reply that could not be read"
    assert turn.tool_calls and turn.tool_calls[0].result is not None  # the offline assistant answered
    assert "not json" not in shown_at_the_end(events)


def test_ask_survives_a_malformed_stream(shop, fake):
    fake.queue(malformed_stream(), malformed_stream())
    env = {
        **os.environ,
        "OPENAI_API_KEY": "k",
        "OPENAI_BASE_URL": fake.base_url,
        "SEGMENTS_MODEL": "m",
        "SEGMENTS_MODEL_TIMEOUT": "10",
    }
    out = subprocess.run(
        [sys.executable, "-m", "cli", "ask", "--db", str(shop), "--json", "who are my champions?"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    turn = json.loads(out.stdout)
    assert turn["mode"] == "offline-fallback" and "could not be read" in turn["grounded"]


def test_a_server_that_drips_tokens_is_given_up_at_the_deadline(ctx, fake):
    fake.queue(drip("You have many champions, " * 10, every=1.5))
    agent = LLMAgent(ctx, settings_for(fake, SEGMENTS_ANSWER_DEADLINE="3"))
    started = time.monotonic()
    turn, events = ask(agent, "who are my champions?")
    took = time.monotonic() - started

    assert turn.mode == "offline-fallback" and turn.grounded == "no complete answer within 3 seconds"
    assert took < 10, took  # the drip would take over 20 s
    assert "You have many" in "".join(e.text for e in events if e.kind == "token")  # it did start
    assert "many champions" not in shown_at_the_end(events)


# -- over HTTP: tools, keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "words, status", [(OLLAMA_NO_TOOLS, 400), (LLAMA_CPP_NO_TOOLS, 400), (LLAMA_CPP_NO_TOOLS, 500)]
)
def test_a_model_that_cannot_call_tools_is_said_once_then_the_offline_assistant_answers(ctx, fake, words, status):
    fake.no_tools, fake.no_tools_status = words, status
    agent = LLMAgent(ctx, settings_for(fake))
    first, _ = ask(agent, "who are my champions?")

    assert (first.mode, first.grounded) == ("offline-fallback", NO_TOOLS)
    assert first.answer.startswith(NO_TOOLS_NOTE) and first.answer.count(NO_TOOLS_NOTE) == 1
    assert first.tool_calls and first.tool_calls[0].result is not None
    sent = len(fake.requests)
    assert sent >= 1 and fake.unscripted == 0  # every request was refused before any model would have answered

    second, _ = ask(agent, "and who is at risk?")
    assert (second.mode, second.grounded) == ("offline-fallback", NO_TOOLS)
    assert NO_TOOLS_NOTE not in second.answer
    assert len(fake.requests) == sent  # not asked again


def test_a_wrong_key_falls_back_and_says_so(ctx, fake):
    fake.require_key = "the-right-key"
    fake.queue(text("never sent"))
    turn, _ = ask(LLMAgent(ctx, settings_for(fake)), "who are my champions?")

    assert turn.mode == "offline-fallback"
    assert turn.grounded == "the server did not accept the API key, HTTP 401: check OPENAI_API_KEY"
    assert turn.answer.startswith(FALLBACK_NOTE.format(why=turn.grounded))
    assert len(fake.script) == 1  # the refused request spent no scripted reply


def test_the_models_list_and_its_key():
    import httpx

    with FakeOpenAI(models=["qwen2.5:7b", "llama3.1:8b"], require_key="k") as fake:
        listed = httpx.get(f"{fake.base_url}/models", headers={"Authorization": "Bearer k"})
        wrong = httpx.get(f"{fake.base_url}/models", headers={"Authorization": "Bearer nope"})
    assert listed.json() == {
        "object": "list",
        "data": [
            {"id": "qwen2.5:7b", "object": "model", "created": 0, "owned_by": "fake"},
            {"id": "llama3.1:8b", "object": "model", "created": 0, "owned_by": "fake"},
        ],
    }
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
