"""Pareto/NBD: purchases ~ Poisson(lambda) while alive, lifetimes ~ Exponential(mu), both rates gamma-distributed.

The BG/NBD's sibling (Schmittlein, Morrison & Colombo 1987). Where the BG/NBD lets a customer leave only
right after a purchase, here a customer can leave at any moment, one-time buyers included, so no
one-time-buyer rule is needed. Its likelihood is closed form with a Gauss hypergeometric function; we follow
Fader, Hardie & Lee (2005), "A note on implementing the Pareto/NBD model in MATLAB",
http://brucehardie.com/notes/008/ (eqs. 19-22 for the likelihood, 23-24 for the expectations), whose
CDNOW fit (r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67, LL = -9594.98) the tests reproduce.

Numerics. The likelihood needs 2F1(r+s+x, b; r+s+x+1; z) with z = |alpha - beta| / (max(alpha, beta) + t);
the note takes b = s + 1 when alpha >= beta and b = r + x otherwise, so that z stays in [0, 1) (the
published trick for alphas and betas far apart). For b = r + x that series grows like (1 - z)^(1-r-x) and
overflows for hundreds of purchases, so we evaluate it after Euler's transformation,
2F1(a, b; a+1; z) = (1 - z)^(1-b) 2F1(1, a+1-b; a+1; z), whose series has positive terms and stays below
1 / (1 - z): its logarithm is then exact where the plain form would be inf. Everything is vectorised over
the distinct (x, t_x, T) of a shop's customers (``clv._histories``), no loop over customers.

Every prediction function takes ``(fit, t, frequency, recency, T)`` like ``clv.expected_purchases``, so a
caller can use whichever model a shop's back-test chose (``segmentation.value.modelchoice``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, gammaln, hyp2f1

from segmentation.value.clv import _LOG_BOUND, _histories, _maximise

# The dropout rates' gamma shape at most: at s = 100 the rates differ by 10% (1 / sqrt(s)) around their mean, the
# limiting case of customers who all leave at the same rate. Where a shop's data leans there (the demo shop) the
# likelihood rises by thousandths toward s -> infinity (0.006 from s = 100 to 164 on the 400-customer demo), and
# past s = 164 scipy's 2F1 returns nan near z = 1: without the edge, Nelder-Mead crawled along the wall for 48,000
# likelihoods (6 minutes) and stopped unconverged.
MAX_S = 100.0


@dataclass(frozen=True)
class ParetoNBDFit:
    """Pareto/NBD parameters: purchase rates ~ Gamma(r, alpha), dropout rates ~ Gamma(s, beta)."""

    r: float
    alpha: float  # in units of time_unit_days
    s: float
    beta: float  # in units of time_unit_days
    log_likelihood: float
    converged: bool
    n_customers: int
    time_unit_days: float
    message: str = ""


def _log_2f1_a_plus_one(a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """log 2F1(a, b; a + 1; z) for 0 <= z < 1, through Euler's transformation (module docstring)."""
    with np.errstate(divide="ignore"):
        return (1.0 - b) * np.log1p(-z) + np.log(hyp2f1(1.0, a + 1.0 - b, a + 1.0, z))


