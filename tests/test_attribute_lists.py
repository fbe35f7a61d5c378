"""A group listed narrowed by who its customers are or how they take the emails (issues 18, 19): the tool's
``where`` condition, both agents, and fairness: a list, draft or saved segment narrowed by age, gender or
income only when the owner asks, and then the answer says so.

The shop is test_attribute_conditions' (its docstring works out every fact by hand): five customers A-E, a
customer list and email activity. A is champions and active (24, female, tags vip and wholesale, interests
vegan and gluten-free, opened both emails); B lapsed (30, male, tag vip, unsubscribed); C active (interest vegan,
opened nothing); D new (64, female, bounced); E lapsed (in no list, opened June's email).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from agent.llm import LLMAgent
from agent.offline import OfflineAgent
from segmentation.custom.conditions import parse, to_text
from segmentation.importing.ingest import import_file
from segmentation.store import connect, table_counts
from tests.support.llm import SETTINGS, call, scripted
from tools.base import ToolArgsError, ToolContext
from tools.registry import run_tool

FIXTURES = Path(__file__).parent / "fixtures"
NARROWED = (
    "This list is narrowed by age because you asked for it; lists, drafts and audiences are otherwise "
    "never narrowed by age, gender or income."
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("attribute_lists") / "shop.duckdb"
    import_file(db, FIXTURES / "segment_orders.csv")
    import_file(db, FIXTURES / "attributes" / "customers.csv")
    import_file(db, FIXTURES / "attributes" / "activity.csv")
    return db


@pytest.fixture
def ctx(built, tmp_path) -> ToolContext:
    return ToolContext(db_path=shutil.copy(built, tmp_path / "shop.duckdb"), artifacts=False)


def counts(ctx) -> dict:
    with connect(ctx.db_path, read_only=True) as con:
        return table_counts(con)


def listed(ctx, **args) -> tuple[list[str], object]:
    result = run_tool("list_customers", args, ctx)
    return sorted(result.table["customer_id"]), result


@pytest.mark.parametrize(
    ("group", "where", "expected"),
    [
        ("lapsed", "tag = vip", ["B"]),
        ("lapsed", "tag != vip", ["E"]),
        ("active", "interest = vegan", ["A", "C"]),
        ("active", "open_rate > 0", ["A"]),
        ("lapsed", "engagement = engaged_not_buying", ["E"]),
        ("lapsed", 'attribute "favourite bread" = sourdough', ["B"]),
        ("active", "not email_consent = yes", []),
    ],
)
def test_a_where_condition_narrows_the_group_to_the_customers_worked_out_by_hand(ctx, group, where, expected):
    ids, result = listed(ctx, group=group, where=where)
    assert ids == expected
    canonical = to_text(parse(where))  # the condition in the language's own words
    assert result.facts["count"] == len(expected) and result.facts["where"] == canonical
    assert f"match {canonical}" in result.summary and "narrowed by" not in result.summary


def test_a_list_narrowed_by_age_says_so_in_one_sentence(ctx):
    ids, result = listed(ctx, group="champions", where="age < 30")
    assert ids == ["A"]
    assert result.summary.endswith(NARROWED)
    assert result.facts["narrowed_by"] == ["age"]
    _, by_gender = listed(ctx, group="active", where='gender = female and income_band = "25k-50k"')
    assert "narrowed by gender and income because you asked for it" in by_gender.summary


def test_the_owner_s_words_decide_whether_a_sensitive_narrowing_is_taken(ctx):
    unasked = dataclasses.replace(ctx, asked="who are my champions?")
    with pytest.raises(ToolArgsError, match="the owner did not ask to narrow by gender; lists, drafts and segments"):
        run_tool("list_customers", {"group": "champions", "where": "gender = female"}, unasked)
    with pytest.raises(ToolArgsError, match="did not ask to narrow by age"):
        run_tool("save_segment", {"name": "Young fans", "condition": "age < 30"}, unasked)
    asked = dataclasses.replace(ctx, asked="list my champions who are women")
    assert sorted(
        run_tool("list_customers", {"group": "champions", "where": "gender = female"}, asked).table["customer_id"]
    ) == ["A"]
    # Not sensitive: no words needed.
    assert run_tool("list_customers", {"group": "champions", "where": "tag = vip"}, unasked).facts["count"] == 1


def test_a_draft_for_a_segment_saved_by_age_says_so(ctx):
    saved = run_tool("save_segment", {"name": "Under thirty", "condition": "age < 30"}, ctx)
    assert saved.facts["size"] == 1
    assert "This segment is narrowed by age because you asked for it" in saved.summary
    draft = run_tool("draft_campaign", {"group": "Under thirty"}, ctx)
    assert "This draft's audience is narrowed by age because you asked for it" in draft.summary
    plain = run_tool("draft_campaign", {"group": "lapsed"}, ctx)
    assert "narrowed by" not in plain.summary


@pytest.mark.parametrize(
    ("where", "said"),
    [
        ("tag > vip", "list_customers: tag cannot be compared with '>'"),
        (
            "attribute nope = 1",
            "list_customers: Your customer lists have no attribute 'nope': the ones in your lists "
            "are: age_band, email_consent, favourite_bread, gender, income_band, interest, "
            "member_rating, region, tag.",
        ),
        ("1 = 1; DROP TABLE orders", "list_customers: ';' (at character 6) is not understood"),
        ("tag = vip OR 1=1", "list_customers: '1' (at character 14) is not understood: a field (recency"),
    ],
)
def test_a_bad_where_is_one_sentence_and_changes_nothing(ctx, where, said):
    before = counts(ctx)
    with pytest.raises(ToolArgsError) as caught:
        run_tool("list_customers", {"group": "lapsed", "where": where}, ctx)
    assert str(caught.value).startswith(said)
    assert counts(ctx) == before


def test_a_value_that_tries_sql_is_only_a_value(ctx):
    before = counts(ctx)
    ids, _ = listed(ctx, group="lapsed", where='tag = "vip\'); DROP TABLE orders; --" or tag = vip')
    assert ids == ["B"] and counts(ctx) == before


def test_the_offline_agent_lists_the_group_narrowed_by_the_words(ctx):
    agent = OfflineAgent(ctx)
    turn = agent.ask("show me new customers tagged wholesale")
    [step] = turn.tool_calls
    assert (step.name, step.args) == ("list_customers", {"group": "new", "where": 'tag = "wholesale"'})
    assert list(step.result.table["customer_id"]) == ["D"]
    # vegan is an interest in this shop's list, not a tag: read as the interest, and said
    turn = agent.ask("active customers in the vegan tag")
    [step] = turn.tool_calls
    assert step.args == {"group": "active", "where": 'interest = "vegan"'}
    assert sorted(step.result.table["customer_id"]) == ["A", "C"]
    assert turn.answer.startswith(
        "Your customer lists hold vegan as an interest, not a tag, so I looked for "
        "customers with that interest. 2 customers are active and match interest = vegan"
    )
    turn = agent.ask("my champions who are under 30")
    assert turn.tool_calls[0].args == {"group": "champions", "where": "age < 30"}
    assert NARROWED in turn.answer
    # a count stays a breakdown; a group without words stays the whole group
    assert agent.ask("how many of my champions are under 30?").tool_calls[0].name == "customers_by_attribute"
    assert agent.ask("who are my lapsed customers?").tool_calls[0].args == {"group": "lapsed"}


def test_the_llm_agent_narrows_by_its_arguments_and_not_by_age_unasked(ctx):
    model = scripted(
        call("list_customers", group="champions", where="gender = female"),
        call("list_customers", group="champions"),
        "Here are your champions.",
    )
    turn = LLMAgent(ctx, SETTINGS, model=model).ask("who are my champions?")
    refused, done = turn.tool_calls
    assert "the owner did not ask to narrow by gender" in refused.error and refused.result is None
    assert done.error is None and done.args == {"group": "champions"}
    assert model.unused() == []

    model = scripted(call("list_customers", group="lapsed", where="tag = vip"), "One lapsed customer is a VIP.")
    turn = LLMAgent(ctx, SETTINGS, model=model).ask("which lapsed customers are tagged vip?")
    [step] = turn.tool_calls
    assert step.error is None and list(step.result.table["customer_id"]) == ["B"]

    model = scripted(call("list_customers", group="champions", where="age < 30"), "One champion is under 30.")
    turn = LLMAgent(ctx, SETTINGS, model=model).ask("list my champions who are under 30")
    [step] = turn.tool_calls
    assert step.error is None and step.result.summary.endswith(NARROWED)


def test_the_offline_agent_saves_the_narrowed_group_and_drafts_only_to_a_segment(ctx):
    agent = OfflineAgent(ctx)
    turn = agent.ask("draft an email to my champions who are under 30")
    assert turn.tool_calls == []  # not a draft to every champion
    assert turn.answer == (
        "A draft goes to a whole group, so I have not written one to all of them. Save the ones "
        'you mean as a segment first (say "save my champions who are under 30 as a name of your '
        'choice"), then ask for a draft to that segment.'
    )
    turn = agent.ask("save my lapsed customers in the vip tag as Lapsed VIPs")
    [step] = turn.tool_calls
    assert step.args == {"name": "Lapsed VIPs", "condition": 'lifecycle = lapsed and tag = "vip"'}
    assert step.result.facts["size"] == 1  # B
    turn = agent.ask("save my champions who are under 30 as Young champions")
    assert turn.tool_calls[0].args["condition"] == "segment = champions and age < 30"
    turn = agent.ask("draft an email to Young champions")
    assert turn.tool_calls[0].name == "draft_campaign"
    assert "This draft's audience is narrowed by age because you asked for it" in turn.answer
