"""Both assistants use a saved segment by name: the offline one saves "these" and understands the name afterwards;
a model saves, lists and shows one through the tools, its condition parsed by the same parser (never SQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.base import make_agent
from agent.llm import LLMAgent
from agent.offline import OfflineAgent
from segmentation.custom.saved import matching_ids, saved_segments
from segmentation.importing.ingest import import_file
from segmentation.store import connect, table_counts
from tests.fake_openai import FakeOpenAI, text, tool_calls
from tests.support.llm import settings_for
from tools.base import ToolContext

ORDERS = Path(__file__).parent / "fixtures" / "segment_orders.csv"  # five customers, see tests/test_conditions.py


@pytest.fixture
def ctx(tmp_path) -> ToolContext:
    db = tmp_path / "shop.duckdb"
    import_file(db, ORDERS)
    return ToolContext(db_path=db, artifacts=False)


def names(ctx) -> dict[str, str]:
    with connect(ctx.db_path, read_only=True) as con:
        return {s.name: s.condition for s in saved_segments(con)}


def test_the_offline_agent_saves_the_last_group_and_then_knows_it_by_name(ctx):
    agent = OfflineAgent(ctx)
    listed = agent.ask("who are my hibernating customers?")
    assert [(c.name, c.args["group"]) for c in listed.tool_calls] == [("list_customers", "hibernating")]
    saved = agent.ask("save these as Sleepy ones")
    [call] = saved.tool_calls
    assert (call.name, call.args, call.error) == (
        "save_segment",
        {"name": "Sleepy ones", "condition": "segment = hibernating"},
        None,
    )
    assert names(ctx) == {"Sleepy ones": "segment = hibernating"}
    assert "Saved the segment 'Sleepy ones' (segment = hibernating): 2 customers now." in saved.answer

    about = OfflineAgent(ctx)  # a new conversation: the name comes from the store
    [listing] = about.ask("list sleepy ones").tool_calls
    assert listing.name == "list_customers" and listing.args["group"] == "Sleepy ones"
    assert listing.result.facts["count"] == 2 and listing.result.facts["condition"] == "segment = hibernating"
    [described] = about.ask("tell me about Sleepy ones").tool_calls
    assert described.name == "describe_segment" and described.result.facts["customers"] == 2
    [doing] = about.ask("how is Sleepy ones doing?").tool_calls
    assert doing.name == "show_segment" and doing.error is None
    assert "2 customers now; no import since it was saved" in doing.result.summary
    [left] = about.ask("who left Sleepy ones this month?").tool_calls
    assert left.args == {"name": "Sleepy ones", "move": "left", "since": "2024-06-01"}


def test_the_offline_agent_saves_a_condition_said_in_words(ctx):
    agent = OfflineAgent(ctx)
    [call] = agent.ask("save my champions in Leeds as Leeds stars").tool_calls
    assert call.name == "save_segment" and call.error is None
    assert names(ctx) == {"Leeds stars": "segment = champions and city = Leeds"}
    assert call.result.facts["size"] == 1  # A


def test_saving_with_nothing_to_save_says_how(ctx):
    turn = OfflineAgent(ctx).ask("save these as Nothing yet")
    assert turn.tool_calls == [] and "ask for one first" in turn.answer
    assert names(ctx) == {}


def test_a_list_that_was_never_saved_is_said_so_not_answered_for_another_group(ctx):
    """ "How is my VIP list doing?" before any is saved names no built-in group in its place (champions were the
    guess before); "as my VIP list" saves it as "VIP list", which the same question then finds."""
    agent = OfflineAgent(ctx)
    before = agent.ask("how is my VIP list doing?")
    assert before.tool_calls == []
    assert before.answer.startswith("You have no saved segment called 'VIP list'. None is saved yet")
    [saved] = agent.ask("save my champions as my VIP list").tool_calls
    assert saved.args == {"name": "VIP list", "condition": "segment = champions"}
    [doing] = agent.ask("how is my VIP list doing?").tool_calls
    assert (doing.name, doing.args) == ("show_segment", {"name": "VIP list"})
    other = agent.ask("How's our Leeds segment doing?")
    assert other.tool_calls == [] and other.answer == (
        "You have no saved segment called 'Leeds segment'. The saved ones are: 'VIP list'."
    )


def test_a_quoted_name_with_words_after_it_and_how_it_is_looking(ctx):
    """'save that lot as "leeds winback" so i can keep an eye on them' names it what the quotes hold; "how's leeds
    winback looking now, has anyone in it come back?" reads its history (owners' blind round 2, C1)."""
    agent = OfflineAgent(ctx)
    agent.ask("who are my hibernating customers?")
    [saved] = agent.ask('can you save that lot as "sleepy ones" so i can keep an eye on them').tool_calls
    assert saved.args == {"name": "sleepy ones", "condition": "segment = hibernating"}
    [doing] = agent.ask("ok how's sleepy ones looking now, has anyone in it come back?").tool_calls
    assert (doing.name, doing.args, doing.error) == ("show_segment", {"name": "sleepy ones"}, None)


def test_a_model_saves_lists_and_shows_a_segment_through_the_parser_never_sql(ctx):
    with connect(ctx.db_path, read_only=True) as con:
        before = table_counts(con)
    with FakeOpenAI() as fake:
        fake.queue(
            tool_calls(("save_segment", {"name": "Leeds win-back", "condition": "city = Leeds; DROP TABLE orders"})),
            tool_calls(("save_segment", {"name": "Leeds win-back", "condition": "city = Leeds and frequency >= 2"})),
            text("I saved Leeds win-back."),
            tool_calls(("list_customers", {"group": "Leeds win-back"}), ("show_segment", {"name": "leeds win-back"})),
            text("Two customers are in Leeds win-back."),
        )
        agent = make_agent(ctx, settings_for(fake))
        assert isinstance(agent, LLMAgent)
        first = agent.ask("save my Leeds regulars as Leeds win-back")
        second = agent.ask("how is Leeds win-back doing?")
        offered = {t["function"]["name"] for t in fake.requests[0]["tools"]}
        told = [json.loads(m["content"]) for m in fake.requests[1]["messages"] if m["role"] == "tool"]
    assert {"save_segment", "list_saved_segments", "show_segment"} <= offered
    refused, accepted = first.tool_calls
    assert refused.result is None and "';' (at character 13) is not understood" in refused.error
    assert told == [{"tool": "save_segment", "error": refused.error}]  # the model reads why, and corrects it
    assert accepted.error is None and first.answer == "I saved Leeds win-back."
    assert names(ctx) == {"Leeds win-back": "city = Leeds and frequency >= 2"}
    listing, shown = second.tool_calls
    with connect(ctx.db_path, read_only=True) as con:
        assert matching_ids(con, "city = Leeds and frequency >= 2") == ["A", "C"]
        assert table_counts(con) == before  # orders, customers, imports: as they were
    assert listing.error is None and listing.result.facts["count"] == 2
    assert shown.error is None and shown.result.facts["size"] == 2
