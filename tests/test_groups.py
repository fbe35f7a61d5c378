"""Groups weighed against each other (rank_groups, compare_groups, recommend_focus): the hand-scored RFM shop
(test_rfm's ORDERS, too small for the value models) worked out in comments, and the demo shop against an
independent pandas computation from the customer table."""

from __future__ import annotations

import copy
import math
import re
import textwrap

import pandas as pd
import pytest

from segmentation.compare import compare_groups
from segmentation.customers import customer_table
from segmentation.focus import URGENCY, recommend_focus, value_points
from segmentation.ranking import rank_groups
from segmentation.store import connect
from segmentation.vocabulary import SEGMENT_KEYS
from tools import charts
from tools.base import ToolArgsError, ToolContext, run_tool
from tools.registry import REGISTRY

from .fixtures.shops import ORDERS

# On 2024-03-31 (test_rfm's EXPECTED): champions A 100; loyal B 40 + E 65; promising C 15; need_attention D 60;
# hibernating F 200 + H 5; at_risk G 24 + I 16; new_customers J 10. Revenue 535 in all, 10 customers.
# Ten customers, six of them repeat buyers: too few for the value models (20 and 10 are needed).


def _with_consent(orders: str) -> str:
    """ORDERS with an 'Accepts Marketing' column: yes for A C E G H J, no for B F I, blank for D (and L and guests)."""
    answers = {
        "A": "yes",
        "B": "no",
        "C": "yes",
        "D": "",
        "E": "yes",
        "F": "no",
        "G": "yes",
        "H": "yes",
        "I": "no",
        "J": "yes",
        "L": "",
        "": "",
    }
    lines = textwrap.dedent(orders).strip().splitlines()
    return "\n".join([lines[0] + ",Accepts Marketing"] + [f"{x},{answers[x.split(',')[1]]}" for x in lines[1:]])


@pytest.fixture
def shop(shop_from):
    return shop_from(ORDERS)


@pytest.fixture(scope="module")
def demo(demo_shops, tmp_path_factory) -> ToolContext:
    """The demo shop; tests open it with ``demo.read()`` and close it before running a tool on it."""
    return ToolContext(db_path=demo_shops.copy(tmp_path_factory.mktemp("groups"), customers=600, seed=5))


@pytest.fixture(scope="module")
def demo_table(demo):
    with demo.read() as con:
        frame = customer_table(con)
        consent = con.execute("SELECT customer_id, marketing_consent FROM customers").df()
    return frame.merge(consent, on="customer_id", how="left")


# --- rank_groups ---------------------------------------------------------------------------------------------


def test_segments_ranked_by_revenue_by_hand(shop):
    ranking = rank_groups(shop)
    # hibernating 205 (F 200 + H 5), loyal 105, champions 100, need_attention 60, at_risk 40, promising 15,
    # new_customers 10; the three empty segments last, in the segment map's order.
    assert ranking.table[["rank", "group", "customers", "revenue"]].values.tolist() == [
        [1, "hibernating", 2, 205.0], [2, "loyal", 2, 105.0], [3, "champions", 1, 100.0],
        [4, "need_attention", 1, 60.0], [5, "at_risk", 2, 40.0], [6, "promising", 1, 15.0],
        [7, "new_customers", 1, 10.0], [8, "potential_loyalists", 0, 0.0], [9, "about_to_sleep", 0, 0.0],
        [10, "cannot_lose_them", 0, 0.0],
    ]  # fmt: skip
    assert ranking.table["revenue_share"].iloc[0] == round(205 / 535, 4)
    assert ranking.table["value_at_stake"].isna().all() and ranking.fallback is None  # revenue was asked for


def test_value_at_stake_falls_back_to_revenue_with_the_reason(shop):
    ranking = rank_groups(shop, by="value_at_stake", scheme="lifecycle")
    # Standard thresholds (fewer than 10 repeat buyers): lapsed after 120 days, lapsing after 60.
    # active A B D E: 100 + 40 + 60 + 65 = 265; lapsed F G I H: 200 + 24 + 16 + 5 = 245; new C J: 25.
    assert ranking.by == "revenue"
    assert ranking.table[["group", "customers", "revenue"]].values.tolist() == [
        ["active", 4, 265.0],
        ["lapsed", 4, 245.0],
        ["new", 2, 25.0],
        ["lapsing", 0, 0.0],
    ]
    assert "at least 20 customers" in ranking.fallback and "revenue is used instead" in ranking.fallback


