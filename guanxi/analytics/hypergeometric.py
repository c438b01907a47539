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
and :math:`z` are sums of the same terms, giving exact gradients. The series is summed, vectorised, until
every row's remaining tail is below 1e-16 of its sum; the rare rows with z > 0.9 (one scale parameter dwarfing
the other, e.g. mid-optimisation) use scipy's ``hyp2f1`` of the same bounded function instead.
"""

from __future__ import annotations

import numpy as np
from scipy.special import hyp2f1

_Z_SERIES_MAX = 0.9  # beyond this the series needs > 350 terms; scipy's hyp2f1 takes over
_MAX_TERMS = 20_000
_TOL = 1e-16
_SMALL = 256  # below this many unconverged rows, sum in 2-D blocks rather than one term per pass
_BLOCK = 64


def _series_g(b: np.ndarray, c: np.ndarray, z: np.ndarray, *, gradient: bool):
    """G = 2F1(1, b; c; z) and, with ``gradient``, dG/db, dG/dc, dG/dz; rows with z > 0.9 go to `_near_one`."""
    far = z > _Z_SERIES_MAX
    if not far.any():
        return _series(b, c, z, gradient=gradient)
    out = [np.empty_like(z) for _ in range(4)]
    near = ~far
    for target, value in zip(out, _series(b[near], c[near], z[near], gradient=gradient)):
        target[near] = value
    for target, value in zip(out, _near_one(b[far], c[far], z[far], gradient=gradient)):
        target[far] = value
    return tuple(out)


def _near_one(b: np.ndarray, c: np.ndarray, z: np.ndarray, *, gradient: bool):
    """The few rows with z near 1 (one of α, β dwarfs the other): the series would need thousands of terms, so
    use scipy's ``hyp2f1`` (analytic continuation around z = 1), dG/dz = (b/c) 2F1(2, b+1; c+1; z) and central
    differences in b and c."""
    value = hyp2f1(1.0, b, c, z)
    if not gradient:
        return value, np.zeros_like(z), np.zeros_like(z), np.zeros_like(z)
    h_b, h_c = 1e-6 * np.maximum(1.0, b), 1e-6 * np.maximum(1.0, c)
    d_b = (hyp2f1(1.0, b + h_b, c, z) - hyp2f1(1.0, b - h_b, c, z)) / (2 * h_b)
    d_c = (hyp2f1(1.0, b, c + h_c, z) - hyp2f1(1.0, b, c - h_c, z)) / (2 * h_c)
    d_z = b / c * hyp2f1(2.0, b + 1.0, c + 1.0, z)
    return value, d_b, d_c, d_z


def _series(b: np.ndarray, c: np.ndarray, z: np.ndarray, *, gradient: bool):
    """G = 2F1(1, b; c; z) and, with ``gradient``, dG/db, dG/dc, dG/dz (1-D arrays, 0 ≤ z < 1, b < c).

    t_0 = 1, t_{j+1} = t_j (b+j)/(c+j) z; dG/db = Σ t_j Σ_{k<j} 1/(b+k), dG/dc = −Σ t_j Σ_{k<j} 1/(c+k),
    dG/dz = Σ j t_j / z (accumulated as (j+1) t_j (b+j)/(c+j), exact at z = 0). The terms fall at least as
    fast as z^j, and a row stops once the bound on its tail, t_j z/(1−z) (j + 1/(1−z)), is below 1e-16 of its
    sum. Most rows need 10–40 terms: those are summed one term per pass over all rows; the few slow rows
    (z near 1) finish in blocks of 64 terms.
    """
    n = b.shape[0]
    out = [np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n)]  # G, dG/db, dG/dc, dG/dz
    idx = np.arange(n)
    bb, cc, zz = b.astype(float), c.astype(float), z.astype(float)
    term, s_b, s_c = np.ones(n), np.zeros(n), np.zeros(n)
    tot, g_b, g_c, g_z = np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n)
    j = 0

    def finish(done: np.ndarray) -> None:
        for target, value in zip(out, (tot, g_b, g_c, g_z)):
            target[idx[done]] = value[done]

    while idx.size >= _SMALL and j < _MAX_TERMS:
        ratio = (bb + j) / (cc + j)
        if gradient:
            g_z += (j + 1) * term * ratio
            s_b += 1.0 / (bb + j)
            s_c += 1.0 / (cc + j)
        term = term * ratio * zz
        tot += term
        if gradient:
            g_b += term * s_b
            g_c -= term * s_c
        j += 1
        if j % 8 == 0:
            done = _tail(term, zz, j) <= _TOL * tot
            if done.any():
                finish(done)
                keep = ~done
                idx = idx[keep]
                bb, cc, zz, term, s_b, s_c, tot, g_b, g_c, g_z = (
                    v[keep] for v in (bb, cc, zz, term, s_b, s_c, tot, g_b, g_c, g_z)
                )
    while idx.size and j < _MAX_TERMS:
        k = j + np.arange(_BLOCK)
        ratio = (bb[:, None] + k) / (cc[:, None] + k)
        terms = term[:, None] * np.cumprod(ratio * zz[:, None], axis=1)  # t_{j+1} … t_{j+BLOCK}
        tot = tot + terms.sum(axis=1)
        if gradient:
            prev = np.concatenate([term[:, None], terms[:, :-1]], axis=1)
            g_z = g_z + ((k + 1) * prev * ratio).sum(axis=1)
            sb = s_b[:, None] + np.cumsum(1.0 / (bb[:, None] + k), axis=1)
            sc = s_c[:, None] + np.cumsum(1.0 / (cc[:, None] + k), axis=1)
            g_b = g_b + (terms * sb).sum(axis=1)
            g_c = g_c - (terms * sc).sum(axis=1)
            s_b, s_c = sb[:, -1], sc[:, -1]
        term = terms[:, -1]
        j += _BLOCK
        done = _tail(term, zz, j) <= _TOL * tot
        if j >= _MAX_TERMS:
            # Only for z within ~1e-3 of 1: add the tail bound's leading part and stop.
            tot = tot + term * zz / (1.0 - zz)
            done[:] = True
        finish(done)
        keep = ~done
        idx = idx[keep]
        bb, cc, zz, term, s_b, s_c, tot, g_b, g_c, g_z = (
            v[keep] for v in (bb, cc, zz, term, s_b, s_c, tot, g_b, g_c, g_z)
        )
    return tuple(out)


def _tail(term: np.ndarray, z: np.ndarray, j: int) -> np.ndarray:
    """Upper bound on Σ_{i>j} t_i (and on the j-weighted sums of the gradient) given t_j, for ratios < z."""
    return term * z / (1.0 - z) * (j + 1.0 / (1.0 - z))


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
