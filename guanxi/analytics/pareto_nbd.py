r"""The Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie's 2005 derivation note),
optionally with time-invariant covariates (Fader & Hardie 2007).

While alive, a customer buys as a Poisson process with rate λ ~ Gamma(r, α); their lifetime is exponential
with rate μ ~ Gamma(s, β), independent of λ. Inputs are the summary's ``frequency`` x, ``recency`` t_x and age
``T`` in one time unit (weeks in FHL); α, β and horizons ``t`` are in that unit.

Likelihood of one customer, written as an integral over the unobserved dropout time τ:

.. math:: L = \frac{\Gamma(r+x)\,\alpha^r\beta^s}{\Gamma(r)}\Big[(\alpha+T)^{-(r+x)}(\beta+T)^{-s}
          + s\!\int_{t_x}^{T}(\alpha+\tau)^{-(r+x)}(\beta+\tau)^{-(s+1)}d\tau\Big]

The integral is FHL's hypergeometric term; `guanxi.analytics.hypergeometric.log_tail_integral` evaluates it in
log space as J(t_x) − J(T) with a bounded series, so there is neither overflow (which `lifetimes` suffers for
frequent buyers) nor cancellation, and the gradient is analytic. J(T) depends on (x, T) only and J(t_x) on
(x, t_x) only, so each is computed once per distinct pair — a few thousand evaluations for 100,000s of customers.

**Covariates.** With time-invariant covariates z_i (columns of the summary, e.g. the log value of the first
order), customer i has α_i = α·exp(−γ_λ·(z_i − z̄)) and β_i = β·exp(−γ_μ·(z_i − z̄)) (Fader & Hardie 2007,
"Incorporating time-invariant covariates into the Pareto/NBD and BG/NBD models"): a positive purchase
coefficient γ_λ raises the purchase rate, a positive dropout coefficient γ_μ raises the dropout rate. α and β
are those of a customer at the covariate means.

Unlike the BG/NBD, a one-time buyer's P(alive) falls with their age T: the model can tell a customer who bought
once last week from one who bought once a year ago.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import digamma, gammaln

from guanxi.analytics._data import SummaryLike, columns, purchase_columns
from guanxi.analytics.errors import HomogeneousDropoutError, SchemaError
from guanxi.analytics.fitting import (
    MIN_REPEAT_CUSTOMERS,
    FitReport,
    compress_rows,
    maximize_log_likelihood,
    require_convergence,
    require_repeat_customers,
)
from guanxi.analytics.hypergeometric import log_diff_exp, log_tail_integral

PARAMS = ("r", "alpha", "s", "beta")


class _Rows:
    """Customers (or distinct customer rows) prepared for repeated likelihood evaluation.

    Holds x, t_x, T, centred covariates Z (rows × k) and, for J(T) and J(t_x), the distinct (x, T, Z) and
    (x, t_x, Z) keys with the maps back to rows.
    """

    def __init__(self, x, t_x, T, Z):
        self.x, self.t_x, self.T, self.Z = x, t_x, T, Z
        self.xs, self.x_at = np.unique(x, return_inverse=True)  # special functions once per distinct x
        self.at_T = self._pairs(x, T, Z)
        self.at_tx = self._pairs(x, t_x, Z)

    @staticmethod
    def _pairs(x, t, Z):
        keys, _, inverse = compress_rows(x, t, *Z.T)
        first = np.zeros(len(keys[0]), dtype=np.intp)
        first[inverse] = np.arange(len(x))  # any row of each key will do
        return first, inverse


def _scales(alpha, beta, g_lambda, g_mu, Z):
    if Z.shape[1] == 0:
        return np.full(Z.shape[0], alpha), np.full(Z.shape[0], beta)
    return alpha * np.exp(-(Z @ g_lambda)), beta * np.exp(-(Z @ g_mu))


def _log_j(rows: _Rows, which: str, p, q, A, B, gradient: bool):
    first, inverse = rows.at_T if which == "T" else rows.at_tx
    t = (rows.T if which == "T" else rows.t_x)[first]
    out = log_tail_integral(p[first], q, A[first], B[first], t, gradient=gradient)
    if not gradient:
        return out[inverse]
    value, grads = out
    return value[inverse], tuple(g[inverse] for g in grads)


def _loglik(theta, rows: _Rows, gradient: bool):
    """Per-row log-likelihood and, with ``gradient``, its derivatives in (r, α, s, β, γ_λ…, γ_μ…)."""
    k = rows.Z.shape[1]
    r, alpha, s, beta = theta[:4]
    g_lambda, g_mu = np.asarray(theta[4 : 4 + k]), np.asarray(theta[4 + k :])
    x, T = rows.x, rows.T
    A, B = _scales(alpha, beta, g_lambda, g_mu, rows.Z)
    p = r + x
    log_c = (gammaln(r + rows.xs) - gammaln(r))[rows.x_at] + r * np.log(A) + s * np.log(B)
    alive = -p * np.log(A + T) - s * np.log(B + T)
    if not gradient:
        lj_x = _log_j(rows, "tx", p, s + 1.0, A, B, False)
        lj_T = _log_j(rows, "T", p, s + 1.0, A, B, False)
        died = np.log(s) + log_diff_exp(lj_x, lj_T)
        return log_c + np.logaddexp(alive, died), None
    lj_x, g_x = _log_j(rows, "tx", p, s + 1.0, A, B, True)
    lj_T, g_T = _log_j(rows, "T", p, s + 1.0, A, B, True)
    died = np.log(s) + log_diff_exp(lj_x, lj_T)
    mix = np.logaddexp(alive, died)
    ll = log_c + mix
    w_alive = np.exp(alive - mix)
    w_died = np.exp(died - mix)
    # exp(died − mix) · d(died)/dθ without dividing by J(t_x) − J(T) (zero when t_x = T):
    # = s·exp(lj_x − mix) · (dJx − ρ dJT) with ρ = exp(lj_T − lj_x).
    scale = np.exp(np.log(s) + lj_x - mix)
    rho = np.exp(lj_T - lj_x)
    dj = [g_x[i] - rho * g_T[i] for i in range(4)]  # w.r.t. p = r+x, q = s+1, A = α_i, B = β_i
    d_r = (digamma(r + rows.xs) - digamma(r))[rows.x_at] + np.log(A) - w_alive * np.log(A + T) + scale * dj[0]
    d_s = np.log(B) - w_alive * np.log(B + T) + w_died / s + scale * dj[1]
    d_A = r / A - w_alive * p / (A + T) + scale * dj[2]  # ∂ℓ/∂α_i
    d_B = s / B - w_alive * s / (B + T) + scale * dj[3]  # ∂ℓ/∂β_i
    grads = [d_r, d_A * A / alpha, d_s, d_B * B / beta]
    grads += [-d_A * A * rows.Z[:, j] for j in range(k)]
    grads += [-d_B * B * rows.Z[:, j] for j in range(k)]
    return ll, np.column_stack(grads)


@dataclasses.dataclass(frozen=True)
class ParetoNBDModel:
    """Fitted (or given) Pareto/NBD parameters; predictions take a summary frame (or mapping) of customers.

    With covariates, the summary passed to predictions must hold the same covariate columns.
    """

    r: float
    alpha: float
    s: float
    beta: float
    time_unit: str = "week"
    report: FitReport | None = None
    covariates: tuple[str, ...] = ()
    covariate_means: tuple[float, ...] = ()
    purchase_coefficients: tuple[float, ...] = ()
    dropout_coefficients: tuple[float, ...] = ()

    @property
    def params(self) -> dict[str, float]:
        """r, α, s, β and, per covariate, ``purchase:<name>`` (γ_λ) and ``dropout:<name>`` (γ_μ)."""
        out = {"r": self.r, "alpha": self.alpha, "s": self.s, "beta": self.beta}
        out.update({f"purchase:{c}": g for c, g in zip(self.covariates, self.purchase_coefficients)})
        out.update({f"dropout:{c}": g for c, g in zip(self.covariates, self.dropout_coefficients)})
        return out

    def _inputs(self, data: SummaryLike):
        x, t_x, T = purchase_columns(data)
        if self.covariates:
            Z = np.column_stack(columns(data, *self.covariates)) - np.asarray(self.covariate_means)
        else:
            Z = np.zeros((len(x), 0))
        A, B = _scales(self.alpha, self.beta, np.asarray(self.purchase_coefficients), np.asarray(self.dropout_coefficients), Z)
        return x, t_x, T, Z, A, B

    def log_likelihood(self, data: SummaryLike) -> np.ndarray:
        """Per-customer log-likelihood of the data under these parameters."""
        x, t_x, T, Z, _, _ = self._inputs(data)
        theta = np.r_[self.r, self.alpha, self.s, self.beta, self.purchase_coefficients, self.dropout_coefficients]
        return _loglik(theta, _Rows(x, t_x, T, Z), False)[0]

    def p_alive(self, data: SummaryLike) -> np.ndarray:
        """P(alive at T | x, t_x, T): the share of the likelihood that comes from "still alive at T"."""
        x, t_x, T, _, A, B = self._inputs(data)
        return self._p_alive(x, t_x, T, A, B)

    def _p_alive(self, x, t_x, T, A, B):
        r, s = self.r, self.s
        alive = -(r + x) * np.log(A + T) - s * np.log(B + T)
        died = np.log(s) + log_diff_exp(
            log_tail_integral(r + x, s + 1.0, A, B, t_x), log_tail_integral(r + x, s + 1.0, A, B, T)
        )
        return np.exp(alive - np.logaddexp(alive, died))

    def expected_purchases(self, data: SummaryLike, t: float) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T], t in ``time_unit``; same-day purchases count once.

        = P(alive) · (r+x)/(α+T) · (β+T) · [1 − ((β+T)/(β+T+t))^(s−1)] / (s−1), with the s → 1 limit handled.
        """
        return self.expected_purchases_many(data, [t])[:, 0]

    def expected_purchases_many(self, data: SummaryLike, horizons) -> np.ndarray:
        """`expected_purchases` for several horizons at once (P(alive) computed once): shape (customers, horizons)."""
        return self.predict(data, horizons)[1]

    def predict(self, data: SummaryLike, horizons) -> tuple[np.ndarray, np.ndarray]:
        """(P(alive), expected purchases for each horizon — shape (customers, horizons)) in one pass."""
        x, t_x, T, _, A, B = self._inputs(data)
        s = self.s
        p_alive = self._p_alive(x, t_x, T, A, B)
        alive_rate = p_alive * (self.r + x) / (A + T) * (B + T)
        out = np.empty((len(x), len(horizons)))
        for i, t in enumerate(horizons):
            log_ratio = np.log1p(t / (B + T))  # log((β+T+t)/(β+T))
            integral = log_ratio if abs(s - 1.0) < 1e-9 else -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
            out[:, i] = alive_rate * integral
        return p_alive, out

    def p_purchase(self, data: SummaryLike, t: float) -> np.ndarray:
        """P(at least one purchase in (T, T+t] | x, t_x, T), t in ``time_unit``.

        Given alive at T, the posteriors are λ ~ Gamma(r+x, α+T) and μ ~ Gamma(s, β+T), independent, and the
        next purchase comes before death and before T+t with probability ∫₀ᵗ E[λe^(−λu)] E[e^(−μu)] du
        = (r+x)(α+T)^(r+x)(β+T)^s [J(0) − J(t)] with J from `log_tail_integral` (p = r+x+1, q = s).
        """
        x, t_x, T, _, A, B = self._inputs(data)
        r, s = self.r, self.s
        p, AT, BT = r + x + 1.0, A + T, B + T
        lj0 = log_tail_integral(p, s, AT, BT, 0.0)
        ljt = log_tail_integral(p, s, AT, BT, t)
        if_alive = np.exp(np.log(r + x) + (r + x) * np.log(AT) + s * np.log(BT) + log_diff_exp(lj0, ljt))
        return self._p_alive(x, t_x, T, A, B) * if_alive

    def expected_purchases_new_customer(self, t: float) -> float:
        """E[X(t)] for a customer just acquired (at the covariate means), t in ``time_unit``:
        rβ/(α(s−1)) [1 − (β/(β+t))^(s−1)]."""
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        log_ratio = np.log1p(t / beta)
        integral = log_ratio if abs(s - 1.0) < 1e-9 else -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
        return float(r / alpha * beta * integral)


