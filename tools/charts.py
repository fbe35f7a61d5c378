"""Chart builders: one visual language for every chart the assistant's tools and the app show.

DataFrame in, Altair chart out. The numbers come from ``segmentation``; a builder only reshapes them to
draw (melt a matrix, count customers per grid cell, bin a distribution, thin a scatter), so the chart
stays small enough to embed whatever the shop's size: Altair refuses to embed more than 5,000 rows, and
one row per customer would also put every customer into the page.

The visual language:
- a segment, stage or cluster has one colour everywhere, keyed by its snake_case key
  (``SEGMENT_COLOURS``, ``STAGE_COLOURS``, ``CLUSTER_COLOURS``), and a colour scale's domain lists only
  the keys a chart shows, in the fixed order, each with its own colour;
- people read words, not keys: ``label(key)`` gives "Can't lose them" for ``cannot_lose_them``;
- every mark has a tooltip with formatted numbers; titles say what the chart answers, in plain words;
- each chart fits a chat message (about 560 px wide) and comes configured, ready to show: a configured
  chart cannot be layered or concatenated again, so builders return finished charts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from segmentation import currency
from segmentation.lifecycle import Thresholds
from segmentation.migration import NEW_ARRIVALS
from segmentation.vocabulary import GROUPS, SEGMENT_KEYS, STAGES, group_title

Chart = alt.Chart | alt.LayerChart | alt.HConcatChart | alt.VConcatChart

# Each group's colour is in its row of the one group table (segmentation.vocabulary.GROUPS).
SEGMENT_COLOURS: dict[str, str] = {key: GROUPS[key].colour for key in SEGMENT_KEYS}
STAGE_COLOURS: dict[str, str] = {key: GROUPS[key].colour for key in STAGES}
# Clusters have no good or bad: Tableau 10's first eight, distinct and readable on white (k is at most 8).
CLUSTER_COLOURS: dict[str, str] = {
    f"cluster_{i}": c
    for i, c in enumerate(
        ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"), start=1
    )
}
VALUE_COLOUR = "#4e79a7"  # a measure with no group meaning (revenue by country, a distribution)
MUTED_COLOUR = "#b0b0b0"  # "other", "unknown", a control group: there, but not the point
_EXTRA_COLOURS = ("#9c755f", "#bab0ac", "#6b6b6b", "#d4a6c8")  # keys a custom segment map adds


# What charts name beside the groups (whose titles are segmentation.vocabulary's).
LABELS: dict[str, str] = {
    NEW_ARRIVALS: "Not yet a customer",
    "treated": "Got the campaign",
    "control": "Held back",
}

COUNT, SHARE, MONEY = ",d", ".1%", ",.2f"  # tooltip formats (d3-format)
WIDTH = 560  # a chat message's width; Streamlit's container width overrides it on a single view
MAX_POINTS = 5_000  # Altair's own embedding limit, and more dots than an eye can tell apart
TOP_VALUES = 50  # breakdown bars drawn at most (segment_by names up to 50)
LUMPED = ("other", "unknown")  # breakdown's own values for the folded tail and missing data


def label(key: object) -> str:
    """Plain words for a key: ``cannot_lose_them`` -> "Can't lose them", ``cluster_3`` -> "Cluster 3"."""
    return LABELS.get(str(key)) or group_title(key)


def _colour_scale(fixed: Mapping[str, str], present: Iterable[object]) -> alt.Scale:
    """Only the keys present, in the fixed order, each with its fixed colour; unknown keys go last."""
    seen = {str(k) for k in present}
    domain = [k for k in fixed if k in seen] + sorted(seen - set(fixed))
    extras = iter(_EXTRA_COLOURS * (1 + len(domain) // len(_EXTRA_COLOURS)))
    return alt.Scale(domain=domain, range=[fixed.get(k) or next(extras) for k in domain])


def _legend(title: str, names: Mapping[str, str], **options: Any) -> alt.Legend:
    # The scale stays keyed by key (one colour per key across charts); the legend shows the words.
    words = f"{json.dumps(dict(names))}[datum.value] || datum.label"
    return alt.Legend(title=title, labelExpr=words, labelLimit=240, **options)


def _dark(hex_colour: str) -> bool:
    """True when white text reads better than black on this colour (WCAG contrast)."""
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return (1.05 / (luminance + 0.05)) > ((luminance + 0.05) / 0.05)


def _tip(field: str, title: str, fmt: str | None = None) -> alt.Tooltip:
    return alt.Tooltip(field, title=money_title(title) if fmt == MONEY else title, format=fmt or alt.Undefined)


def money_title(title: str) -> str:
    """'Revenue' -> 'Revenue (£)' in the shop's currency (the tool's, ``segmentation.currency``); as it is when
    none is known."""
    sign = currency.prefix().strip()
    return f"{title} ({sign})" if sign else title


def _finish(chart: Chart, title: str, subtitle: str | list[str] | None = None) -> Chart:
    """The one look: title top-left with an optional subtitle, readable fonts, no frame.

    Title and configuration in one ``properties`` call, the same spec as ``configure_title(...)``,
    ``configure_axis(...)`` and the rest one after the other: each of those copies the whole chart again
    (a layered chart recombines its layers each time), which took a third of a chart's making.
    """
    return chart.properties(
        title=alt.TitleParams(title, subtitle=subtitle or alt.Undefined, anchor="start"),
        config=alt.Config(
            title=alt.TitleConfig(fontSize=15, subtitleFontSize=12, subtitleColor="#555555"),
            axis=alt.AxisConfig(labelFontSize=12, titleFontSize=12, titleFontWeight="normal", labelLimit=200),
            legend=alt.LegendConfig(labelFontSize=12, titleFontSize=12, titleFontWeight="normal"),
            view=alt.ViewConfig(stroke=None),
        ),
    )


def segment_bars(table: pd.DataFrame) -> Chart:
    """Share of customers beside share of revenue per RFM segment ("8% of customers, 35% of revenue").

    ``table``: ``segment, customers, share, revenue, revenue_share``, one row per segment.
    """
    data = table[["segment", "customers", "share", "revenue", "revenue_share"]].assign(
        segment=lambda d: d["segment"].astype(str), label=lambda d: d["segment"].map(label)
    )
    scale = _colour_scale(SEGMENT_COLOURS, data["segment"])
    order = [label(k) for k in scale.domain]
    # One x scale for both panels, so a revenue bar longer than its customer bar means what it shows.
    shares = pd.concat([data["share"], data["revenue_share"]]).astype(float)
    x_scale = alt.Scale(domain=[min(0.0, shares.min()), max(shares.max(), 0.01)], nice=True)
    tooltip = [
        _tip("label:N", "Segment"),
        _tip("customers:Q", "Customers", COUNT),
        _tip("share:Q", "Share of customers", SHARE),
        _tip("revenue:Q", "Revenue", MONEY),
        _tip("revenue_share:Q", "Share of revenue", SHARE),
    ]

    def panel(field: str, title: str, y_axis: alt.Axis | None) -> alt.LayerChart:
        base = alt.Chart(data).encode(
            y=alt.Y("label:N", sort=order, title=None, axis=y_axis),
            x=alt.X(f"{field}:Q", title=title, scale=x_scale, axis=alt.Axis(format="%", tickCount=4)),
            tooltip=tooltip,
        )
        bars = base.mark_bar().encode(color=alt.Color("segment:N", scale=scale, legend=None))
        text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text(f"{field}:Q", format=".1~%"))
        return (bars + text).properties(width=180, height=alt.Step(24))

    chart = alt.hconcat(
        panel("share", "Share of customers", alt.Axis(labelFontSize=12)),
        panel("revenue_share", "Share of revenue", None),
        spacing=24,
    )
    total = int(pd.to_numeric(data["customers"]).sum())
    return _finish(chart, "Customers and revenue by segment", f"Each segment's share of your {total:,} customers "
                   "and of your revenue")  # fmt: skip


def rfm_grid(customers: pd.DataFrame) -> Chart:
    """The 5 x 5 grid of recency score (x) by frequency score (y): customers per cell, coloured by segment.

    ``customers``: ``r_score, f_score, segment``, one row per customer.
    """
    scored = customers[["r_score", "f_score", "segment"]].dropna()
    # Counting per cell keeps the chart at 25 rows however many customers the shop has.
    cells = scored.groupby(["r_score", "f_score", "segment"], as_index=False, observed=True).size()
    cells = cells.rename(columns={"size": "customers"}).astype({"r_score": int, "f_score": int, "segment": str})
    cells = cells.assign(share=cells["customers"] / max(len(scored), 1), label=cells["segment"].map(label))
    scale = _colour_scale(SEGMENT_COLOURS, cells["segment"])
    dark = [k for k, c in zip(scale.domain, scale.range, strict=True) if _dark(c)]
    base = alt.Chart(cells).encode(
        x=alt.X("r_score:O", title="Recency score (5 = bought most recently)", scale=alt.Scale(domain=[1, 2, 3, 4, 5]),
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("f_score:O", title="Frequency score (5 = buys most often)", scale=alt.Scale(domain=[5, 4, 3, 2, 1])),
        tooltip=[
            _tip("label:N", "Segment"),
            _tip("r_score:O", "Recency score"),
            _tip("f_score:O", "Frequency score"),
            _tip("customers:Q", "Customers", COUNT),
            _tip("share:Q", "Share of customers", SHARE),
        ],
    )  # fmt: skip
    rects = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.Color("segment:N", scale=scale, legend=_legend("Segment", {k: label(k) for k in scale.domain}))
    )
    text = base.mark_text(fontSize=13).encode(
        text=alt.Text("customers:Q", format=COUNT),
        color=alt.when(alt.FieldOneOfPredicate(field="segment", oneOf=dark))
        .then(alt.value("white"))
        .otherwise(alt.value("#222222")),
    )
    chart = (rects + text).properties(width=360, height=340)
    return _finish(chart, "Customers by how recently and how often they buy",
                   "Each square counts the customers with that recency and frequency score")  # fmt: skip


def lifecycle_bars(table: pd.DataFrame, thresholds: Mapping[str, Any] | Thresholds) -> Chart:
    """Customers per lifecycle stage, new -> active -> lapsing -> lapsed, with the thresholds stated.

    ``table``: ``lifecycle, customers, share, revenue``; ``thresholds``: ``lapsing_after_days,
    lapsed_after_days, basis`` (``Thresholds.as_dict()``; a ``Thresholds`` is accepted too).
    """
    limits = thresholds.as_dict() if isinstance(thresholds, Thresholds) else dict(thresholds)
    lapsing, lapsed = int(limits["lapsing_after_days"]), int(limits["lapsed_after_days"])
    rules = {
        "new": f"one order, the last within {lapsing} days",
        "active": f"two or more orders, the last within {lapsing} days",
        "lapsing": f"last order {lapsing + 1} to {lapsed} days ago",
        "lapsed": f"last order more than {lapsed} days ago",
    }
    data = table[["lifecycle", "customers", "share", "revenue"]].assign(lifecycle=lambda d: d["lifecycle"].astype(str))
    data = data.assign(
        label=data["lifecycle"].map(label),
        rule=data["lifecycle"].map(lambda s: rules.get(s, "")),
        text=[f"{c:,.0f} ({s:.0%})" for c, s in zip(data["customers"], data["share"], strict=True)],
    )
    scale = _colour_scale(STAGE_COLOURS, data["lifecycle"])
    # Every stage keeps its place on the axis, an empty one too: "nobody has lapsed" is an answer.
    stages = [*STAGES, *(k for k in scale.domain if k not in STAGES)]
    base = alt.Chart(data).encode(
        x=alt.X("label:N", title=None, scale=alt.Scale(domain=[label(s) for s in stages]), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("customers:Q", title="Customers"),
        tooltip=[
            _tip("label:N", "Stage"),
            _tip("rule:N", "Means"),
            _tip("customers:Q", "Customers", COUNT),
            _tip("share:Q", "Share of customers", SHARE),
            _tip("revenue:Q", "Revenue", MONEY),
        ],
    )  # fmt: skip
    bars = base.mark_bar().encode(color=alt.Color("lifecycle:N", scale=scale, legend=None))
    text = base.mark_text(baseline="bottom", dy=-3, fontSize=12).encode(text="text:N")
    chart = (bars + text).properties(width=WIDTH - 80, height=260)
    subtitle = [f"Lapsing = no order in {lapsing} days, lapsed = no order in {lapsed} days"]
    if limits.get("basis"):
        subtitle.append(f"Thresholds: {limits['basis']}")
    return _finish(chart, "Customers by lifecycle stage", subtitle)


def cluster_scatter(assignments: pd.DataFrame, names: Mapping[str, str] | pd.DataFrame) -> Chart:
    """The customer map (PCA): one dot per customer, coloured by cluster; unusual customers as diamonds.

    ``assignments``: ``customer_id, cluster, cluster_name, pc1, pc2, outlier``; ``names``: cluster key ->
    descriptive name (or ``ClusterResult.clusters`` with ``key, name``). At most ``MAX_POINTS`` dots.
    """
    if isinstance(names, pd.DataFrame):
        names = dict(zip(names["key"].astype(str), names["name"].astype(str), strict=True))
    data = assignments[["customer_id", "cluster", "cluster_name", "pc1", "pc2", "outlier"]].reset_index(drop=True)
    outlier = data["outlier"].fillna(False).astype(bool)
    shown = _thin(data, outlier, MAX_POINTS)
    shown = shown.assign(
        customer_id=shown["customer_id"].astype(str),
        cluster=shown["cluster"].astype(str),
        cluster_name=shown["cluster_name"].astype(str),
        label=shown["cluster"].map(label),
        kind=np.where(outlier.loc[shown.index], "Unusual", "Typical"),
    )
    scale = _colour_scale(CLUSTER_COLOURS, shown["cluster"])
    names = {**dict(zip(shown["cluster"], shown["cluster_name"], strict=True)), **names}
    # Below the map, so the dots get the message's width and long group names are not cut.
    legend = _legend("Group", {k: f"{label(k)}: {names[k]}" for k in scale.domain}, orient="bottom", columns=2)
    hidden = alt.Axis(labels=False, ticks=False, domain=False)  # PCA coordinates mean nothing to an owner
    chart = (
        alt.Chart(shown)
        .mark_point(filled=True, size=36, opacity=0.65)
        .encode(
            x=alt.X("pc1:Q", title="Main difference between customers", axis=hidden),
            y=alt.Y("pc2:Q", title="Second difference", axis=hidden),
            color=alt.Color("cluster:N", scale=scale, legend=legend),
            shape=alt.Shape("kind:N", title="Customer", scale=alt.Scale(domain=["Typical", "Unusual"],
                            range=["circle", "diamond"]), legend=alt.Legend(orient="bottom")),
            tooltip=[
                _tip("customer_id:N", "Customer"),
                _tip("cluster_name:N", "Group"),
                _tip("label:N", "Cluster"),
                _tip("kind:N", "Kind"),
            ],
        )
        .properties(width=WIDTH - 80, height=320)
    )  # fmt: skip
    subtitle = ["Each dot is a customer; dots close together shop alike. Diamonds are unusual customers."]
    if len(shown) < len(data):
        subtitle.append(f"Showing {len(shown):,} of {len(data):,} customers, every unusual one included")
    return _finish(chart, "Customer groups on one map", subtitle)


def _thin(frame: pd.DataFrame, keep: pd.Series, limit: int) -> pd.DataFrame:
    """At most ``limit`` rows, the same every run: every n-th of the other rows, then every ``keep`` row.

    Unusual customers are rare and the point of the diamonds, so thinning must not drop them; they come
    last so that they are drawn on top.
    """
    kept, rest = frame[keep.to_numpy()], frame[~keep.to_numpy()]
    if len(kept) >= limit:  # a shop of oddities: thin them too
        return kept.iloc[:: math.ceil(len(kept) / limit)]
    return pd.concat([rest.iloc[:: max(1, math.ceil(len(rest) / (limit - len(kept))))], kept])


def value_histograms(customers: pd.DataFrame) -> Chart | None:
    """Distributions of predicted value (``clv``) and chance still active (``p_alive``), side by side.

    ``attrs['churn_seen'] is False`` (set by ``predict_value`` when the fitted model sees no customer leave)
    drops the chance-still-active panel, which would put everyone at 100%, and says why.

    Customers without a prediction (NaN) are left out; None when nobody has one. Bins are counted here
    so the chart holds about 50 rows rather than one per customer; ``attrs['horizon_days']`` (set by
    ``customer_table``) names the value's horizon.
    """
    horizon = customers.attrs.get("horizon_days")
    panels, notes = [], []
    columns = [
        ("clv", f"Predicted spend, next {horizon} days" if horizon else "Predicted spend", "Spend per customer"),
        ("p_alive", "Chance still active", "Chance the customer still buys"),
    ]
    if customers.attrs.get("churn_seen") is False:  # the model saw nobody leave: every bar would sit at 100%
        columns.pop()
        notes.append("no chance-still-active panel: the model sees no sign of customers leaving in this data")
    for column, title, axis_title in columns:
        values = pd.to_numeric(customers[column], errors="coerce").to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if not len(values):
            continue
        bins, above = _bins(values, column)
        fmt, axis_format = (".0%", "%") if column == "p_alive" else (MONEY, ",.0f")
        axis_title = axis_title if column == "p_alive" else money_title(axis_title)
        panels.append(
            alt.Chart(bins)
            .mark_bar(color=VALUE_COLOUR, binSpacing=1)
            .encode(
                x=alt.X("start:Q", title=axis_title, bin="binned", axis=alt.Axis(format=axis_format)),
                x2="end:Q",
                y=alt.Y("customers:Q", title="Customers"),
                tooltip=[_tip("start:Q", "From", fmt), _tip("end:Q", "To", fmt),
                         _tip("customers:Q", "Customers", COUNT), _tip("share:Q", "Share of customers", SHARE)],
            )
            .properties(width=205, height=220, title=alt.TitleParams(title, fontSize=13, anchor="start"))
        )  # fmt: skip
        if above:
            notes.append(f"the last spend bar includes {above:,} above {bins['end'].iloc[-1]:,.0f}")
    if not panels:
        return None
    counted = int(customers[["clv", "p_alive"]].notna().any(axis=1).sum())
    subtitle = [f"{counted:,} customers with a prediction"]
    if counted < len(customers):
        subtitle[0] += f"; {len(customers) - counted:,} without one are left out"
    subtitle += [n[0].upper() + n[1:] for n in notes]  # on its own line, so both panels start level
    title = "What customers are worth" + ("" if len(columns) == 1 else ", and who is still around")
    return _finish(alt.hconcat(*panels, spacing=30), title, subtitle)


def _bins(values: np.ndarray, column: str) -> tuple[pd.DataFrame, int]:
    """Counts per bin (``start, end, customers, share``) and how many values the last bin caps."""
    if column == "p_alive":
        edges = np.linspace(0.0, 1.0, 21)
    else:
        # Spend is heavily skewed: one big client would squeeze everyone into the first bar, so bins
        # stop at the 99th percentile and the last bar takes everyone above it.
        low, top = min(0.0, float(values.min())), float(np.quantile(values, 0.99))
        top = top if top > low else max(float(values.max()), low + 1.0)
        step = _nice_step((top - low) / 25)
        edges = np.arange(math.floor(low / step) * step, top + step, step)
    above = int((values > edges[-1]).sum())
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    frame = pd.DataFrame({"start": edges[:-1], "end": edges[1:], "customers": counts, "share": counts / len(values)})
    return frame, above


def _nice_step(raw: float) -> float:
    """The nearest 1, 2, 2.5 or 5 x 10^k at or above ``raw``: bins people can read (0-50, 50-100)."""
    if raw <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def migration_heatmap(matrix: pd.DataFrame) -> Chart:
    """Where customers moved: rows are the group at the start, columns the group at the end.

    ``matrix``: index ``from_group`` values, columns ``to_group`` values, cells customer counts. Cells
    are coloured by share of their row ("of last quarter's champions, 40% are still champions"), so a
    big row of newcomers does not wash out the rest; the counts are written in.
    """
    rows, cols = [str(r) for r in matrix.index], [str(c) for c in matrix.columns]
    cells = matrix.set_axis(rows, axis=0).set_axis(cols, axis=1).rename_axis(index="from_group", columns="to_group")
    cells = cells.stack().rename("customers").reset_index()
    row_total = cells.groupby("from_group")["customers"].transform("sum")
    cells = cells.assign(
        row_share=(cells["customers"] / row_total.where(row_total > 0)).fillna(0.0),
        from_label=cells["from_group"].map(label),
        to_label=cells["to_group"].map(label),
    )
    base = alt.Chart(cells).encode(
        x=alt.X("to_label:N", title="At the end", scale=alt.Scale(domain=[label(c) for c in cols]),
                axis=alt.Axis(orient="top", labelAngle=-35)),
        y=alt.Y("from_label:N", title="At the start", scale=alt.Scale(domain=[label(r) for r in rows])),
        tooltip=[
            _tip("from_label:N", "Was"),
            _tip("to_label:N", "Now"),
            _tip("customers:Q", "Customers", COUNT),
            _tip("row_share:Q", "Share of those who were", SHARE),
        ],
    )  # fmt: skip
    rects = base.mark_rect(stroke="#eeeeee", strokeWidth=1).encode(
        color=alt.Color(
            "row_share:Q",
            title="Share of row",
            # From near-white, so a trickle stays faint; through a clear blue, not the grey an even blend gives.
            scale=alt.Scale(domain=[0, 0.5, 1], range=["#eef4fa", "#4a90c8", "#08306b"]),
            legend=alt.Legend(format="%", orient="bottom", gradientLength=160),
        )
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("customers:Q", format=COUNT),
        color=alt.when(alt.datum.row_share > 0.45).then(alt.value("white")).otherwise(alt.value("#222222")),
    )
    # Empty cells stay blank, so the eye goes to the moves; the axes' domains keep every row and column.
    chart = (rects + text).transform_filter(alt.datum.customers > 0)
    chart = chart.properties(width=alt.Step(34), height=alt.Step(26))
    return _finish(chart, "Where customers moved",
                   "Rows: group at the start; columns: group at the end. Numbers are customers.")  # fmt: skip


def breakdown_bars(frame: pd.DataFrame, by: str) -> Chart:
    """Revenue per value of ``by`` (country, channel, ...), largest first: every row of ``frame``.

    ``frame``: ``value, customers, revenue, revenue_share, avg_order_value`` (and ``customer_share``, the
    share of the customers broken down, when there); 'other' (the folded tail) and 'unknown' go last.
    A frame of more than ``TOP_VALUES`` named values shows the largest and says how many are not drawn, and
    their share of revenue: the bars never stop short of the whole without saying so.
    """
    columns = ["value", "customers", "customer_share", "revenue", "revenue_share", "avg_order_value"]
    data = frame[[c for c in columns if c in frame.columns]]
    data = data.assign(value=data["value"].astype(str)).sort_values("revenue", ascending=False, kind="stable")
    # "other" (the folded tail) and "unknown" go last whatever their size: they are not a value to act on.
    lumped = data["value"].isin(LUMPED)
    named = data[~lumped]
    shown = pd.concat([named.head(TOP_VALUES), data[lumped]])
    what = label(by)
    tooltip = [
        _tip("value:N", what),
        _tip("revenue:Q", "Revenue", MONEY),
        _tip("revenue_share:Q", "Share of revenue", SHARE),
        _tip("customers:Q", "Customers", COUNT),
    ]
    if "customer_share" in shown.columns:
        tooltip.append(_tip("customer_share:Q", "Share of these customers", SHARE))
    tooltip.append(_tip("avg_order_value:Q", "Average order", MONEY))
    base = alt.Chart(shown).encode(
        y=alt.Y("value:N", sort=list(shown["value"]), title=what),
        x=alt.X("revenue:Q", title=money_title("Revenue"), axis=alt.Axis(format=",.0f", tickCount=5)),
        tooltip=tooltip,
    )
    bars = base.mark_bar().encode(
        color=alt.when(alt.FieldOneOfPredicate(field="value", oneOf=list(LUMPED)))
        .then(alt.value(MUTED_COLOUR))
        .otherwise(alt.value(VALUE_COLOUR))
    )
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text("revenue_share:Q", format=".1~%"))
    chart = (bars + text).properties(width=WIDTH - 220, height=alt.Step(22))
    subtitle = ["Share of revenue at the end of each bar"]
    folded = int(frame.attrs.get("folded") or 0)
    if folded and (data["value"] == "other").any():
        other = data.loc[data["value"] == "other"].iloc[0]
        many = {"city": "cities", "country": "countries", "category": "categories"}.get(by, f"{what.lower()}s")
        subtitle.append(
            f"'Other' is the other {folded:,} {many} together: {int(other['customers']):,} "
            "customers bought one or more of them"
        )
    hidden = named.iloc[TOP_VALUES:]
    if len(hidden):
        share = float(pd.to_numeric(hidden["revenue_share"], errors="coerce").sum())
        subtitle.append(
            f"The top {TOP_VALUES} of {len(named):,} by revenue; the {len(hidden):,} smaller ones "
            f"({share:.1%} of revenue) are not drawn"
        )
    return _finish(chart, f"Revenue by {what.lower()}", subtitle)


def treated_vs_control(measure: Mapping[str, Mapping[str, float] | None]) -> Chart:
    """Conversion of the customers who got a campaign beside those held back (either may be missing).

    ``measure``: ``{"treated": {customers, buyers, conversion, revenue_per_customer}, "control": {...}}``.
    """
    groups = [g for g in ("treated", "control") if measure.get(g)]
    if not groups:
        raise ValueError("A campaign measure needs a 'treated' or a 'control' group.")
    keys = ("customers", "buyers", "conversion", "revenue_per_customer")
    data = pd.DataFrame(
        [{"group": g, "label": label(g), **{k: (measure[g] or {}).get(k) for k in keys}} for g in groups]
    ).astype({k: float for k in keys})
    base = alt.Chart(data).encode(
        x=alt.X("label:N", title=None, sort=[label(g) for g in groups], axis=alt.Axis(labelAngle=0)),
        y=alt.Y("conversion:Q", title="Bought after the campaign", axis=alt.Axis(format="%")),
        tooltip=[
            _tip("label:N", "Group"),
            _tip("customers:Q", "Customers", COUNT),
            _tip("buyers:Q", "Bought", COUNT),
            _tip("conversion:Q", "Share who bought", SHARE),
            _tip("revenue_per_customer:Q", "Revenue per customer", MONEY),
        ],
    )
    bars = base.mark_bar(size=70).encode(
        color=alt.Color("group:N", legend=None, scale=alt.Scale(domain=groups,
                        range=[VALUE_COLOUR if g == "treated" else MUTED_COLOUR for g in groups]))
    )  # fmt: skip
    text = base.mark_text(baseline="bottom", dy=-3, fontSize=12).encode(text=alt.Text("conversion:Q", format=SHARE))
    chart = (bars + text).properties(width=300, height=240)
    subtitle = ["Share of each group who bought.", "The held-back group shows what would have happened anyway."]
    return _finish(chart, "Did the campaign bring people back?", subtitle)


# Any group's own colour, whichever scheme it comes from (newcomers muted: they are not a group to act on).
GROUP_COLOURS: dict[str, str] = {**SEGMENT_COLOURS, **STAGE_COLOURS, **CLUSTER_COLOURS, NEW_ARRIVALS: MUTED_COLOUR}
_RANKED_BY = {
    "revenue": ("revenue", "revenue_share", "Revenue", "revenue so far"),
    "value_at_stake": ("value_at_stake", "value_share", "Value at stake", "expected spend, next 90 days"),
}


def group_ranking_bars(table: pd.DataFrame, by: str) -> Chart:
    """Groups (segments or stages) ranked by ``by`` ("revenue" or "value_at_stake"), best at the top.

    ``table``: ``group, customers, share, revenue, revenue_share, value_at_stake, value_share``, in rank order.
    """
    field, share, title, words = _RANKED_BY[by]
    data = table[["group", "customers", "share", "revenue", "revenue_share", "value_at_stake", "value_share"]]
    data = data.assign(group=data["group"].astype(str), label=data["group"].map(label))
    scale = _colour_scale(GROUP_COLOURS, data["group"])
    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=list(data["label"]), title=None),
        x=alt.X(f"{field}:Q", title=title, axis=alt.Axis(format=",.0f", tickCount=5)),
        tooltip=[
            _tip("label:N", "Group"),
            _tip("customers:Q", "Customers", COUNT),
            _tip("share:Q", "Share of customers", SHARE),
            _tip("revenue:Q", "Revenue", MONEY),
            _tip("revenue_share:Q", "Share of revenue", SHARE),
            _tip("value_at_stake:Q", "Value at stake (next 90 days)", MONEY),
            _tip("value_share:Q", "Share of value at stake", SHARE),
        ],
    )
    bars = base.mark_bar().encode(color=alt.Color("group:N", scale=scale, legend=None))
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text(f"{share}:Q", format=".1~%"))
    chart = (bars + text).properties(width=WIDTH - 200, height=alt.Step(24))
    return _finish(chart, f"Groups ranked by {title.lower()}", f"Bars: {words}; the share of the total at the end")


# The comparison's panels: (kind of metric, panel title, {metric: short axis label}).
_COMPARE_PANELS = (
    ("share", "Shares", {"share_of_customers": "Customers", "revenue_share": "Revenue", "consent_share": "Consent"}),
    ("money", "Money", {"median_monetary": "Median spend", "avg_order_value": "Average order"}),
    ("days", "Days", {"median_recency_days": "Since last order", "typical_gap_days": "Between orders"}),
)


def group_comparison_bars(metrics: pd.DataFrame, names: Mapping[str, str]) -> Chart:
    """Two groups side by side, one bar each per measure, in three panels: shares, money, days.

    ``metrics``: ``metric, words, kind`` then one numeric column per group key (NaN: unknown, not drawn);
    ``names``: group key -> the words for it in the legend.
    """
    keys = [c for c in metrics.columns if c not in ("metric", "words", "kind")]
    long = metrics.melt(id_vars=["metric", "words", "kind"], value_vars=keys, var_name="group", value_name="value")
    long = long.dropna(subset=["value"]).assign(name=lambda d: d["group"].map(lambda k: names.get(k, label(k))))
    colours = [GROUP_COLOURS.get(k, VALUE_COLOUR) for k in keys]
    if len(set(colours)) < len(colours):  # "new" and "new_customers" share a colour: tell them apart
        colours = [VALUE_COLOUR, "#f28e2b", *_EXTRA_COLOURS][: len(keys)]
    scale = alt.Scale(domain=keys, range=colours)
    panels = []
    for kind, title, short in _COMPARE_PANELS:
        rows = long[long["metric"].isin(list(short))]
        rows = rows.assign(short=rows["metric"].map(short))
        if rows.empty:
            continue
        fmt, axis_format = {"share": (SHARE, "%"), "money": (MONEY, ",.0f"), "days": (",.0f", ",.0f")}[kind]
        panels.append(
            alt.Chart(rows).mark_bar().encode(
                x=alt.X("short:N", sort=[s for m, s in short.items() if m in set(rows["metric"])], title=None,
                        axis=alt.Axis(labelAngle=0, labelLimit=90)),
                xOffset=alt.XOffset("group:N", sort=keys),
                y=alt.Y("value:Q", title=None, axis=alt.Axis(format=axis_format, tickCount=4)),
                color=alt.Color("group:N", scale=scale,
                                legend=_legend("Group", {k: names.get(k, label(k)) for k in keys}, orient="bottom")),
                tooltip=[_tip("name:N", "Group"), _tip("words:N", "Measure"), _tip("value:Q", "Value", fmt)],
            ).properties(width=50 * len(short), height=200,
                         title=alt.TitleParams(money_title(title) if kind == "money" else title, fontSize=13,
                                               anchor="start"))
        )  # fmt: skip
    if not panels:
        raise ValueError("Nothing to compare: every measure is unknown for both groups.")
    chart = alt.hconcat(*panels, spacing=24)
    return _finish(
        chart,
        " vs ".join(names.get(k, label(k)) for k in keys),
        "Shares of all customers and revenue, money per customer or order, days as medians",
    )


def focus_bars(table: pd.DataFrame) -> Chart:
    """Segments by focus score (0-100), highest first, the parts of the score in the tooltip.

    ``table``: ``segment, customers, reachable, value_at_stake, urgency, score``, in rank order.
    """
    data = table[["segment", "customers", "reachable", "value_at_stake", "urgency", "score"]]
    data = data.assign(segment=data["segment"].astype(str), label=data["segment"].map(label))
    scale = _colour_scale(SEGMENT_COLOURS, data["segment"])
    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=list(data["label"]), title=None),
        x=alt.X("score:Q", title="Focus score (0-100)", scale=alt.Scale(domain=[0, 100])),
        tooltip=[
            _tip("label:N", "Segment"),
            _tip("score:Q", "Score", ".1f"),
            _tip("customers:Q", "Customers", COUNT),
            _tip("reachable:Q", "May be messaged", COUNT),
            _tip("value_at_stake:Q", "Value at stake", MONEY),
            _tip("urgency:Q", "Urgency weight", ".1f"),
        ],
    )
    bars = base.mark_bar().encode(color=alt.Color("segment:N", scale=scale, legend=None))
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text("score:Q", format=".1f"))
    chart = (bars + text).properties(width=WIDTH - 200, height=alt.Step(24))
    return _finish(
        chart, "Which group to focus on first", "Score: urgency x (value at stake, customers who may be messaged, size)"
    )


def entrant_origins(origins: pd.DataFrame, group: str) -> Chart:
    """Where a group's newcomers came from: customers per earlier group, biggest first.

    ``origins``: ``from_group, customers, share``; ``group``: the group they entered.
    """
    data = origins[["from_group", "customers", "share"]]
    data = data.assign(from_group=data["from_group"].astype(str), label=data["from_group"].map(label))
    scale = _colour_scale(GROUP_COLOURS, data["from_group"])
    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=list(data["label"]), title="Came from"),
        x=alt.X("customers:Q", title="Customers", axis=alt.Axis(format=",d", tickMinStep=1)),
        tooltip=[
            _tip("label:N", "Came from"),
            _tip("customers:Q", "Customers", COUNT),
            _tip("share:Q", "Share of newcomers", SHARE),
        ],
    )
    bars = base.mark_bar().encode(color=alt.Color("from_group:N", scale=scale, legend=None))
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text("customers:Q", format=COUNT))
    chart = (bars + text).properties(width=WIDTH - 220, height=alt.Step(24))
    total = int(pd.to_numeric(data["customers"]).sum())
    return _finish(
        chart, f"Where the {total:,} new {label(group).lower()} customers came from", "Their group at the start date"
    )


def sales_trend(monthly: pd.DataFrame, partial: bool = False) -> Chart:
    """Revenue per calendar month as a line with a dot per month; purchases and customers in the tooltip.

    ``monthly``: ``month ('YYYY-MM'), revenue, orders, customers``; ``partial``: the first or last month
    covers only part of the month, which the subtitle then says.
    """
    data = monthly[["month", "revenue", "orders", "customers"]].assign(
        date=lambda d: d["month"].astype(str) + "-01"  # a full date, so Vega-Lite reads it the same everywhere
    )
    base = alt.Chart(data).encode(
        x=alt.X("date:T", title=None, timeUnit="yearmonth", axis=alt.Axis(format="%b %Y", labelAngle=0,
                tickCount=min(len(data), 12))),
        y=alt.Y("revenue:Q", title=money_title("Revenue"), axis=alt.Axis(format=",.0f")),
        tooltip=[
            _tip("month:N", "Month"),
            _tip("revenue:Q", "Revenue", MONEY),
            _tip("orders:Q", "Purchases", COUNT),
            _tip("customers:Q", "Customers", COUNT),
        ],
    )  # fmt: skip
    chart = base.mark_line(color=VALUE_COLOUR) + base.mark_point(color=VALUE_COLOUR, filled=True, size=40)
    subtitle = ["Net revenue of customers' purchases each month"]
    if partial:
        subtitle.append("The first or last month covers only part of that month")
    return _finish(chart.properties(width=WIDTH - 80, height=240), "Revenue by month", subtitle)


def _group_bars(
    table: pd.DataFrame,
    field: str,
    overall: float | None,
    *,
    title: str,
    axis_title: str,
    fmt: str,
    tooltip: list[alt.Tooltip],
    subtitle: str,
) -> Chart:
    """One bar per segment or stage in the table's order, in its own colour, with ``overall`` as a rule."""
    data = table.assign(group=table["group"].astype(str), label=table["group"].map(label)).dropna(subset=[field])
    scale = _colour_scale(GROUP_COLOURS, data["group"])
    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=list(data["label"]), title=None),
        x=alt.X(
            f"{field}:Q",
            title=money_title(axis_title) if fmt == MONEY else axis_title,
            axis=alt.Axis(format=fmt.replace(".2f", ".0f"), tickCount=5),
        ),
        tooltip=[_tip("label:N", "Group"), *tooltip],
    )
    bars = base.mark_bar().encode(color=alt.Color("group:N", scale=scale, legend=None))
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text(f"{field}:Q", format=fmt))
    chart = bars + text
    if overall is not None and math.isfinite(overall):
        rule = (
            alt.Chart(pd.DataFrame({field: [overall]}))
            .mark_rule(color="#555555", strokeDash=[4, 3])
            .encode(x=f"{field}:Q", tooltip=[_tip(f"{field}:Q", "Everyone", fmt)])
        )
        chart = chart + rule
    return _finish(chart.properties(width=WIDTH - 220, height=alt.Step(24)), title, subtitle)


