"""`fit_file` (the logic of `guanxi analytics fit`) and `customer_insight` (one refresh) on real files."""

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from guanxi.analytics import FileFormatError, InsightSettings, customer_insight, register_reader
from guanxi.analytics.fit_file import fit_file
from guanxi.analytics.readers import READERS

from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "guanxi" / "data" / "cdnow" / "CDNOW_sample.txt"


def test_fit_file_prints_the_documented_json_on_the_fhl_split(tmp_path):
    out = tmp_path / "scores.csv"
    result = fit_file(SAMPLE, "cdnow-sample", "1997-09-30", observation_end="1998-06-30", scores_out=out)
    json.dumps(result)  # plain JSON types only
    assert set(result) == {"customers", "time_unit", "bgnbd", "pareto_nbd", "gamma_gamma", "holdout", "seconds"}
    assert result["customers"] == 2357 and result["time_unit"] == "week"
    assert set(result["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(result["pareto_nbd"]) == {"r", "alpha", "s", "beta", "log_likelihood"}
    assert set(result["gamma_gamma"]) == {"p", "q", "gamma", "log_likelihood", "customers"}
    assert result["bgnbd"]["r"] == pytest.approx(0.243, rel=0.005)
    assert result["pareto_nbd"]["log_likelihood"] == pytest.approx(-9595.0, abs=0.1)
    assert result["gamma_gamma"]["customers"] == 946
    holdout = result["holdout"]
    assert set(holdout) == {"actual_repeat_purchases", "predicted", "auc_buy_again"}
    assert set(holdout["predicted"]) == {"bgnbd", "pareto_nbd"}
    assert set(holdout["auc_buy_again"]) == {"bgnbd", "pareto_nbd", "guanxi"}
    assert holdout["actual_repeat_purchases"] == 1882
    assert 0.8 < holdout["predicted"]["bgnbd"] / 1882 < 1.1
    assert holdout["auc_buy_again"]["guanxi"] > holdout["auc_buy_again"]["pareto_nbd"]
    assert result["seconds"]["total"] > 0

    scores = pl.read_csv(out)
    assert scores.columns == [
        "customer_id", "p_alive", "expected_purchases_holdout", "buy_again_score", "clv_12m", "rfm_segment",
        "value_class",
    ]  # fmt: skip
    assert scores.height == 2357 and scores.null_count().sum_horizontal().item() == 0
    assert scores["buy_again_score"].is_between(0, 1).all() and (scores["clv_12m"] >= 0).all()


def test_fit_file_without_a_holdout_has_no_holdout_key():
    result = fit_file(SAMPLE, "cdnow-sample", "1998-06-30")
    assert "holdout" not in result and result["customers"] == 2357


def test_fit_file_reports_models_it_cannot_fit(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("".join(f"{i:05d} 19970101 1 10.00\n" for i in range(1, 40)) + "00001 19970301 1 5.00\n")
    result = fit_file(path, "cdnow", "1997-09-30")
    assert result["bgnbd"] is None and result["pareto_nbd"] is None and result["gamma_gamma"] is None
    assert "repeat customers" in result["errors"]["bgnbd"]


def test_unreadable_files_and_formats_say_what_is_wrong(tmp_path):
    with pytest.raises(FileFormatError, match="known formats: .*cdnow"):
        fit_file(SAMPLE, "taobao-not-yet", "1997-09-30")
    bad = tmp_path / "bad.txt"
    bad.write_text("00001 19970101 1 11.77\n00002 1997-01-12 1 12.00\n")
    with pytest.raises(FileFormatError, match="line 2"):
        fit_file(bad, "cdnow", "1997-09-30")
    with pytest.raises(ValueError, match="no purchase"):
        fit_file(SAMPLE, "cdnow-sample", "1996-12-31")


def _write_generic_orders(path, rng, customers=600, days=300):
    """Buyers with their own purchase and dropout rates (Pareto/NBD-like, as real shops are) in a plain CSV."""
    rates = rng.gamma(0.8, 1 / 25, customers)  # purchases per day
    lifetimes = rng.exponential(1 / rng.gamma(0.7, 1 / 60, customers))  # days until they drop out
    start = dt.date(2024, 1, 1)
    lines = ["buyer,paid_on,total"]
    for c, rate in enumerate(rates):
        first = int(rng.integers(0, 60))
        lines.append(f"b{c},{start + dt.timedelta(days=first)},{rng.gamma(3, 10):.2f}")
        for day in range(first + 1, min(days, first + 1 + int(lifetimes[c]))):
            if rng.random() < rate:
                lines.append(f"b{c},{start + dt.timedelta(days=day)},{rng.gamma(3, 10):.2f}")
    path.write_text("\n".join(lines))


def _read_generic(path):
    frame = pl.read_csv(path, try_parse_dates=True)
    return frame.select(
        pl.col("buyer").alias("customer_id"), pl.col("paid_on").alias("date"), pl.col("total").cast(pl.Float64).alias("amount")
    )


def test_new_formats_plug_in_through_register_reader(tmp_path):
    path = tmp_path / "orders.csv"
    _write_generic_orders(path, np.random.default_rng(7))
    register_reader("test-generic", _read_generic)
    try:
        result = fit_file(path, "test-generic", "2024-06-30")
    finally:
        READERS.pop("test-generic")
    assert result["customers"] == 600 and "errors" not in result
    assert result["holdout"]["auc_buy_again"]["guanxi"] > 0.6


def test_customers_too_alike_to_fit_are_reported_not_scored_with_garbage(tmp_path):
    path = tmp_path / "clockwork.csv"  # every buyer buys every 7th day: no heterogeneity to estimate
    rows = ["buyer,paid_on,total"] + [
        f"b{c},{dt.date(2024, 1, 1) + dt.timedelta(days=c % 7 + 7 * k)},10" for c in range(300) for k in range(20)
    ]
    path.write_text("\n".join(rows))
    register_reader("test-generic", _read_generic)
    try:
        result = fit_file(path, "test-generic", "2024-03-31")
    finally:
        READERS.pop("test-generic")
    # The heterogeneity parameters run to the edge of their range: the fits are the limiting models, and every
    # number reported is a real number (no NaN or infinity in the JSON), or null where none can be given.
    json.dumps(result, allow_nan=False)
    for value in result["holdout"]["auc_buy_again"].values():
        assert value is None or 0.0 <= value <= 1.0


def test_customer_insight_scores_every_customer(sample_transactions):
    known = sample_transactions["customer_id"].unique().to_list() + [999_999]
    result = customer_insight(sample_transactions, as_of="1997-09-30", customers=known)
    frame = result.customers
    assert frame.height == 2358
    lead = frame.filter(pl.col("customer_id") == 999_999).row(0, named=True)
    assert lead["lifecycle_stage"] == "potential" and lead["rfm_segment"] is None and lead["clv"] is None
    buyers = frame.filter(pl.col("frequency").is_not_null())
    for column in ("p_alive", "buy_again", "clv", "churn_probability", "expected_purchases_90d", "expected_order_value"):
        assert buyers[column].null_count() == 0, column
    assert buyers["churn_risk"].is_in(["low", "medium", "high"]).all()
    assert np.all(buyers["expected_purchases_365d"].to_numpy() >= buyers["expected_purchases_30d"].to_numpy())
    summary = result.summary()
    json.dumps(summary, ensure_ascii=False)
    assert summary["models"]["bgnbd"]["params"]["r"] == pytest.approx(0.243, rel=0.005)
    assert summary["models"]["buy_again"]["variant"] == "pareto_nbd+first_value"
    assert sum(summary["counts"]["lifecycle_stage"].values()) == 2358
    assert summary["model_errors"] == {}


def test_customer_insight_falls_back_to_rfm_when_models_cannot_be_fitted(sample_transactions):
    few = sample_transactions.filter(pl.col("customer_id") < 400)
    result = customer_insight(few, as_of="1997-09-30", settings=InsightSettings(min_repeat_customers=500))
    assert set(result.model_errors) == {"bgnbd", "pareto_nbd", "gamma_gamma", "buy_again"}
    frame = result.customers
    assert frame["rfm_segment"].null_count() == 0 and frame["value_tier"].null_count() == 0
    assert frame["p_alive"].null_count() == frame.height and frame["churn_risk"].null_count() == frame.height


def test_at_risk_list_ranks_valuable_drifting_customers_and_says_why(sample_transactions):
    from guanxi.analytics import at_risk_customers

    scores = customer_insight(sample_transactions, as_of="1997-09-30").customers
    at_risk = at_risk_customers(scores, limit=20)
    assert 0 < at_risk.height <= 20
    assert at_risk["churn_risk"].is_in(["high", "medium"]).all() and at_risk["value_tier"].is_in(["A", "B"]).all()
    values = at_risk["value_at_risk"].to_numpy()
    assert np.all(np.diff(values) <= 0)
    row = at_risk.filter(pl.col("usual_interval_days").is_not_null()).row(0, named=True)
    assert row["reason_en"] == f"bought every {row['usual_interval_days']} days, silent for {row['days_silent']}"
    assert row["reason_zh"].startswith(f"平均每{row['usual_interval_days']}天购买一次")
