"""Customer value and churn: BG/NBD for purchase counts and P(alive), Gamma-Gamma for spend.

Per customer this gives ``p_alive`` (the chance they still buy from the shop), ``expected_purchases``
over a horizon (90 days unless told, three years at most) and ``clv``: expected purchases, discounted
month by month at a yearly rate (10% unless told; ``segmentation.value.discounting``), x expected order value
x margin (revenue when no margin is given). Both models are fitted by maximum likelihood on the shop's
own customers.

Why our own code: ``lifetimes`` is archived and breaks on pandas 3; ``pymc-marketing``'s current
releases need Python >= 3.12 and compile a PyTensor graph for seconds before a fit. What a shop needs is
two closed-form likelihoods, a four- and a three-parameter optimisation and a few closed-form
predictions, all vectorised numpy/scipy (``gammaln``, ``betaln``, ``hyp2f1``, ``logaddexp``; no loop
over customers). The equations are the papers' and are tested against the papers' published CDNOW
fits (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science 24(2),
eqs. 6, 9, 10 and the P(alive) note http://brucehardie.com/notes/021/; Fader & Hardie 2013, "The
Gamma-Gamma model of monetary value", http://brucehardie.com/notes/025/, eqs. 1a and 5).

Inputs (``rfm_summary``), in the papers' sense: x = ``frequency`` = repeat purchase days (purchases on
one day are merged); t_x = ``recency`` = time from the first to the last purchase day; T = time from
the first purchase day to the as-of date; ``monetary_value`` = mean value of the repeat purchase days
(the first purchase is left out, as in the papers; 0 when x = 0). Orders whose net is <= 0 are not
purchases (DESIGN.md). A cancellation filed as an order of its own is netted onto the order it undoes at
import (``segmentation.importing.cancellations``): a fully undone order is no purchase, a partly undone one counts
for what was kept; one that matches no earlier order stays a return on its own day, which is no purchase.

Which purchase model. Beside the BG/NBD we fit the Pareto/NBD (``segmentation.value.paretonbd``), and the shop's own
time-split back-test chooses between them (``segmentation.value.modelchoice``): ``ModelFits.purchases`` is the chosen
fit and ``ModelFits.choice.reason`` the sentence saying why. ``p_alive`` and ``expected_purchases`` take either
fit, with the same signature.

One-time buyers, for P(alive) only. The plain BG/NBD lets a customer drop out only right after a repeat
purchase, so everyone with x = 0 gets P(alive) = 1, however long ago they bought. Our rule (explicit, on by
default in ``p_alive``, ``first_purchase_dropout``): the first purchase is also a chance to drop out, with the
same Beta(a, b) dropout probability, so P(alive | x = 0) = 1 / (1 + (a / b) ((alpha + T) / alpha) ^ r).
That is the MBG/NBD's P(alive) at x = 0 (Batislam et al. 2007) evaluated with the BG/NBD's own
parameters; it ranks one-time buyers better. Expected purchases are the model's own, unscaled: scaling them
by the rule made CDNOW's 39-week forecast worse (one-time buyers: 205 predicted, 334 bought; the total went
from 14% to 20% below what customers bought). So a BG/NBD one-time buyer's expected purchases are not
P(alive) x the purchases if alive; rank by ``expected_purchases`` or ``clv``, not by ``p_alive`` alone.

Limits: a shop needs at least ``MIN_CUSTOMERS`` purchasing customers and ``MIN_REPEAT_BUYERS`` who came
back (Gamma-Gamma fits three parameters on the repeat buyers alone; below ten it is noise), else
``ModelError``. A fit that does not converge (or a Gamma-Gamma fit with q <= 1, whose mean order value
is infinite) raises ``ModelError`` in ``fit_models``/``customer_value``; the fit functions themselves
return ``converged=False`` with the optimiser's message so a caller can inspect it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from segmentation.lifecycle import PURCHASE_DAYS_SQL, STORE_PURCHASES_SQL, USUAL_GAP_COUNT_SQL, USUAL_GAP_SQL
from segmentation.store import resolve_as_of
from segmentation.value.discounting import DEFAULT_DISCOUNT_RATE, check_value_inputs, discounted_purchases, value_kind
from segmentation.value.modelchoice import ModelChoice
from segmentation.vocabulary import AnalysisError

if TYPE_CHECKING:  # paretonbd imports this module's fitting helpers
    from segmentation.value.paretonbd import ParetoNBDFit

SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]
VALUE_COLUMNS = ["customer_id", "p_alive", "expected_purchases", "expected_order_value", "clv"]
MIN_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 10
MODEL_TIME_UNIT_DAYS = 7.0  # weeks: the unit the papers report alpha in, and ``segments model`` prints
_LOG_BOUND = 15.0  # log-parameters live in [-15, 15] after rescaling (3e-7 to 3e6)


class ModelError(AnalysisError):
    """The value models cannot be fitted on this shop's data; the message is one plain sentence."""