def order_value_bars(table: pd.DataFrame, overall: float | None = None) -> Chart:
    """Average order value per segment or stage, with everyone's average as a dashed line.

    ``table``: ``group, customers, orders, revenue, avg_order_value``; groups without a purchase are left out.
    """
    tooltip = [_tip("avg_order_value:Q", "Average order", MONEY), _tip("orders:Q", "Purchases", COUNT),
               _tip("customers:Q", "Customers", COUNT), _tip("revenue:Q", "Revenue", MONEY)]  # fmt: skip
    subtitle = "Revenue per purchase" + ("; the dashed line is everyone's average" if overall is not None else "")
    return _group_bars(table, "avg_order_value", overall, title="Average order value by group",
                       axis_title="Average order value", fmt=MONEY, tooltip=tooltip, subtitle=subtitle)  # fmt: skip


def rhythm_bars(table: pd.DataFrame) -> Chart:
    """Typical days between purchases per segment or stage, with the shop's typical gap as a dashed line.

    ``table``: ``group, customers, repeat_customers, typical_gap_days``, an ``all`` row for the whole shop
    (drawn as the line, not a bar); groups without a repeat customer are left out.
    """
    everyone = table[table["group"] == "all"]["typical_gap_days"]
    overall = float(everyone.iloc[0]) if len(everyone) else None
    tooltip = [
        _tip("typical_gap_days:Q", "Typical gap (days)", ",.1f"),
        _tip("repeat_customers:Q", "Repeat customers", COUNT),
        _tip("customers:Q", "Customers", COUNT),
    ]
    return _group_bars(
        table[table["group"] != "all"],
        "typical_gap_days",
        overall,
        title="Days between purchases by group",
        axis_title="Typical days between purchases",
        fmt=",.0f",
        tooltip=tooltip,
        subtitle="Median of repeat customers' own median gaps; the dashed line is the whole shop",
    )


