"""Lifecycle thresholds that do not stretch with the data, and the stage back-test, on real data.

Every number is checked against an independent pandas computation from the orders table (the rule written
out again: usual gap over the last 365 days, median of those, 1.5x and 3x clamped), and the CDNOW ones also
against literal values measured once (Fader & Hardie's CDNOW master file, 23,570 customers of the 1997 cohort).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.importing.ingest import import_file
from segmentation.lifecycle import lifecycle_thresholds
from segmentation.store import connect
from segmentation.value.stage_backtest import stage_backtest, stage_backtest_words
from segmentation.vocabulary import AnalysisError

from .conftest import ONLINE_RETAIL

CDNOW_MASTER = Path(__file__).parent / "fixtures" / "cdnow" / "CDNOW_master.txt.gz"


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory) -> Path:
    """The CDNOW master transaction log (customer, YYYYMMDD, CDs, dollars) imported as a plain orders file."""
    folder = tmp_path_factory.mktemp("cdnow")
    with gzip.open(CDNOW_MASTER, "rt") as file:
        log = pd.read_csv(file, sep=r"\s+", dtype={"customer_id": str, "date": str})
    log["order_date"] = pd.to_datetime(log["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d")
    log = log.rename(columns={"dollar_value": "amount"})[["customer_id", "order_date", "amount"]]
    log.to_csv(folder / "cdnow.csv", index=False)
    import_file(folder / "shop.duckdb", folder / "cdnow.csv")
    return folder / "shop.duckdb"


@pytest.fixture(scope="module")
def retail(tmp_path_factory) -> Path:
    if not ONLINE_RETAIL.exists():
        pytest.skip("shared data not present")
    db = tmp_path_factory.mktemp("retail") / "shop.duckdb"
    import_file(db, ONLINE_RETAIL)
    return db


def _purchase_days(db: Path) -> pd.DataFrame:
    """One row per purchase (an order with net > 0), with its customer and day."""
    con = connect(db, read_only=True)
    try:
        days = con.execute(
            "SELECT customer_id, order_date FROM orders WHERE is_purchase AND customer_id IS NOT NULL"
        ).df()
    finally:
        con.close()
    days["order_date"] = pd.to_datetime(days["order_date"])
    return days.sort_values(["customer_id", "order_date"], ignore_index=True)


def _by_hand(days: pd.DataFrame, cut: str, horizon: int, window: int | None = 365) -> tuple[float, int, int, dict]:
    """(typical gap, lapsing, lapsed, {stage: (customers, returned)}) written out again from the rule."""
    day = pd.Timestamp(cut)
    purchases = days[days["order_date"] <= day]
    seen = purchases.drop_duplicates().copy()  # gaps are between purchase days: one day's orders merged
    seen["gap"] = seen.groupby("customer_id")["order_date"].diff().dt.days
    gaps = seen if window is None else seen[(day - seen["order_date"]).dt.days + seen["gap"] <= window]
    gap = float(gaps.groupby("customer_id")["gap"].median().dropna().median())
    lapsing = int(min(max(round(1.5 * gap), 7), 365))
    lapsed = max(int(min(max(round(3 * gap), 14), 730)), lapsing + 7)
    each = purchases.groupby("customer_id")["order_date"].agg(["max", "size"])  # "new": exactly one purchase
    recency = (day - each["max"]).dt.days
    stage = np.select([recency > lapsed, recency > lapsing, each["size"] == 1], ["lapsed", "lapsing", "new"], "active")
    later = days[(days["order_date"] > day) & (days["order_date"] <= day + pd.Timedelta(days=horizon))]
    back = each.index.isin(set(later["customer_id"]))
    counts = pd.DataFrame({"stage": stage, "back": back}).groupby("stage")["back"].agg(["size", "sum"])
    return gap, lapsing, lapsed, {s: (int(r["size"]), int(r["sum"])) for s, r in counts.iterrows()}


def _rows(frame: pd.DataFrame) -> dict:
    return {r.stage: (r.customers, r.bought_again) for r in frame.itertuples() if r.customers and r.stage != "everyone"}


def test_cdnow_thresholds_stop_stretching_once_a_year_is_held(cdnow):
    days = _purchase_days(cdnow)
    con = connect(cdnow, read_only=True)
    try:
        marks = {cut: lifecycle_thresholds(con, as_of=cut) for cut in ("1997-12-31", "1998-03-31", "1998-06-30")}
    finally:
        con.close()
    # With a year of data or more the lapsed mark stays within a few days; a median over every gap ever would
    # have stretched it from 158 to 195 days over the same six months, customers unchanged.
    assert {cut: m.lapsed_after_days for cut, m in marks.items()} == {
        "1997-12-31": 158,
        "1998-03-31": 147,
        "1998-06-30": 152,
    }
    assert [_by_hand(days, cut, 1, window=None)[2] for cut in marks] == [158, 180, 195]
    for cut, limits in marks.items():
        gap, lapsing, lapsed, _ = _by_hand(days, cut, 1)
        assert (limits.typical_gap_days, limits.lapsing_after_days, limits.lapsed_after_days) == (
            pytest.approx(gap),
            lapsing,
            lapsed,
        )
        assert "in the last year" in limits.basis


def test_cdnow_stage_backtest_at_the_calibration_date(cdnow):
    con = connect(cdnow, read_only=True)
    try:
        frame = stage_backtest(con, cut="1997-09-30", horizon_days=90)
    finally:
        con.close()
    _, lapsing, lapsed, expected = _by_hand(_purchase_days(cdnow), "1997-09-30", 90)
    assert (
        (frame.attrs["thresholds"]["lapsing_after_days"], frame.attrs["thresholds"]["lapsed_after_days"])
        == (lapsing, lapsed)
        == (64, 129)
    )
    assert _rows(frame) == expected
    rate = frame.set_index("stage")["return_rate"]
    # Measured once: active 51.0% of 3,295 came back within 90 days, lapsing 33.6%, lapsed 9.7% of 17,936.
    assert (round(rate["active"], 3), round(rate["lapsing"], 3), round(rate["lapsed"], 3)) == (0.51, 0.336, 0.097)
    assert rate["lapsed"] < rate["lapsing"] < rate["active"]
    everyone = frame.set_index("stage").loc["everyone"]
    assert everyone["customers"] == sum(n for n, _ in expected.values())
    assert everyone["bought_again"] == sum(k for _, k in expected.values())
    words = stage_backtest_words(frame)
    assert "active 51% of 3,295" in words and "lapsed 10% of 17,936" in words
    assert words.endswith("Lapsed customers came back at 19% of active customers' rate.")


def test_online_retail_stage_backtest_before_the_christmas_peak(retail):
    """The seasonal wholesaler: with a 100-day horizon from 31 August, lapsed customers still come back far
    less often than active ones, and everyone's rate (the peak lifts every stage) is said beside them."""
    con = connect(retail, read_only=True)
    try:
        frame = stage_backtest(con, cut="2011-08-31", horizon_days=100)
    finally:
        con.close()
    _, _, lapsed, expected = _by_hand(_purchase_days(retail), "2011-08-31", 100)
    assert frame.attrs["thresholds"]["lapsed_after_days"] == lapsed
    assert _rows(frame) == expected
    rate = frame.set_index("stage")["return_rate"]
    assert rate["lapsed"] < rate["everyone"] < rate["active"]
    assert rate["lapsed"] <= 0.6 * rate["active"]