@dataclass(frozen=True)
class BGNBDFit:
    """BG/NBD parameters: purchase rates ~ Gamma(r, alpha), dropout probability ~ Beta(a, b)."""

    r: float
    alpha: float  # in units of time_unit_days
    a: float
    b: float
    log_likelihood: float
    converged: bool
    n_customers: int
    time_unit_days: float
    message: str = ""


@dataclass(frozen=True)
class GammaGammaFit:
    """Gamma-Gamma parameters: a customer's mean spend ~ p / Gamma(q, gamma) (Fader & Hardie 2013)."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    converged: bool
    n_customers: int
    message: str = ""

    @property
    def population_mean(self) -> float:
        """Expected order value of a customer we know nothing about: p gamma / (q - 1), if q > 1."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")


@dataclass(frozen=True)
class ModelFits:
    """The fits, the summary they were fitted on (times in weeks) and which purchase model the shop's
    back-test chose (``choice``; ``purchases`` is that fit)."""

    bgnbd: BGNBDFit
    gamma_gamma: GammaGammaFit
    summary: pd.DataFrame
    paretonbd: ParetoNBDFit | None = None
    choice: ModelChoice | None = None

    @property
    def purchases(self) -> BGNBDFit | ParetoNBDFit:
        """The purchase model to predict with: the back-test's choice, BG/NBD when there is none."""
        if self.choice is not None and self.choice.chosen == "paretonbd" and self.paretonbd is not None:
            return self.paretonbd
        return self.bgnbd

    def as_dict(self) -> dict[str, Any]:
        """The parameters as the command line prints them (alpha and beta in weeks), and the choice."""
        bg, gg, pn = self.bgnbd, self.gamma_gamma, self.paretonbd
        result: dict[str, Any] = {
            "bgnbd": {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b},
            "gamma_gamma": {"p": gg.p, "q": gg.q, "gamma": gg.gamma},
        }
        if pn is not None:
            result["paretonbd"] = {"r": pn.r, "alpha": pn.alpha, "s": pn.s, "beta": pn.beta}
        if self.choice is not None:
            result["chosen_model"] = self.choice.as_dict()
        return result


# ---------------------------------------------------------------- summaries

_SUMMARY_SQL = """
WITH days AS ({days})
SELECT customer_id,
       (count(*) - 1)::BIGINT AS frequency,
       date_diff('day', min(day), max(day)) / $unit AS recency,
       date_diff('day', min(day), $as_of) / $unit AS "T",
       -- zbar: the days with a gap, every one but the customer's first; exact, as the days' sums (lifecycle.py)
       coalesce(avg(value::DECIMAL(38, 6)) FILTER (WHERE gap IS NOT NULL), 0)::DOUBLE AS monetary_value{gaps}
FROM days
GROUP BY customer_id
ORDER BY customer_id
"""


def _summarise(
    con: duckdb.DuckDBPyConnection, purchases_sql: str, as_of: dt.date, unit: float, *, with_gaps: bool = False
) -> pd.DataFrame:
    """One SQL for the store and for plain frames, so both define x, t_x, T and zbar identically."""
    if not unit > 0:
        raise AnalysisError(f"The time unit must be a positive number of days, not {unit}.")
    sql = _SUMMARY_SQL.format(
        days=PURCHASE_DAYS_SQL.format(purchases=purchases_sql),
        gaps=f", {USUAL_GAP_SQL} AS usual_gap_days, {USUAL_GAP_COUNT_SQL} AS usual_gap_count" if with_gaps else "",
    )
    columns = [*SUMMARY_COLUMNS, "usual_gap_days", "usual_gap_count"] if with_gaps else SUMMARY_COLUMNS
    frame = con.execute(sql, {"as_of": as_of, "unit": float(unit)}).df()[columns]
    frame.attrs.update(as_of=as_of.isoformat(), time_unit_days=float(unit))
    return frame


def rfm_summary(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    time_unit_days: float = 1.0,
    with_gaps: bool = False,
) -> pd.DataFrame:
    """Per purchasing customer: ``frequency, recency, T, monetary_value`` as the models need them.

    Only purchases (orders with net > 0) on or before ``as_of`` count; purchases on one day are one
    purchase, because the models describe visits, not baskets. Times are in ``time_unit_days`` days.
    ``with_gaps`` adds ``usual_gap_days``, the customer's median days between purchase days (missing for
    one-time buyers): the lifecycle thresholds' input, read in the same pass (``customer_table``), and
    ``usual_gap_count``, the number of gaps it is the median of (the next order's date needs two).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    time_unit_days : float, default 1.0
        The unit of ``recency`` and ``T``, in days (7 for weeks).
    with_gaps : bool, default False
        Add ``usual_gap_days`` and ``usual_gap_count``.

    Returns
    -------
    pandas.DataFrame
        ``SUMMARY_COLUMNS``, a row per purchasing customer.
    """
    day = resolve_as_of(con, as_of)
    return _summarise(con, STORE_PURCHASES_SQL, day, time_unit_days, with_gaps=with_gaps)