# Dropout shape beyond which the fit is abandoned. The dropout rate's coefficient of variation is 1/sqrt(s): at
# s = 50 customers' lifetimes differ by 14 % at most, and when the data have no more spread than that the
# likelihood keeps rising along s, beta -> infinity (s/beta fixed) without a maximum. Walking that ridge is slow
# as well as pointless: there alpha/beta is extreme, and the hypergeometric term needs scipy's hyp2f1 per row
# (on a 25,000-customer demo shop 0.5 s per evaluation, over a minute per fit).
DROPOUT_SHAPE_LIMIT = 50.0


def _abandon_on_ridge(theta: np.ndarray) -> None:
    if theta[2] > DROPOUT_SHAPE_LIMIT:
        raise HomogeneousDropoutError(
            f"Pareto/NBD fit abandoned: customers' dropout rates look all alike (dropout shape s passed "
            f"{DROPOUT_SHAPE_LIMIT:g} with r={theta[0]:.4g}, alpha={theta[1]:.4g}, beta={theta[3]:.4g}), so the "
            "model has no maximum to find.",
            report=None,
        )


def fit_pareto_nbd(
    data: SummaryLike,
    *,
    time_unit: str = "week",
    covariates: tuple[str, ...] | list[str] = (),
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
    initial: dict[str, float] | None = None,
    strict: bool = True,
) -> ParetoNBDModel:
    """Fit the Pareto/NBD model by maximum likelihood to a summary (``frequency``, ``recency``, ``T``).

    Args:
        data: summary frame or mapping (see `guanxi.analytics.summary.customer_summary`).
        time_unit: unit of recency and T (recorded on the model).
        covariates: names of numeric summary columns used as time-invariant covariates of both rates
            (centred internally). A covariate with no variation is refused (`SchemaError`).
        min_repeat_customers: refuse (`InsufficientDataError`) below this many customers with frequency ≥ 1.
        initial: starting values for r, alpha, s, beta (optional).
        strict: raise `ConvergenceError` when the fit does not converge (else check ``model.report``).

    Raises `HomogeneousDropoutError` (a `ConvergenceError`, whatever ``strict``) when the dropout shape passes
    `DROPOUT_SHAPE_LIMIT` while fitting.
    """
    x, t_x, T = purchase_columns(data)
    repeat = int(np.count_nonzero(x))
    require_repeat_customers(repeat, min_repeat_customers, "Pareto/NBD")
    covariates = tuple(covariates)
    if covariates:
        Z_raw = np.column_stack(columns(data, *covariates))
        means = Z_raw.mean(axis=0)
        if np.any(Z_raw.std(axis=0) < 1e-12):
            raise SchemaError(f"covariates {covariates} must vary across customers")
        Z = Z_raw - means
    else:
        means, Z = np.zeros(0), np.zeros((len(x), 0))
    k = Z.shape[1]
    unique, counts, _ = compress_rows(x, t_x, T, *Z.T)
    rows = _Rows(unique[0], unique[1], unique[2], np.column_stack(unique[3:]) if k else np.zeros((len(unique[0]), 0)))
    scale = max(float(np.mean(T)) / (1.0 + float(np.mean(x))), 1e-3)
    start = initial or {"r": 1.0, "alpha": scale, "s": 1.0, "beta": float(np.mean(T))}
    names = PARAMS + tuple(f"purchase:{c}" for c in covariates) + tuple(f"dropout:{c}" for c in covariates)
    theta, report = maximize_log_likelihood(
        lambda th, g: _loglik(th, rows, g),
        np.r_[[start[p] for p in PARAMS], np.zeros(2 * k)],
        names,
        weights=counts,
        customers=len(x),
        repeat_customers=repeat,
        positive=np.r_[np.ones(4, dtype=bool), np.zeros(2 * k, dtype=bool)],
        give_up=_abandon_on_ridge,
    )
    model = ParetoNBDModel(
        *(float(v) for v in theta[:4]),
        time_unit=time_unit,
        report=report,
        covariates=covariates,
        covariate_means=tuple(float(m) for m in means),
        purchase_coefficients=tuple(float(v) for v in theta[4 : 4 + k]),
        dropout_coefficients=tuple(float(v) for v in theta[4 + k :]),
    )
    if strict:
        require_convergence(report, model.params, "Pareto/NBD")
    return model
