r"""The Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie's 2005 derivation note).

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); their lifetime is exponential
with rate μ ~ Gamma(s, β), independent of λ. Inputs are the summary's ``frequency`` x, ``recency`` t_x and age
``T`` in one time unit (weeks in FHL); α, β and horizons ``t`` are in that unit.

Likelihood of one customer, written as an integral over the unobserved dropout time τ:

.. math:: L = \frac{\Gamma(r+x)\,\alpha^r\beta^s}{\Gamma(r)}\Big[(\alpha+T)^{-(r+x)}(\beta+T)^{-s}
          + s\!\int_{t_x}^{T}(\alpha+\tau)^{-(r+x)}(\beta+\tau)^{-(s+1)}d\tau\Big]

The integral is FHL's hypergeometric term; `guanxi.analytics.hypergeometric.log_tail_integral` evaluates it in
log space as J(t_x) − J(T) with a bounded series, so there is neither overflow (which `lifetimes` suffers for
frequent buyers) nor cancellation, and the gradient is analytic.

Unlike the BG/NBD, a one-time buyer's P(alive) falls with their age T: the model can tell a customer who bought
once last week from one who bought once a year ago.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import digamma, gammaln

from guanxi.analytics._data import SummaryLike, purchase_columns
from guanxi.analytics.fitting import (
    MIN_REPEAT_CUSTOMERS,
    FitReport,
    compress_rows,
    maximize_log_likelihood,
    require_repeat_customers,
)
from guanxi.analytics.hypergeometric import log_diff_exp, log_tail_integral

PARAMS = ("r", "alpha", "s", "beta")


def _parts(theta, x, t_x, T, gradient: bool):
    """log C, the "alive at T" log-term, the "died in (t_x, T]" log-term and, with ``gradient``, their gradients."""
    r, alpha, s, beta = theta
    log_c = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    p, q = r + x, s + 1.0
    if not gradient:
        lj_x = log_tail_integral(p, q, alpha, beta, t_x)
        lj_T = log_tail_integral(p, q, alpha, beta, T)
        died = np.log(s) + log_diff_exp(lj_x, lj_T)
        return log_c, alive, died, None
    lj_x, g_x = log_tail_integral(p, q, alpha, beta, t_x, gradient=True)
    lj_T, g_T = log_tail_integral(p, q, alpha, beta, T, gradient=True)
    died = np.log(s) + log_diff_exp(lj_x, lj_T)
    return log_c, alive, died, (lj_x, g_x, lj_T, g_T)


def _loglik(theta, x, t_x, T, gradient: bool):
    r, alpha, s, beta = theta
    log_c, alive, died, extra = _parts(theta, x, t_x, T, gradient)
    mix = np.logaddexp(alive, died)
    ll = log_c + mix
    if not gradient:
        return ll, None
    lj_x, g_x, lj_T, g_T = extra
    w_alive = np.exp(alive - mix)
    # d(died)/dθ weighted by exp(died − mix), written without dividing by J(t_x) − J(T) (which may be 0):
    # exp(died − mix) · d(died) = s·exp(lj_x − mix)·(g_x − ρ g_T) / s + 1/s-term, ρ = exp(lj_T − lj_x).
    scale = np.exp(np.log(s) + lj_x - mix)
    rho = np.exp(lj_T - lj_x)
    dj = [g_x[i] - rho * g_T[i] for i in range(4)]  # derivatives w.r.t. p = r+x, q = s+1, A = α, B = β
    w_died = np.exp(died - mix)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w_alive * np.log(alpha + T) + scale * dj[0]
    d_alpha = r / alpha - w_alive * (r + x) / (alpha + T) + scale * dj[2]
    d_s = np.log(beta) - w_alive * np.log(beta + T) + w_died / s + scale * dj[1]
    d_beta = s / beta - w_alive * s / (beta + T) + scale * dj[3]
    return ll, np.column_stack([d_r, d_alpha, d_s, d_beta])


@dataclasses.dataclass(frozen=True)
class ParetoNBDModel:
    """Fitted (or given) Pareto/NBD parameters; predictions take a summary frame (or mapping) of customers."""

    r: float
    alpha: float
    s: float
    beta: float
    time_unit: str = "week"
    report: FitReport | None = None

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "s": self.s, "beta": self.beta}

    @property
    def _theta(self):
        return (self.r, self.alpha, self.s, self.beta)

    def log_likelihood(self, data: SummaryLike) -> np.ndarray:
        """Per-customer log-likelihood of the data under these parameters."""
        x, t_x, T = purchase_columns(data)
        return _loglik(self._theta, x, t_x, T, False)[0]

    def p_alive(self, data: SummaryLike) -> np.ndarray:
        """P(alive at T | x, t_x, T): the share of the likelihood that comes from "still alive at T"."""
        x, t_x, T = purchase_columns(data)
        return self._p_alive(x, t_x, T)

    def _p_alive(self, x, t_x, T):
        _, alive, died, _ = _parts(self._theta, x, t_x, T, False)
        return np.exp(alive - np.logaddexp(alive, died))

    def expected_purchases(self, data: SummaryLike, t: float) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T], t in ``time_unit``.

        = P(alive) · (r+x)/(α+T) · (β+T) · [1 − ((β+T)/(β+T+t))^(s−1)] / (s−1), with the s → 1 limit handled.
        """
        x, t_x, T = purchase_columns(data)
        s = self.s
        log_ratio = np.log1p(t / (self.beta + T))  # log((β+T+t)/(β+T))
        if abs(s - 1.0) < 1e-9:
            integral = log_ratio
        else:
            integral = -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
        rate = (self.r + x) / (self.alpha + T)
        return self._p_alive(x, t_x, T) * rate * (self.beta + T) * integral

    def p_purchase(self, data: SummaryLike, t: float) -> np.ndarray:
        """P(at least one purchase in (T, T+t] | x, t_x, T), t in ``time_unit``.

        Given alive at T, the posteriors are λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T), independent, and the
        next purchase comes before death and before T+t with probability ∫₀ᵗ E[λe^(−λu)] E[e^(−μu)] du
        = (r+x)(α+T)^(r+x)(β+T)^s [J(0) − J(t)] with J from `log_tail_integral` (p = r+x+1, q = s).
        """
        x, t_x, T = purchase_columns(data)
        return self._p_alive(x, t_x, T) * self._p_purchase_if_alive(x, T, t)

    def _p_purchase_if_alive(self, x, T, t):
        r, alpha, s, beta = self._theta
        p, A, B = r + x + 1.0, alpha + T, beta + T
        lj0 = log_tail_integral(p, s, A, B, 0.0)
        ljt = log_tail_integral(p, s, A, B, t)
        return np.exp(np.log(r + x) + (r + x) * np.log(A) + s * np.log(B) + log_diff_exp(lj0, ljt))

    def expected_purchases_new_customer(self, t: float) -> float:
        """E[X(t)] for a customer just acquired at time 0, t in ``time_unit``: rβ/(α(s−1)) [1 − (β/(β+t))^(s−1)]."""
        r, alpha, s, beta = self._theta
        log_ratio = np.log1p(t / beta)
        integral = log_ratio if abs(s - 1.0) < 1e-9 else -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
        return float(r / alpha * beta * integral)


def fit_pareto_nbd(
    data: SummaryLike,
    *,
    time_unit: str = "week",
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
    initial: dict[str, float] | None = None,
) -> ParetoNBDModel:
    """Fit the Pareto/NBD model by maximum likelihood to a summary (``frequency``, ``recency``, ``T``).

    Raises `InsufficientDataError` when fewer than ``min_repeat_customers`` customers have frequency ≥ 1.
    """
    x, t_x, T = purchase_columns(data)
    repeat = int(np.count_nonzero(x))
    require_repeat_customers(repeat, min_repeat_customers, "Pareto/NBD")
    (ux, utx, uT), counts, _ = compress_rows(x, t_x, T)
    scale = max(float(np.mean(T)) / (1.0 + float(np.mean(x))), 1e-3)
    start = initial or {"r": 1.0, "alpha": scale, "s": 1.0, "beta": float(np.mean(T))}
    theta, report = maximize_log_likelihood(
        lambda th, g: _loglik(th, ux, utx, uT, g),
        np.array([start[p] for p in PARAMS]),
        PARAMS,
        weights=counts,
        customers=len(x),
        repeat_customers=repeat,
    )
    return ParetoNBDModel(*(float(v) for v in theta), time_unit=time_unit, report=report)
