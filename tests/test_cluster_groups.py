"""A cluster is a group everywhere a segment or stage is, and always the cluster of the clustering the owner
saw: with ``k`` as cluster_customers was called, every tool finds the same customers for ``cluster_2``."""

from __future__ import annotations

import pandas as pd
import pytest

from segmentation import memo
from segmentation.clustering import cluster_customers
from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from segmentation.profile import find_group, group_members
from tools.base import ToolArgsError, ToolContext
from tools.registry import run_tool

CLUSTER_TOOLS = ("list_customers", "describe_segment", "draft_campaign", "predict_value", "segment_by",
                 "sales_over_time", "order_value", "purchase_rhythm", "top_customers")  # fmt: skip
EXTRA = {"segment_by": {"attribute": "city"}}


@pytest.fixture(scope="module")
def shop(demo_shops, tmp_path_factory) -> ToolContext:
    return ToolContext(db_path=demo_shops.copy(tmp_path_factory.mktemp("cluster_groups"), customers=500, seed=4))


@pytest.fixture(scope="module")
def clusterings(shop) -> dict[int, pd.DataFrame]:
    """The clustering's own assignments at k=3 and k=5, computed afresh (no memo)."""
    with memo.disabled(), shop.read() as con:
        return {k: cluster_customers(con, k=k).assignments for k in (3, 5)}


@pytest.fixture(scope="module")
def first_day(shop) -> str:
    with shop.read() as con:
        return str(con.execute("SELECT min(order_date) FROM orders").fetchall()[0][0])


def members(assignments: pd.DataFrame, key: str) -> set[str]:
    return set(assignments.loc[assignments["cluster"] == key, "customer_id"])


@pytest.mark.parametrize("k", [3, 5])
def test_every_tool_finds_the_clusterings_own_members(shop, clusterings, first_day, k):
    expected = members(clusterings[k], "cluster_2")
    n = len(expected)
    assert 0 < n < len(clusterings[k])
    args = {"group": "cluster_2", "k": k}

    listed = run_tool("list_customers", {**args, "limit": 1000}, shop)
    assert set(listed.table["customer_id"]) == expected and listed.facts["count"] == n
    name = clusterings[k].loc[clusterings[k]["cluster"] == "cluster_2", "cluster_name"].iloc[0]
    assert (listed.facts["k"], listed.facts["group_name"]) == (k, name)
    assert listed.summary.startswith(f"{n:,} customers are in group 2 '{listed.facts['group_name']}' as of ")
    assert "segment" not in listed.summary.split(" as of ")[0]

    described = run_tool("describe_segment", args, shop)
    assert described.facts["customers"] == n
    assert described.summary.startswith(f"Group 2 '{listed.facts['group_name']}' (of {k}): {n:,} customers")

    split = run_tool("segment_by", {**args, "attribute": "city"}, shop)
    assert split.table.attrs["customers"] == n and f"({n:,} customers, " in split.summary

    value = run_tool("predict_value", args, shop)
    assert value.facts["customers"] == n and f" {n:,} customers in group 2 " in value.summary

    # Over all of the shop's history every member has bought: the period's customers are the cluster.
    sales = run_tool("sales_over_time", {**args, "start": first_day}, shop)
    assert sales.facts["customers"] == n

    per_order = run_tool("order_value", args, shop)
    assert per_order.facts["group_name"] == listed.facts["group_name"] and per_order.facts["orders"] > 0

    top = run_tool("top_customers", {**args, "limit": 1000}, shop)
    assert set(top.table["customer_id"]) == expected

    draft = run_tool("draft_campaign", args, shop)
    assert draft.facts["audience"] + draft.facts["left_out_no_consent"] == n

    rhythm = run_tool("purchase_rhythm", args, shop)
    assert rhythm.table.set_index("group").at["cluster_2", "customers"] == n

    compared = run_tool("compare_groups", {"group_a": "cluster_2", "group_b": "champions", "k": k}, shop)
    assert compared.facts["metrics"]["customers"]["cluster_2"] == n

    with shop.read() as con:
        assert set(group_members(con, "cluster_2", k=k)) == expected


def test_the_cluster_tool_and_the_group_tools_agree(shop):
    """'Split into 5 groups', then 'tell me about the biggest one': the biggest of those 5."""
    clusters = run_tool("cluster_customers", {"k": 5}, shop)
    biggest = clusters.table.iloc[0]
    described = run_tool("describe_segment", {"group": biggest["key"], "k": 5}, shop)
    assert described.facts["customers"] == biggest["size"]
    assert described.facts["group_name"] == biggest["name"]


@pytest.mark.parametrize("name", [*CLUSTER_TOOLS, "compare_groups"])
def test_a_cluster_beyond_k_names_the_valid_range(shop, name):
    if name == "compare_groups":
        args = {"group_a": "cluster_4", "group_b": "champions", "k": 3}
        expected = r"^compare_groups: there is no cluster_4: .*cluster_1\.\.cluster_3"
    else:
        args = {**EXTRA.get(name, {}), "group": "cluster_4", "k": 3}
        expected = rf"^{name}: group must be one of cluster_1\.\.cluster_3 \(customers split into 3 groups\)"
    with pytest.raises(ToolArgsError, match=expected):
        run_tool(name, args, shop)


