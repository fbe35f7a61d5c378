"""Choosing the purchase model by a back-test on the shop's own data, and the back-test's season flag.

The CDNOW numbers are the standard split (calibration = the first 39 weeks from 1997-01-01, holdout = the
next 39) on the published transaction logs; the same totals were measured independently with `lifetimes`
(issue 16's table: BG/NBD -14.2% / -12.1%, Pareto/NBD -12.8% / -11.5%, the one-time-buyer scaling
-20.2% / -18.1% on master / sample).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.importing.ingest import import_file
from segmentation.store import connect, data_version
from segmentation.value import clv
from segmentation.value.backtest import backtest, busy_season
from segmentation.value.clv import expected_purchases, fit_bgnbd, fit_models, summary_from_transactions
from segmentation.value.modelchoice import ModelChoice, ModelScore, compare_models, holdout_weeks, pick
from segmentation.value.paretonbd import fit_paretonbd

from .conftest import ONLINE_RETAIL

CDNOW_LOGS = Path(__file__).parent / "fixtures" / "cdnow"
CUT, END = pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30")


def _cdnow(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """(calibration summary in weeks, each customer's purchase days in the 39-week holdout)."""
    raw = pd.read_csv(
        CDNOW_LOGS / f"CDNOW_{name}.txt.gz", sep=r"\s+", header=None, skiprows=int(name == "master"), dtype=str
    )
    lines = pd.DataFrame(
        {
            "customer": raw.iloc[:, 0],
            "date": pd.to_datetime(raw.iloc[:, -3], format="%Y%m%d"),
            "amount": raw.iloc[:, -1].astype(float),
        }
    )
    calibration = summary_from_transactions(
        lines[lines["date"] <= CUT],
        customer_col="customer",
        date_col="date",
        value_col="amount",
        as_of=CUT,
        time_unit_days=7,
    )
    later = lines[(lines["date"] > CUT) & (lines["date"] <= END) & (lines["amount"] > 0)]
    days = later.groupby("customer")["date"].nunique()
    return calibration, calibration["customer_id"].map(days).fillna(0).to_numpy()


@pytest.mark.parametrize(
    ("name", "customers", "bought", "bgnbd_error", "paretonbd_error", "scaled_error"),
    [("sample", 2349, 1882, -0.121, -0.115, -0.181), ("master", 23500, 19674, -0.142, -0.128, -0.202)],
    ids=["sample", "master"],
)
def test_on_cdnow_the_chosen_forecast_is_at_least_as_close_as_the_published_bgnbd(
    name, customers, bought, bgnbd_error, paretonbd_error, scaled_error
):
    calibration, actual = _cdnow(name)
    assert len(calibration) == customers and actual.sum() == bought
    x, t_x, big_t = (calibration[c] for c in ("frequency", "recency", "T"))
    bgnbd = fit_bgnbd(calibration, time_unit_days=7)

    def error(predicted: np.ndarray) -> float:
        return (predicted.sum() - bought) / bought

    assert error(expected_purchases(bgnbd, 39, x, t_x, big_t)) == pytest.approx(bgnbd_error, abs=5e-4)
    pareto = fit_paretonbd(calibration, time_unit_days=7)
    assert error(expected_purchases(pareto, 39, x, t_x, big_t)) == pytest.approx(paretonbd_error, abs=5e-4)
    # The one-time-buyer scaling, no longer applied to expected purchases, was further off.
    scaled = expected_purchases(bgnbd, 39, x, t_x, big_t, first_purchase_dropout=True)
    assert error(scaled) == pytest.approx(scaled_error, abs=5e-4)

    choice = compare_models(calibration, actual, 39.0)
    scores = {s.model: s for s in choice.scores}
    assert choice.chosen == "paretonbd" and choice.holdout_weeks == 39
    assert abs(scores[choice.chosen].total_error) <= abs(scores["bgnbd"].total_error)
    assert choice.reason.startswith("Pareto/NBD, chosen: ") and f"{bought:,} purchases" in choice.reason


def _score(model: str, error: float, mae: float) -> ModelScore:
    return ModelScore(model, 100 * (1 + error), 100.0, error, mae)


@pytest.mark.parametrize(
    ("bg", "pn", "winner", "rule"),
    [
        ((-0.14, 0.80), (-0.12, 0.90), "paretonbd", "total"),  # two points closer: the total decides
        ((-0.121, 0.79), (0.115, 0.76), "paretonbd", "mae"),  # within a point: the smaller MAE
        ((-0.115, 0.79), (-0.121, 0.76), "paretonbd", "mae"),  # ... even when its total is a little further
        ((-0.0925, 1.49975), (-0.0928, 1.49982), "bgnbd", "both"),  # both alike: the closer total stays
    ],
    ids=["total", "tie-mae", "tie-mae-other", "tie-both"],
)
def test_pick_follows_the_stated_rule(bg, pn, winner, rule):
    best, other, why = pick([_score("bgnbd", *bg), _score("paretonbd", *pn)])
    assert (best.model, why) == (winner, rule) and other.model != winner


def test_holdout_is_half_the_window_in_weeks_at_most_39():
    assert holdout_weeks(dt.date(1997, 1, 1), dt.date(1998, 6, 30)) == 39  # CDNOW: 545 days
    assert holdout_weeks(dt.date(2010, 12, 1), dt.date(2011, 12, 9)) == 27  # Online Retail: 373 days
    assert holdout_weeks(dt.date(2024, 1, 1), dt.date(2024, 2, 1)) == 2


@pytest.fixture(scope="module")
def demo_db(demo_shops, tmp_path_factory) -> Path:
    return demo_shops.copy(tmp_path_factory.mktemp("choice_demo"), customers=400, seed=1)


def test_the_shop_gets_a_choice_with_its_reason_cached(demo_db, monkeypatch):
    with connect(demo_db, read_only=True) as con:
        fits = fit_models(con)
        choice = fits.choice
        assert choice is not None and choice.chosen in {"bgnbd", "paretonbd"}
        assert fits.purchases is (fits.paretonbd if choice.chosen == "paretonbd" else fits.bgnbd)
        assert {s.model for s in choice.scores} == {"bgnbd", "paretonbd"}
        # The scores are the back-test's own numbers: the cut date, each model's total against what happened.
        cut = dt.date.fromisoformat(choice.calibration_end)
        last = dt.date.fromisoformat(fits.summary.attrs["as_of"])
        assert (last - cut).days == 7 * choice.holdout_weeks
        bought = con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT customer_id, order_date FROM orders WHERE is_purchase "
            "AND customer_id IN (SELECT customer_id FROM orders WHERE is_purchase AND order_date <= $cut) "
            "AND order_date > $cut)",
            {"cut": cut},
        ).fetchall()[0][0]
        assert all(s.actual == bought for s in choice.scores)
        monkeypatch.setattr(clv, "fit_bgnbd", lambda *a, **k: pytest.fail("refitted although cached"))
        again = fit_models(con)
    assert again.choice == choice and again.paretonbd == fits.paretonbd


