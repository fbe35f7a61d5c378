"""Issue 15 in the app: a model's answer says it was checked, a fallback says why the model's answer was not
shown, and a refresh shows the same. The real LLM agent over HTTP to the scripted fake server, through AppTest."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from agent.grounding import NO_LOOK
from segmentation.safety.markup import escape_markdown
from tests.fake_openai import FakeOpenAI, text, tool_calls
from tools.base import ToolContext
from tools.registry import run_tool
from ui.chat import CHECKED_NOTE, NOT_SHOWN

from .support import APP

INVENTED = "You have 276,000 champions."


@pytest.fixture
def fake(app_db, monkeypatch):
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("SEGMENTS_MODEL", "fake-model")
        monkeypatch.setenv("SEGMENTS_MODEL_TIMEOUT", "10")
        yield server


def app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def assistant(at: AppTest):
    return [m for m in at.chat_message if m.name == "assistant"][-1]


def said(message) -> str:
    return " ".join(m.value for m in message.markdown)


def captions(message) -> list[str]:
    return [c.value for c in message.caption]


def test_a_checked_answer_says_so_and_still_does_after_a_refresh(app_db, fake):
    count = re.search(r"\d[\d,]*", run_tool("list_customers", {"group": "champions"}, ToolContext(app_db)).summary)[0]
    fake.queue(tool_calls(("list_customers", {"group": "champions"})), text(f"You have {count} champions."))
    message = assistant(ask(app().run(), "who are my champions?"))
    assert f"You have {count} champions." in said(message)
    assert CHECKED_NOTE in captions(message)

    again = app().run()  # a refresh: the conversation comes back from the store, verdict included
    assert not again.exception
    assert CHECKED_NOTE in captions(assistant(again))
    assert fake.unscripted == 0 and len(fake.requests) == 2  # the refresh asked the model nothing


def test_an_invented_number_is_never_shown_and_the_reason_is(app_db, fake):
    fake.queue(text(INVENTED), text(INVENTED))
    message = assistant(ask(app().run(), "how many champions do I have?"))
    assert "The model's answer was not shown" in said(message) and NO_LOOK in said(message)
    assert CHECKED_NOTE not in captions(message)
    assert NOT_SHOWN.format(why=NO_LOOK) not in captions(message)  # said once, in the answer, not again under it
    assert "276,000" not in said(message) and "276" not in " ".join(captions(message))
    assert "champions" in said(message)  # the offline assistant's answer is there instead

    again = app().run()
    assert NO_LOOK in said(assistant(again)) and "276,000" not in said(assistant(again))


# ---------------------------------------------------------------- the model picker and the connection test


def settings_panel(at: AppTest):
    return at.sidebar.expander[[e.label for e in at.sidebar.expander].index("Settings")]


def test_the_picker_lists_the_servers_models_and_the_choice_reaches_the_request(app_db, fake):
    fake.models = ["llama3.1", "beta-7b", "fake-model"]
    at = app().run()
    picker = at.selectbox(key="model-choice")
    assert picker.options == ["beta-7b", "fake-model", "llama3.1"] and picker.value == "fake-model"
    picker.select("beta-7b").run()
    assert not at.exception
    assert "beta-7b at 127.0.0.1" in " ".join(m.value for m in settings_panel(at).markdown)
    fake.queue(text("Hello! Ask me about your customers."))
    ask(at, "hi there")
    assert [r["model"] for r in fake.requests] == ["beta-7b"]

    other = app().run()  # another browser session keeps the operator's model
    assert other.selectbox(key="model-choice").value == "fake-model"


def test_the_connection_test_says_what_happened(app_db, fake):
    """The test asks the model one question about the shop, as a person would: a tool, a time, the check."""
    count = re.search(r"\d[\d,]*", run_tool("data_overview", {}, ToolContext(app_db)).summary.split(":", 1)[1])[0]
    fake.queue(tool_calls(("data_overview", {})), text(f"You have {count} customers."))
    at = app().run()
    at.button(key="test-connection").click().run()
    [report] = [s.value for s in at.success]
    assert report.startswith(
        escape_markdown(f"Connected to {fake.base_url}: model fake-model called a tool (data_overview)")
    )
    assert "passed the check" in report and re.search(r"in \d+\.\d s\.$", report)
    assert fake.requests[0]["messages"][-1]["content"] == "How many customers do I have?"
    fake.require_key = "another-key"  # the operator's key is now refused
    at.button(key="test-connection").click().run()
    assert not at.success and "refused the key (HTTP 401)" in at.error[0].value


def test_a_server_that_cannot_list_keeps_the_configured_model_and_says_why(app_db, monkeypatch):
    with FakeOpenAI() as server:
        base = server.base_url
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", base)  # closed: nothing listens there now
    monkeypatch.setenv("SEGMENTS_MODEL", "llama3.1")
    at = app().run()
    picker = at.selectbox(key="model-choice")
    assert picker.options == ["llama3.1"] and picker.value == "llama3.1"
    notes = " ".join(c.value for c in settings_panel(at).caption)
    assert "The models could not be listed" in notes and "is the server running?" in notes
    at.button(key="test-connection").click().run()
    assert "Nothing answered at" in at.error[0].value


def test_no_model_configured_no_picker(app_db):
    at = app().run()
    assert not [s for s in at.selectbox if s.key == "model-choice"]
    assert not [b for b in at.button if b.key == "test-connection"]
