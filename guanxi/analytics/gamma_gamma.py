r"""The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999).

A customer's order values are Gamma(p, ν) around their own mean p/ν, and ν ~ Gamma(q, γ) across customers.
Input per *repeat* customer (x ≥ 1): ``frequency`` x and ``monetary_value`` m_x, the mean of their x repeat
purchase-day amounts (currency units; the first purchase is excluded, as in FHL). Density of m_x:

.. math:: f(m_x) = \frac{\Gamma(px+q)}{\Gamma(px)\Gamma(q)}\,
          \frac{\gamma^q\, m_x^{px-1}\, x^{px}}{(\gamma + m_x x)^{px+q}}

The model assumes spend is independent of purchase frequency; check the correlation of x and m_x before use.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import digamma, gammaln

from guanxi.analytics._data import SummaryLike, columns
from guanxi.analytics.errors import SchemaError
from guanxi.analytics.fitting import (
    MIN_REPEAT_CUSTOMERS,
    FitReport,
    compress_rows,
    maximize_log_likelihood,
    require_convergence,
    require_repeat_customers,
)

PARAMS = ("p", "q", "gamma")


def _loglik(theta, x, m, gradient: bool):
    p, q, g = theta
    px = p * x
    log_gm = np.log(g + m * x)
    ll = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_gm
    if not gradient:
        return ll, None
    psi = digamma(px + q)
    d_p = x * (psi - digamma(px) + np.log(m) + np.log(x) - log_gm)
    d_q = psi - digamma(q) + np.log(g) - log_gm
    d_g = q / g - (px + q) / (g + m * x)
    return ll, np.column_stack([d_p, d_q, d_g])


def _repeat_columns(data: SummaryLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, m_x, mask of the customers the model describes: x ≥ 1 and m_x > 0).

    Repeat customers whose repeat purchases were all free (m_x = 0: gifts, 100% coupons) have no spend
    density and are left out of the fit; their expected order value is still defined.
    """
    x, m = columns(data, "frequency", "monetary_value")
    if np.any(m < 0):
        raise SchemaError("monetary_value must not be negative")
    return x, m, (x > 0) & (m > 0)


@dataclasses.dataclass(frozen=True)
class GammaGammaModel:
    """Fitted (or given) Gamma-Gamma parameters (γ in currency units)."""

    p: float
    q: float
    gamma: float
    report: FitReport | None = None

    @property
    def params(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def population_mean(self) -> float:
        """Expected order value of a customer with no repeat purchase yet: pγ/(q−1) (infinite if q ≤ 1)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")

    def expected_order_value(self, data: SummaryLike) -> np.ndarray:
        """E[order value | x, m_x] = (γ + m_x x) p / (p x + q − 1), currency units per purchase day.

        A weighted average of the population mean and the customer's own mean m_x; for x = 0 it is the
        population mean. Requires q > 1.
        """
        if self.q <= 1.0:
            raise ValueError(f"expected order value needs q > 1 (q = {self.q:.3f}): spend has no finite mean")
        x, m = columns(data, "frequency", "monetary_value")
        m = np.where(x > 0, m, 0.0)
        return (self.gamma + m * x) * self.p / (self.p * x + self.q - 1.0)

    def log_likelihood(self, data: SummaryLike) -> np.ndarray:
        """Log-density of m_x for each customer with x ≥ 1 and m_x > 0 (others are skipped)."""
        x, m, repeat = _repeat_columns(data)
        return _loglik((self.p, self.q, self.gamma), x[repeat], m[repeat], False)[0]


def fit_gamma_gamma(
    data: SummaryLike,
    *,
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
    initial: dict[str, float] | None = None,
    strict: bool = True,
) -> GammaGammaModel:
    """Fit the Gamma-Gamma model by maximum likelihood on the repeat customers (frequency ≥ 1) of a summary.

    Repeat customers with ``monetary_value`` 0 (only free repeat orders) are left out; the report's
    ``customers`` is the number actually fitted. Raises `InsufficientDataError` below ``min_repeat_customers``
    and `ConvergenceError` when the fit does not converge (unless ``strict=False``).

    """
    x, m, repeat = _repeat_columns(data)
    x, m = x[repeat], m[repeat]
    require_repeat_customers(len(x), min_repeat_customers, "Gamma-Gamma")
    # Fit in units of the mean spend (so nothing depends on the currency) and in (p, q, κ = γ/q): when spend
    # rates hardly differ between customers, q and γ run off to infinity together with γ/q fixed; in (p, q, κ)
    # that ridge becomes the single direction q → ∞, which the optimiser handles cleanly.
    scale = float(np.mean(m))
    (ux, um), counts, _ = compress_rows(x, m / scale)
    start = dict(initial) if initial else {"p": 1.0, "q": 2.0, "gamma": scale}

    def loglik(th, gradient):
        p, q, kappa = th
        ll, grad = _loglik((p, q, kappa * q), ux, um, gradient)
        if not gradient:
            return ll, None
        return ll, np.column_stack([grad[:, 0], grad[:, 1] + grad[:, 2] * kappa, grad[:, 2] * q])

    internal, report = maximize_log_likelihood(
        loglik,
        np.array([start["p"], start["q"], start["gamma"] / scale / start["q"]]),
        ("p", "q", "kappa"),
        weights=counts,
        customers=len(x),
        repeat_customers=len(x),
    )
    p, q, kappa = internal
    theta = np.array([p, q, kappa * q * scale])
    # Back to (p, q, γ) in money: the delta method with J = ∂(p, q, γ)/∂(p, q, κ).
    jacobian = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, kappa * scale, q * scale]])
    covariance = jacobian @ np.array(report.covariance) @ jacobian.T
    variances = np.diag(covariance)
    errors = {
        name: float(np.sqrt(v)) if v > 0 and name not in report.at_edge else float("nan")
        for name, v in zip(PARAMS, variances)
    }
    # The density of m is the density of m/scale divided by scale.
    report = dataclasses.replace(
        report,
        log_likelihood=float(report.log_likelihood - len(x) * np.log(scale)),
        standard_errors=errors,
        covariance=tuple(tuple(float(v) for v in row) for row in covariance),
        at_edge=tuple("gamma" if n == "kappa" else n for n in report.at_edge),
    )
    model = GammaGammaModel(*(float(v) for v in theta), report=report)
    if strict:
        require_convergence(report, model.params, "Gamma-Gamma")
    return model