def test_ranking_on_the_demo_matches_the_customer_table(demo, demo_table):
    ctx = demo
    with ctx.read() as con:
        ranking = rank_groups(con, by="value_at_stake")
    expected = demo_table.groupby("segment").agg(
        customers=("customer_id", "count"), clv=("clv", "sum"), revenue=("monetary", "sum")
    )
    expected = expected.sort_values("clv", ascending=False)
    assert ranking.by == "value_at_stake" and ranking.fallback is None
    assert ranking.table["group"].tolist()[: len(expected)] == expected.index.tolist()
    got = ranking.table.set_index("group").loc[expected.index]
    assert got["customers"].tolist() == expected["customers"].tolist()
    assert got["value_at_stake"].tolist() == pytest.approx(expected["clv"].tolist(), abs=0.006)
    assert got["revenue"].tolist() == pytest.approx(expected["revenue"].tolist(), abs=0.006)
    assert got["value_share"].sum() == pytest.approx(1.0, abs=0.001)
    result = run_tool("rank_groups", {"by": "value_at_stake"}, ctx)
    top = expected.index[0]
    assert result.summary.startswith(
        "10 segments ranked by value at stake (what the group's customers are expected "
        "to spend over the next 90 days, i.e. what would be lost if they went quiet)"
    )
    assert f"1. {top.replace('_', ' ')}" in result.summary and result.chart is not None


# --- compare_groups ------------------------------------------------------------------------------------------


def test_compare_by_hand(shop):
    c = compare_groups(shop, "at_risk", "loyal")
    m = c.metrics.set_index("metric")
    # at_risk G, I (test_profile): 2 customers, 40.00, median spend 20, order value 10 (40 over 4 purchases),
    # median 2 orders, last orders 137 and 212 days ago (174.5), gaps 31 and 31 days.
    # loyal B (4 x 10.00, a cancelled 50.00 counts 0), E (3 x 25.00, a -10.00 return): 105.00, median spend 52.50,
    # order value (40 + 75) / 7 purchases = 16.43, median 3.5 orders, last orders 1 and 59 days ago (30),
    # gaps: B 31, 29, 20 -> 29; E 31, 31 -> 31; median 30.
    assert m["at_risk"].tolist()[:9] == [2, 0.2, 40.0, round(40 / 535, 4), 20.0, 10.0, 2.0, 174.5, 31.0]
    assert m["loyal"].tolist()[:9] == [2, 0.2, 105.0, round(105 / 535, 4), 52.5, 16.43, 3.5, 30.0, 30.0]
    assert math.isnan(m.at["consent_share", "at_risk"]) and not c.consent_recorded  # the file has no consent
    assert c.top_items == {"at_risk": [], "loyal": []}  # no products or categories in this file
    # Ratios: recency 174.5 / 30 = 5.82; revenue and median spend 105 / 40 = 52.5 / 20 = 2.625 (revenue first);
    # orders 3.5 / 2 = 1.75; order value 16.43 / 10 = 1.64. Size (1.0) and gap (1.03) are alike.
    assert [d["metric"] for d in c.differences] == [
        "median_recency_days",
        "revenue",
        "median_monetary",
        "median_frequency",
        "avg_order_value",
    ]
    assert [d["ratio"] for d in c.differences] == pytest.approx([5.82, 2.625, 2.625, 1.75, 1.64], abs=0.006)


def test_compare_tool_says_not_recorded_never_zero(imported, db):
    imported(ORDERS)
    result = run_tool("compare_groups", {"group_a": "at_risk", "group_b": "loyal"}, ToolContext(db_path=db))
    assert result.summary.startswith("2 at-risk customers against 2 loyal customers as of 2024-03-31.")
    assert "median days since last order: at-risk customers 175, loyal customers 30 (5.8x)" in result.summary
    assert "Marketing consent: not recorded in the data." in result.summary
    row = result.table.set_index("measure").loc["share with marketing consent"]
    assert row.tolist() == ["not recorded", "not recorded"]
    assert list(result.table.columns) == ["measure", "at risk", "loyal"]
    assert "0%" not in result.table.iloc[-1].tolist()


def test_compare_with_consent_counts_only_recorded_answers(imported, db):
    imported(_with_consent(ORDERS))
    result = run_tool("compare_groups", {"group_a": "at_risk", "group_b": "hibernating"}, ToolContext(db_path=db))
    # at_risk G yes, I no: 50%; hibernating F no, H yes: 50%.
    assert result.facts["metrics"]["consent_share"] == {"at_risk": 0.5, "hibernating": 0.5}
    assert "Marketing consent: at-risk customers 50%, hibernating customers 50%." in result.summary


