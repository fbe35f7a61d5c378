"""agent.connection: the server's models, and one sentence for each way a connection test ends.
Against the scripted fake server (tests/fake_openai.py) and a closed port; never the internet."""

from __future__ import annotations

import re
import socket

import pytest

from agent import connection
from agent.grounding import NO_LOOK
from tests.fake_openai import FakeOpenAI, error, text, tool_calls
from tools.base import ToolContext, run_tool


@pytest.fixture
def fake():
    with FakeOpenAI(models=["llama3.1", "beta-7b", "alpha"]) as server:
        yield server


def settings_for(base: str, model: str = "beta-7b", key: str = "test-key") -> dict[str, str]:
    return {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": base, "SEGMENTS_MODEL": model, "SEGMENTS_MODEL_TIMEOUT": "5"}


def closed_port() -> str:
    with socket.socket() as s:  # bound, never listening, then closed: connecting is refused at once
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


def test_list_models_is_sorted_and_says_why_it_cannot(fake):
    assert connection.list_models(settings_for(fake.base_url)) == ["alpha", "beta-7b", "llama3.1"]
    fake.require_key = "right"
    with pytest.raises(connection.ConnectionProblem) as refused:
        connection.list_models(settings_for(fake.base_url, key="wrong"))
    assert refused.value.status == 401 and "refused the key (HTTP 401)" in refused.value.sentence
    assert "wrong" not in refused.value.sentence  # never the key


def test_a_model_that_answers(fake):
    fake.queue(text("OK"))
    report = connection.test_connection(settings_for(fake.base_url))
    assert report == connection.ConnectionReport(
        True, f"Connected to {fake.base_url}: model beta-7b answered (load your data to test whether it calls tools)."
    )
    sent = fake.requests[-1]
    assert sent["model"] == "beta-7b" and sent["max_tokens"] <= 10 and "Reply with OK" in str(sent["messages"])


def test_a_refused_key(fake):
    fake.require_key = "the-right-key"
    report = connection.test_connection(settings_for(fake.base_url, key="a-wrong-key"))
    assert report == connection.ConnectionReport(
        False, f"The server at {fake.base_url} refused the key (HTTP 401): check OPENAI_API_KEY."
    )
    assert fake.requests == []  # refused before any chat was asked


def test_nothing_listening():
    base = closed_port()
    report = connection.test_connection(settings_for(base))
    assert report == connection.ConnectionReport(False, f"Nothing answered at {base}: is the server running?")


def test_an_unknown_model_names_the_ones_offered(fake):
    report = connection.test_connection(settings_for(fake.base_url, model="gpt-4o"))
    assert report == connection.ConnectionReport(
        False, "The server has no model named gpt-4o; it offers: alpha, beta-7b, llama3.1."
    )
    assert fake.requests == []


def test_a_server_error_on_the_chat_is_a_sentence(fake):
    fake.queue(error(503))
    report = connection.test_connection(settings_for(fake.base_url))
    assert not report.ok and report.sentence == f"The server at {fake.base_url} answered with an error (HTTP 503)."


# -- with the shop's data: one real question, as a person would ask it --------------------------------------------


@pytest.fixture(scope="module")
def shop(demo_shops, tmp_path_factory) -> ToolContext:
    folder = tmp_path_factory.mktemp("connection")
    return ToolContext(db_path=demo_shops.copy(folder, name="orders.csv", customers=300, seed=5))


def customers(ctx: ToolContext) -> str:
    return re.search(r"(\d[\d,]*) customers", run_tool("data_overview", {}, ctx).summary)[1]


def test_a_model_that_looks_at_the_data_passes(fake, shop):
    fake.queue(tool_calls(("data_overview", {})), text(f"You have {customers(shop)} customers."))
    report = connection.test_connection(settings_for(fake.base_url), shop)
    assert report.ok, report.sentence
    assert re.fullmatch(
        rf"Connected to {re.escape(fake.base_url)}: model beta-7b called a tool \(data_overview\) to "
        r"answer \"How many customers do I have\?\" and its answer passed the check, in \d+\.\d s\.",
        report.sentence,
    )
    assert fake.requests[0]["messages"][-1]["content"] == connection.PROBE


def test_a_model_that_never_looks_is_told_plainly(fake, shop):
    fake.queue(text("You have 276,000 customers."), text("You have 276,000 customers."))
    report = connection.test_connection(settings_for(fake.base_url), shop)
    assert not report.ok and "without calling a tool, even when asked again" in report.sentence
    assert "its answers will not be shown; the offline assistant will answer" in report.sentence
    assert fake.requests[1]["tool_choice"] == "required"


def test_a_model_that_invents_a_number_is_told_which(fake, shop):
    fake.queue(tool_calls(("data_overview", {})), text("You have 276,000 customers."))
    report = connection.test_connection(settings_for(fake.base_url), shop)
    assert not report.ok and "its answer was not shown (the model wrote a number (276,000)" in report.sentence
    assert NO_LOOK not in report.sentence
