r"""The Pareto/NBD "hypergeometric term", computed in log space without overflow, with analytic gradients.

The Pareto/NBD likelihood and its holdout predictions need integrals of the form

.. math::  J(t) = \int_t^\infty (A+u)^{-p}\,(B+u)^{-q}\,du, \qquad p, q > 0,\; p+q > 1,\; A, B > 0,

which Fader & Hardie write with Gauss's hypergeometric function :math:`{}_2F_1`. Evaluated naively
(``hyp2f1(r+s+x, s+1; r+s+x+1; z) / (α+t)^(r+s+x)``, as `lifetimes` does) the numerator and denominator overflow
for frequent buyers and the difference :math:`J(t_x) - J(T)` loses all digits. Here, with :math:`n = p+q-1`:

* if :math:`A \ge B`, substituting :math:`w = 1/(A+u)` and applying Euler's transformation gives

  .. math:: \log J(t) = -p\log(A+t) - (q-1)\log(B+t) - \log n + \log G(p,\, p+q,\, z),\quad z=\tfrac{A-B}{A+t};

* if :math:`A < B` the roles of :math:`(A,p)` and :math:`(B,q)` swap;

where :math:`G(b, c, z) = {}_2F_1(1, b; c; z) = \sum_j \frac{(b)_j}{(c)_j} z^j` with :math:`0 \le z < 1` and
:math:`b < c`. Every term of that series is positive and at most :math:`z^j`, so G lies in
:math:`[1, 1/(1-z))`: no overflow, no cancellation, and the derivatives with respect to :math:`b`, :math:`c`
and :math:`z` are sums of the same terms, giving exact gradients. The series is summed in vectorised blocks
until every row's remaining tail is below 1e-16 of its sum.
"""

from __future__ import annotations

import numpy as np

_BLOCK = 16
_MAX_TERMS = 20_000
_TOL = 1e-16


def _series_g(b: np.ndarray, c: np.ndarray, z: np.ndarray, *, gradient: bool):
    """G = 2F1(1, b; c; z) and, with ``gradient``, dG/db, dG/dc, dG/dz (arrays of one shape, 0 ≤ z < 1, b < c)."""
    n = b.shape[0]
    total = np.ones(n)
    d_b = np.zeros(n)
    d_c = np.zeros(n)
    d_z = np.zeros(n)
    term = np.ones(n)  # t_j for the last j summed
    s_b = np.zeros(n)  # Σ_{k<j} 1/(b+k): d log t_j / d b
    s_c = np.zeros(n)  # Σ_{k<j} 1/(c+k): −d log t_j / d c
    active = np.arange(n)
    j0 = 0  # index of `term`
    while active.size and j0 < _MAX_TERMS:
        bb, cc, zz = b[active, None], c[active, None], z[active, None]
        k = j0 + np.arange(_BLOCK)  # t_{k+1} = t_k (b+k)/(c+k) z
        ratio = (bb + k) / (cc + k)
        terms = term[active, None] * np.cumprod(ratio * zz, axis=1)  # t_{j0+1} … t_{j0+BLOCK}
        total[active] += terms.sum(axis=1)
        if gradient:
            sb = s_b[active, None] + np.cumsum(1.0 / (bb + k), axis=1)
            sc = s_c[active, None] + np.cumsum(1.0 / (cc + k), axis=1)
            d_b[active] += (terms * sb).sum(axis=1)
            d_c[active] -= (terms * sc).sum(axis=1)
            # d t_j / dz = j t_j / z, written as j · t_{j-1} · ratio_{j-1} so that z = 0 is exact.
            prev = np.concatenate([term[active, None], terms[:, :-1]], axis=1)
            d_z[active] += ((k + 1) * prev * ratio).sum(axis=1)
            s_b[active] = sb[:, -1]
            s_c[active] = sc[:, -1]
        last = terms[:, -1]
        term[active] = last
        j0 += _BLOCK
        # The ratios rise towards z, so the tail after t_j is below t_j · z / (1 − z).
        tail = last * zz[:, 0] / (1.0 - zz[:, 0]) * (j0 + 1.0 / (1.0 - zz[:, 0]))
        active = active[tail > _TOL * total[active]]
    if active.size:  # only for z within ~1e-3 of 1: add the geometric tail bound's midpoint
        zz = z[active]
        total[active] += term[active] * zz / (1.0 - zz)
    return total, d_b, d_c, d_z


def log_tail_integral(p, q, A, B, t, *, gradient: bool = False):
    r"""log J(t) = log ∫_t^∞ (A+u)^-p (B+u)^-q du, elementwise, and optionally its gradient in (p, q, A, B).

    All arguments broadcast to one shape; requires p > 0, q > 0, p + q > 1, A + t > 0, B + t > 0. Returns
    ``log_j`` or ``(log_j, (d_p, d_q, d_A, d_B))`` (derivatives of log J).
    """
    p, q, A, B, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (p, q, A, B, t)))
    shape = p.shape
    p, q, A, B, t = (v.ravel() for v in (p, q, A, B, t))
    swap = A < B
    # Work with (A1, p1) the larger scale; the formula is symmetric under swapping the two factors.
    p1, q1 = np.where(swap, q, p), np.where(swap, p, q)
    A1, B1 = np.where(swap, B, A), np.where(swap, A, B)
    at, bt = A1 + t, B1 + t
    n = p1 + q1 - 1.0
    z = (A1 - B1) / at
    G, G_b, G_c, G_z = _series_g(p1, p1 + q1, z, gradient=gradient)
    log_j = -p1 * np.log(at) - (q1 - 1.0) * np.log(bt) - np.log(n) + np.log(G)
    if not gradient:
        return log_j.reshape(shape)
    d_p1 = -np.log(at) - 1.0 / n + (G_b + G_c) / G
    d_q1 = -np.log(bt) - 1.0 / n + G_c / G
    gz = G_z / G
    d_A1 = -p1 / at + gz * bt / at**2
    d_B1 = -(q1 - 1.0) / bt - gz / at
    d_p, d_q = np.where(swap, d_q1, d_p1), np.where(swap, d_p1, d_q1)
    d_A, d_B = np.where(swap, d_B1, d_A1), np.where(swap, d_A1, d_B1)
    return log_j.reshape(shape), tuple(v.reshape(shape) for v in (d_p, d_q, d_A, d_B))


def log_diff_exp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(exp(a) − exp(b)) for a ≥ b without overflow; −inf where a == b."""
    with np.errstate(divide="ignore"):
        return a + np.log(-np.expm1(np.minimum(b - a, 0.0)))
