"""Likelihoods, gradients, stability and predictions of the BG/NBD, Pareto/NBD and Gamma-Gamma models."""

import numpy as np
import pytest
from scipy import integrate

from guanxi.analytics import bgnbd, gamma_gamma, pareto_nbd
from guanxi.analytics.errors import InsufficientDataError
from guanxi.analytics.fitting import MIN_REPEAT_CUSTOMERS, compress_rows
from guanxi.analytics.hypergeometric import log_tail_integral


def _numeric_gradient(f, theta, relative=1e-6):
    grad = []
    for i in range(len(theta)):
        h = relative * max(abs(theta[i]), 1e-2)
        up, down = np.array(theta, float), np.array(theta, float)
        up[i] += h
        down[i] -= h
        grad.append((f(up) - f(down)) / (2 * h))
    return np.array(grad)


@pytest.mark.parametrize(
    "p,q,A,B,t",
    [
        (30.0, 1.5, 1000.0, 0.5, 0.0),  # one scale dwarfs the other: z ≈ 1
        (0.3, 1.6, 0.5, 2000.0, 0.0),
        (5.0, 1.2, 3.0, 3.0, 10.0),  # A = B: z = 0
        (50.0, 1.1, 10.0, 9.0, 0.1),
        (2.5, 0.7, 4.0, 20.0, 38.0),
    ],
)
def test_log_tail_integral_matches_quadrature_and_its_gradient_is_exact(p, q, A, B, t):
    f = lambda u: (A + u) ** -p * (B + u) ** -q  # noqa: E731
    near = integrate.quad(f, t, t + 100, epsabs=0, epsrel=1e-12, limit=1000)[0]
    far = integrate.quad(f, t + 100, np.inf, epsabs=0, epsrel=1e-12, limit=1000)[0]
    value, grads = log_tail_integral(p, q, A, B, t, gradient=True)
    assert float(value) == pytest.approx(np.log(near + far), rel=1e-10)
    numeric = _numeric_gradient(lambda th: float(log_tail_integral(*th, t)), [p, q, A, B])
    # Rows with z near 1 use scipy's hyp2f1 and differences in b and c: exact to ~1e-6 rather than ~1e-9.
    assert np.array([float(g) for g in grads]) == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_pareto_nbd_likelihood_stays_finite_for_extreme_buyers():
    # A customer with 2,000 purchases: (α+t)^(r+s+x) overflows float64 in the textbook formula.
    x = np.array([0.0, 1.0, 2000.0, 2000.0])
    t_x = np.array([0.0, 0.1, 50.0, 52.0])
    T = np.array([52.0, 52.0, 52.0, 52.0])
    model = pareto_nbd.ParetoNBDModel(r=0.55, alpha=10.6, s=0.61, beta=11.7)
    data = {"frequency": x, "recency": t_x, "T": T}
    ll = model.log_likelihood(data)
    assert np.all(np.isfinite(ll))
    p_alive = model.p_alive(data)
    assert np.all((p_alive > 0) & (p_alive <= 1))
    assert p_alive[3] == pytest.approx(1.0)  # bought at T: certainly alive
    assert np.all(np.isfinite(model.expected_purchases(data, 39.0)))


def _random_rows(rng, n=300):
    x = rng.integers(0, 12, n).astype(float)
    T = rng.uniform(5, 40, n)
    t_x = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    return x, t_x, T


def test_bgnbd_gradient_is_analytic_and_exact():
    x, t_x, T = _random_rows(np.random.default_rng(1))
    theta = np.array([0.3, 5.0, 0.8, 2.5])
    _, grad = bgnbd._loglik(theta, x, t_x, T, True)
    numeric = _numeric_gradient(lambda th: bgnbd._loglik(th, x, t_x, T, False)[0].sum(), theta)
    assert grad.sum(axis=0) == pytest.approx(numeric, rel=1e-6)


def test_pareto_nbd_gradient_with_covariates_is_exact():
    rng = np.random.default_rng(2)
    x, t_x, T = _random_rows(rng)
    Z = rng.normal(size=(len(x), 2))
    rows = pareto_nbd._Rows(x, t_x, T, Z)
    theta = np.array([0.6, 11.0, 0.5, 9.0, 0.3, -0.2, -0.1, 0.4])
    _, grad = pareto_nbd._loglik(theta, rows, True)
    numeric = _numeric_gradient(lambda th: pareto_nbd._loglik(th, rows, False)[0].sum(), theta)
    assert grad.sum(axis=0) == pytest.approx(numeric, rel=1e-6, abs=1e-6)


def test_gamma_gamma_gradient_is_exact():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 10, 200).astype(float)
    m = rng.gamma(4.0, 10.0, 200)
    theta = np.array([6.0, 3.7, 15.0])
    _, grad = gamma_gamma._loglik(theta, x, m, True)
    numeric = _numeric_gradient(lambda th: gamma_gamma._loglik(th, x, m, False)[0].sum(), theta)
    assert grad.sum(axis=0) == pytest.approx(numeric, rel=1e-6)


def _simulate_pareto_nbd(rng, n, r, alpha, s, beta, T_max=52.0):
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    T = rng.uniform(T_max / 2, T_max, n)
    death = rng.exponential(1 / mu)
    horizon = np.minimum(death, T)
    x = rng.poisson(lam * horizon)
    # Given x purchases in (0, horizon], their times are uniform; t_x is the largest.
    t_x = np.where(x > 0, horizon * rng.beta(np.maximum(x, 1), 1), 0.0)
    return {"frequency": x.astype(float), "recency": t_x, "T": T}