def test_compare_on_the_demo_matches_the_customer_table(demo, demo_table):
    ctx = demo
    with ctx.read() as con:
        c = compare_groups(con, "champions", "lapsed")
    m = c.metrics.set_index("metric")
    for key, column in (("champions", "segment"), ("lapsed", "lifecycle")):
        members = demo_table[demo_table[column] == key]
        assert m.at["customers", key] == len(members)
        assert m.at["revenue", key] == pytest.approx(members["monetary"].sum(), abs=0.01)
        assert m.at["median_monetary", key] == pytest.approx(members["monetary"].median(), abs=0.01)
        assert m.at["median_recency_days", key] == pytest.approx(members["recency_days"].median(), abs=0.01)
        assert m.at["consent_share", key] == pytest.approx(members["marketing_consent"].mean(), abs=0.0001)
        assert len(c.top_items[key]) == 3 and c.top_kind[key] == "products"
    result = run_tool("compare_groups", {"group_a": "champions", "group_b": "lapsed"}, ctx)
    n_champions = int((demo_table["segment"] == "champions").sum())
    assert result.summary.startswith(f"{n_champions:,} champions against ")
    assert "Biggest differences: " in result.summary and result.chart is not None
    assert result.table.shape == (11, 3)  # ten measures and the top products, one column per group


def test_a_group_against_everyone_else_and_a_saved_segment(demo, demo_table, tmp_path):
    """'everyone_else' is every customer with a purchase outside the first group (a saved segment here, whose
    name has a space): the numbers by hand from the customer table, and the offline agent's follow-up."""
    import shutil

    from agent.offline import OfflineAgent
    from segmentation.custom.saved import save_segment

    db = tmp_path / "saved.duckdb"
    shutil.copy(demo.db_path, db)
    with connect(db) as con:
        save_segment(con, "Big loyal", "segment = loyal and monetary > 100")
    ctx = ToolContext(db_path=db)
    inside = (demo_table["segment"] == "loyal") & (demo_table["monetary"] > 100)
    rest = demo_table[~inside]
    result = run_tool("compare_groups", {"group_a": "Big loyal", "group_b": "everyone_else"}, ctx)
    metrics = result.facts["metrics"]
    assert metrics["customers"] == {"Big loyal": int(inside.sum()), "everyone_else": len(rest)}
    assert metrics["revenue"]["everyone_else"] == pytest.approx(rest["monetary"].sum(), abs=0.01)
    assert metrics["median_monetary"]["everyone_else"] == pytest.approx(rest["monetary"].median(), abs=0.01)
    assert result.summary.startswith(
        f"{int(inside.sum()):,} customers in 'Big loyal' against the other {len(rest):,} customers as of "
    )
    assert list(result.table.columns) == ["measure", "Big loyal", "everyone else"] and result.chart is not None

    agent = OfflineAgent(ctx)
    agent.ask("tell me about Big loyal")
    [call] = agent.ask("and how do they compare to everyone else?").tool_calls
    assert (call.name, call.args, call.error) == (
        "compare_groups",
        {"group_a": "Big loyal", "group_b": "everyone_else"},
        None,
    )
    [draft] = agent.ask("draft them an email").tool_calls  # "them" is still the saved segment, not "everyone else"
    assert draft.args["group"] == "Big loyal"


def test_compare_clusters_and_a_missing_one(demo):
    ctx = demo
    from segmentation.clustering import cluster_customers

    with ctx.read() as con:
        clusters = cluster_customers(con)
    result = run_tool("compare_groups", {"group_a": "cluster_1", "group_b": "champions"}, ctx)
    assert result.facts["metrics"]["customers"]["cluster_1"] == int(clusters.clusters["size"].iloc[0])
    assert result.summary.startswith(f"{int(clusters.clusters['size'].iloc[0]):,} customers in cluster 1 (")
    assert result.table.columns[1].startswith("cluster 1: ")
    missing = f"cluster_{clusters.k + 1}"
    valid = rf"cluster_1\.\.cluster_{clusters.k}"
    with pytest.raises(ToolArgsError, match=rf"^compare_groups: there is no {missing}.*{valid}"):
        run_tool("compare_groups", {"group_a": missing, "group_b": "champions"}, ctx)
    with pytest.raises(ToolArgsError, match="group_b must differ"):
        run_tool("compare_groups", {"group_a": "champions", "group_b": "champions"}, ctx)


# --- recommend_focus -----------------------------------------------------------------------------------------


def test_value_points_are_a_log_scale_against_the_top():
    points = value_points(pd.Series([1000.0, 100.0, 10.0, 1.0, 0.5, 0.0]))
    assert points.round(4).tolist() == [1.0, 0.6667, 0.3333, 0.0, 0.0, 0.0]