@pytest.mark.parametrize("name", CLUSTER_TOOLS)
def test_no_cluster_9_and_k_within_2_to_8(shop, name):
    with pytest.raises(ToolArgsError, match=rf"^{name}: group must be one of .*'cluster_8'"):
        run_tool(name, {**EXTRA.get(name, {}), "group": "cluster_9"}, shop)
    with pytest.raises(ToolArgsError, match=rf"^{name}: k"):
        run_tool(name, {**EXTRA.get(name, {}), "group": "cluster_1", "k": 9}, shop)


def test_the_automatic_clustering_says_to_give_k(shop):
    with shop.read() as con:
        auto = cluster_customers(con).k
    if auto == 8:
        pytest.skip("the automatic clustering already has every key")
    expected = rf"cluster_1\.\.cluster_{auto} \(the automatic split .* give that number as k"
    with pytest.raises(ToolArgsError, match=expected):
        run_tool("list_customers", {"group": f"cluster_{auto + 1}"}, shop)


def test_k_means_nothing_for_a_segment_or_stage(shop):
    for group in ("lapsed", "champions"):
        plain = run_tool("list_customers", {"group": group}, shop)
        with_k = run_tool("list_customers", {"group": group, "k": 3}, shop)
        assert plain.summary == with_k.summary and plain.facts == with_k.facts


def test_a_segments_members_are_the_customer_tables(shop):
    from segmentation.customers import customer_table

    with shop.read() as con:
        table = customer_table(con)
        for key in ("at_risk", "lapsing"):
            column = "segment" if key == "at_risk" else "lifecycle"
            expected = set(table.loc[table[column] == key, "customer_id"])
            assert set(find_group(con, key).members) == expected == set(find_group(con, key, table=table).members)


def test_the_clustering_is_memoised_and_each_caller_gets_a_copy(shop, clusterings):
    memo.clear_all()
    with shop.read() as con:
        first = cluster_customers(con, k=3)
        first.assignments["cluster"] = "spoiled"
        first.clusters["size"] = 0
        second = cluster_customers(con, k=3)
    from segmentation.clustering import RESULTS

    assert (RESULTS.misses, RESULTS.hits) == (1, 1)
    pd.testing.assert_frame_equal(second.assignments, clusterings[3])
    assert len(second.clusters) == 3 and second.clusters["size"].sum() == len(clusterings[3])


def test_the_automatic_clustering_is_kept_under_the_k_it_chose(shop):
    """ "Split my customers into groups", then "tell me about cluster 1": the chat asks for the k it showed, and
    that is the automatic clustering itself, not a second fit; it equals the clustering computed for that k."""
    from segmentation.clustering import RESULTS

    memo.clear_all()
    with shop.read() as con:
        auto = cluster_customers(con)
        chosen = cluster_customers(con, k=auto.k)
    assert (RESULTS.misses, RESULTS.hits) == (1, 1)
    described = run_tool("describe_segment", {"group": "cluster_1", "k": auto.k}, shop)
    assert (RESULTS.misses, RESULTS.hits) == (1, 2)
    assert described.facts["group_name"] == auto.clusters["name"].iloc[0]
    with memo.disabled(), shop.read() as con:
        fresh = cluster_customers(con, k=auto.k)
    pd.testing.assert_frame_equal(chosen.assignments, fresh.assignments)
    pd.testing.assert_frame_equal(chosen.clusters, fresh.clusters)
    assert (chosen.silhouette, chosen.silhouette_by_k) == (fresh.silhouette, fresh.silhouette_by_k)
    assert set(auto.silhouette_by_k) == set(range(2, 9))  # the search's every k, where the k was not given
    other = 3 if auto.k != 3 else 4
    with shop.read() as con:
        assert cluster_customers(con, k=other).k == other
    assert (RESULTS.misses, RESULTS.hits) == (2, 2)  # another k is another clustering


def test_a_new_import_is_a_new_clustering_and_the_memo_stays_bounded(tmp_path):
    """The clusterings are kept per data version: after an import the next question clusters the new data (a
    miss, equal to a fresh fit). And however many k are asked for, at most ``max_entries`` are kept."""
    from segmentation.clustering import RESULTS

    memo.clear_all()
    db = tmp_path / "shop.duckdb"
    import_file(db, write_demo_csv(tmp_path / "first.csv", customers=200, seed=5))
    shop = ToolContext(db_path=db)
    with shop.read() as con:
        before = cluster_customers(con, k=3)
    import_file(db, write_demo_csv(tmp_path / "second.csv", customers=300, seed=6), replace=True)
    with shop.read() as con:
        after = cluster_customers(con, k=3)
    assert (RESULTS.misses, RESULTS.hits) == (2, 0)
    assert len(before.assignments) < len(after.assignments)
    with memo.disabled(), shop.read() as con:
        pd.testing.assert_frame_equal(after.assignments, cluster_customers(con, k=3).assignments)
    with shop.read() as con:
        for k in range(2, 9):
            cluster_customers(con, k=k)
        cluster_customers(con)
    assert len(RESULTS) == RESULTS.max_entries
