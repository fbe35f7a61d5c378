"""Chart builders, checked through the Vega-Lite spec they produce (``chart.to_dict()``)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from segmentation.vocabulary import SEGMENT_KEYS, STAGES
from tools import charts
from tools.charts import CLUSTER_COLOURS, SEGMENT_COLOURS, STAGE_COLOURS, label

from .fixtures.charts import BREAKDOWN, SEGMENTS, STAGE_TABLE, THRESHOLDS

# 12 customers: 3 champions in R5 F5, 2 more in R5 F4, 4 at risk in R1 F3, 3 hibernating in R1 F1.
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": [f"C{i}" for i in range(12)],
        "r_score": [5, 5, 5, 5, 5, 1, 1, 1, 1, 1, 1, 1],
        "f_score": [5, 5, 5, 4, 4, 3, 3, 3, 3, 1, 1, 1],
        "segment": ["champions"] * 5 + ["at_risk"] * 4 + ["hibernating"] * 3,
        "email": ["someone@example.com"] * 12,  # must never reach a chart
    }
)
MATRIX = pd.DataFrame(
    [[5, 2, 0], [1, 7, 3], [4, 0, 6]],
    index=pd.Index(["champions", "at_risk", "not_yet_a_customer"], name="from_group"),
    columns=pd.Index(["champions", "at_risk", "hibernating"], name="to_group"),
)
MEASURE = {
    "treated": {"customers": 400, "buyers": 60, "conversion": 0.15, "revenue_per_customer": 4.2},
    "control": {"customers": 100, "buyers": 9, "conversion": 0.09, "revenue_per_customer": 2.1},
}


def _assignments(n: int, outliers: tuple[int, ...] = ()) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "cluster": [f"cluster_{1 + i % 3}" for i in range(n)],
            "cluster_name": [("Frequent regulars", "One-time buyers", "Baker's dozen fans")[i % 3] for i in range(n)],
            "pc1": rng.normal(size=n),
            "pc2": rng.normal(size=n),
            "outlier": [i in outliers for i in range(n)],
            "outlier_score": 0.5,
        }
    )
    return frame


ATTRIBUTES = pd.DataFrame(
    {
        "attribute": ["Age band", "Age band", "Age band", "Tags", "Tags"],
        "value": ["25-29", "30-34", "not in your data", "vip", "wholesale"],
        "customers": [3, 1, 6, 2, 2],
        "share": [0.75, 0.25, np.nan, 0.5, 0.5],
    }
)
NAMES = {"cluster_1": "Frequent regulars", "cluster_2": "One-time buyers", "cluster_3": "Baker's dozen fans"}
VALUES = pd.DataFrame({"clv": [10.0, 20.0, np.nan, 35.0, 50.0], "p_alive": [0.9, 0.2, np.nan, 0.55, 1.0]})


def _units(spec: dict) -> list[dict]:
    """Every single view (one with a mark) in a spec, however layered or concatenated."""
    if "mark" in spec:
        return [spec]
    return [u for key in ("layer", "hconcat", "vconcat", "concat") for part in spec.get(key, []) for u in _units(part)]


def _mark(unit: dict) -> str:
    return unit["mark"]["type"] if isinstance(unit["mark"], dict) else unit["mark"]


def _rows(spec: dict) -> list[list[dict]]:
    return list(spec["datasets"].values())


def _colour_map(unit: dict) -> dict[str, str]:
    scale = unit["encoding"]["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"], strict=True))


def _title(spec: dict) -> str:
    title = spec["title"]
    subtitle = title.get("subtitle", [])
    return " ".join([title["text"], *([subtitle] if isinstance(subtitle, str) else subtitle)])


CASES = {
    "segment_bars": lambda: charts.segment_bars(SEGMENTS),
    "rfm_grid": lambda: charts.rfm_grid(CUSTOMERS),
    "lifecycle_bars": lambda: charts.lifecycle_bars(STAGE_TABLE, THRESHOLDS),
    "cluster_scatter": lambda: charts.cluster_scatter(_assignments(30, outliers=(4,)), NAMES),
    "value_histograms": lambda: charts.value_histograms(VALUES),
    "migration_heatmap": lambda: charts.migration_heatmap(MATRIX),
    "breakdown_bars": lambda: charts.breakdown_bars(BREAKDOWN, "country"),
    "treated_vs_control": lambda: charts.treated_vs_control(MEASURE),
    "attribute_shares": lambda: charts.attribute_shares(ATTRIBUTES),
}


@pytest.mark.parametrize("build", CASES.values(), ids=CASES.keys())
def test_every_mark_has_tooltips_and_a_title_and_fits_a_message(build):
    inputs = copy.deepcopy([SEGMENTS, CUSTOMERS, STAGE_TABLE, MATRIX, BREAKDOWN, VALUES, MEASURE])
    spec = build().to_dict()
    units = _units(spec)
    assert units
    for unit in units:
        assert unit["encoding"]["tooltip"], _mark(unit)
    panels = [spec, *spec.get("hconcat", [])]
    widths = [p["width"] for p in panels if isinstance(p.get("width"), int)]
    assert sum(widths) <= charts.WIDTH
    assert spec["title"]["text"]
    assert "config" in spec  # the one look travels with the chart
    # Inputs are never modified.
    for before, after in zip(
        inputs, [SEGMENTS, CUSTOMERS, STAGE_TABLE, MATRIX, BREAKDOWN, VALUES, MEASURE], strict=True
    ):
        assert before.equals(after) if isinstance(before, pd.DataFrame) else before == after


@pytest.mark.parametrize(
    ("key", "words"),
    [("cannot_lose_them", "Can't lose them"), ("potential_loyalists", "Potential loyalists"), ("at_risk", "At risk"),
     ("lapsed", "Lapsed"), ("cluster_3", "Cluster 3"), ("not_yet_a_customer", "Not yet a customer"),
     ("vip_club", "Vip club")],
    ids=lambda v: str(v),
)  # fmt: skip
def test_label_gives_plain_words(key, words):
    assert label(key) == words


def test_colours_cover_every_key_once():
    assert list(SEGMENT_COLOURS) == list(SEGMENT_KEYS)
    assert list(STAGE_COLOURS) == list(STAGES)
    assert list(CLUSTER_COLOURS) == [f"cluster_{i}" for i in range(1, 9)]
    assert len(set(SEGMENT_COLOURS.values())) == len(SEGMENT_COLOURS)
    assert len(set(CLUSTER_COLOURS.values())) == len(CLUSTER_COLOURS)
    assert len({label(k) for k in SEGMENT_KEYS}) == len(SEGMENT_KEYS)


def test_segment_bars_compares_customer_and_revenue_shares():
    spec = charts.segment_bars(SEGMENTS).to_dict()
    assert len(spec["hconcat"]) == 2
    units = _units(spec)
    assert sorted({_mark(u) for u in units}) == ["bar", "text"]
    bars = [u for u in units if _mark(u) == "bar"]
    assert [b["encoding"]["x"]["field"] for b in bars] == ["share", "revenue_share"]
    # The fixed colours, in the fixed order, for the segments present only.
    assert _colour_map(bars[0]) == {k: SEGMENT_COLOURS[k] for k in ("champions", "loyal", "at_risk", "hibernating")}
    assert bars[0]["encoding"]["y"]["sort"] == ["Champions", "Loyal", "At risk", "Hibernating"]
    tips = {t["field"]: t.get("format") for t in bars[0]["encoding"]["tooltip"]}
    assert tips["revenue_share"] == ".1%" and tips["customers"] == ",d" and tips["revenue"] == ",.2f"
    # Both panels share one x scale, so bar lengths compare across them.
    assert bars[0]["encoding"]["x"]["scale"] == bars[1]["encoding"]["x"]["scale"]
    [rows] = _rows(spec)
    assert len(rows) == 4
    assert "100 customers" in _title(spec)


def test_a_segment_has_one_colour_in_every_chart():
    bars = charts.segment_bars(SEGMENTS).to_dict()
    grid = charts.rfm_grid(CUSTOMERS).to_dict()
    in_bars = _colour_map(next(u for u in _units(bars) if _mark(u) == "bar"))
    in_grid = _colour_map(next(u for u in _units(grid) if _mark(u) == "rect"))
    assert in_bars["at_risk"] == in_grid["at_risk"] == SEGMENT_COLOURS["at_risk"]
    assert in_bars["champions"] == in_grid["champions"] == SEGMENT_COLOURS["champions"]


def test_rfm_grid_counts_customers_per_cell():
    spec = charts.rfm_grid(CUSTOMERS).to_dict()
    [rows] = _rows(spec)
    cells = {(r["r_score"], r["f_score"]): (r["segment"], r["customers"]) for r in rows}
    assert cells == {(5, 5): ("champions", 3), (5, 4): ("champions", 2), (1, 3): ("at_risk", 4),
                     (1, 1): ("hibernating", 3)}  # fmt: skip
    assert not any("email" in r or "customer_id" in r for r in rows)  # only what the chart draws
    rect, text = _units(spec)
    assert (_mark(rect), _mark(text)) == ("rect", "text")
    assert rect["encoding"]["x"]["scale"]["domain"] == [1, 2, 3, 4, 5]
    assert rect["encoding"]["y"]["scale"]["domain"] == [5, 4, 3, 2, 1]  # 5 on top
    assert text["encoding"]["text"]["field"] == "customers"
    assert "At risk" in rect["encoding"]["color"]["legend"]["labelExpr"]  # words in the legend, keys in the scale


def test_rfm_grid_of_a_big_shop_is_at_most_25_cells():
    rng = np.random.default_rng(1)
    n = 12_000
    big = pd.DataFrame({"r_score": rng.integers(1, 6, n), "f_score": rng.integers(1, 6, n)})
    big["segment"] = np.where(big["r_score"] <= 2, "at_risk", "loyal")
    [rows] = _rows(charts.rfm_grid(big).to_dict())
    assert len(rows) <= 25
    assert sum(r["customers"] for r in rows) == n


def test_lifecycle_bars_in_stage_order_with_thresholds_stated():
    spec = charts.lifecycle_bars(STAGE_TABLE, THRESHOLDS).to_dict()
    bars, text = _units(spec)
    assert (_mark(bars), _mark(text)) == ("bar", "text")
    assert bars["encoding"]["x"]["scale"]["domain"] == ["New", "Active", "Lapsing", "Lapsed"]  # lapsing kept, empty
    assert _colour_map(bars) == {k: STAGE_COLOURS[k] for k in ("new", "active", "lapsed")}
    title = _title(spec)
    assert "51 days" in title and "101 days" in title and "918 repeat customers" in title
    [rows] = _rows(spec)
    assert len(rows) == 3
    assert {r["lifecycle"]: r["rule"] for r in rows}["lapsed"] == "last order more than 101 days ago"
    assert {r["lifecycle"]: r["text"] for r in rows}["active"] == "50 (50%)"


def test_cluster_scatter_thins_to_5000_and_keeps_every_outlier():
    outliers = (3, 4, 5, 11_999)
    assignments = _assignments(12_000, outliers=outliers)
    spec = charts.cluster_scatter(assignments, NAMES).to_dict()
    [rows] = _rows(spec)
    assert len(rows) <= charts.MAX_POINTS
    unusual = [r["customer_id"] for r in rows if r["kind"] == "Unusual"]
    assert unusual == [f"C{i:05d}" for i in outliers]  # all kept, drawn last (on top)
    assert rows == _rows(charts.cluster_scatter(assignments, NAMES).to_dict())[0]  # the same every run
    assert "Showing" in _title(spec) and "12,000" in _title(spec)
    [unit] = _units(spec)
    assert _mark(unit) == "point"
    assert unit["encoding"]["shape"]["field"] == "kind"
    assert _colour_map(unit) == {k: CLUSTER_COLOURS[k] for k in NAMES}
    assert "Cluster 3: Baker's dozen fans" in unit["encoding"]["color"]["legend"]["labelExpr"]


def test_cluster_scatter_keeps_a_small_shop_whole_and_takes_the_clusters_table():
    clusters = pd.DataFrame({"key": list(NAMES), "name": ["Regulars", "Once", "Fans"]})
    spec = charts.cluster_scatter(_assignments(30, outliers=(2,)), clusters).to_dict()
    [rows] = _rows(spec)
    assert len(rows) == 30
    assert "Showing" not in _title(spec)
    assert "Cluster 1: Regulars" in _units(spec)[0]["encoding"]["color"]["legend"]["labelExpr"]


def test_value_histograms_drop_nan():
    chart = charts.value_histograms(VALUES)
    spec = chart.to_dict()
    assert len(spec["hconcat"]) == 2
    assert {_mark(u) for u in _units(spec)} == {"bar"}
    clv, p_alive = _rows(spec)
    assert sum(r["customers"] for r in clv) == sum(r["customers"] for r in p_alive) == 4
    assert min(r["start"] for r in p_alive) == 0.0 and max(r["end"] for r in p_alive) == 1.0
    assert "4 customers with a prediction; 1 without one" in _title(spec)


def test_value_histograms_cap_a_long_tail():
    values = pd.DataFrame({"clv": [*range(1, 200), 100_000.0], "p_alive": 0.5})
    spec = charts.value_histograms(values).to_dict()
    clv, _ = _rows(spec)
    assert max(r["end"] for r in clv) < 100_000  # one big client does not squeeze everyone into one bar
    assert sum(r["customers"] for r in clv) == 200
    assert "includes 1 above 200" in _title(spec)


def test_value_histograms_none_without_predictions():
    assert charts.value_histograms(pd.DataFrame({"clv": [np.nan] * 3, "p_alive": [np.nan] * 3})) is None
    one = charts.value_histograms(pd.DataFrame({"clv": [np.nan, np.nan], "p_alive": [0.2, 0.9]})).to_dict()
    assert len(one["hconcat"]) == 1


def test_migration_heatmap_counts_every_cell():
    spec = charts.migration_heatmap(MATRIX).to_dict()
    [rows] = _rows(spec)
    assert len(rows) == 9
    cell = {(r["from_group"], r["to_group"]): r for r in rows}
    assert cell[("at_risk", "hibernating")]["customers"] == 3
    assert cell[("at_risk", "hibernating")]["row_share"] == pytest.approx(3 / 11)
    rect, text = _units(spec)
    assert (_mark(rect), _mark(text)) == ("rect", "text")
    assert text["encoding"]["text"]["field"] == "customers"
    assert rect["encoding"]["y"]["scale"]["domain"] == ["Champions", "At risk", "Not yet a customer"]
    assert rect["encoding"]["x"]["scale"]["domain"] == ["Champions", "At risk", "Hibernating"]


def test_breakdown_bars_draw_every_row_with_other_last():
    spec = charts.breakdown_bars(BREAKDOWN, "country").to_dict()
    [rows] = _rows(spec)
    assert len(rows) == 21  # every value given, none dropped in silence
    values = [r["value"] for r in rows]
    assert values[:3] == ["Town 19", "Town 18", "Town 17"]
    assert values[-1] == "other"  # the folded tail goes last, however big
    assert sum(r["revenue_share"] for r in rows) == pytest.approx(0.7)  # all of BREAKDOWN's 20 x 1% + 50%
    bars, _ = _units(spec)
    assert _mark(bars) == "bar" and bars["encoding"]["x"]["field"] == "revenue"
    assert bars["encoding"]["y"]["sort"] == values
    assert "Revenue by country" in _title(spec) and "not drawn" not in _title(spec)


def test_breakdown_bars_say_what_they_leave_out():
    many = pd.DataFrame(
        {
            "value": [f"Product {i:02d}" for i in range(60)],
            "customers": 3,
            "customer_share": 0.5,
            "revenue": [1000.0 - i for i in range(60)],
            "revenue_share": [0.01] * 60,
            "avg_order_value": 5.0,
        }
    )
    spec = charts.breakdown_bars(many, "product").to_dict()
    [rows] = _rows(spec)
    assert len(rows) == charts.TOP_VALUES == 50
    assert "The top 50 of 60 by revenue; the 10 smaller ones (10.0% of revenue) are not drawn" in _title(spec)
    bars, _ = _units(spec)
    assert "customer_share" in {t["field"] for t in bars["encoding"]["tooltip"]}


def test_treated_vs_control():
    spec = charts.treated_vs_control(MEASURE).to_dict()
    [rows] = _rows(spec)
    assert [(r["group"], r["conversion"]) for r in rows] == [("treated", 0.15), ("control", 0.09)]
    bars, _ = _units(spec)
    assert _mark(bars) == "bar" and bars["encoding"]["y"]["field"] == "conversion"
    assert {t["field"] for t in bars["encoding"]["tooltip"]} >= {"customers", "buyers", "revenue_per_customer"}
    only = charts.treated_vs_control({"treated": MEASURE["treated"], "control": None}).to_dict()
    assert len(_rows(only)[0]) == 1
    with pytest.raises(ValueError, match="treated"):
        charts.treated_vs_control({})


def test_pandas_dtypes_pass_through():
    """Categoricals, nullable integers and pandas 3 strings all make valid specs."""
    customers = CUSTOMERS.astype({"segment": "category", "r_score": "Int64", "f_score": "Int64"})
    assert len(_rows(charts.rfm_grid(customers).to_dict())[0]) == 4
    table = SEGMENTS.astype({"segment": "category", "customers": "Int64"})
    assert len(_rows(charts.segment_bars(table).to_dict())[0]) == 4
    odd = _assignments(10).astype({"outlier": object})
    odd.loc[0, "outlier"] = None
    assert len(_rows(charts.cluster_scatter(odd, NAMES).to_dict())[0]) == 10


def test_a_custom_segment_gets_its_own_colour():
    table = pd.concat([SEGMENTS, SEGMENTS.iloc[[0]].assign(segment="vip_club")], ignore_index=True)
    bars = next(u for u in _units(charts.segment_bars(table).to_dict()) if _mark(u) == "bar")
    colours = _colour_map(bars)
    assert list(colours)[-1] == "vip_club"
    assert colours["vip_club"] not in SEGMENT_COLOURS.values()


def test_attribute_shares_draw_one_panel_per_attribute_in_its_own_order_without_the_unknown():
    spec = charts.attribute_shares(ATTRIBUTES).to_dict()
    panels = spec["vconcat"]
    assert [p["title"] for p in panels] == ["Age band", "Tags"]
    drawn = [[(r["value"], r["share"]) for r in spec["datasets"][p["data"]["name"]]] for p in panels]
    assert drawn == [[("25-29", 0.75), ("30-34", 0.25)], [("vip", 0.5), ("wholesale", 0.5)]]
    assert panels[0]["layer"][0]["encoding"]["y"]["sort"] == ["25-29", "30-34"]  # age bands youngest first