def _log_gone_series(r: float, alpha: float, s: float, beta: float, x, t_x, big_t) -> np.ndarray:
    """log of s * integral_{t_x}^{T} (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau where alpha and beta are far apart.

    The likelihood's second term is that integral (the note's A_0 is its closed form). With p the smaller of
    alpha and beta and q the larger, (q + tau) = (q - p)(1 + u), u = (p + tau) / (q - p); expanding its power
    binomially leaves integrals of powers of (p + tau): a series of elementary terms whose k-th is at most
    u^k (Q)_k / k! of the first, Q the expanded power. Used where it converges (``_series_converges``):
    there the closed form's 2F1 has z near 1, where scipy's series needs thousands of terms (30 ms per
    likelihood on Online Retail, whose fit runs to the no-dropout edge, beta -> infinity) or returns nan
    (c in the hundreds), and this needs a few (eight at u = 0.01). Tested against the closed form.
    """
    x, t_x, big_t = (np.asarray(v, dtype=float) for v in (x, t_x, big_t))
    if alpha < beta:  # Q is one number: the binomial coefficients are one column, not a table
        p, big_p, q, big_q = alpha, r + x, beta, np.array([s + 1.0])
    else:
        p, big_p, q, big_q = beta, np.full_like(x, s + 1.0), alpha, r + x
    log_gap = np.log(q - p)
    log_lo, span = np.log(p + t_x), np.log(p + big_t) - np.log(p + t_x)
    u = (p + big_t) / (q - p)
    terms = _terms_needed(float(u.max()), float(np.max(big_q)))
    k = np.arange(terms, dtype=float)[:, None]
    # |binom(-Q, k)| = (Q)_k / k!, alternating in sign.
    log_binom = gammaln(big_q + k) - gammaln(big_q) - gammaln(k + 1)
    e = k + 1 - big_p  # the power of (p + tau) after integrating
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # integral_{t_x}^{T} (p+tau)^(e-1) dtau = (p+t_x)^e expm1(e span) / e, which is span at e = 0
        near_zero = np.abs(e * span) < 1e-12
        ratio = np.where(near_zero, span, np.expm1(e * span) / np.where(e == 0, 1.0, e))
        log_terms = log_binom - k * log_gap + e * log_lo + np.log(ratio)
    signs = np.where(k % 2 == 0, 1.0, -1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = (signs * np.exp(log_terms - log_terms[0])).sum(axis=0)
        gone = np.log(s) - big_q * log_gap + log_terms[0] + np.log(total)
    return np.where(span > 0, gone, -np.inf)  # last purchase at T: no time to leave unseen


_MAX_SERIES_TERMS = 400
_SERIES_REACH = 4.0  # u max(Q, 1) at most: the alternating terms' sum loses at most about e^(2 x 4) x 1e-16


def _terms_needed(u: float, big_q: float) -> int:
    """Terms until (Q)_k / k! u^k, the k-th term's bound over the first, is below 1e-17 past its peak, for the
    largest u and Q of the rows (the bound grows with both); at most ``_MAX_SERIES_TERMS``."""
    k = np.arange(_MAX_SERIES_TERMS, dtype=float)
    log_bound = gammaln(big_q + k) - gammaln(big_q) - gammaln(k + 1) + k * np.log(u)
    past_peak = np.maximum.accumulate(log_bound[::-1])[::-1] < np.log(1e-17)  # every later term is small too
    return int(np.argmax(past_peak)) + 1 if past_peak.any() else _MAX_SERIES_TERMS


def _series_converges(r: float, alpha: float, s: float, beta: float, x, big_t) -> np.ndarray:
    """Where ``_log_gone_series`` is exact: u = (min(alpha, beta) + T) / |alpha - beta| <= 1/2 and u Q <= 4.

    The k-th term over the one before is u (Q + k - 1) / k: they alternate, grow while that is above 1 and then
    shrink at least as fast as u^k. The sum of their sizes over the sum itself is about ((1 + u) / (1 - u))^Q
    <= e^(2 u Q / (1 - u)), so at u Q <= 4 a few of sixteen digits go (against the closed form: at most 4e-10
    in the log over 5,217 random rows with up to 300 purchases; at u Q = 12 six digits were lost). This covers the rows
    where scipy's 2F1 is slowest, z near 1 (beta thousands of times alpha: the demo shop's customers all leave
    at about the same rate), where it took 15 microseconds a row.
    """
    if alpha == beta:
        return np.zeros(np.shape(big_t), dtype=bool)
    u = (min(alpha, beta) + np.asarray(big_t, dtype=float)) / abs(beta - alpha)
    big_q = s + 1.0 if alpha < beta else r + np.asarray(x, dtype=float)
    return (u <= 0.5) & (u * np.maximum(big_q, 1.0) <= _SERIES_REACH)


def _log_gone_closed(r: float, alpha: float, s: float, beta: float, x, t_x, big_t) -> np.ndarray:
    """log of the note's (s / (r+s+x)) A_0, with 2F1 in Euler's form and the branch chosen by max(alpha, beta)."""
    rsx = r + s + x
    top = max(alpha, beta)
    b = np.full_like(x, s + 1.0) if alpha >= beta else r + x
    at_last = _log_2f1_a_plus_one(rsx, b, abs(alpha - beta) / (top + t_x)) - rsx * np.log(top + t_x)
    at_end = _log_2f1_a_plus_one(rsx, b, abs(alpha - beta) / (top + big_t)) - rsx * np.log(top + big_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        # A1(t_x) - A1(T) >= 0 because t_x <= T; exactly 0 when the last purchase is at T (no time to leave).
        return np.log(s / rsx) + at_last + np.log(-np.expm1(np.minimum(at_end - at_last, 0.0)))


def _log_terms(r: float, alpha: float, s: float, beta: float, x, t_x, big_t) -> tuple[np.ndarray, np.ndarray]:
    """The logs of the note's two likelihood terms (without the common factor Gamma(r+x) a^r b^s / Gamma(r)).

    The first is the chance of the history if the customer is still alive at T, the second if they left in
    (t_x, T]; their ratio is the odds of being alive, their sum the likelihood.
    """
    x, t_x, big_t = (np.array(v, dtype=float) for v in np.broadcast_arrays(x, t_x, big_t))
    alive = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
    gone = np.empty_like(alive)
    series = _series_converges(r, alpha, s, beta, x, big_t)
    if series.any():
        gone[series] = _log_gone_series(r, alpha, s, beta, x[series], t_x[series], big_t[series])
    closed = ~series
    if closed.any():
        gone[closed] = _log_gone_closed(r, alpha, s, beta, x[closed], t_x[closed], big_t[closed])
    return alive, gone


def _paretonbd_ll(r: float, alpha: float, s: float, beta: float, x, t_x, big_t) -> np.ndarray:
    """Per-customer log-likelihood (the note's eq. 22, summed in logs)."""
    x = np.asarray(x, dtype=float)
    alive, gone = _log_terms(r, alpha, s, beta, x, t_x, big_t)
    front = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return front + np.logaddexp(alive, gone)


def fit_paretonbd(summary: pd.DataFrame, *, time_unit_days: float | None = None) -> ParetoNBDFit:
    """Fit the Pareto/NBD by maximum likelihood on ``frequency, recency, T``, as ``clv.fit_bgnbd`` does.

    Times are rescaled so the oldest customer's T is 10 while fitting; alpha and beta come back in the
    summary's unit, and so does the log-likelihood (comparable with the note's -9594.98 in weeks). The
    customers sharing a distinct (x, t_x, T) are fitted once, weighted by their number.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``rfm_summary`` (or ``summary_from_transactions``): ``frequency, recency, T, monetary_value``.
    time_unit_days : float, optional
        The summary's time unit in days; default its ``attrs['time_unit_days']``, else 1.

    Returns
    -------
    ParetoNBDFit
        ``r, alpha, s, beta``, the log-likelihood and whether it converged.
    """
    n, ux, ut, u_big_t, counts, weights, scale = _histories(summary)
    ut_s, u_big_t_s = ut * scale, u_big_t * scale

    def neg_ll(theta: np.ndarray) -> float:
        r, alpha, s, mean_dropout = np.exp(theta)
        # Far from the optimum scipy's 2F1 can return nan (c in the hundreds, z near 1): the optimiser is told
        # the point is bad and steps back, and the warning would only be noise.
        with np.errstate(invalid="ignore", over="ignore"):
            value = -(weights * _paretonbd_ll(r, alpha, s, s / mean_dropout, ux, ut_s, u_big_t_s)).sum()
        return float(value) if np.isfinite(value) else 1e300

    # Searched over (r, alpha, s, s / beta): where customers' dropout rates barely differ (the demo shop) the
    # likelihood is flat along s, beta -> infinity at a fixed mean rate s / beta. Over (s, beta) that ridge is
    # diagonal and L-BFGS-B gave up on it, leaving Nelder-Mead 1,400 likelihoods (40 s); with the mean as a
    # coordinate it is flat along one axis and L-BFGS-B stops in about a hundred. No analytic gradient: the
    # derivatives of 2F1 in its parameters have no closed form; finite differences cost five likelihoods a step.
    theta, converged, message = _maximise(
        neg_ll, np.zeros(4), ("r", "alpha", "s", "s / beta"), upper=(_LOG_BOUND, _LOG_BOUND, np.log(MAX_S), _LOG_BOUND)
    )
    r, alpha, s, mean_dropout = np.exp(theta)
    beta = s / mean_dropout
    alpha, beta = alpha / scale, beta / scale
    unit = time_unit_days if time_unit_days is not None else summary.attrs.get("time_unit_days", 1.0)
    ll = float((counts * _paretonbd_ll(r, alpha, s, beta, ux, ut, u_big_t)).sum())
    if converged and not np.isfinite(ll):
        converged, message = False, "the likelihood is not finite at the optimum"
    return ParetoNBDFit(float(r), float(alpha), float(s), float(beta), ll, converged, n, float(unit), message)


def p_alive(fit: ParetoNBDFit, frequency, recency, T) -> np.ndarray:
    """Probability that each customer is still active at T (the note's eq. 18 in logs), in [0, 1]."""
    alive, gone = _log_terms(fit.r, fit.alpha, fit.s, fit.beta, frequency, recency, T)
    return expit(alive - gone)


def _purchases_if_alive(fit: ParetoNBDFit, t, x, big_t) -> np.ndarray:
    """E[purchases in (T, T + t] | alive at T, x]: (r+x)/(alpha+T) (beta+T)/(s-1) [1 - ((beta+T)/(beta+T+t))^(s-1)].

    Written as (r+x)/(alpha+T) (beta+T) L * (-expm1(-(s-1) L) / ((s-1) L)), L = log(1 + t/(beta+T)), which is
    finite at s = 1 (where the bracket becomes L) and loses no digits near it.
    """
    x, big_t = np.asarray(x, dtype=float), np.asarray(big_t, dtype=float)
    span = np.log1p(t / (fit.beta + big_t))
    k = (fit.s - 1.0) * span
    with np.errstate(invalid="ignore", divide="ignore"):
        shrink = np.where(np.abs(k) < 1e-12, 1.0, -np.expm1(-k) / k)
    return (fit.r + x) / (fit.alpha + big_t) * (fit.beta + big_t) * span * shrink


def expected_purchases(fit: ParetoNBDFit, t: float, frequency, recency, T) -> np.ndarray:
    """Expected purchases in the next ``t`` time units given each history: P(alive) x the purchases if alive."""
    x, _, big_t = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    return np.clip(p_alive(fit, frequency, recency, T) * _purchases_if_alive(fit, float(t), x, big_t), 0.0, None)


def expected_purchases_unconditional(fit: ParetoNBDFit, t) -> np.ndarray:
    """Expected repeat purchases in ``t`` time units of a new customer, from their first purchase."""
    t = np.asarray(t, dtype=float)
    return np.clip(_purchases_if_alive(fit, t, np.zeros_like(t), np.zeros_like(t)), 0.0, None)
