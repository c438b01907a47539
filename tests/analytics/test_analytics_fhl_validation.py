"""The fits reproduce the published Fader–Hardie–Lee parameters on CDNOW_sample.txt (calibration 1997-01-01 to
1997-09-30, weeks = days / 7, same-day purchases merged) within 0.5%."""

import datetime as dt

import polars as pl
import pytest

from guanxi.analytics.bgnbd import fit_bgnbd
from guanxi.analytics.gamma_gamma import fit_gamma_gamma
from guanxi.analytics.pareto_nbd import fit_pareto_nbd


def _close(value, published, tolerance=0.005):
    return abs(value - published) <= tolerance * abs(published)


def test_summary_uses_fhl_conventions(sample_summary):
    assert sample_summary.height == 2357
    assert int((sample_summary["frequency"] > 0).sum()) == 946
    # T runs from the first purchase to the end of week 39 (1997-09-30): 272 days for a 1997-01-01 buyer.
    first_day = sample_summary.filter(pl.col("first_purchase") == dt.date(1997, 1, 1))
    assert first_day["T"].unique().to_list() == [pytest.approx(272 / 7)]
    assert sample_summary["first_purchase"].max() <= dt.date(1997, 3, 31)
    # Customer 4 (sample id 1): purchases 1997-01-01, 01-18, 08-02, 12-12 → x = 2, t_x = 30.43 weeks.
    row = sample_summary.filter(pl.col("customer_id") == 4).row(0, named=True)
    assert row["frequency"] == 2
    assert row["recency"] == pytest.approx(213 / 7)
    assert row["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)


def test_bgnbd_matches_published_parameters(sample_summary):
    model = fit_bgnbd(sample_summary)
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert _close(model.params[name], value), (name, model.params[name], value)
    assert model.report.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert model.report.converged
    assert all(0 < se < model.params[k] for k, se in model.report.standard_errors.items())


def test_pareto_nbd_matches_published_parameters(sample_summary):
    model = fit_pareto_nbd(sample_summary)
    published = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    for name, value in published.items():
        assert _close(model.params[name], value), (name, model.params[name], value)
    assert model.report.log_likelihood == pytest.approx(-9595.0, abs=0.1)
    assert model.report.converged


def test_gamma_gamma_matches_published_parameters(sample_summary):
    model = fit_gamma_gamma(sample_summary)
    assert model.report.customers == 946
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    for name, value in published.items():
        assert _close(model.params[name], value), (name, model.params[name], value)
    assert model.report.log_likelihood == pytest.approx(-4055.92, abs=0.01)
    assert model.report.converged