def test_pareto_nbd_recovers_the_parameters_it_was_simulated_with():
    data = _simulate_pareto_nbd(np.random.default_rng(4), 20_000, r=0.55, alpha=10.0, s=0.6, beta=12.0)
    model = pareto_nbd.fit_pareto_nbd(data)
    assert model.report.converged
    for name, true in {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0}.items():
        error = model.report.standard_errors[name]
        assert abs(model.params[name] - true) < 4 * error, (name, model.params[name], true, error)


def test_predictions_behave_as_the_models_say(sample_summary):
    bg = bgnbd.fit_bgnbd(sample_summary)
    pn = pareto_nbd.fit_pareto_nbd(sample_summary)
    once = {"frequency": np.zeros(3), "recency": np.zeros(3), "T": np.array([5.0, 20.0, 39.0])}
    assert np.all(bg.p_alive(once) == 1.0)
    assert np.all(np.diff(pn.p_alive(once)) < 0)  # older one-time buyers are less likely alive
    for model in (bg, pn):
        e13, e39 = model.expected_purchases(sample_summary, 13.0), model.expected_purchases(sample_summary, 39.0)
        assert np.all(e39 >= e13) and np.all(e13 >= 0)
        p = model.p_purchase(sample_summary, 39.0)
        assert np.all((p >= 0) & (p <= model.p_alive(sample_summary) + 1e-12))
    # A new customer's expected purchases agree with simulating the BG/NBD story: X(t) = min(K, N(t)),
    # N(t) ~ Poisson(λt), K ~ Geometric(p) purchases until the one after which they drop out.
    rng = np.random.default_rng(5)
    lam = rng.gamma(bg.r, 1 / bg.alpha, 400_000)
    p = rng.beta(bg.a, bg.b, 400_000)
    simulated = np.minimum(rng.geometric(p), rng.poisson(lam * 78.0)).mean()
    assert bg.expected_purchases_new_customer(78.0) == pytest.approx(simulated, rel=0.02)


def test_pareto_nbd_p_purchase_matches_direct_integration_over_the_posterior():
    model = pareto_nbd.ParetoNBDModel(r=0.55, alpha=10.6, s=0.61, beta=11.7)
    x, t_x, T, t = 3.0, 20.0, 39.0, 13.0
    data = {"frequency": np.array([x]), "recency": np.array([t_x]), "T": np.array([T])}
    # Given alive: λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T); P(buy before dying and before t) by Monte Carlo.
    rng = np.random.default_rng(6)
    lam = rng.gamma(model.r + x, 1 / (model.alpha + T), 2_000_000)
    mu = rng.gamma(model.s, 1 / (model.beta + T), 2_000_000)
    if_alive = np.mean(lam / (lam + mu) * -np.expm1(-(lam + mu) * t))
    expected = model.p_alive(data)[0] * if_alive
    assert model.p_purchase(data, t)[0] == pytest.approx(expected, rel=2e-3)


def test_fits_refuse_too_few_repeat_customers():
    data = {
        "frequency": np.r_[np.ones(MIN_REPEAT_CUSTOMERS - 1), np.zeros(500)],
        "recency": np.r_[np.full(MIN_REPEAT_CUSTOMERS - 1, 3.0), np.zeros(500)],
        "T": np.full(MIN_REPEAT_CUSTOMERS - 1 + 500, 30.0),
        "monetary_value": np.r_[np.full(MIN_REPEAT_CUSTOMERS - 1, 20.0), np.zeros(500)],
    }
    for fit in (bgnbd.fit_bgnbd, pareto_nbd.fit_pareto_nbd, gamma_gamma.fit_gamma_gamma):
        with pytest.raises(InsufficientDataError, match=f"at least {MIN_REPEAT_CUSTOMERS} repeat customers") as info:
            fit(data)
        assert info.value.found == MIN_REPEAT_CUSTOMERS - 1 and info.value.required == MIN_REPEAT_CUSTOMERS


def test_gamma_gamma_expected_order_value_shrinks_towards_the_population_mean(sample_summary):
    model = gamma_gamma.fit_gamma_gamma(sample_summary)
    data = {"frequency": np.array([0.0, 1.0, 20.0]), "monetary_value": np.array([0.0, 100.0, 100.0])}
    value = model.expected_order_value(data)
    assert value[0] == pytest.approx(model.population_mean)
    assert model.population_mean < value[1] < value[2] < 100.0


def test_compress_rows_maps_back_to_every_row():
    x = np.array([0, 1, 0, 1, 2.0])
    t = np.array([0, 3, 0, 3, 5.0])
    (ux, ut), counts, inverse = compress_rows(x, t)
    assert counts.sum() == 5 and len(ux) == 3
    assert np.array_equal(ux[inverse], x) and np.array_equal(ut[inverse], t)


def test_bgnbd_predict_equals_the_per_customer_formulas(sample_summary):
    model = bgnbd.fit_bgnbd(sample_summary)
    horizons = (30 / 7, 90 / 7, 52.0)
    alive, expected = model.predict(sample_summary, horizons)
    np.testing.assert_allclose(alive, model.p_alive(sample_summary), rtol=1e-13)
    direct = np.column_stack([model.expected_purchases(sample_summary, t) for t in horizons])
    np.testing.assert_allclose(expected, direct, rtol=1e-13)
    assert expected.shape == (len(alive), 3) and (expected[:, 0] < expected[:, 2]).all()