def test_demo_stage_backtest_at_the_default_cut(demo_store):
    con = connect(demo_store, read_only=True)
    try:
        frame = stage_backtest(con)
    finally:
        con.close()
    cut = frame.attrs["cut"]
    assert dt.date.fromisoformat(cut) + dt.timedelta(days=90) == dt.date.fromisoformat(frame.attrs["last_order"])
    _, _, lapsed, expected = _by_hand(_purchase_days(demo_store), cut, 90)
    assert frame.attrs["thresholds"]["lapsed_after_days"] == lapsed
    assert _rows(frame) == expected
    rate = frame.set_index("stage")["return_rate"]
    assert rate["lapsed"] * 2 <= rate["active"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon_days": 0}, "at least 1"),
        ({"cut": "2099-01-01"}, "data ends on"),
        ({"cut": "Tuesday"}, "not a date"),
        ({"cut": "1990-01-01"}, "Nobody had bought by 1990-01-01"),
    ],
    ids=["no-horizon", "cut-too-late", "not-a-date", "before-any-order"],
)
def test_bad_input_is_one_sentence(cdnow, kwargs, message):
    con = connect(cdnow, read_only=True)
    try:
        with pytest.raises(AnalysisError, match=message):
            stage_backtest(con, **kwargs)
    finally:
        con.close()