def test_a_cache_row_from_before_the_choice_is_refitted(demo_shops, tmp_path):
    db = demo_shops.copy(tmp_path, customers=300, seed=3)
    with connect(db) as con:
        fresh = fit_models(con)
        day = fresh.summary.attrs["as_of"]
        old = {
            "bgnbd": json.loads(json.dumps(fresh.bgnbd.__dict__)),
            "gamma_gamma": json.loads(json.dumps(fresh.gamma_gamma.__dict__)),
        }
        con.execute("DELETE FROM model_cache")
        con.execute(
            "INSERT INTO model_cache VALUES (?, ?, ?, now()::TIMESTAMP)", [data_version(con), day, json.dumps(old)]
        )
        refit = fit_models(con)
    assert refit.choice == fresh.choice and refit.paretonbd == fresh.paretonbd


def test_a_short_history_keeps_bgnbd_and_says_why():
    summary = pd.DataFrame(
        {
            "customer_id": [1, 2],
            "frequency": [0, 1],
            "recency": [0.0, 1.0],
            "T": [2.0, 2.0],
            "monetary_value": [0.0, 5.0],
        }
    )
    summary.attrs.update(as_of="2024-01-15", time_unit_days=7.0)
    choice = compare_models(summary, [0, 1], 2.0)
    assert choice.chosen == "bgnbd" and choice.reason.startswith("BG/NBD, the default: no model could be back-tested")
    assert ModelChoice.from_dict(choice.as_dict()) == choice


