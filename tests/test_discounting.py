"""Value in money an owner can use: discounted month by month, profit when a margin is given, and a horizon
the models can support."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import cli
from segmentation.store import connect
from segmentation.value.clv import BGNBDFit, customer_value, expected_order_value, expected_purchases, fit_models
from segmentation.value.discounting import MAX_HORIZON_DAYS, discounted_purchases
from segmentation.vocabulary import AnalysisError

WEEK = 7.0


def _constant(fit: np.ndarray, t: float, frequency, recency, T) -> np.ndarray:
    """A customer who buys ``fit`` times a day, for ever: E[N(t)] = rate x t (t in weeks)."""
    return fit * t * WEEK


def test_two_steps_by_hand():
    """One purchase a day for a year in two half-year steps: 182.5 purchases each, discounted from 91.25 and
    273.75 days at 10% a year: 182.5 x (1.1^-0.25 + 1.1^-0.75) = 182.5 x (0.976454 + 0.931012) = 348.1126."""
    got = discounted_purchases(
        _constant, np.array([1.0]), [0], [0], [0], horizon_days=365, time_unit_days=WEEK, rate=0.10, step_days=182.5
    )
    assert got[0] == pytest.approx(348.1126, abs=1e-4)


@pytest.mark.parametrize("horizon", [30, 90, 365, 1095])
@pytest.mark.parametrize("rate", [0.05, 0.10, 0.25])
def test_constant_rate_matches_the_continuous_annuity(horizon, rate):
    """For a constant rate lambda the discounted count is lambda (1 - e^(-delta H)) / delta, delta the daily
    force of interest ln(1 + rate) / 365; the steps' midpoints (monthly, or a twelfth of a longer horizon) are
    within (delta x step)^2 / 24 of it."""
    rates = np.array([0.02, 0.5])
    got = discounted_purchases(
        _constant, rates, [0, 0], [0, 0], [0, 0], horizon_days=horizon, time_unit_days=WEEK, rate=rate
    )
    delta = math.log(1 + rate) / 365
    annuity = rates * (1 - math.exp(-delta * horizon)) / delta
    step = max(365.25 / 12, horizon / 12)
    np.testing.assert_allclose(got, annuity, rtol=(delta * step) ** 2 / 24 + 1e-12)
    assert (got < rates * horizon).all()  # discounting only lowers


def test_rate_zero_is_the_models_own_expectation():
    """The steps telescope: at 0% the sum is E[X(39 weeks)], FHL 2005's customer 1 (1.226 purchases)."""
    fit = BGNBDFit(
        r=0.243,
        alpha=4.414,
        a=0.793,
        b=2.426,
        log_likelihood=-9582.4,
        converged=True,
        n_customers=2357,
        time_unit_days=WEEK,
    )
    x, t_x, big_t = np.array([2.0, 0.0]), np.array([30.43, 0.0]), np.array([38.86, 38.86])
    plain = expected_purchases(fit, 39, x, t_x, big_t)
    undiscounted = discounted_purchases(
        expected_purchases, fit, x, t_x, big_t, horizon_days=39 * 7, time_unit_days=WEEK, rate=0.0
    )
    np.testing.assert_allclose(undiscounted, plain, rtol=1e-12)
    assert undiscounted[0] == pytest.approx(1.226, abs=2e-3)
    tenth = discounted_purchases(
        expected_purchases, fit, x, t_x, big_t, horizon_days=39 * 7, time_unit_days=WEEK, rate=0.10
    )
    # every purchase falls between today and 39 weeks: the discount lies between none and the full 39 weeks'
    assert ((plain * 1.1 ** (-273 / 365) < tenth) & (tenth < plain)).all()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db = tmp_path_factory.mktemp("discount-demo") / "shop.duckdb"
    assert cli.main(["demo", "--db", str(db), "--customers", "300"]) == 0
    return db


