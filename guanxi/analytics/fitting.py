"""Maximum-likelihood machinery shared by the BG/NBD, Pareto/NBD and Gamma-Gamma models.

Each model supplies a vectorised log-likelihood with its analytic gradient over *unique* data rows and their
counts (customers with identical (x, t_x, T) share a row, which typically shrinks the data ten-fold).
`maximize_log_likelihood` optimises in log-parameter space (all parameters are positive) with L-BFGS-B,
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

from guanxi.analytics.errors import InsufficientDataError

#: Fewest repeat customers (frequency ≥ 1) the purchase and spend models accept. With fewer, the likelihood
#: surface of the dropout parameters (a, b or s, β) and the spend parameters is nearly flat: their standard
#: errors exceed the estimates and predictions are noise. Callers catch `InsufficientDataError` and fall back to
#: RFM-only insight.
MIN_REPEAT_CUSTOMERS = 50

LogLikelihood = Callable[[np.ndarray, bool], "tuple[np.ndarray, np.ndarray | None]"]


@dataclasses.dataclass(frozen=True)
class FitReport:
    """How a maximum-likelihood fit went.

    Attributes:
        log_likelihood: maximised total log-likelihood (natural log, summed over customers).
        converged: the optimiser reported success, the gradient is ~0 and the Hessian is negative definite.
        iterations: optimiser iterations (L-BFGS-B plus Newton polishing steps).
        message: the optimiser's message.
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

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def compress_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Unique rows of the stacked columns, their counts, and the index mapping each input row to its unique row."""
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float), inverse.ravel()


def require_repeat_customers(repeat: int, minimum: int, model: str) -> None:
    """Raise `InsufficientDataError` when fewer than ``minimum`` customers bought more than once."""
    if repeat < minimum:
        raise InsufficientDataError(
            f"{model} needs at least {minimum} repeat customers (customers with 2 or more purchase days) to fit; "
            f"the data has {repeat}. Use RFM insight until more customers come back.",
            found=repeat,
            required=minimum,
        )


def maximize_log_likelihood(
    loglik: LogLikelihood,
    initial: np.ndarray,
    names: tuple[str, ...],
    *,
    weights: np.ndarray,
    customers: int,
    repeat_customers: int,
) -> tuple[np.ndarray, FitReport]:
    """Maximise Σ weights · loglik(θ) over θ > 0; return θ̂ and a `FitReport`.

    ``loglik(theta, gradient)`` returns per-row log-likelihoods (shape (rows,)) and, if ``gradient``, their
    derivatives (shape (rows, len(theta))).
    """
    started = time.perf_counter()
    total_weight = float(weights.sum())

    def total(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = loglik(theta, True)
        return float(weights @ ll), weights @ grad

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        with np.errstate(all="ignore"):
            value, grad = total(theta)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(phi)
        # Scaled by the number of customers so tolerances do not depend on data size.
        return -value / total_weight, -(grad * theta) / total_weight

    phi0 = np.log(np.asarray(initial, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = optimize.minimize(
            objective,
            phi0,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-20.0, 20.0)] * len(phi0),
            options={"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
        )
    theta = np.exp(result.x)
    iterations = int(result.nit)
    # Newton polishing in natural parameters: L-BFGS-B stops on a relative-change test, which can leave the
    # 4th significant digit of a flat direction unsettled. Two or three Newton steps make it exact.
    hessian = _hessian(total, theta)
    for _ in range(8):
        value, grad = total(theta)
        try:
            step = np.linalg.solve(hessian, -grad)
        except np.linalg.LinAlgError:
            break
        candidate = theta + step
        if np.any(candidate <= 0):
            break
        new_value, _ = total(candidate)
        if not np.isfinite(new_value) or new_value < value - 1e-9 * abs(value):
            break
        theta = candidate
        iterations += 1
        hessian = _hessian(total, theta)
        if np.max(np.abs(step) / theta) < 1e-12:
            break
    value, grad = total(theta)
    information = -hessian
    try:
        covariance = np.linalg.inv(information)
        variances = np.diag(covariance)
        errors = np.where(variances > 0, np.sqrt(np.abs(variances)), np.nan)
        negative_definite = bool(np.all(np.linalg.eigvalsh((information + information.T) / 2) > 0))
    except np.linalg.LinAlgError:
        errors = np.full(len(theta), np.nan)
        negative_definite = False
    gradient_norm = float(np.max(np.abs(grad)))
    converged = bool(
        np.isfinite(value) and negative_definite and gradient_norm < 1e-4 * max(1.0, total_weight / 100.0)
    )
    report = FitReport(
        log_likelihood=float(value),
        converged=converged,
        iterations=iterations,
        message=str(result.message),
        standard_errors={name: float(e) for name, e in zip(names, errors)},
        customers=int(customers),
        repeat_customers=int(repeat_customers),
        gradient_norm=gradient_norm,
        seconds=time.perf_counter() - started,
    )
    return theta, report


def _hessian(total: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray) -> np.ndarray:
    """Hessian of the total log-likelihood by central differences of its analytic gradient (symmetrised)."""
    k = len(theta)
    hessian = np.empty((k, k))
    for i in range(k):
        h = 1e-5 * theta[i]
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        hessian[:, i] = (total(up)[1] - total(down)[1]) / (2 * h)
    return (hessian + hessian.T) / 2