def summary_from_transactions(
    frame: pd.DataFrame,
    *,
    customer_col: str,
    date_col: str,
    value_col: str,
    as_of: dt.date | str | None = None,
    time_unit_days: float = 1.0,
) -> pd.DataFrame:
    """``rfm_summary`` for a plain DataFrame of orders (one row each), e.g. another system's export.

    Rows with a value <= 0 are not purchases, as in the store; ``as_of`` defaults to the last date.
    The frame is not modified.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per order.
    customer_col, date_col, value_col : str
        The columns holding the customer, the date and the order's value.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    time_unit_days : float, default 1.0
        The unit of ``recency`` and ``T``, in days.

    Returns
    -------
    pandas.DataFrame
        ``SUMMARY_COLUMNS``, as ``rfm_summary``.
    """
    rows = pd.DataFrame(
        {
            "customer_id": frame[customer_col],
            "day": pd.to_datetime(frame[date_col]).dt.normalize(),
            "value": pd.to_numeric(frame[value_col]).astype(float),
        }
    )
    day = pd.Timestamp(as_of if as_of is not None else rows["day"].max()).date()
    with duckdb.connect() as con:
        con.register("rows_in", rows)
        purchases = (
            "SELECT customer_id, CAST(day AS DATE) AS day, value FROM rows_in "
            "WHERE customer_id IS NOT NULL AND value > 0 AND CAST(day AS DATE) <= $as_of"
        )
        return _summarise(con, purchases, day, time_unit_days)


# ---------------------------------------------------------------- fitting


def _arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, t_x, big_t = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(big_t).all()):
        raise AnalysisError("The summary has missing or infinite values in frequency, recency or T.")
    if (x < 0).any() or (x != np.round(x)).any() or (t_x < 0).any() or (t_x > big_t + 1e-9).any():
        raise AnalysisError("The summary is inconsistent: frequency must be a whole number >= 0 and 0 <= recency <= T.")
    return x, t_x, big_t


def _check_size(n_customers: int, n_repeat: int) -> None:
    if n_customers < MIN_CUSTOMERS or n_repeat < MIN_REPEAT_BUYERS:
        raise ModelError(
            f"Predicting value needs at least {MIN_CUSTOMERS} customers of whom {MIN_REPEAT_BUYERS} bought again, "
            f"and this shop has {n_customers} customers of whom {n_repeat} bought again."
        )


def minimize(*args: Any, **kwargs: Any) -> Any:
    """``scipy.optimize.minimize``, imported on first use: the import takes half a second, and reading a shop
    whose fits are cached (``fit_models``) never optimises."""
    from scipy.optimize import minimize as scipy_minimize

    return scipy_minimize(*args, **kwargs)


