"""A shop whose customers all drop out at the same rate: the Pareto/NBD has no maximum there, and the product
must say so quickly and still score everyone (with the BG/NBD)."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from guanxi.analytics import customer_insight
from guanxi.analytics.errors import HomogeneousDropoutError
from guanxi.analytics.pareto_nbd import DROPOUT_SHAPE_LIMIT, fit_pareto_nbd
from guanxi.analytics.summary import customer_summary

START = dt.date(2024, 1, 1)
AS_OF = dt.date(2025, 6, 24)


def same_dropout_shop(customers: int = 3000, seed: int = 3, weekly_dropout: float = 0.02) -> pl.DataFrame:
    """Purchase rates vary (Gamma, shape 0.6, mean 0.06 a week); every lifetime is exponential with one rate."""
    rng = np.random.default_rng(seed)
    rows = []
    for customer in range(customers):
        per_day = rng.gamma(0.6, 1 / 10.0)
        first = int(rng.integers(0, 180))
        death = first + rng.exponential(1 / weekly_dropout) * 7
        day = float(first)
        while day <= min(death, 540):
            rows.append((customer, START + dt.timedelta(days=int(day)), float(rng.integers(20, 200))))
            day += rng.exponential(7 / max(per_day * 7, 1e-9))
    return pl.DataFrame(rows, schema={"customer_id": pl.Int64, "date": pl.Date, "amount": pl.Float64},
                        orient="row")


@pytest.fixture(scope="module")
def shop():
    return same_dropout_shop()


def test_the_pareto_nbd_fit_gives_up_on_the_ridge_with_a_reason(shop):
    summary = customer_summary(shop, as_of=AS_OF)
    with pytest.raises(HomogeneousDropoutError) as raised:
        fit_pareto_nbd(summary)
    assert "dropout rates look all alike" in str(raised.value)
    assert f"passed {DROPOUT_SHAPE_LIMIT:g}" in str(raised.value)


def test_insight_then_predicts_with_the_bgnbd_and_scores_every_buyer(shop):
    result = customer_insight(shop, as_of=AS_OF)
    summary = result.summary()
    assert summary["predictions_model"] == "bgnbd"
    assert "all alike" in summary["model_errors"]["pareto_nbd"]
    assert "all alike" in summary["model_errors"]["buy_again"]
    buyers = result.customers.filter(pl.col("frequency").is_not_null())
    assert buyers.height == shop["customer_id"].n_unique()
    for column in ("p_alive", "buy_again", "churn_probability", "expected_purchases_90d", "clv"):
        assert buyers[column].null_count() == 0, column
    assert buyers["buy_again"].is_between(0.0, 1.0).all()
    assert buyers["churn_risk"].is_in(["low", "medium", "high"]).all()
    # Recent frequent buyers must rank above long-silent one-time buyers.
    recent = buyers.filter((pl.col("frequency") >= 3) & (pl.col("recency_days") <= 30))["buy_again"].mean()
    silent = buyers.filter((pl.col("frequency") == 1) & (pl.col("recency_days") >= 300))["buy_again"].mean()
    assert recent > silent