def test_focus_by_hand(shop):
    focus = recommend_focus(shop)
    # No value models: value is revenue; no consent in the file: everyone is reachable. Top value 205.
    # value points 1 + log10(v / 205) / 3: at_risk 40 -> 0.763, need_attention 60 -> 0.822, hibernating 1,
    # loyal 105 -> 0.903, new_customers 10 -> 0.563, promising 15 -> 0.621, champions 100 -> 0.896.
    # reach and size points: customers / 2. score = 100 x urgency x (0.5 value + 0.3 reach + 0.2 size):
    # at_risk 1.0 x (0.3815 + 0.5) = 88.15; need_attention 0.6 x (0.411 + 0.25) = 39.66;
    # hibernating 0.3 x 1 = 30; loyal 0.3 x (0.4515 + 0.5) = 28.545; new_customers 0.5 x (0.2815 + 0.25) = 26.575;
    # promising 0.4 x (0.3105 + 0.25) = 22.42; champions 0.2 x (0.448 + 0.25) = 13.96; empty segments 0.
    assert focus.basis == "revenue" and not focus.consent_recorded and "revenue is used instead" in focus.fallback
    t = focus.table
    assert t["segment"].tolist() == [
        "at_risk",
        "need_attention",
        "hibernating",
        "loyal",
        "new_customers",
        "promising",
        "champions",
        "potential_loyalists",
        "about_to_sleep",
        "cannot_lose_them",
    ]
    assert t["score"].tolist() == pytest.approx([88.15, 39.66, 30.0, 28.545, 26.575, 22.42, 13.96, 0, 0, 0], abs=0.051)
    assert t["value_points"].head(7).tolist() == [0.763, 0.822, 1.0, 0.903, 0.563, 0.621, 0.896]
    assert t["reachable"].tolist() == t["customers"].tolist()
    assert t["reason"][0] == "at risk: 2 customers, consent not recorded, 40.00 spent so far, slipping away"


def test_focus_counts_only_consenting_customers_as_reachable(imported, db):
    imported(_with_consent(ORDERS))
    con = connect(db, read_only=True)
    focus = recommend_focus(con)
    con.close()
    # Yes: A (champions), E (loyal), J (new_customers), C (promising), G (at_risk), H (hibernating); D blank; B F I no.
    reach = dict(zip(focus.table["segment"], focus.table["reachable"], strict=True))
    assert reach == {
        "champions": 1,
        "loyal": 1,
        "new_customers": 1,
        "promising": 1,
        "need_attention": 0,
        "at_risk": 1,
        "hibernating": 1,
        "potential_loyalists": 0,
        "about_to_sleep": 0,
        "cannot_lose_them": 0,
    }
    assert focus.consent_recorded and focus.table["reason"][0].startswith("at risk: 2 customers, 1 reachable, ")


def test_focus_on_the_demo_follows_the_formula(demo, demo_table):
    ctx = demo
    with ctx.read() as con:
        focus = recommend_focus(con)
    assert focus.basis == "clv"
    by = demo_table.groupby("segment")
    value = by["clv"].sum().reindex(list(SEGMENT_KEYS), fill_value=0.0)
    size = by["customer_id"].count().reindex(list(SEGMENT_KEYS), fill_value=0)
    reach = demo_table[demo_table["marketing_consent"].eq(True)].groupby("segment")["customer_id"].count()
    reach = reach.reindex(list(SEGMENT_KEYS), fill_value=0)
    # Independently: log-scale value, reach and size against the top segment's, times the urgency weight.
    v = (1 + (value / value.max()).map(lambda r: math.log10(r) if r > 0 else -99) / 3).clip(0, 1)
    score = (
        100
        * pd.Series({k: URGENCY[k][0] for k in SEGMENT_KEYS})
        * (0.5 * v.round(3) + 0.3 * (reach / reach.max()).round(3) + 0.2 * (size / size.max()).round(3))
    )
    got = focus.table.set_index("segment")
    assert got["reachable"].to_dict() == reach.to_dict()
    assert got["score"].to_dict() == pytest.approx(score.round(1).to_dict(), abs=0.051)
    assert focus.table["segment"].iloc[0] == score.idxmax()
    result = run_tool("recommend_focus", {}, ctx)
    first = focus.table.iloc[0]
    assert result.summary.startswith(f"{int((size > 0).sum())} segments scored as of ")
    assert f"focus first on {first['reason']} (score {first['score']})" in result.summary
    assert "Next: " in result.summary and "expected over 90 days" in result.summary
    assert result.table is not None and result.chart is not None


