"""Clusters: features by hand, a shop with three obvious groups, outliers, refusals, and the demo's JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from segmentation import clustering
from segmentation.clustering import (
    ASSIGNMENT_COLUMNS,
    CLUSTER_COLUMNS,
    ClusterResult,
    cluster_customers,
    customer_features,
)
from segmentation.importing.ingest import import_file
from segmentation.store import connect
from segmentation.vocabulary import AnalysisError

HEADER = "Order ID,Customer ID,Order Date,Product,Category,Channel,Quantity,Unit Price\n"
END = dt.date(2024, 12, 31)

# As-of defaults to 2024-03-31 (C's order). A buys twice (A1 = 10 bread + 3 pastries in store; A2 = 6
# gluten-free + 5 bread online) and returns a 5.00 loaf in store (A3: net -5, not a purchase).
SMALL = """\
Order ID,Customer ID,Order Date,Product,Category,Channel,Quantity,Unit Price
A1,A,2024-01-10,Sourdough,Bread,In store,2,5
A1,A,2024-01-10,Croissant,Pastries,In store,1,3
A2,A,2024-03-01,GF loaf,Gluten-Free,Online,1,6
A2,A,2024-03-01,Sourdough,Bread,Online,1,5
A3,A,2024-03-20,Sourdough,Bread,In store,-1,5
B1,B,2024-02-15,Sponge,Cakes,Online,1,30
B2,B,2024-03-31,Sponge,Cakes,Online,1,20
C1,C,2024-03-31,Croissant,Pastries,In store,4,3
"""


def _store(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    csv = directory / "orders.csv"
    csv.write_text(text)
    import_file(directory / "shop.duckdb", csv)
    return directory / "shop.duckdb"


def _three_groups(reseller: bool = False) -> str:
    """40 weekly big spenders in store and 40 one-time cheap online buyers from long ago, both buying a
    bit of everything; 40 monthly gluten-free buyers. Small differences inside each group so that no two
    customers are identical."""
    mixed = ("Bread", "Pastries", "Cakes")
    rows = []
    for i in range(40):
        for week in range(52):
            day = END - dt.timedelta(days=7 * week + i % 3)
            rows.append(f"R{i}-{week},R{i:02d},{day},Item,{mixed[week % 3]},In store,{3 + i % 2},15")
            rows.append(f"R{i}-{week},R{i:02d},{day},Item,{mixed[(week + 1) % 3]},In store,1,{20 + i % 5}")
        day = END - dt.timedelta(days=700 + 3 * i)
        rows.extend(f"L{i},L{i:02d},{day},Item,{category},Online,1,{2 + i % 3}" for category in mixed)
        for month in range(12):
            day = END - dt.timedelta(days=30 * month + 2 + i % 4)
            rows.append(f"G{i}-{month},G{i:02d},{day},GF loaf,Gluten-Free,In store,{2 + i % 2},{9 + i % 3}")
    if reseller:  # a monthly customer who buys 500 loaves each time
        for month in range(12):
            rows.append(f"X-{month},X01,{END - dt.timedelta(days=30 * month + 5)},GF loaf,Gluten-Free,In store,500,10")
    return HEADER + "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    con = connect(_store(tmp_path_factory.mktemp("small"), SMALL), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def groups(tmp_path_factory):
    con = connect(_store(tmp_path_factory.mktemp("groups"), _three_groups()), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def result(groups) -> ClusterResult:
    return cluster_customers(groups)


def test_features_by_hand(small):
    got = customer_features(small)
    assert got.attrs["as_of"] == "2024-03-31"
    # Net by category: Cakes 50, Pastries 15, Bread 10 + 5 - 5 = 10, Gluten-Free 6; channels: Online 61, In store 20.
    assert list(got.columns) == [
        "customer_id", "recency_days", "frequency", "monetary", "tenure_days", "avg_order_value",
        "cat_cakes", "cat_pastries", "cat_bread", "cat_gluten_free", "chan_online", "chan_in_store",
    ]  # fmt: skip
    assert got.attrs["labels"]["cat_gluten_free"] == "Gluten-Free"
    expected = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "recency_days": [30, 0, 0],  # A's last purchase 2024-03-01 (the return is not one)
            "frequency": [2, 2, 1],
            "monetary": [19.0, 50.0, 12.0],  # A: 13 + 11 - 5
            "tenure_days": [81, 45, 0],  # A: 2024-01-10 -> 03-31 (a leap year); B: 02-15 -> 03-31
            "avg_order_value": [9.5, 25.0, 12.0],  # net revenue per purchase
            "cat_cakes": [0.0, 1.0, 0.0],
            "cat_pastries": [3 / 19, 0.0, 1.0],
            "cat_bread": [10 / 19, 0.0, 0.0],
            "cat_gluten_free": [6 / 19, 0.0, 0.0],
            "chan_online": [11 / 19, 1.0, 0.0],
            "chan_in_store": [8 / 19, 0.0, 1.0],  # 13 - 5 returned in store
        }
    )
    for col in ("recency_days", "frequency", "tenure_days"):
        expected[col] = expected[col].astype("int32")
    assert_frame_equal(got.astype({"customer_id": str}), expected.astype({"customer_id": str}))


def test_features_replay_an_earlier_day(small):
    got = customer_features(small, as_of="2024-02-29").set_index("customer_id")
    assert list(got.index) == ["A", "B"]
    cols = ["recency_days", "frequency", "monetary", "tenure_days", "avg_order_value"]
    assert got.loc["A", cols].tolist() == [50, 1, 13.0, 50, 13.0]
    assert got.loc["B", cols].tolist() == [14, 1, 30.0, 14, 30.0]
    assert got.loc["A", "cat_bread"] == pytest.approx(10 / 13)


def test_features_keep_the_top_eight_categories_and_pool_the_rest(tmp_path):
    names = ["Gluten-Free", "gluten free", *(f"Range {c}" for c in "ABCDEFGH")]  # 10 categories, 2 alike
    rows = [f"O{i},A,2024-01-0{1 + i % 9},Item,{name},,1,{20 - i}" for i, name in enumerate(names)]
    rows.append("P1,B,2024-01-05,Item,,,1,5")  # no category: counts as other
    con = connect(_store(tmp_path, HEADER + "\n".join(rows) + "\n"), read_only=True)
    got = customer_features(con).set_index("customer_id")
    shares = [c for c in got.columns if c.startswith("cat_")]
    assert shares[:2] == ["cat_gluten_free", "cat_gluten_free_2"]
    assert len(shares) == 9 and shares[-1] == "cat_other"  # 8 named + other; no channel data: no chan_
    assert got.loc["A", "cat_other"] == pytest.approx((12 + 11) / sum(range(11, 21)))  # Ranges G and H
    assert got.loc["B", "cat_other"] == 1.0
    assert got[shares].sum(axis=1).tolist() == pytest.approx([1.0, 1.0])


def test_three_obvious_groups_are_found(result):
    assert result.k == 3
    assert result.silhouette > 0.5
    assert result.silhouette_sample_size == 120
    assert set(result.silhouette_by_k) == set(range(2, 9))
    assert max(result.silhouette_by_k, key=result.silhouette_by_k.get) == 3
    a = result.assignments
    assert list(a.columns) == ASSIGNMENT_COLUMNS
    group = a["customer_id"].str[0]  # R regulars, L lapsed, G gluten-free
    assert (a.groupby(group)["cluster"].nunique() == 1).all()
    assert a.groupby("cluster")["customer_id"].apply(lambda s: s.str[0].nunique()).eq(1).all()
    assert not a["outlier"].any()


def test_cluster_table_adds_up(result):
    c = result.clusters
    assert list(c.columns) == CLUSTER_COLUMNS
    assert c["key"].tolist() == ["cluster_1", "cluster_2", "cluster_3"]
    assert c["size"].sum() == 120 and c["size"].tolist() == [40, 40, 40]
    assert c["share"].sum() == pytest.approx(1.0)
    assert c["revenue_share"].sum() == pytest.approx(1.0)
    assert c["name"].is_unique


def test_names_describe_the_groups(result):
    names = result.assignments.assign(g=result.assignments["customer_id"].str[0]).groupby("g")["cluster_name"].first()
    assert names["R"] == "Frequent big-basket regulars"
    assert "lapsed" in names["L"].lower() and "one-time" in names["L"].lower()
    assert "gluten-free fans" in names["G"].lower()
    regulars = result.clusters.set_index("name").loc[names["R"]]
    assert regulars["top_channel"] == "In store" and regulars["top_channel_share"] == 1.0
    assert regulars["revenue_share"] > 0.8


def test_same_data_same_clusters(groups, result):
    from segmentation import memo

    with memo.disabled():  # computed again, not the memoised result
        again = cluster_customers(groups)
    assert_frame_equal(again.assignments, result.assignments)
    assert_frame_equal(again.clusters, result.clusters)


@pytest.mark.parametrize("minibatch_above", [50, 1000], ids=["minibatch", "kmeans"])
def test_big_shop_path_samples_then_fits_everyone(groups, monkeypatch, minibatch_above):
    """A big shop, in miniature: k and silhouette from a 60-customer sample, then one fit over all 120."""
    monkeypatch.setattr(clustering, "SAMPLE", 60)
    monkeypatch.setattr(clustering, "MINIBATCH_ABOVE", minibatch_above)
    got = cluster_customers(groups)
    assert got.k == 3 and got.silhouette_sample_size == 60
    a = got.assignments
    assert (a.groupby(a["customer_id"].str[0])["cluster"].nunique() == 1).all()
    assert got.clusters["size"].tolist() == [40, 40, 40]
    assert_frame_equal(cluster_customers(groups).assignments, a)


def test_k_is_honoured(groups):
    two = cluster_customers(groups, k=2)
    assert two.k == 2 and len(two.clusters) == 2
    assert two.assignments["cluster"].nunique() == 2
    assert two.clusters["size"].sum() == 120
    assert two.clusters["name"].is_unique


@pytest.mark.parametrize("k", [0, 1, 9, 25], ids=["zero", "one", "nine", "too-many"])
def test_bad_k_names_the_valid_range(groups, k):
    with pytest.raises(AnalysisError, match=rf"between 2 and 8 .*120 customers.*{k} is not"):
        cluster_customers(groups, k=k)


def test_k_range_shrinks_for_a_small_shop(tmp_path):
    rows = [f"O{i},C{i:02d},2024-01-{1 + i % 28:02d},Item,,,{1 + i % 4},{5 + i}" for i in range(32)]
    con = connect(_store(tmp_path, HEADER + "\n".join(rows) + "\n"), read_only=True)
    with pytest.raises(AnalysisError, match="between 2 and 6 for this shop"):
        cluster_customers(con, k=7)
    assert cluster_customers(con, k=6).k == 6


def test_an_obvious_reseller_is_flagged(tmp_path):
    con = connect(_store(tmp_path, _three_groups(reseller=True)), read_only=True)
    got = cluster_customers(con).assignments.set_index("customer_id")
    assert got.loc["X01", "outlier"]
    assert got["outlier_score"].idxmax() == "X01"
    assert got["outlier"].sum() <= 2


def test_too_few_customers_is_a_plain_refusal(small):
    with pytest.raises(AnalysisError, match="at least 30 customers with a purchase and this shop has 3"):
        cluster_customers(small)


def test_identical_customers_are_a_plain_refusal(tmp_path):
    rows = [f"O{i},C{i:02d},2024-01-05,Item,Bread,In store,1,5" for i in range(40)]
    con = connect(_store(tmp_path, HEADER + "\n".join(rows) + "\n"), read_only=True)
    with pytest.raises(AnalysisError, match="All 40 customers look alike"):
        cluster_customers(con)


def test_two_kinds_of_customer_cannot_make_three_clusters(tmp_path):
    rows = [f"O{i},C{i:02d},2024-01-05,Item,Bread,In store,1,{5 if i % 2 else 50}" for i in range(40)]
    con = connect(_store(tmp_path, HEADER + "\n".join(rows) + "\n"), read_only=True)
    assert cluster_customers(con).k == 2
    with pytest.raises(AnalysisError, match="fewer than 3 distinct kinds"):
        cluster_customers(con, k=3)


def test_demo_shop_json_shape(tmp_path):
    sample = pytest.importorskip("segmentation.demo.shop")
    csv = sample.write_demo_csv(tmp_path / "demo.csv", customers=1500, seed=7)
    con = connect(import_file(tmp_path / "shop.duckdb", csv) and tmp_path / "shop.duckdb", read_only=True)
    got = cluster_customers(con)
    data = json.loads(json.dumps(got.as_dict()))
    assert set(data) == {"k", "silhouette", "clusters"}
    assert 2 <= data["k"] <= 8 and len(data["clusters"]) == data["k"]
    assert -1 <= data["silhouette"] <= 1
    buyers = con.execute("SELECT count(DISTINCT customer_id) FROM orders WHERE is_purchase").fetchone()[0]
    assert sum(c["size"] for c in data["clusters"]) == buyers == len(got.assignments)
    assert sum(c["share"] for c in data["clusters"]) == pytest.approx(1.0)
    assert sum(c["revenue_share"] for c in data["clusters"]) == pytest.approx(1.0)
    for i, c in enumerate(data["clusters"], start=1):
        assert set(c) == {"key", "name", "size", "share", "revenue_share", "profile"}
        assert c["key"] == f"cluster_{i}" and c["name"]
        assert {"recency_days", "frequency", "monetary", "avg_order_value", "tenure_days"} <= set(c["profile"])
        assert all(type(v) is float for v in c["profile"].values())
        assert any(key.startswith("cat_") for key in c["profile"])
    assert len({c["name"] for c in data["clusters"]}) == data["k"]


@pytest.mark.parametrize(
    ("name", "feature", "comparative", "expected"),
    [
        ("frequent regulars", 1, "less frequent", "less frequent regulars"),
        ("frequent regulars", 1, "more frequent", "more frequent regulars"),
        ("lapsed buyers", 0, "longer-lapsed", "longer-lapsed buyers"),
        ("lapsed buyers", 0, "more recent", "more recent lapsed buyers"),  # 'recent' is not in the name
        ("typical buyers", 2, "higher-spending", "higher-spending typical buyers"),
    ],
)
def test_a_comparative_replaces_its_own_word_instead_of_repeating_it(name, feature, comparative, expected):
    from segmentation.clustering import _compare

    assert _compare(name, feature, comparative) == expected
