r"""The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); after each purchase they drop out
with probability p ~ Beta(a, b). Inputs per customer are the summary's ``frequency`` x (repeat purchase days),
``recency`` t_x and age ``T``, all in one time unit (weeks in FHL; see `guanxi.analytics.summary`); α and every
horizon ``t`` are in that unit too.

Log-likelihood of one customer (FHL eq. 6), evaluated in log space:

.. math:: \ell = \log B(a, b+x) - \log B(a,b) + \log\Gamma(r+x) - \log\Gamma(r) + r\log\alpha
          + \log\Big[(\alpha+T)^{-(r+x)} + \mathbb{1}_{x>0}\,\tfrac{a}{b+x-1}\,(\alpha+t_x)^{-(r+x)}\Big]

with its analytic gradient (digamma functions). Known flaw: a customer with x = 0 has P(alive) = 1 whatever
their age — use the Pareto/NBD or `guanxi.analytics.buy_again` to rank one-time buyers.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from guanxi.analytics._data import SummaryLike, purchase_columns
from guanxi.analytics.fitting import (
    MIN_REPEAT_CUSTOMERS,
    FitReport,
    compress_rows,
    maximize_log_likelihood,
    require_convergence,
    require_repeat_customers,
)

PARAMS = ("r", "alpha", "a", "b")


def _loglik(theta, x, t_x, T, gradient: bool, distinct=None):
    """Per-row log-likelihood (and gradient in r, α, a, b). ``distinct`` = (distinct x values, index of each
    row's x) may be passed in to save a sort per evaluation."""
    r, alpha, a, b = theta
    repeat = x > 0
    # Special functions depend on x only: evaluate them once per distinct x.
    xs, at = distinct if distinct is not None else np.unique(x, return_inverse=True)
    log_alpha_T = np.log(alpha + T)
    log_alpha_tx = np.log(alpha + t_x)
    a1 = (gammaln(r + xs) - gammaln(r))[at] + r * np.log(alpha)
    a2 = (betaln(a, b + xs) - betaln(a, b))[at]
    a3 = -(r + x) * log_alpha_T
    with np.errstate(divide="ignore", invalid="ignore"):
        log_b_x1 = np.log(np.where(xs > 0, b + xs - 1, 1.0))[at]
        a4 = np.where(repeat, np.log(a) - log_b_x1 - (r + x) * log_alpha_tx, -np.inf)
    top = np.logaddexp(a3, a4)
    ll = a1 + a2 + top
    if not gradient:
        return ll, None
    w = np.exp(a4 - top)  # share of the "dropped out after the last purchase" branch
    d_r = (digamma(r + xs) - digamma(r))[at] + np.log(alpha) - (1 - w) * log_alpha_T - w * log_alpha_tx
    d_alpha = r / alpha - (r + x) * ((1 - w) / (alpha + T) + w / (alpha + t_x))
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + xs)
    d_a = (psi_ab - psi_abx)[at] + w / a
    d_b = (digamma(b + xs) - digamma(b) + psi_ab - psi_abx)[at] - w * np.exp(-log_b_x1) * repeat
    return ll, np.column_stack([d_r, d_alpha, d_a, d_b])


