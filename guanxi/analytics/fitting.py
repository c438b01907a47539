"""Maximum-likelihood machinery shared by the BG/NBD, Pareto/NBD and Gamma-Gamma models.

Each model supplies a vectorised log-likelihood with its analytic gradient over *unique* data rows and their
counts (customers with identical (x, t_x, T) share a row, which typically shrinks the data ten-fold).
`maximize_log_likelihood` optimises in log-parameter space (rates and shapes are positive) with BFGS,
polishes with Newton steps on the observed information, and reports the log-likelihood, convergence and
standard errors from the inverse of the Hessian of −LL at the optimum (computed by central differences of the
analytic gradient).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Callable

import numpy as np
from scipy import optimize

from guanxi.analytics.errors import ConvergenceError, InsufficientDataError

#: Fewest repeat customers (frequency ≥ 1) the purchase and spend models accept. With fewer, the likelihood
#: surface of the dropout parameters (a, b or s, β) and the spend parameters is nearly flat: their standard
#: errors exceed the estimates and predictions are noise. Callers catch `InsufficientDataError` and fall back to
#: RFM-only insight.
MIN_REPEAT_CUSTOMERS = 50

_LOG_LIMIT = 12.0  # positive parameters live within e^±12 ≈ [6e-6, 1.6e5]
_EDGE = 0.95  # |log θ| beyond 95% of the limit counts as "at the edge"
# Converged when no step of the (log-scale) parameters can change the mean log-likelihood per customer faster
# than this; BFGS reaches ~1e-10 on well-posed data, flat limits (customers all alike) stop near 1e-6.
_GRADIENT_TOLERANCE = 1e-5

LogLikelihood = Callable[[np.ndarray, bool], "tuple[np.ndarray, np.ndarray | None]"]


@dataclasses.dataclass(frozen=True)
class FitReport:
    """How a maximum-likelihood fit went.

    Attributes:
        log_likelihood: maximised total log-likelihood (natural log, summed over customers).
        converged: the gradient (in the optimiser's coordinates, per customer) is ~0.
        identified: also the Hessian is negative definite and no parameter is at the edge: every parameter is
            pinned down by the data and has a standard error.
        covariance: asymptotic covariance matrix of the parameters (inverse observed information), in the
            order of ``standard_errors``; NaN where it cannot be computed.
        iterations: optimiser iterations (BFGS plus Newton polishing steps).
        message: "converged…", or the optimiser's message when the fit did not converge.
        at_edge: parameters that went to the edge of their range (e^±12): the likelihood keeps rising towards 0
            or ∞ (e.g. no visible dropout, or customers all alike). The fit is then the limiting model; those
            standard errors are NaN.
        standard_errors: parameter name → asymptotic standard error (NaN if the Hessian is singular).
        customers: customers in the data; repeat_customers: those with frequency ≥ 1.
        gradient_norm: max |∂LL/∂θ| at the optimum (natural parameters, total log-likelihood).
        seconds: wall time of the fit.
    """

    log_likelihood: float
    converged: bool
    iterations: int
    message: str
    standard_errors: dict[str, float]
    customers: int
    repeat_customers: int
    gradient_norm: float
    seconds: float
    at_edge: tuple[str, ...] = ()
    identified: bool = True
    covariance: tuple[tuple[float, ...], ...] = ()

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def compress_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Unique rows of the stacked columns, their counts, and the index mapping each input row to its unique row.

    (A lexicographic sort of the columns: several times faster than ``np.unique(axis=0)``.)
    """
    cols = [np.asarray(c, dtype=float) for c in columns]
    n = len(cols[0])
    if n == 0:
        return [c[:0] for c in cols], np.zeros(0), np.zeros(0, dtype=np.intp)
    order = np.lexsort(cols[::-1])
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for c in cols:
        sorted_c = c[order]
        new[1:] |= sorted_c[1:] != sorted_c[:-1]
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    firsts = order[new]
    counts = np.bincount(group).astype(float)
    return [c[firsts] for c in cols], counts, inverse


def distinct_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, index of each value among them): special functions of x are computed once
    per distinct x (a few hundred) instead of once per row."""
    return np.unique(values, return_inverse=True)


def require_repeat_customers(repeat: int, minimum: int, model: str) -> None:
    """Raise `InsufficientDataError` when fewer than ``minimum`` customers bought more than once."""
    if repeat < minimum:
        raise InsufficientDataError(
            f"{model} needs at least {minimum} repeat customers (customers with 2 or more purchase days) to fit; "
            f"the data has {repeat}. Use RFM insight until more customers come back.",
            found=repeat,
            required=minimum,
        )


def require_convergence(report: "FitReport", params: dict[str, float], model: str) -> None:
    """Raise `ConvergenceError` if ``report`` says the fit did not converge."""
    if not report.converged:
        shown = ", ".join(f"{k}={v:.4g}" for k, v in params.items())
        raise ConvergenceError(
            f"{model} fit did not converge ({report.message}; {shown}). The data may hold too little variation "
            "between customers for this model.",
            report=report,
        )


def maximize_log_likelihood(
    loglik: LogLikelihood,
    initial: np.ndarray,
    names: tuple[str, ...],
    *,
    weights: np.ndarray,
    customers: int,
    repeat_customers: int,
    positive: np.ndarray | None = None,
    give_up: Callable[[np.ndarray], None] | None = None,
) -> tuple[np.ndarray, FitReport]:
    """Maximise Σ weights · loglik(θ); return θ̂ and a `FitReport`.

    ``loglik(theta, gradient)`` returns per-row log-likelihoods (shape (rows,)) and, if ``gradient``, their
    derivatives (shape (rows, len(theta))). Parameters flagged in ``positive`` (default: all) are optimised as
    log θ; the others (covariate coefficients) as they are. ``give_up(theta)`` is called after every iteration
    and may raise (e.g. `HomogeneousDropoutError`) to abandon a fit that is heading nowhere.
    """
    started = time.perf_counter()
    initial = np.asarray(initial, dtype=float)
    positive = np.ones(len(initial), dtype=bool) if positive is None else np.asarray(positive, dtype=bool)
    total_weight = float(weights.sum())

    def total(theta: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            ll, grad = loglik(theta, True)
            # Elementwise products, not `@`: OpenBLAS worker threads spin after each call and, on a busy
            # 2-core machine, slow the whole fit several-fold; these sums are memory-bound anyway.
            return float(np.sum(weights * ll)), np.sum(grad * weights[:, None], axis=0)

    def to_theta(phi: np.ndarray) -> np.ndarray:
        # log θ = L·tanh(φ/L): smooth, unconstrained in φ, and θ stays within e^±L. Where the likelihood keeps
        # rising towards 0 or ∞ (no dropout in the data, customers all alike) the fit settles at the edge
        # instead of running off to overflow.
        return np.where(positive, np.exp(_LOG_LIMIT * np.tanh(phi / _LOG_LIMIT)), phi)

    def chain(phi: np.ndarray, theta: np.ndarray) -> np.ndarray:
        return np.where(positive, theta * (1.0 - np.tanh(phi / _LOG_LIMIT) ** 2), 1.0)

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = to_theta(phi)
        value, grad = total(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(phi)
        # Scaled by the number of customers so tolerances do not depend on data size.
        return -value / total_weight, -(grad * chain(phi, theta)) / total_weight

    log0 = np.log(np.where(positive, initial, 1.0)).clip(-0.9 * _LOG_LIMIT, 0.9 * _LOG_LIMIT)
    phi0 = np.where(positive, _LOG_LIMIT * np.arctanh(log0 / _LOG_LIMIT), initial)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # BFGS rather than L-BFGS-B: with a handful of parameters its dense update is trivial, and it makes no
        # BLAS calls whose thread pool would compete with other work for the cores.
        result = optimize.minimize(objective, phi0, jac=True, method="BFGS", options={"maxiter": 1000, "gtol": 1e-6},
                                   callback=None if give_up is None else lambda phi: give_up(to_theta(phi)))
    phi_hat = result.x
    iterations = int(result.nit)
    at_edge = positive & (np.abs(phi_hat) > _LOG_LIMIT * np.arctanh(_EDGE))
    if at_edge.any() and not at_edge.all():
        # Some parameters ran to the edge (the likelihood rises towards their limit along a ridge). Hold them
        # there and maximise over the rest: in the joint coordinates the ridge is too ill-conditioned for BFGS.
        free = ~at_edge

        def restricted(sub: np.ndarray) -> tuple[float, np.ndarray]:
            full = phi_hat.copy()
            full[free] = sub
            value, grad = objective(full)
            return value, grad[free]

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sub = optimize.minimize(restricted, phi_hat[free], jac=True, method="BFGS", options={"gtol": 1e-9})
        if sub.fun <= result.fun:
            phi_hat = phi_hat.copy()
            phi_hat[free] = sub.x
            iterations += int(sub.nit)
    theta = to_theta(phi_hat)
    # Newton polishing: BFGS stops on a gradient test, which can leave the 4th significant digit of a flat
    # direction unsettled. A few steps with the Hessian at the BFGS point settle it; the same
    # Hessian (the change in θ is tiny) gives the standard errors.
    hessian = _hessian(total, theta, positive)
    value, grad = total(theta)
    for _ in range(0 if at_edge.any() else 4):
        try:
            step = np.linalg.solve(hessian, -grad)
        except np.linalg.LinAlgError:
            break
        candidate = theta + step
        if np.any(candidate[positive] <= 0):
            break
        new_value, new_grad = total(candidate)
        if not np.isfinite(new_value) or new_value < value:
            break
        theta, value, grad = candidate, new_value, new_grad
        iterations += 1
        if np.max(np.abs(step) / np.maximum(np.abs(theta), 1e-8)) < 1e-10:
            break
    information = -hessian
    covariance = np.full((len(theta), len(theta)), np.nan)
    try:
        covariance = np.linalg.inv(information)
        variances = np.diag(covariance)
        errors = np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)
        negative_definite = bool(np.all(np.linalg.eigvalsh(information) > 0))
    except np.linalg.LinAlgError:
        errors = np.full(len(theta), np.nan)
        negative_definite = False
    gradient_norm = float(np.max(np.abs(grad)))
    # Converged: the gradient in the optimiser's coordinates is ~0 (BFGS reaches ~1e-10 on good data). A flat
    # direction (a parameter the data cannot pin down, or one at the edge) still converges — the model is then
    # the limiting one — but is not "identified" and its standard errors are NaN.
    # Edge parameters are at their limit by design; the others must be at a stationary point.
    ratio = np.clip(np.log(np.where(positive, theta, 1.0)) / _LOG_LIMIT, -1 + 1e-12, 1 - 1e-12)
    phi = np.where(positive, _LOG_LIMIT * np.arctanh(ratio), theta)
    phi_gradient = float(np.max(np.abs(grad * chain(phi, theta))[~at_edge], initial=0.0)) / total_weight
    identified = bool(negative_definite and not at_edge.any())
    converged = bool(np.isfinite(value) and phi_gradient < _GRADIENT_TOLERANCE)
    if not identified:
        errors = np.where(at_edge | ~np.isfinite(errors), np.nan, errors)
    if converged and identified:
        message = "converged: gradient ≈ 0, Hessian negative definite"
    elif converged:
        edge = ", ".join(n for n, e in zip(names, at_edge) if e) or "none at the edge"
        message = f"converged to a limit the data cannot pin down (flat or at the edge: {edge})"
    else:
        message = str(result.message)
    report = FitReport(
        log_likelihood=float(value),
        converged=converged,
        iterations=iterations,
        message=message,
        at_edge=tuple(n for n, e in zip(names, at_edge) if e),
        identified=identified,
        covariance=tuple(tuple(float(v) for v in row) for row in covariance),
        standard_errors={name: float(e) for name, e in zip(names, errors)},
        customers=int(customers),
        repeat_customers=int(repeat_customers),
        gradient_norm=gradient_norm,
        seconds=time.perf_counter() - started,
    )
    return theta, report


def _hessian(
    total: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray, positive: np.ndarray
) -> np.ndarray:
    """Hessian of the total log-likelihood by forward differences of its analytic gradient (symmetrised).

    Forward differences with a relative step of 1e-6 are accurate to ~1e-6 relative — ample for standard
    errors and Newton directions — at half the cost of central ones.
    """
    k = len(theta)
    hessian = np.empty((k, k))
    base = total(theta)[1]
    for i in range(k):
        h = 1e-6 * theta[i] if positive[i] else 1e-6 * max(1.0, abs(theta[i]))
        up = theta.copy()
        up[i] += h
        hessian[:, i] = (total(up)[1] - base) / h
    return (hessian + hessian.T) / 2