def test_customer_value_is_discounted_revenue_or_profit(demo):
    with connect(demo, read_only=True) as con:
        revenue = customer_value(con, horizon_days=365)
        profit = customer_value(con, horizon_days=365, margin=0.4, discount_rate=0.10)
        plain = customer_value(con, horizon_days=365, discount_rate=0.0)
        fits = fit_models(con)
    s = fits.summary
    by_hand = discounted_purchases(
        expected_purchases,
        fits.purchases,
        s["frequency"],
        s["recency"],
        s["T"],
        horizon_days=365,
        time_unit_days=WEEK,
        rate=0.10,
    )
    order_value = expected_order_value(fits.gamma_gamma, s["frequency"], s["monetary_value"])
    np.testing.assert_allclose(revenue["clv"], by_hand * order_value, rtol=1e-10)
    np.testing.assert_allclose(profit["clv"], 0.4 * revenue["clv"], rtol=1e-12)
    np.testing.assert_allclose(plain["clv"], plain["expected_purchases"] * plain["expected_order_value"])
    np.testing.assert_allclose(revenue["expected_purchases"], plain["expected_purchases"])  # a count: not discounted
    assert (revenue["clv"] <= plain["clv"]).all() and revenue["clv"].sum() < plain["clv"].sum()
    assert (revenue.attrs["value_kind"], profit.attrs["value_kind"]) == ("revenue", "profit")
    assert (revenue.attrs["discount_rate"], profit.attrs["margin"]) == (0.10, 0.4)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--horizon-days", "3650"], "between 1 and 1095 days"),
        (["--horizon-days", "0"], "between 1 and 1095 days"),
        (["--margin", "1.5"], "margin is a share of revenue"),
        (["--margin", "0"], "margin is a share of revenue"),
        (["--discount-rate", "-0.1"], "discount rate is a yearly share"),
    ],
    ids=["ten-years", "zero-days", "margin-above-one", "margin-zero", "negative-rate"],
)
def test_cli_refuses_what_value_cannot_mean(demo, capsys, flags, message):
    assert cli.main(["customers", "--db", str(demo), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_labels_value_revenue_or_profit(demo, capsys):
    assert cli.main(["customers", "--db", str(demo), "--horizon-days", str(MAX_HORIZON_DAYS)]) == 0
    assert "clv = expected revenue over the next 1095 days, in today's money (discounted at 10% a year)" in (
        capsys.readouterr().out
    )
    assert cli.main(["customers", "--db", str(demo), "--margin", "0.4", "--format", "json"]) == 0
    profit = {r["customer_id"]: r["clv"] for r in json.loads(capsys.readouterr().out)}
    assert cli.main(["customers", "--db", str(demo), "--format", "json"]) == 0
    revenue = {r["customer_id"]: r["clv"] for r in json.loads(capsys.readouterr().out)}
    assert profit.keys() == revenue.keys()
    assert all(profit[c] == pytest.approx(0.4 * revenue[c], abs=0.0071) for c in revenue)  # 2 places each
    with connect(demo, read_only=True) as con, pytest.raises(AnalysisError, match="three years"):
        customer_value(con, horizon_days=MAX_HORIZON_DAYS + 1)


def test_the_apps_margin_makes_predicted_value_profit(demo, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from segmentation import currency
    from tests.support import APP
    from tools.base import ToolContext
    from tools.registry import run_tool
    from tools.wording import money

    monkeypatch.setenv("SEGMENTS_DB", str(demo))
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.number_input(key="margin-percent").set_value(40.0).run()
    at.chat_input[0].set_value("How much will my customers spend in the next 90 days?").run()
    assert not at.exception, at.exception
    said = " ".join(m.value for m in [m for m in at.chat_message if m.name == "assistant"][-1].markdown)
    profit = run_tool("predict_value", {"horizon_days": 90, "margin": 0.4}, ToolContext(db_path=demo)).facts
    revenue = run_tool("predict_value", {"horizon_days": 90}, ToolContext(db_path=demo)).facts
    assert profit["value"] == pytest.approx(0.4 * revenue["value"], abs=0.01)
    with currency.using("GBP"):  # the demo shop's, shown beside every amount
        worth = f"worth {money(profit['value'])} of profit at a 40% margin, in today's money (discounted at 10% a year)"
    assert worth in said