# --- specs, charts -------------------------------------------------------------------------------------------


def _normalise(question: str) -> str:
    """Lower case, apostrophes dropped, other punctuation turned to spaces (as the planner reads a question)."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", question.lower().replace("'", "").replace("’", ""))).strip()


@pytest.mark.parametrize("name", ["rank_groups", "compare_groups", "recommend_focus", "group_entrants"])
def test_specs_are_complete_and_cues_find_their_own_examples(name):
    spec = REGISTRY[name]
    assert 4 <= len(spec.examples) <= 6 and 2 <= len(spec.cues) <= 6
    assert spec.read_only and spec.chart and hasattr(charts, spec.chart) and spec.next_step and spec.step_words({})
    for example in spec.examples:
        assert any(re.search(cue, _normalise(example)) for cue in spec.cues), example
    for field in spec.args_model.model_fields.values():
        assert field.description, name
    others = [n for n in ("rank_groups", "compare_groups", "recommend_focus", "group_entrants") if n != name]
    for other in others:  # an example of this tool is not claimed by the other new tools' cues
        for example in spec.examples:
            assert not any(re.search(cue, _normalise(example)) for cue in REGISTRY[other].cues), (example, other)


RANKED = pd.DataFrame(
    {
        "group": ["loyal", "champions", "at_risk"],
        "customers": [20, 10, 5],
        "share": [0.5, 0.25, 0.125],
        "revenue": [900.0, 1500.0, 80.0],
        "revenue_share": [0.36, 0.6, 0.032],
        "value_at_stake": [400.0, 300.0, 2.0],
        "value_share": [0.57, 0.43, 0.003],
    }
)
COMPARED = pd.DataFrame(
    {
        "metric": [
            "customers",
            "share_of_customers",
            "revenue_share",
            "median_monetary",
            "median_recency_days",
            "consent_share",
        ],
        "words": ["customers", "share of customers", "share of revenue", "median spend", "days", "consent"],
        "kind": ["count", "share", "share", "money", "days", "share"],
        "new": [5.0, 0.1, 0.05, 10.0, 3.0, float("nan")],
        "new_customers": [7.0, 0.14, 0.06, 12.0, 4.0, float("nan")],
    }
)
FOCUSED = pd.DataFrame(
    {
        "segment": ["at_risk", "champions"],
        "customers": [5, 10],
        "reachable": [4, 9],
        "value_at_stake": [50.0, 400.0],
        "urgency": [1.0, 0.2],
        "score": [60.2, 20.0],
    }
)
ORIGINS = pd.DataFrame({"from_group": ["lapsing", "not_yet_a_customer"], "customers": [6, 1], "share": [0.857, 0.143]})
CHART_CASES = {
    "group_ranking_bars": lambda: charts.group_ranking_bars(RANKED, "value_at_stake"),
    "group_comparison_bars": lambda: charts.group_comparison_bars(COMPARED, {}),
    "focus_bars": lambda: charts.focus_bars(FOCUSED),
    "entrant_origins": lambda: charts.entrant_origins(ORIGINS, "lapsed"),
}


def _units(spec: dict) -> list[dict]:
    if "mark" in spec:
        return [spec]
    return [u for key in ("layer", "hconcat", "vconcat", "concat") for part in spec.get(key, []) for u in _units(part)]


@pytest.mark.parametrize("build", CHART_CASES.values(), ids=CHART_CASES.keys())
def test_new_charts_have_tooltips_a_title_and_fit_a_message(build):
    before = copy.deepcopy([RANKED, COMPARED, FOCUSED, ORIGINS])
    spec = build().to_dict()
    assert all(unit["encoding"]["tooltip"] for unit in _units(spec))
    panels = [spec, *spec.get("hconcat", [])]
    assert sum(p["width"] for p in panels if isinstance(p.get("width"), int)) <= charts.WIDTH
    assert spec["title"]["text"] and "config" in spec
    assert all(b.equals(a) for b, a in zip(before, [RANKED, COMPARED, FOCUSED, ORIGINS], strict=True))


def test_comparison_chart_leaves_unknown_consent_out_and_tells_same_coloured_groups_apart():
    spec = charts.group_comparison_bars(COMPARED, {}).to_dict()
    rows = [r for data in spec["datasets"].values() for r in data]
    assert "consent_share" not in {r["metric"] for r in rows}
    colours = _units(spec)[0]["encoding"]["color"]["scale"]["range"]
    assert len(set(colours)) == 2  # "new" and "new_customers" share a colour elsewhere