# ------------------------------------------------------------------ P(alive) and "lapsed" in answers


def test_lapsed_answer_says_what_each_means_and_ranks_by_value(demo_store):
    from segmentation.customers import customer_table
    from tools.base import ToolContext
    from tools.registry import run_tool

    result = run_tool("predict_value", {"group": "lapsed"}, ToolContext(db_path=demo_store))
    con = connect(demo_store, read_only=True)
    try:
        table = customer_table(con)
    finally:
        con.close()
    lapsed = table[table["lifecycle"] == "lapsed"]
    alive = int((lapsed["p_alive"] >= 0.5).sum())
    mark = table.attrs["thresholds"]["lapsed_after_days"]
    assert alive > 0  # the disagreement the answer has to explain (how many depends on the model the shop chose)
    assert (
        f'"lapsed" only means no order in {mark} days, your gap rule, and the model still rates {alive:,} of '
        f"the {len(lapsed):,} lapsed customers here more likely active than not"
    ) in result.summary
    assert "the model's chance that a customer has not silently stopped buying" in result.summary
    assert "the list is ranked by predicted value" in result.summary
    # The list: by predicted value, highest first, never by P(alive) (which would put other customers on top).
    shown = result.table
    assert list(shown["customer_id"]) == list(
        lapsed.sort_values(["clv", "customer_id"], ascending=[False, True])["customer_id"].head(len(shown))
    )
    by_alive = lapsed.sort_values(["p_alive", "customer_id"], ascending=[False, True])["customer_id"].head(10)
    assert list(shown["customer_id"].head(10)) != list(by_alive)


def test_online_retail_no_churn_is_said_not_quoted(retail, tmp_path):
    import shutil

    from tools.base import ToolContext
    from tools.registry import run_tool

    copy = tmp_path / "retail.duckdb"
    shutil.copy(retail, copy)
    result = run_tool("predict_value", {"group": "lapsed"}, ToolContext(db_path=copy))
    assert "the model sees no sign of customers leaving in this data" in result.summary
    assert "chance still active" not in result.summary and "100%" not in result.summary
    shown = result.table
    assert shown["clv"].is_monotonic_decreasing and (shown["lifecycle"] == "lapsed").all()


def test_segments_backtest_stages(cdnow, capsys):
    import cli

    assert cli.main(["backtest", "--stages", "--as-of", "1997-09-30", "--db", str(cdnow), "--format", "json"]) == 0
    out = capsys.readouterr().out
    rows = {row["stage"]: row for row in json.loads(out.splitlines()[0])}
    assert (rows["active"]["customers"], rows["lapsed"]["customers"]) == (3295, 17936)
    assert rows["lapsed"]["return_rate"] == pytest.approx(0.0966, abs=1e-4)
    assert cli.main(["backtest", "--stages", "--as-of", "1997-09-30", "--db", str(cdnow)]) == 0
    assert "lapsed = no order in 129 days" in capsys.readouterr().out  # the table's footer states the rule
    assert cli.main(["backtest", "--stages", "--as-of", "1998-09-30", "--db", str(cdnow)]) == 2
    assert "the data ends on 1998-06-30" in capsys.readouterr().err