@dataclasses.dataclass(frozen=True)
class BGNBDModel:
    """Fitted (or given) BG/NBD parameters; every prediction takes a summary frame (or mapping) of customers.

    ``time_unit`` records the unit of α, recency, T and horizons (``"week"`` or ``"day"``).
    """

    r: float
    alpha: float
    a: float
    b: float
    time_unit: str = "week"
    report: FitReport | None = None

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    def log_likelihood(self, data: SummaryLike) -> np.ndarray:
        """Per-customer log-likelihood of the data under these parameters."""
        x, t_x, T = purchase_columns(data)
        return _loglik((self.r, self.alpha, self.a, self.b), x, t_x, T, False)[0]

    def p_alive(self, data: SummaryLike) -> np.ndarray:
        """P(still alive at T | x, t_x, T) = 1 / (1 + 1{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x))."""
        x, t_x, T = purchase_columns(data)
        return self._p_alive(x, t_x, T)

    def _p_alive(self, x, t_x, T):
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        repeat = x > 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_odds = np.where(
                repeat,
                np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)),
                -np.inf,
            )
        return np.exp(-np.logaddexp(0.0, log_odds))

    def expected_purchases(self, data: SummaryLike, t: float) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T] (FHL eq. 10), t in ``time_unit``; same-day purchases count once.

        Computed as (a+b+x−1)/(a−1) · [1 − (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z)] · P(alive), z = t/(α+T+t)
        (Euler's transformation of FHL's form, so nothing overflows for frequent buyers).
        """
        x, t_x, T = purchase_columns(data)
        return self._if_alive(x, T, t) * self._p_alive(x, t_x, T)

    def _if_alive(self, x, T, t):
        """E[purchases in (T, T+t] | alive, x, T]: the part of `expected_purchases` that does not depend on t_x."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        bracket = 1.0 - np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        return (a + b + x - 1.0) / (a - 1.0) * bracket

    def expected_purchases_many(self, data: SummaryLike, horizons) -> np.ndarray:
        """`expected_purchases` for several horizons: shape (customers, horizons)."""
        return np.column_stack([self.expected_purchases(data, t) for t in horizons])

    def predict(self, data: SummaryLike, horizons) -> tuple[np.ndarray, np.ndarray]:
        """(P(alive), expected purchases for each horizon — shape (customers, horizons)), as the Pareto/NBD's.

        P(alive) is computed once per distinct (x, t_x, T) — a million customers share a few hundred thousand —
        and the hyp2f1 of each horizon once per distinct (x, T), on which it alone depends: far fewer again.
        """
        x, t_x, T = purchase_columns(data)
        (ux, ut, uT), _, inverse = compress_rows(x, t_x, T)
        (px, pT), _, pair = compress_rows(ux, uT)
        alive = self._p_alive(ux, ut, uT)
        expected = np.column_stack([self._if_alive(px, pT, t)[pair] for t in horizons]) * alive[:, None]
        return alive[inverse], expected[inverse]

    def p_purchase(self, data: SummaryLike, t: float) -> np.ndarray:
        """P(at least one purchase in (T, T+t] | x, t_x, T) = P(alive) · (1 − ((α+T)/(α+T+t))^(r+x)).

        A customer alive at T buys next at rate λ, whose posterior given alive is Gamma(r+x, α+T); dropout only
        happens right after a purchase, so the first purchase of the window is not affected by it.
        """
        x, t_x, T = purchase_columns(data)
        none = np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + T + t)))
        return self._p_alive(x, t_x, T) * (1.0 - none)

    def expected_purchases_new_customer(self, t: float) -> float:
        """E[X(t)] for a customer just acquired at time 0 (FHL eq. 7), t in ``time_unit``."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + t)
        return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z)))


def fit_bgnbd(
    data: SummaryLike,
    *,
    time_unit: str = "week",
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
    initial: dict[str, float] | None = None,
    strict: bool = True,
) -> BGNBDModel:
    """Fit the BG/NBD model by maximum likelihood to a summary (``frequency``, ``recency``, ``T``).

    ``time_unit`` names the unit the summary's recency and T are in (it is recorded on the model).
    Raises `InsufficientDataError` when fewer than ``min_repeat_customers`` customers have frequency ≥ 1, and
    `ConvergenceError` when the fit does not converge (unless ``strict=False``: then check ``model.report``).
    """
    x, t_x, T = purchase_columns(data)
    repeat = int(np.count_nonzero(x))
    require_repeat_customers(repeat, min_repeat_customers, "BG/NBD")
    (ux, utx, uT), counts, _ = compress_rows(x, t_x, T)
    start = initial or {"r": 1.0, "alpha": max(float(np.mean(T)) / (1.0 + float(np.mean(x))), 1e-3), "a": 1.0, "b": 1.0}
    distinct = np.unique(ux, return_inverse=True)
    theta, report = maximize_log_likelihood(
        lambda th, g: _loglik(th, ux, utx, uT, g, distinct),
        np.array([start[p] for p in PARAMS]),
        PARAMS,
        weights=counts,
        customers=len(x),
        repeat_customers=repeat,
    )
    model = BGNBDModel(*(float(v) for v in theta), time_unit=time_unit, report=report)
    if strict:
        require_convergence(report, model.params, "BG/NBD")
    return model