def _maximise(
    neg_ll,
    start: np.ndarray,
    names: tuple[str, ...],
    *,
    jac: bool = False,
    upper: tuple[float, ...] | None = None,
) -> tuple[np.ndarray, bool, str]:
    """Minimise a negative log-likelihood over log-parameters: L-BFGS-B, then Nelder-Mead if it fails.

    Returns (log-parameters, converged, message). A parameter that ends at the edge of its range is
    named in the message but still converged: those edges are the models' limiting cases (no dropout,
    everyone buying at the same rate, every order worth the same), which the data can legitimately
    support and whose predictions are sound. ``upper``: a log-parameter's own upper edge where a model's
    limiting case comes sooner (the Pareto/NBD's ``s``).
    """
    highs = upper if upper is not None else (_LOG_BOUND,) * len(start)
    bounds = [(-_LOG_BOUND, high) for high in highs]
    # gtol well below scipy's default: the CDNOW likelihood is flat along a ridge in (a, b) and (p, gamma),
    # and the default stops early enough to move b and gamma in their published digits.
    options = {"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8}
    if not jac:
        # Finite differences over 1e-6 rather than scipy's 1e-8: a likelihood through scipy's 2F1 is accurate to
        # about 1e-12, which over 1e-8 steps is gradient noise; L-BFGS-B's line search then failed on the demo
        # shop at 2026-06-01 (1,300 likelihoods) and converged in 285 with the wider step, to the same optimum.
        options["eps"] = 1e-6
    res = minimize(neg_ll, start, method="L-BFGS-B", jac=jac, bounds=bounds, options=options)
    agreed = False
    if not res.success or not np.isfinite(res.fun):
        first = res
        value_only = (lambda theta: neg_ll(theta)[0]) if jac else neg_ll
        res = minimize(
            value_only, res.x if np.isfinite(res.fun) else start, method="Nelder-Mead", bounds=bounds,
            options={"maxiter": 8000, "xatol": 1e-9, "fatol": 1e-12},
        )  # fmt: skip
        # Toward a limiting case (no dropout: a -> 0 with b large) the likelihood is flat along a ridge: L-BFGS-B's
        # line search gives up and Nelder-Mead crawls along it until its iterations run out, neither finding a
        # better value. Two methods agreeing on the optimum's value to 1e-9 is convergence for the predictions.
        agreed = bool(
            np.isfinite(first.fun)
            and np.isfinite(res.fun)
            and abs(first.fun - res.fun) <= 1e-9 * max(1.0, abs(res.fun))
        )
    converged = (bool(res.success) or agreed) and bool(np.isfinite(res.fun))
    at_edge = [n for n, v, high in zip(names, res.x, highs, strict=True) if v < -_LOG_BOUND + 1e-3 or v > high - 1e-3]
    message = str(res.message).rstrip(".")
    if agreed and not res.success:
        message = "the likelihood is flat toward a limiting case; two methods agree on its maximum"
    if at_edge:
        message += f"; {', '.join(at_edge)} at the edge of its range (limiting case)"
    return res.x, converged, message


class _Values:
    """A column of numbers that functions of it alone are applied to: here, to every row."""

    def __init__(self, values) -> None:
        self.values = np.asarray(values, dtype=float)

    def apply(self, f) -> np.ndarray:
        return f(self.values)


class _Distinct(_Values):
    """A column applied to once per distinct value, then spread back to the rows. While fitting, the
    likelihood's special functions (gammaln, betaln, digamma: most of each step's time) depend on one of
    x, t_x and T at a time, and each takes a few hundred values among hundreds of thousands of rows."""

    def __init__(self, values) -> None:
        super().__init__(values)
        self._distinct, self._index = np.unique(self.values, return_inverse=True)

    def apply(self, f) -> np.ndarray:
        return f(self._distinct)[self._index]


def _values(*columns) -> tuple[_Values, ...]:
    return tuple(c if isinstance(c, _Values) else _Values(c) for c in columns)


def _bgnbd_ll(r: float, alpha: float, a: float, b: float, x, t_x, big_t) -> np.ndarray:
    """Per-customer log-likelihood, FHL 2005 eq. 6, with the two terms combined by log-sum-exp."""
    x, t_x, big_t = _values(x, t_x, big_t)
    log_main = (
        x.apply(lambda v: gammaln(r + v) + betaln(a, b + v)) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
        - (r + x.values) * big_t.apply(lambda v: np.log(alpha + v))
    )  # fmt: skip
    dropout = _dropout_log_odds(r, alpha, a, b, x, t_x, big_t)
    return log_main + np.where(x.values > 0, np.logaddexp(0.0, dropout), 0.0)


def _bgnbd_gradient(r: float, alpha: float, a: float, b: float, x, t_x, big_t) -> tuple[np.ndarray, ...]:
    """Per-customer derivatives of ``_bgnbd_ll`` in r, alpha, a and b.

    The likelihood's second term enters through log(1 + e^D), D the dropout log-odds, so each derivative is
    the first term's plus sigmoid(D) times D's own. With it the optimiser needs one evaluation per step
    instead of five (finite differences in four parameters).
    """
    x, t_x, big_t = _values(x, t_x, big_t)
    n = x.values
    dropout = np.where(n > 0, expit(_dropout_log_odds(r, alpha, a, b, x, t_x, big_t)), 0.0)
    log_big_t, log_t_x = big_t.apply(lambda v: np.log(alpha + v)), t_x.apply(lambda v: np.log(alpha + v))
    inv_big_t, inv_t_x = big_t.apply(lambda v: 1 / (alpha + v)), t_x.apply(lambda v: 1 / (alpha + v))
    d_r = x.apply(lambda v: digamma(r + v)) - digamma(r) + np.log(alpha) - log_big_t + dropout * (log_big_t - log_t_x)
    d_alpha = r / alpha - (r + n) * inv_big_t + dropout * (r + n) * (inv_big_t - inv_t_x)
    d_a = digamma(a + b) - x.apply(lambda v: digamma(a + b + v)) + dropout / a
    d_b = (
        x.apply(lambda v: digamma(b + v) - digamma(a + b + v)) - digamma(b) + digamma(a + b)
        - dropout * x.apply(lambda v: 1 / (b + np.maximum(v, 1) - 1))
    )  # fmt: skip
    return d_r, d_alpha, d_a, d_b


def _distinct_triples(x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct (x, t_x, T) and how many customers share each: a sort on three keys, then the runs
    (``np.unique(..., axis=0)`` does the same through a row-wise sort several times slower)."""
    order = np.lexsort((big_t, t_x, x))
    xs, ts, bs = x[order], t_x[order], big_t[order]
    starts = np.flatnonzero(np.r_[True, (xs[1:] != xs[:-1]) | (ts[1:] != ts[:-1]) | (bs[1:] != bs[:-1])])
    counts = np.diff(np.r_[starts, len(xs)])
    return xs[starts], ts[starts], bs[starts], counts


class _Histories(NamedTuple):
    """A summary as the fits read it: the distinct (x, t_x, T) of its customers, how many customers share each
    and that share (the weights), and the scale that makes the longest T 10 time units, whatever the unit."""

    n: int
    x: np.ndarray
    t_x: np.ndarray
    big_t: np.ndarray
    counts: np.ndarray
    weights: np.ndarray
    scale: float


def _histories(summary: pd.DataFrame) -> _Histories:
    """The summary's distinct histories, after checking there are enough customers and repeat buyers to fit."""
    x, t_x, big_t = _arrays(summary)
    _check_size(len(x), int((x > 0).sum()))
    scale = 10.0 / big_t.max() if big_t.max() > 0 else 1.0
    ux, ut, u_big_t, counts = _distinct_triples(x, t_x, big_t)
    return _Histories(len(x), ux, ut, u_big_t, counts, counts / counts.sum(), scale)


def _dropout_log_odds(r: float, alpha: float, a: float, b: float, x, t_x, big_t) -> np.ndarray:
    """log(P(dropped out) / P(alive)) given (x, t_x, T); at x = 0 it is the first-purchase rule's.

    For x > 0 this is the ratio of the likelihood's two terms, a / (b + x - 1) ((alpha+T)/(alpha+t_x))^(r+x);
    at x = 0 ``max(x, 1)`` turns it into (a / b) ((alpha+T)/alpha)^r, the rule in the module docstring.
    """
    x, t_x, big_t = _values(x, t_x, big_t)
    return (
        x.apply(lambda v: np.log(a) - np.log(b + np.maximum(v, 1) - 1))
        + (r + x.values) * (big_t.apply(lambda v: np.log(alpha + v)) - t_x.apply(lambda v: np.log(alpha + v)))
    )  # fmt: skip


def fit_bgnbd(summary: pd.DataFrame, *, time_unit_days: float | None = None) -> BGNBDFit:
    """Fit the BG/NBD by maximum likelihood on ``frequency, recency, T``.

    Times are rescaled so the oldest customer's T is 10 while fitting (the optimiser then sees alpha near
    1 whatever the unit); r, a, b do not depend on the unit, alpha is returned in the summary's unit
    (``time_unit_days``, default the summary's ``attrs`` or 1 day) and the log-likelihood too, so it is
    comparable with the paper's -9582.4 in weeks.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``rfm_summary`` (or ``summary_from_transactions``): ``frequency, recency, T, monetary_value``.
    time_unit_days : float, optional
        The summary's time unit in days; default its ``attrs['time_unit_days']``, else 1.

    Returns
    -------
    BGNBDFit
        ``r, alpha, a, b``, the log-likelihood and whether it converged.
    """
    # Customers with the same (x, t_x, T) add the same term: fit on the distinct triples, weighted by how
    # many customers share each. The objective is the same mean, at a fraction of the cost in a big shop
    # (times are whole days, so most one-time buyers of a day share a triple).
    n, ux, ut, u_big_t, counts, weights, scale = _histories(summary)
    histories = (_Distinct(ux), _Distinct(ut * scale), _Distinct(u_big_t * scale))

    def neg_ll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        args = (*params, *histories)
        value = -(weights * _bgnbd_ll(*args)).sum()
        # In log-parameters: d/d(log p) = p d/dp.
        grad = -np.array([(weights * d).sum() for d in _bgnbd_gradient(*args)]) * params
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            return 1e300, np.zeros(4)
        return float(value), grad

    theta, converged, message = _maximise(neg_ll, np.zeros(4), ("r", "alpha", "a", "b"), jac=True)
    r, alpha, a, b = np.exp(theta)
    alpha /= scale
    unit = time_unit_days if time_unit_days is not None else summary.attrs.get("time_unit_days", 1.0)
    ll = float((counts * _bgnbd_ll(r, alpha, a, b, _Distinct(ux), _Distinct(ut), _Distinct(u_big_t))).sum())
    return BGNBDFit(float(r), float(alpha), float(a), float(b), ll, converged, n, float(unit), message)


def _gamma_gamma_ll(p: float, q: float, gamma: float, x, m) -> np.ndarray:
    """Per-customer log-likelihood of the mean spend m over x purchases (Fader & Hardie 2013, eq. 1a)."""
    (x,) = _values(x)
    m = np.asarray(m, dtype=float)
    px = p * x.values
    return (
        x.apply(lambda v: p * v * np.log(v) - betaln(p * v, q)) + q * np.log(gamma) + (px - 1) * np.log(m)
        - (px + q) * np.log(gamma + m * x.values)
    )  # fmt: skip


def _gamma_gamma_gradient(p: float, q: float, gamma: float, x, m) -> tuple[np.ndarray, ...]:
    """Per-customer derivatives of ``_gamma_gamma_ll`` in p, q and gamma (d/du betaln(u, v) is
    digamma(u) - digamma(u + v)): one evaluation per optimiser step instead of four."""
    (x,) = _values(x)
    m = np.asarray(m, dtype=float)
    n = x.values
    both = x.apply(lambda v: digamma(p * v + q))
    log_total = np.log(gamma + m * n)
    d_p = n * (both - x.apply(lambda v: digamma(p * v) - np.log(v)) + np.log(m) - log_total)
    d_q = both - digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (p * n + q) / (gamma + m * n)
    return d_p, d_q, d_gamma


def fit_gamma_gamma(summary: pd.DataFrame) -> GammaGammaFit:
    """Fit the Gamma-Gamma spend model on the customers with ``frequency > 0`` and ``monetary_value > 0``.

    One-time buyers carry no repeat spend to learn from (the papers leave them out too). Money is rescaled
    to a mean of 1 while fitting, so gamma is returned in the shop's currency whatever its size.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``rfm_summary`` (or ``summary_from_transactions``): ``frequency, recency, T, monetary_value``.

    Returns
    -------
    GammaGammaFit
        ``p, q, gamma``, the log-likelihood and whether it converged.
    """
    keep = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    x = summary.loc[keep, "frequency"].to_numpy(dtype=float)
    m = summary.loc[keep, "monetary_value"].to_numpy(dtype=float)
    _check_size(len(summary), len(x))
    scale = 1.0 / m.mean()

    m_scaled = m * scale
    purchases = _Distinct(x)

    def neg_ll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(theta)
        p, q, gamma = params
        value = -_gamma_gamma_ll(p, q, gamma, purchases, m_scaled).mean()
        grad = -np.array([d.mean() for d in _gamma_gamma_gradient(p, q, gamma, purchases, m_scaled)]) * params
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            return 1e300, np.zeros(3)
        return float(value), grad

    theta, converged, message = _maximise(neg_ll, np.zeros(3), ("p", "q", "gamma"), jac=True)
    p, q, gamma = np.exp(theta)
    gamma /= scale
    if converged and q <= 1:
        converged, message = False, f"q = {q:.3g} <= 1: the average order value is unbounded under the model"
    ll = float(_gamma_gamma_ll(p, q, gamma, x, m).sum())
    return GammaGammaFit(float(p), float(q), float(gamma), ll, converged, len(x), message)


# ---------------------------------------------------------------- predictions


def p_alive(fit: BGNBDFit | ParetoNBDFit, frequency, recency, T, *, first_purchase_dropout: bool = True) -> np.ndarray:
    """Probability that each customer is still active (FHL note 021), in [0, 1].

    With ``first_purchase_dropout`` (default) BG/NBD one-time buyers get the rule in the module docstring, so
    their P(alive) falls as time passes; without it, the plain BG/NBD's 1. A Pareto/NBD fit gives its own
    P(alive), which needs no such rule (``paretonbd.p_alive``).

    Parameters
    ----------
    fit : BGNBDFit or ParetoNBDFit
        A fitted purchase model (``fit_bgnbd``, ``fit_paretonbd``, ``fit_models(...).purchases``).
    frequency, recency, T : array-like
        Each customer's repeat purchases, first-to-last and first-to-now times (``rfm_summary``).
    first_purchase_dropout : bool, default True
        Let BG/NBD one-time buyers drop out too (the module's rule).

    Returns
    -------
    numpy.ndarray
        Each customer's chance of still being a customer, in [0, 1].
    """
    if not isinstance(fit, BGNBDFit):
        from segmentation.value import paretonbd

        return paretonbd.p_alive(fit, frequency, recency, T)
    x, t_x, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    prob = expit(-_dropout_log_odds(fit.r, fit.alpha, fit.a, fit.b, x, t_x, big_t))
    return prob if first_purchase_dropout else np.where(x > 0, prob, 1.0)


def _purchases_if_alive(fit: BGNBDFit, t, x, big_t) -> np.ndarray:
    """E[purchases in (T, T + t] | alive, x], the bracket of FHL eq. 10 (eq. 9 at x = 0, T = 0).

    Written after Euler's transformation, 2F1(r+x, b+x; c; z) (1-z)^(r+x) = (1-z)^(a-1) 2F1(a+b-1-r, a-1;
    c; z) with c = a + b + x - 1, so x only enters through c and the series converges faster as x grows.
    The paper's form multiplies a 2F1 that grows like (1-z)^-x by a power that shrinks like (1-z)^x,
    which overflows to inf x 0 = nan for hundreds of purchases and z near 1; this one does not (checked
    against a 50-digit series to 1e-11, and against the paper's form on CDNOW in the tests). Euler's form
    has its own overflow, when a is in the thousands (a short history, where the likelihood runs along its
    ridge towards a fixed dropout chance: a million-customer shop over three months fitted a = 4,683,
    b = 1.3M): there the paper's form is finite and is used instead.
    """
    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    x, big_t = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(big_t, dtype=float))
    c = a + b + x - 1
    z = t / (alpha + big_t + t)
    with np.errstate(over="ignore", invalid="ignore"):
        bracket = 1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        overflowed = ~np.isfinite(bracket)
        if overflowed.any():
            xo, co, zo = x[overflowed], c[overflowed], np.broadcast_to(z, x.shape)[overflowed]
            bracket = np.array(bracket, dtype=float)
            bracket[overflowed] = 1 - (1 - zo) ** (r + xo) * hyp2f1(r + xo, b + xo, co, zo)
    return c / (a - 1) * bracket


def expected_purchases(
    fit: BGNBDFit | ParetoNBDFit, t: float, frequency, recency, T, *, first_purchase_dropout: bool = False
) -> np.ndarray:
    """Expected purchases in the next ``t`` time units given each history (FHL 2005 eq. 10; for a Pareto/NBD
    fit, ``paretonbd.expected_purchases``), in the fit's time unit.

    The model's own expectation, unscaled (module docstring). ``first_purchase_dropout=True`` gives the old
    BG/NBD one-time-buyer scaling (P(alive) by the rule x the purchases if alive), kept for comparison.

    Parameters
    ----------
    fit : BGNBDFit or ParetoNBDFit
        A fitted purchase model (``fit_bgnbd``, ``fit_paretonbd``, ``fit_models(...).purchases``).
    t : float
        The horizon, in the fit's time unit.
    frequency, recency, T : array-like
        Each customer's repeat purchases, first-to-last and first-to-now times (``rfm_summary``).
    first_purchase_dropout : bool, default False
        Scale BG/NBD one-time buyers by the P(alive) rule (for comparison).

    Returns
    -------
    numpy.ndarray
        Each customer's expected purchases in the next ``t``.
    """
    if not isinstance(fit, BGNBDFit):
        from segmentation.value import paretonbd

        return paretonbd.expected_purchases(fit, t, frequency, recency, T)
    x, _, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    alive = p_alive(fit, frequency, recency, T, first_purchase_dropout=first_purchase_dropout)
    return np.clip(alive * _purchases_if_alive(fit, float(t), x, big_t), 0.0, None)


def expected_purchases_unconditional(fit: BGNBDFit, t) -> np.ndarray:
    """Expected repeat purchases in ``t`` time units of a new customer, from their first purchase (eq. 9)."""
    t = np.asarray(t, dtype=float)
    return np.clip(_purchases_if_alive(fit, t, np.zeros_like(t), np.zeros_like(t)), 0.0, None)


def expected_order_value(gg_fit: GammaGammaFit, frequency, monetary_value) -> np.ndarray:
    """Expected value of a customer's future orders (Fader & Hardie 2013, eq. 5).

    A weighted mean of the customer's own repeat-order mean and the population mean p gamma / (q - 1),
    weighted by p x / (p x + q - 1): few repeat purchases, mostly the population. One-time buyers
    (x = 0) get the population mean.

    Parameters
    ----------
    gg_fit : GammaGammaFit
        A fitted spend model (``fit_gamma_gamma``).
    frequency, monetary_value : array-like
        Each customer's repeat purchases and mean repeat value.

    Returns
    -------
    numpy.ndarray
        Each customer's expected order value.
    """
    if not gg_fit.q > 1:
        raise ModelError("The shop's order values are too uneven to estimate an average order value.")
    x = np.asarray(frequency, dtype=float)
    m = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
    p, q, gamma = gg_fit.p, gg_fit.q, gg_fit.gamma
    return p * (gamma + m * x) / (p * x + q - 1)


# ---------------------------------------------------------------- the shop


def fit_models(
    con: duckdb.DuckDBPyConnection, *, as_of: dt.date | str | None = None, summary: pd.DataFrame | None = None
) -> ModelFits:
    """Fit the models on the shop's summary in weeks and choose the purchase model; raise ModelError unless the
    BG/NBD and Gamma-Gamma converge (a Pareto/NBD that does not is left out, and the choice says so).

    Fits are cached in the store per data version and as-of date (``model_cache``): the import warms the
    cache for the default date, so reading customers does not refit; a new import changes the version.
    A read-only connection uses the cache but cannot add to it. ``summary``: the store's ``rfm_summary`` in
    weeks at ``as_of``, when the caller has read it already (its own as-of date is used).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    summary : pandas.DataFrame, optional
        The store's ``rfm_summary`` in weeks, if already read.

    Returns
    -------
    ModelFits
        The BG/NBD, Gamma-Gamma and Pareto/NBD fits, the summary, and the chosen purchase model.
    """
    from segmentation.value.modelchoice import choose_model
    from segmentation.value.paretonbd import fit_paretonbd

    if summary is None:
        summary = rfm_summary(con, as_of=as_of, time_unit_days=MODEL_TIME_UNIT_DAYS)
    elif summary.attrs.get("time_unit_days") != MODEL_TIME_UNIT_DAYS:
        raise AnalysisError(f"The value models need a summary in weeks ({MODEL_TIME_UNIT_DAYS:g} days).")
    day = dt.date.fromisoformat(summary.attrs["as_of"])
    cached = _cached_fits(con, day)
    if cached is not None:
        return ModelFits(cached[0], cached[1], summary, cached[2], cached[3])
    bgnbd = fit_bgnbd(summary, time_unit_days=MODEL_TIME_UNIT_DAYS)
    if not bgnbd.converged:
        raise ModelError(f"The purchase model did not converge on this shop's data ({bgnbd.message}).")
    gamma_gamma = fit_gamma_gamma(summary)
    if not gamma_gamma.converged:
        raise ModelError(f"The order-value model did not converge on this shop's data ({gamma_gamma.message}).")
    paretonbd = fit_paretonbd(summary, time_unit_days=MODEL_TIME_UNIT_DAYS)
    choice = choose_model(con, day)
    if choice.chosen == "paretonbd" and not paretonbd.converged:
        # The back-test's Pareto/NBD converged on the first part of the data, this one did not.
        choice = ModelChoice(
            "bgnbd",
            f"BG/NBD, chosen: the Pareto/NBD did not converge on the whole data ({paretonbd.message}).",
            choice.holdout_weeks,
            choice.calibration_end,
            choice.scores,
        )
    _remember_fits(con, day, bgnbd, gamma_gamma, paretonbd, choice)
    return ModelFits(bgnbd, gamma_gamma, summary, paretonbd, choice)


_CACHE_KEYS = {"bgnbd", "gamma_gamma", "paretonbd", "choice"}


def _cached_fits(
    con: duckdb.DuckDBPyConnection, day: dt.date
) -> tuple[BGNBDFit, GammaGammaFit, ParetoNBDFit, ModelChoice] | None:
    from segmentation.store import data_version
    from segmentation.value.paretonbd import ParetoNBDFit

    try:
        rows = con.execute(
            "SELECT fits_json FROM model_cache WHERE data_version = ? AND as_of = ? ORDER BY created_at DESC LIMIT 1",
            [data_version(con), day],
        ).fetchall()
    except duckdb.CatalogException:  # a store from before the cache existed
        return None
    if not rows:
        return None
    fits = json.loads(rows[0][0])
    if not set(fits) >= _CACHE_KEYS:  # cached before the Pareto/NBD and the model choice: fit again
        return None
    try:
        return (
            BGNBDFit(**fits["bgnbd"]),
            GammaGammaFit(**fits["gamma_gamma"]),
            ParetoNBDFit(**fits["paretonbd"]),
            ModelChoice.from_dict(fits["choice"]),
        )
    except TypeError:  # fields renamed since: fit again rather than fail
        return None


def _remember_fits(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    bgnbd: BGNBDFit,
    gg: GammaGammaFit,
    paretonbd: ParetoNBDFit,
    choice: ModelChoice,
) -> None:
    from segmentation.store import data_version

    fits = {
        "bgnbd": asdict(bgnbd),
        "gamma_gamma": asdict(gg),
        "paretonbd": asdict(paretonbd),
        "choice": choice.as_dict(),
    }
    with contextlib.suppress(duckdb.Error):  # read-only or sandboxed: the next writer will cache it
        con.execute(
            "INSERT INTO model_cache VALUES (?, ?, ?, now()::TIMESTAMP)", [data_version(con), day, json.dumps(fits)]
        )


def customer_value(
    con: duckdb.DuckDBPyConnection,
    *,
    as_of: dt.date | str | None = None,
    horizon_days: int = 90,
    margin: float | None = None,
    discount_rate: float = DEFAULT_DISCOUNT_RATE,
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per customer with a purchase on or before ``as_of``; columns ``VALUE_COLUMNS``.

    ``clv`` = expected purchases in the next ``horizon_days``, discounted month by month at the yearly
    ``discount_rate`` (``segmentation.value.discounting``), x expected order value x ``margin`` (the share of
    revenue that is profit; None: revenue, ``attrs["value_kind"]`` says which), never negative.
    ``expected_purchases`` stays undiscounted: a count. ``summary``: as in ``fit_models``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A shop's store: ``segmentation.frames.from_orders`` or ``segmentation.store.connect``.
    as_of : datetime.date or str, optional
        The inclusive as-of date (``'YYYY-MM-DD'``); default the day of the last order.
    horizon_days : int, default 90
        Days ahead to predict (1 to 1,095).
    margin : float, optional
        Share of revenue that is profit; default None (revenue).
    discount_rate : float, default 0.1
        Yearly discount rate.
    summary : pandas.DataFrame, optional
        The store's ``rfm_summary`` in weeks, if already read.

    Returns
    -------
    pandas.DataFrame
        ``VALUE_COLUMNS``: ``p_alive``, ``expected_purchases``, ``expected_order_value``, ``clv`` per customer.
    """
    check_value_inputs(horizon_days=horizon_days, margin=margin, discount_rate=discount_rate)
    fits = fit_models(con, as_of=as_of, summary=summary)
    s = fits.summary
    x, t_x, big_t = s["frequency"], s["recency"], s["T"]
    model = fits.purchases  # the back-test's choice; its expected purchases unscaled
    purchases = expected_purchases(model, horizon_days / MODEL_TIME_UNIT_DAYS, x, t_x, big_t)
    order_value = expected_order_value(fits.gamma_gamma, x, s["monetary_value"])
    discounted = discounted_purchases(
        expected_purchases,
        model,
        x,
        t_x,
        big_t,
        horizon_days=horizon_days,
        time_unit_days=MODEL_TIME_UNIT_DAYS,
        rate=discount_rate,
    )
    frame = pd.DataFrame(
        {
            "customer_id": s["customer_id"].array,  # as it is: to_numpy() makes 800,000 Python strings
            "p_alive": p_alive(model, x, t_x, big_t),
            "expected_purchases": purchases,
            "expected_order_value": order_value,
            "clv": np.clip(discounted * order_value * (1.0 if margin is None else margin), 0.0, None),
        }
    )
    frame.attrs.update(
        as_of=s.attrs["as_of"],
        horizon_days=int(horizon_days),
        margin=margin,
        discount_rate=float(discount_rate),
        value_kind=value_kind(margin),
        model="paretonbd" if model is fits.paretonbd else "bgnbd",
        model_reason=fits.choice.reason if fits.choice is not None else "",
    )
    return frame[VALUE_COLUMNS]
