"""One customer in the chat (tools.customer): the page's numbers for both agents, the person's contact details only
in what the person sees, and "the second one" after a top list meaning the second row the person saw."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.offline import OfflineAgent
from segmentation.customers import customer_table
from segmentation.store import connect
from tools.base import ToolArgsError, ToolContext, ToolFailure
from tools.registry import run_tool


@pytest.fixture(scope="module")
def db(demo_shops, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("customer_tool")
    return demo_shops.copy(folder, name="orders.csv", customers=400, seed=5, currency="GBP")


def test_a_customer_by_id_is_their_row_and_no_contact_detail_in_the_summary(db):
    with connect(db, read_only=True) as con:
        table = customer_table(con)
        people = con.execute("SELECT customer_id, first_name, last_name, email, city FROM customers").df()
    regular = table[table["frequency"] >= 3].sort_values("customer_id").iloc[0]
    person = people.set_index("customer_id").loc[regular["customer_id"]]
    result = run_tool("describe_customer", {"customer_id": regular["customer_id"].lower()}, ToolContext(db_path=db))
    facts = result.facts
    assert facts["customer_id"] == regular["customer_id"]  # the id as typed in any case, found as stored
    assert (facts["orders"], facts["spent"], facts["segment"], facts["lifecycle"]) == (
        int(regular["frequency"]),
        round(float(regular["monetary"]), 2),
        regular["segment"],
        regular["lifecycle"],
    )
    said = f"({int(regular['frequency']):,} orders, the last {int(regular['recency_days']):,} days ago"
    assert said in result.summary
    for personal in (person["first_name"], person["last_name"], person["email"], person["city"]):
        assert personal and personal not in result.summary and personal not in str(facts)
    # The person sees who it is: every order of theirs, with the contact details, in the table and its download.
    assert set(result.table["email"]) == {person["email"]}
    assert int(result.table["is_purchase"].sum()) == int(regular["frequency"])
    assert result.chart is not None and result.downloads


def test_the_nth_top_customer_is_the_nth_row_of_the_top_list(db):
    ctx = ToolContext(db_path=db)
    top = run_tool("top_customers", {"limit": 5, "by": "predicted_value", "group": "loyal"}, ctx).table
    third = run_tool("describe_customer", {"top_rank": 3, "by": "predicted_value", "group": "loyal"}, ctx)
    assert third.facts["customer_id"] == top["customer_id"].iloc[2]
    assert "(number 3 by predicted value)" in third.summary


def test_bad_requests_are_one_sentence(db):
    ctx = ToolContext(db_path=db)
    with pytest.raises(ToolArgsError, match="exactly one of customer_id or top_rank"):
        run_tool("describe_customer", {}, ctx)
    with pytest.raises(ToolArgsError, match="exactly one"):
        run_tool("describe_customer", {"customer_id": "C00001", "top_rank": 1}, ctx)
    with pytest.raises(ToolFailure, match=r"There is no customer 'C0001' in this shop; did you mean C00001"):
        run_tool("describe_customer", {"customer_id": "C0001"}, ctx)
    with pytest.raises(ToolArgsError, match="past the last of the"):
        run_tool("describe_customer", {"top_rank": 1000, "group": "champions"}, ctx)


def test_the_offline_agent_follows_a_top_list_to_one_customer(db):
    agent = OfflineAgent(ToolContext(db_path=db))
    listed = agent.ask("who are my top 5 customers?").tool_calls[0].result.table
    second = agent.ask("tell me more about the second one")
    assert second.tool_calls[0].name == "describe_customer"
    assert second.tool_calls[0].result.facts["customer_id"] == listed["customer_id"].iloc[1]
    assert agent.ask("and number 4?").tool_calls[0].result.facts["customer_id"] == listed["customer_id"].iloc[3]
    named = agent.ask(f"tell me about customer {listed['customer_id'].iloc[0]}")
    assert named.tool_calls[0].result.facts["top_rank"] is None
    assert named.answer.startswith(f"Customer {listed['customer_id'].iloc[0]}, as of ")
    # Without a list before it, a position is no customer: "the second one" is left to the other rules.
    fresh = OfflineAgent(ToolContext(db_path=db)).ask("tell me more about the second one")
    assert all(c.name != "describe_customer" for c in fresh.tool_calls)


def test_a_follow_up_about_them_is_the_same_customer_with_what_they_usually_buy(db):
    """After one customer, "when did they last come in? what do they normally get" opens them again: last order
    and their most frequent products, counted here from the order lines by hand (owners' blind round 2, C3)."""
    agent = OfflineAgent(ToolContext(db_path=db))
    listed = agent.ask("who are my top 5 customers?").tool_calls[0].result.table
    agent.ask("tell me more about the third one")
    [again] = agent.ask("when did they last come in, should i be worried? and what do they normally get").tool_calls
    who = listed["customer_id"].iloc[2]
    assert again.name == "describe_customer" and again.result.facts["customer_id"] == who
    with connect(db, read_only=True) as con:
        lines = con.execute(
            "SELECT order_id, product, order_date FROM order_lines WHERE customer_id = ? AND net_amount > 0", [who]
        ).df()
    counts = lines.groupby("product")["order_id"].nunique().reset_index()
    top = counts.sort_values(["order_id", "product"], ascending=[False, True]).head(3)
    assert again.result.facts["usual_products"] == [
        {"product": p, "orders": int(n)} for p, n in zip(top["product"], top["order_id"], strict=True)
    ]
    assert again.result.facts["last_order"] == str(lines["order_date"].max())[:10]
    said = f"last order {again.result.facts['last_order']}; buys most often {top['product'].iloc[0]}"
    assert said in again.result.summary
