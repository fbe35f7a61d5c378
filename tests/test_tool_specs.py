"""One place per tool: its spec says how its step reads, which questions it answers, whether it only reads,
and what chart it draws, and the planner, the status line and the history all read it from there."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import Field

from agent.offline import Shop, State, plan_question
from tools.base import REGISTRY, ToolArgs, ToolContext, ToolResult, tool
from tools.registry import TOOL_NAMES
from ui.history import replayable
from ui.steps import step_end, step_start

SHOP = Shop(last_order=lambda: dt.date(2026, 11, 20), campaigns=lambda: [("cmp-0001", "at_risk")])
EXAMPLES = [(name, q) for name in TOOL_NAMES for q in REGISTRY[name].examples]


def test_every_tool_says_what_it_does_and_answers_something():
    for name in TOOL_NAMES:
        spec = REGISTRY[name]
        assert spec.examples, f"{name} has no example questions"
        assert spec.step_words({}) and not spec.step_words({}).startswith("Running"), name
        if spec.chart:
            from tools import charts

            assert callable(getattr(charts, spec.chart)), name


@pytest.mark.parametrize(("name", "question"), EXAMPLES, ids=[f"{n}:{q[:30]}" for n, q in EXAMPLES])
def test_each_example_plans_its_own_tool(name, question):
    plan = plan_question(question, State(), SHOP)
    if name == "load_data":  # the demo over a shop that has data asks first; planning alone has none
        assert plan.tool == "load_data"
        return
    assert plan.tool == name, (question, plan.tool, plan.reply)
    REGISTRY[name].args_model.model_validate(plan.args)  # a planned call always validates


def test_only_reading_tools_are_replayed():
    assert not replayable("load_data")
    assert all(replayable(n) for n in TOOL_NAMES if n != "load_data")
    assert not replayable("no_such_tool")


def test_steps_read_from_the_spec():
    assert step_start("list_customers", {"group": "lapsed"}) == "Finding lapsed customers..."
    assert (
        step_end("list_customers", {"group": "lapsed"}, "421 customers are lapsed")
        == "Finding lapsed customers... 421 found"
    )
    assert step_start("no_such_tool", {}) == "Running no such tool..."


class _StockArgs(ToolArgs):
    group: str | None = Field(None, description="A group.")
    limit: int = Field(5, ge=1, le=20, description="How many.")


def test_a_new_tool_is_one_module_and_one_line(monkeypatch):
    """A tool registered with cues and examples is planned, its arguments filled from the slots by name and
    clamped to its bounds, without a line of agent code."""

    def stock_levels(ctx: ToolContext, args: _StockArgs) -> ToolResult:
        """Stock levels."""
        return ToolResult(summary="3 products low on stock.")

    monkeypatch.setitem(REGISTRY, "stock_levels", None)
    tool(
        "stock_levels",
        _StockArgs,
        step="Checking stock",
        examples=("Which products are low on stock?",),
        cues=(r"low on stock|stock levels?",),
    )(stock_levels)
    plan = plan_question("show me the top 50 items low on stock", State(), SHOP)
    assert plan.tool == "stock_levels"
    assert plan.args == {"limit": 20} and "I can do 1 to 20" in plan.note
    assert step_start("stock_levels", {}) == "Checking stock..."