# ---------------------------------------------------------------- the busy season


@pytest.fixture(scope="module")
def seasonal_db(tmp_path_factory) -> Path:
    """A year of one order a day, 10 a day, and 30 a day in November and December 2024; 30 customers."""
    tmp = tmp_path_factory.mktemp("seasonal")
    days = pd.date_range("2024-01-01", "2024-12-31")
    amounts = np.where(days.month >= 11, 30.0, 10.0)
    rows = [f"C{i % 30},{d.date()},{a}" for i, (d, a) in enumerate(zip(days, amounts, strict=True))]
    (tmp / "orders.csv").write_text("Customer ID,Order Date,Amount\n" + "\n".join(rows) + "\n")
    import_file(tmp / "shop.duckdb", tmp / "orders.csv")
    return tmp / "shop.duckdb"


def test_busy_season_follows_the_rule_by_hand(seasonal_db):
    # The year: the 365 days to 2024-12-31 (Jan 2 on): 304 days at 10 and 61 at 30 = 4,870.
    with connect(seasonal_db, read_only=True) as con:
        peak = busy_season(con, dt.date(2024, 10, 31), dt.date(2024, 12, 31))
        spring = busy_season(con, dt.date(2024, 3, 31), dt.date(2024, 5, 31))
        too_late = busy_season(con, dt.date(2024, 12, 31), dt.date(2025, 3, 31))
    assert peak["season_share"] == pytest.approx(1830 / 4870)
    assert peak["season_index"] == pytest.approx(1830 / 4870 / (61 / 365)) and peak["busy_season"] is True
    # Spring's year cannot end at its window (the data starts in January): the shop's first 365 days, Jan 1 to
    # Dec 30, with 60 days at 30: 4,850.
    assert spring["season_index"] == pytest.approx(610 / 4850 / (61 / 365)) and spring["busy_season"] is False
    assert too_late == {"busy_season": None, "season_index": None, "season_share": None}


def test_backtest_ratio_comes_from_unrounded_predictions(demo_db):
    with connect(demo_db, read_only=True) as con:
        table = backtest(con, as_of="2026-05-01", horizon_days=90)
        predicted = clv.customer_value(con, as_of="2026-05-01", horizon_days=90)["expected_purchases"].sum()
    total = table.iloc[-1]
    assert total["segment"] == "all" and total["ratio"] == round(total["actual"] / predicted, 2)
    assert total["predicted"] == round(predicted, 1)
    assert table.attrs["model"] in {"bgnbd", "paretonbd"} and "busy_season" in table.attrs


@pytest.mark.skipif(not ONLINE_RETAIL.exists(), reason="shared data not present")
def test_online_retail_pre_christmas_window_is_flagged(tmp_path_factory):
    db = tmp_path_factory.mktemp("retail_season") / "retail.duckdb"
    import_file(db, ONLINE_RETAIL)
    with connect(db, read_only=True) as con:
        autumn = busy_season(con, dt.date(2011, 9, 10), dt.date(2011, 12, 9))
        spring = busy_season(con, dt.date(2011, 2, 1), dt.date(2011, 5, 1))
        table = backtest(con, as_of="2011-09-10", horizon_days=90)
    assert autumn["busy_season"] is True and autumn["season_index"] > 1.4
    assert spring["busy_season"] is False and spring["season_index"] < 1
    assert table.attrs["busy_season"] is True
