"""Which purchase model to trust for this shop: BG/NBD or Pareto/NBD, chosen by a back-test on its own data.

Neither model wins everywhere (on CDNOW the Pareto/NBD's 39-week forecast is closer, on other shops the
BG/NBD's can be), so each shop's history decides. The rule:

1. Split the history at a cut date: the holdout is the last half of the shop's window (first purchase to
   the as-of date), in whole weeks, at most ``MAX_HOLDOUT_WEEKS`` (39, the papers' CDNOW split) and at
   least ``MIN_HOLDOUT_WEEKS``.
2. Fit both models on the purchases up to the cut, predict each calibration customer's purchase days in the
   holdout, and compare with the purchase days they then made (customers new in the holdout are left out:
   the models forecast known customers).
3. The smaller total error |predicted - actual| / actual wins: a shop plans on totals. When the two are
   within ``TIE_POINTS`` (one percentage point), the smaller per-customer mean absolute error decides, unless
   those too are within 1% of each other (``TIE_MAE``).
   Per-customer error alone would reward predicting near zero for everyone, which MAE favours on
   zero-heavy data.

When the history is too short to hold out ``MIN_HOLDOUT_WEEKS`` or a model cannot be fitted on the first
part, BG/NBD stays, and the reason says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from segmentation.lifecycle import STORE_PURCHASES_SQL
from segmentation.vocabulary import AnalysisError

MODEL_NAMES = {"bgnbd": "BG/NBD", "paretonbd": "Pareto/NBD"}
DEFAULT_MODEL = "bgnbd"
MAX_HOLDOUT_WEEKS = 39
MIN_HOLDOUT_WEEKS = 4
TIE_POINTS = 0.01  # total errors closer than one percentage point are a tie, broken by per-customer error
TIE_MAE = 0.01  # per-customer errors within 1% of each other do not break it: the closer total stays


@dataclass(frozen=True)
class ModelScore:
    """One model's back-test: total predicted and actual purchase days over the holdout, and its errors."""

    model: str
    predicted: float
    actual: float
    total_error: float  # (predicted - actual) / actual, signed
    mae: float  # mean |predicted - actual| per customer