def customer_orders(orders: pd.DataFrame, title: str = "Their orders over time") -> Chart:
    """One customer's orders: a bar per purchase at its date, as high as its net amount; returns and
    cancellations (no purchase) in grey at their own (zero or negative) amount.

    ``orders``: ``order_id, order_date, net_amount, is_purchase`` (``segmentation.customer_page``).
    """
    data = (
        orders[["order_id", "order_date", "net_amount", "is_purchase"]]
        .assign(
            date=lambda d: pd.to_datetime(d["order_date"]).dt.strftime("%Y-%m-%d"),
            kind=lambda d: np.where(d["is_purchase"], "Purchase", "Returned or cancelled"),
        )
        .drop(columns=["order_date"])
    )
    chart = (
        alt.Chart(data)
        .mark_bar(size=6)
        .encode(
            x=alt.X("date:T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0)),
            y=alt.Y("net_amount:Q", title=money_title("Order value"), axis=alt.Axis(format=",.0f")),
            color=alt.Color(
                "kind:N",
                title=None,
                scale=alt.Scale(domain=["Purchase", "Returned or cancelled"], range=[VALUE_COLOUR, MUTED_COLOUR]),
            ),
            tooltip=[_tip("date:T", "Date"), _tip("order_id:N", "Order"), _tip("net_amount:Q", "Value", MONEY)],
        )
    )
    n = int(data["is_purchase"].sum())
    return _finish(
        chart.properties(width=WIDTH - 80, height=220),
        title,
        f"{n:,} purchase{'s' if n != 1 else ''}, each bar one order at its net value",
    )


def attribute_shares(table: pd.DataFrame) -> Chart:
    """One small panel of bars per attribute (age band, gender, interests, tags, email): the share of the
    group's customers with each value, of those whose value the data has; panels stacked, each in its own
    order (age bands youngest first, the rest largest first).

    ``table``: ``attribute, value, customers, share``; rows without a share ('not in your data') are not drawn.
    """
    data = table[table["share"].notna()][["attribute", "value", "customers", "share"]]
    data = data.assign(value=data["value"].astype(str), share=data["share"].astype(float))
    panels = []
    for attribute, rows in data.groupby("attribute", sort=False):
        base = alt.Chart(rows).encode(
            y=alt.Y("value:N", sort=list(rows["value"]), title=None),
            x=alt.X("share:Q", title=None, axis=alt.Axis(format=".0%", tickCount=4)),
            tooltip=[
                _tip("value:N", str(attribute)),
                _tip("customers:Q", "Customers", COUNT),
                _tip("share:Q", "Share of those known", SHARE),
            ],
        )
        bars = base.mark_bar(color=VALUE_COLOUR)
        text = base.mark_text(align="left", dx=3, fontSize=11).encode(text=alt.Text("share:Q", format=".0%"))
        panels.append((bars + text).properties(title=str(attribute), width=WIDTH - 240, height=alt.Step(20)))
    return _finish(
        alt.vconcat(*panels, spacing=14),
        "Who these customers are",
        "Share of the customers whose value your data has; a customer with several tags counts under each",
    )
