"""A group listed narrowed by spend, time since the last order and place, as owners ask it (blind questions Q2 and
C1): the counts against the customer table by hand, the follow-up "only the ones in Leeds" narrowing the list on
screen, and "save these" keeping exactly those customers."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.offline import OfflineAgent
from segmentation.custom.saved import matching_ids
from segmentation.customers import customer_table
from segmentation.store import connect
from tools.base import ToolContext


@pytest.fixture(scope="module")
def shop(demo_shops, tmp_path_factory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("narrowed")
    db = demo_shops.copy(folder, name="orders.csv", customers=1200, seed=9, currency="GBP")
    with connect(db, read_only=True) as con:
        table = customer_table(con).merge(
            con.execute("SELECT customer_id, city FROM customers").df(), on="customer_id", how="left"
        )
    return db, table


def test_spent_over_and_not_ordered_in_three_months(shop, tmp_path):
    db, table = shop
    turn = OfflineAgent(ToolContext(db_path=db)).ask(
        "which customers have spent over £100 in total but havent ordered in 3 months"
    )
    [call] = turn.tool_calls
    assert (call.name, call.args) == (
        "list_customers",
        {"group": "lapsed", "where": "monetary > 100 and recency >= 90"},
    )
    by_hand = table[(table["lifecycle"] == "lapsed") & (table["monetary"] > 100) & (table["recency_days"] >= 90)]
    assert 0 < call.result.facts["count"] == len(by_hand)
    assert set(call.result.table["customer_id"]) <= set(by_hand["customer_id"])  # the table shows the first rows


def test_a_list_narrowed_twice_then_saved(shop, tmp_path):
    import shutil

    source, table = shop
    db = tmp_path / "copy.duckdb"
    shutil.copy(source, db)
    agent = OfflineAgent(ToolContext(db_path=db))
    [first] = agent.ask("who are my lapsed customers that spent over £100?").tool_calls
    spent = table[(table["lifecycle"] == "lapsed") & (table["monetary"] > 100)]
    assert first.args["where"] == "monetary > 100" and first.result.facts["count"] == len(spent)
    [second] = agent.ask("only the ones in Leeds").tool_calls
    leeds = spent[spent["city"] == "Leeds"]
    assert second.args == {"group": "lapsed", "where": 'monetary > 100 and city = "Leeds"'}
    assert 0 < second.result.facts["count"] == len(leeds) < len(spent)
    [saved] = agent.ask("save these as Leeds win-back").tool_calls
    assert saved.args["condition"] == 'lifecycle = lapsed and monetary > 100 and city = "Leeds"'
    with connect(db, read_only=True) as con:
        assert matching_ids(con, saved.args["condition"]) == sorted(leeds["customer_id"])


def test_list_words_with_a_place_list_and_how_many_still_counts(shop):
    db, table = shop
    agent = OfflineAgent(ToolContext(db_path=db))
    [listed] = agent.ask("list my lapsed customers in Leeds").tool_calls
    assert (listed.name, listed.args) == ("list_customers", {"group": "lapsed", "where": 'city = "Leeds"'})
    assert listed.result.facts["count"] == int(((table["lifecycle"] == "lapsed") & (table["city"] == "Leeds")).sum())
    [counted] = agent.ask("how many of them live in Leeds?").tool_calls
    assert counted.name == "segment_by"