@dataclass(frozen=True)
class ModelChoice:
    """The chosen model's key (``MODEL_NAMES``), the sentence saying why, and the scores behind it."""

    chosen: str
    reason: str
    holdout_weeks: int = 0
    calibration_end: str | None = None
    scores: tuple[ModelScore, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"scores": [asdict(s) for s in self.scores]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelChoice:
        return cls(**(data | {"scores": tuple(ModelScore(**s) for s in data.get("scores", ()))}))


def _score(model: str, predicted: np.ndarray, actual: np.ndarray) -> ModelScore:
    total, bought = float(predicted.sum()), float(actual.sum())
    error = (total - bought) / bought if bought > 0 else float("inf")
    return ModelScore(model, total, bought, error, float(np.abs(predicted - actual).mean()))


def _off(score: ModelScore) -> str:
    if not np.isfinite(score.total_error):
        return f"{MODEL_NAMES[score.model]} predicted {score.predicted:,.0f} where nobody bought"
    side = "below" if score.total_error < 0 else "above"
    return f"{MODEL_NAMES[score.model]} {abs(score.total_error):.1%} {side} it"


def compare_models(calibration: pd.DataFrame, actual, holdout: float, *, season: str = "") -> ModelChoice:
    """Fit BG/NBD and Pareto/NBD on ``calibration`` (an ``rfm_summary``) and choose by the rule above.

    ``actual``: each calibration customer's purchase days in the holdout, in the summary's row order;
    ``holdout``: its length in the summary's time unit. ``season``: a clause added to the reason (e.g. that
    the holdout covers the busiest season). A model that cannot be fitted leaves the other, or BG/NBD.
    """
    from segmentation.value.clv import expected_purchases, fit_bgnbd
    from segmentation.value.paretonbd import fit_paretonbd

    actual = np.asarray(actual, dtype=float)
    if len(actual) != len(calibration):
        raise AnalysisError("The holdout purchases must have one number per calibration customer.")
    unit = float(calibration.attrs.get("time_unit_days", 1.0))
    weeks = round(holdout * unit / 7)
    x, t_x, big_t = (calibration[c] for c in ("frequency", "recency", "T"))
    scores, failed = [], []
    for key, fitter in (("bgnbd", fit_bgnbd), ("paretonbd", fit_paretonbd)):
        try:
            fit = fitter(calibration, time_unit_days=unit)
        except AnalysisError as exc:
            failed.append(f"{MODEL_NAMES[key]}: {exc}")
            continue
        if not fit.converged:
            failed.append(f"{MODEL_NAMES[key]} did not converge")
            continue
        scores.append(_score(key, expected_purchases(fit, holdout, x, t_x, big_t), actual))
    end = calibration.attrs.get("as_of")
    if not scores:
        reason = f"{MODEL_NAMES[DEFAULT_MODEL]}, the default: no model could be back-tested ({'; '.join(failed)})."
        return ModelChoice(DEFAULT_MODEL, reason, weeks, end)
    if len(scores) == 1:
        (only,) = scores
        reason = (
            f"{MODEL_NAMES[only.model]}, chosen: the only model that could be fitted on the data before {end} "
            f"({'; '.join(failed)})."
        )
        return ModelChoice(only.model, reason, weeks, end, tuple(scores))
    best, other, rule = pick(scores)
    bought = f"{best.actual:,.0f} purchases"
    if rule == "total":
        why = f"its forecast of the {bought} made over the last {weeks} weeks was closer ({_off(best)}, {_off(other)})"
    else:
        why = (
            f"over the last {weeks} weeks both total forecasts were within a point of the {bought} made "
            f"({_off(best)}, {_off(other)}), and "
            + (
                f"its per-customer error was smaller ({best.mae:.3f} against {other.mae:.3f} purchases)"
                if rule == "mae"
                else f"so were their per-customer errors ({best.mae:.3f}): the closer total decides"
            )
        )
    return ModelChoice(best.model, f"{MODEL_NAMES[best.model]}, chosen: {why}{season}.", weeks, end, tuple(scores))


def pick(scores: list[ModelScore]) -> tuple[ModelScore, ModelScore, str]:
    """(best, other, rule): the smaller total error wins ('total'); within ``TIE_POINTS`` the per-customer MAE
    decides ('mae') unless it too is within ``TIE_MAE`` (relative), when the closer total stays ('both')."""
    best, other = sorted(scores, key=lambda s: abs(s.total_error))
    if abs(abs(best.total_error) - abs(other.total_error)) >= TIE_POINTS:
        return best, other, "total"
    if abs(best.mae - other.mae) <= TIE_MAE * max(best.mae, other.mae):
        return best, other, "both"
    return (best, other, "mae") if best.mae < other.mae else (other, best, "mae")


def holdout_weeks(first_day: dt.date, as_of: dt.date) -> int:
    """The holdout's length for a window from ``first_day`` to ``as_of``: half of it to the nearest week, capped
    (CDNOW's 545 days give the standard 39 weeks)."""
    return min(MAX_HOLDOUT_WEEKS, round((as_of - first_day).days / 14))


def choose_model(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> ModelChoice:
    """``compare_models`` on the store's purchases up to ``as_of``, split as the module docstring says."""
    from segmentation.value.backtest import busy_season
    from segmentation.value.clv import MODEL_TIME_UNIT_DAYS, rfm_summary

    first = con.execute(f"SELECT min(day) FROM ({STORE_PURCHASES_SQL}) AS p", {"as_of": as_of}).fetchall()[0][0]
    weeks = holdout_weeks(first, as_of) if first is not None else 0
    if weeks < MIN_HOLDOUT_WEEKS:
        reason = (
            f"{MODEL_NAMES[DEFAULT_MODEL]}, the default: the history is too short to hold out "
            f"{MIN_HOLDOUT_WEEKS} weeks and compare the models."
        )
        return ModelChoice(DEFAULT_MODEL, reason, weeks)
    cut = as_of - dt.timedelta(weeks=weeks)
    calibration = rfm_summary(con, as_of=cut, time_unit_days=MODEL_TIME_UNIT_DAYS)
    bought = con.execute(
        f"SELECT customer_id, count(DISTINCT day) AS n FROM ({STORE_PURCHASES_SQL}) AS p "
        "WHERE day > $cut GROUP BY customer_id",
        {"as_of": as_of, "cut": cut},
    ).df()
    actual = calibration[["customer_id"]].merge(bought, on="customer_id", how="left")["n"].fillna(0)
    flag = busy_season(con, cut, as_of)
    season = ""
    if flag["busy_season"]:
        season = (
            f"; the held-out weeks cover the shop's busiest season ({flag['season_index']:.2f} times its "
            "average revenue for such a window), which models of steady buying do not foresee"
        )
    return compare_models(calibration, actual.to_numpy(), weeks * 7 / MODEL_TIME_UNIT_DAYS, season=season)
