"""Summary builder, RFM, value ranking, lifecycle, KPIs and ROC AUC on small hand-made frames."""

import datetime as dt
import itertools

import numpy as np
import polars as pl
import pytest

from guanxi.analytics import (
    LifecycleRules,
    RFMThresholds,
    SchemaError,
    calibration_holdout_summary,
    customer_profit,
    customer_summary,
    label,
    lifecycle_stages,
    lifecycle_transitions,
    pareto_curve,
    monthly_kpis,
    period_kpis,
    prepare_transactions,
    product_table,
    retention_cohorts,
    rfm_scores,
    rfm_table,
    roc_auc,
    top_share,
    transition_counts,
    value_classes,
    value_ranking,
)
from guanxi.analytics.rfm import RFM_GRID, RFM_SEGMENTS, VALUE_CLASSES, ValueReference

D = dt.date


def orders(rows):
    """rows: (customer, date, amount[, refunded, cost])."""
    cols = list(zip(*[r + (0.0,) * (5 - len(r)) for r in rows]))
    return pl.DataFrame(
        {"customer_id": cols[0], "timestamp": cols[1], "amount": cols[2], "refunded": cols[3], "cost": cols[4]}
    )


def test_summary_merges_same_day_purchases_and_measures_in_weeks_or_days():
    tx = orders([
        ("a", D(2024, 1, 1), 10.0), ("a", D(2024, 1, 1), 5.0), ("a", D(2024, 1, 15), 20.0, 5.0),
        ("a", D(2024, 1, 29), 30.0), ("b", D(2024, 1, 8), 7.0), ("a", D(2024, 3, 1), 99.0),
    ])  # fmt: skip
    weeks = customer_summary(tx, as_of=D(2024, 2, 5)).rows_by_key("customer_id", named=True, unique=True)
    assert weeks["a"]["frequency"] == 2  # 3 purchase days, the 2 orders on Jan 1 are one purchase
    assert weeks["a"]["recency"] == pytest.approx(4.0)  # Jan 1 → Jan 29
    assert weeks["a"]["T"] == pytest.approx(5.0)  # Jan 1 → Feb 5
    assert weeks["a"]["monetary_value"] == pytest.approx((15.0 + 30.0) / 2)  # net of refund, first day excluded
    assert weeks["a"]["first_purchase_value"] == pytest.approx(15.0)
    assert weeks["b"]["frequency"] == 0 and weeks["b"]["monetary_value"] == 0.0
    days = customer_summary(tx, as_of="2024-02-05", time_unit="day").rows_by_key("customer_id", named=True, unique=True)
    assert days["a"]["recency"] == 28 and days["a"]["T"] == 35


def test_holdout_summary_counts_only_purchases_after_calibration_for_existing_customers():
    tx = orders([
        ("a", D(2024, 1, 1), 10.0), ("a", D(2024, 2, 10), 10.0), ("a", D(2024, 2, 10), 3.0),
        ("a", D(2024, 2, 20), 4.0), ("c", D(2024, 2, 15), 5.0),
    ])  # fmt: skip
    summary = calibration_holdout_summary(tx, calibration_end="2024-01-31", observation_end="2024-02-29")
    assert summary["customer_id"].to_list() == ["a"]  # c was acquired in the holdout
    row = summary.row(0, named=True)
    assert row["frequency_holdout"] == 2 and row["monetary_holdout"] == pytest.approx(8.5)
    assert row["duration_holdout"] == pytest.approx(29 / 7)
    with pytest.raises(ValueError):
        calibration_holdout_summary(tx, calibration_end="2024-01-31", observation_end="2024-01-31")


def test_bad_transaction_frames_are_refused_with_a_clear_message():
    with pytest.raises(SchemaError, match="lacks column"):
        customer_summary(pl.DataFrame({"customer_id": [1], "amount": [1.0]}), as_of="2024-01-01")
    with pytest.raises(SchemaError, match="negative"):
        customer_summary(orders([("a", D(2024, 1, 1), -5.0)]), as_of="2024-01-01")
    with pytest.raises(SchemaError, match="pl.Date or pl.Datetime"):
        customer_summary(pl.DataFrame({"customer_id": [1], "timestamp": ["x"], "amount": [1.0]}), as_of="2024-01-01")


def test_datetimes_are_reduced_to_local_days():
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1],
            "timestamp": [dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 1, 23, 59)],
            "amount": [1.0, 2.0],
        }
    )
    assert customer_summary(tx, as_of=dt.datetime(2024, 1, 8, 12))["frequency"].to_list() == [0]


def _rfm_rows():
    rows = []
    for i in range(1, 11):  # customer i: i orders, last one i days before as_of, each worth 10·i
        for k in range(i):
            rows.append((i, D(2024, 6, 30) - dt.timedelta(days=i + 7 * k), 10.0 * i))
    return orders(rows)


def test_rfm_quintiles_are_balanced_and_ties_are_broken_by_the_other_dimensions_then_the_id():
    rfm = rfm_table(_rfm_rows(), as_of="2024-06-30")
    assert rfm["recency_days"].to_list() == list(range(1, 11))
    scored = rfm_scores(rfm).rows_by_key("customer_id", named=True, unique=True)
    assert [scored[i]["r_score"] for i in range(1, 11)] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert [scored[i]["f_score"] for i in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Ties: 6 customers with one order of 5.0 on the same day, 4 with two. Every score still holds a fifth (no
    # empty F column), the tied ones split by id, and the order of the input changes nothing.
    tied = orders([(c, D(2024, 6, 1), 5.0) for c in range(6)] + [(c, d, 5.0) for c in range(6, 10) for d in (D(2024, 5, 1), D(2024, 6, 2))])
    f = rfm_scores(rfm_table(tied, as_of="2024-06-30")).sort("customer_id")
    assert f["f_score"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert sorted(f["m_score"].to_list()) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert f["f_score"].to_list() == rfm_scores(rfm_table(tied.reverse(), as_of="2024-06-30")).sort(
        "customer_id")["f_score"].to_list()
    # A tie in frequency is broken by money before the id: the bigger spender of two one-time buyers ranks higher.
    spenders = rfm_scores(rfm_table(orders([(1, D(2024, 6, 1), 90.0), (2, D(2024, 6, 1), 10.0)]),
                                    as_of="2024-06-30")).sort("customer_id")
    assert spenders["f_score"].to_list() == [3, 1]


def test_rfm_workspace_thresholds_and_segments():
    rfm = rfm_table(_rfm_rows(), as_of="2024-06-30")
    cuts = RFMThresholds(recency_days=(2, 4, 6, 8), frequency=(1, 2, 4, 8), monetary=(10, 50, 200, 500))
    scored = rfm_scores(rfm, cuts).rows_by_key("customer_id", named=True, unique=True)
    assert (scored[1]["r_score"], scored[1]["f_score"], scored[1]["m_score"]) == (5, 1, 1)
    assert scored[1]["rfm_segment"] == "new"
    assert (scored[10]["r_score"], scored[10]["f_score"], scored[10]["m_score"]) == (1, 5, 5)
    assert scored[10]["rfm_segment"] == "cant_lose_them"
    with pytest.raises(SchemaError):
        RFMThresholds(recency_days=(5, 1, 2, 3), frequency=(1, 2, 3, 4), monetary=(1, 2, 3, 4))


def test_the_segment_grid_names_all_eleven_segments_in_both_languages():
    assert {code for row in RFM_GRID for code in row} == set(RFM_SEGMENTS)
    assert len(RFM_SEGMENTS) == 11 and len(VALUE_CLASSES) == 8
    assert label("champions") == "Champions" and label("champions", "zh") == "冠军客户"
    assert label("important_value", "zh") == "重要价值客户"


def test_value_classes_against_the_mean_or_set_thresholds():
    rfm = rfm_table(_rfm_rows(), as_of="2024-06-30")  # means: recency 5.5, frequency 5.5, monetary 385
    classes = value_classes(rfm).rows_by_key("customer_id", named=True, unique=True)
    assert classes[1]["value_class"] == "general_develop"  # recent, 1 order, 10 spent
    assert classes[10]["value_class"] == "important_keep"  # long ago, often, a lot
    assert classes[5]["value_class"] == "general_develop"
    fixed = value_classes(rfm, ValueReference(recency_days=6, frequency=4, monetary=200))
    assert fixed.filter(pl.col("customer_id") == 5)["value_class"].item() == "important_value"


def test_abc_tiers_pareto_curve_and_negative_profit():
    tx = orders([
        (1, D(2024, 1, 1), 800.0), (2, D(2024, 1, 1), 100.0), (3, D(2024, 1, 1), 60.0), (4, D(2024, 1, 1), 40.0),
        (5, D(2024, 1, 1), 50.0, 0.0, 80.0), (6, D(2024, 1, 1), 30.0, 30.0),
    ])  # fmt: skip
    profit = customer_profit(tx).rows_by_key("customer_id", named=True, unique=True)
    assert profit[5]["gross_profit"] == -30.0 and profit[6]["gross_profit"] == 0.0
    ranked = value_ranking(customer_profit(tx))
    assert ranked["customer_id"].to_list()[:4] == [1, 2, 3, 4]
    # Total positive profit 1000: customer 1 (0 before) A, 2 (80% before) B, 3 (90%) B, 4 (96%) C.
    assert ranked["value_tier"].to_list() == ["A", "B", "B", "C", "C", "C"]
    curve = pareto_curve(customer_profit(tx), points=6)
    assert curve["profit_share"][0] == 0.0 and curve["profit_share"][-1] == pytest.approx(1.0)
    assert np.all(np.diff(curve["profit_share"].to_numpy()) >= 0)
    assert top_share(customer_profit(tx), 1 / 6) == pytest.approx(0.8)


def _lifecycle_rows():
    end = D(2024, 6, 30)
    return orders([
        ("new", end - dt.timedelta(days=10), 50.0),
        ("old_single", end - dt.timedelta(days=200), 50.0),
        ("slow", end - dt.timedelta(days=600), 50.0), ("slow", end - dt.timedelta(days=400), 50.0),
        ("slow", end - dt.timedelta(days=200), 50.0),  # every 200 days, silent 200 < 3 × 200
        ("grow", end - dt.timedelta(days=40), 20.0), ("grow", end - dt.timedelta(days=5), 20.0),
        *[("vip", end - dt.timedelta(days=30 * k), 100.0) for k in range(8)],
    ])  # fmt: skip


def test_lifecycle_stages_follow_the_documented_rules():
    end = D(2024, 6, 30)
    rfm = rfm_table(_lifecycle_rows(), as_of=end)
    stages = lifecycle_stages(rfm, as_of=end, customers=["new", "old_single", "slow", "grow", "vip", "lead"])
    stage = dict(stages.select("customer_id", "lifecycle_stage").iter_rows())
    assert stage == {
        "lead": "potential",
        "new": "developing",
        "old_single": "terminating",
        "slow": "growing",
        "grow": "growing",
        "vip": "mature",
    }
    strict = lifecycle_stages(rfm, as_of=end, rules=LifecycleRules(lapse_days=100, lapse_multiple=0.5))
    assert dict(strict.select("customer_id", "lifecycle_stage").iter_rows())["slow"] == "terminating"


def test_transitions_between_two_snapshots_are_counted():
    before = pl.DataFrame({"customer_id": list("abcdefg"), "lifecycle_stage": [
        "potential", "developing", "growing", "mature", "terminating", "growing", "mature"]})  # fmt: skip
    after = pl.DataFrame({"customer_id": list("abcdefgh"), "lifecycle_stage": [
        "developing", "growing", "terminating", "growing", "growing", "growing", "mature", "developing"]})  # fmt: skip
    moves = dict(lifecycle_transitions(before, after).select("customer_id", "movement").iter_rows())
    assert moves == {
        "a": "new", "b": "upgraded", "c": "lost", "d": "downgraded", "e": "reactivated", "f": "unchanged",
        "g": "unchanged", "h": "new",
    }  # fmt: skip
    counts = transition_counts(lifecycle_transitions(before, after))
    assert counts == {"new": 2, "upgraded": 1, "downgraded": 1, "reactivated": 1, "lost": 1, "unchanged": 2}


def test_period_kpis_cohorts_and_product_table():
    tx = orders([
        ("a", D(2024, 1, 5), 100.0, 0.0, 60.0), ("a", D(2024, 2, 5), 50.0, 10.0, 20.0),
        ("b", D(2024, 2, 7), 30.0), ("b", D(2024, 2, 8), 30.0), ("c", D(2023, 6, 1), 10.0),
    ])  # fmt: skip
    k = period_kpis(tx, start="2024-02-01", end="2024-02-29", lapse_days=180)
    assert k["active_customers"] == 2 and k["new_customers"] == 1 and k["new_customer_rate"] == 0.5
    assert k["orders"] == 3 and k["revenue"] == pytest.approx(100.0)
    assert k["gross_profit"] == pytest.approx(80.0) and k["average_customer_profit"] == pytest.approx(40.0)
    assert k["average_order_value"] == pytest.approx(100 / 3)
    assert k["repeat_purchase_rate"] == 0.5  # b ordered twice in February
    # c's last order (2023-06-01) + 180 days = 2023-11-28: lost before February, not in it.
    assert k["lost_customers"] == 0
    assert period_kpis(tx, start="2023-11-01", end="2023-11-30")["lost_customers"] == 1
    assert k["upgraded_customers"] == 1  # a: developing at Jan 31 → growing at Feb 29
    cohorts = retention_cohorts(tx, as_of="2024-02-29")
    jan = cohorts.filter(pl.col("cohort") == D(2024, 1, 1)).rows(named=True)
    assert [(r["months_since"], r["retention"]) for r in jan] == [(0, 1.0), (1, 1.0)]
    lines = pl.DataFrame({"sku": ["x", "x", "y"], "quantity": [1, 2, 5], "amount": [10.0, 20.0, 25.0], "cost": [4.0, 8.0, None]})
    table = product_table(lines).rows_by_key("sku", named=True, unique=True)
    assert table["x"]["units"] == 3 and table["x"]["gross_profit"] == 18.0 and table["x"]["margin"] == 0.6
    assert table["y"]["cost_known_share"] == 0.0


def test_roc_auc_counts_ties_as_half_like_the_pairwise_definition():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 60).astype(float)
    labels = rng.random(60) < 0.4
    pairs = [(p, n) for p, n in itertools.product(scores[labels], scores[~labels])]
    brute = np.mean([1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs])
    assert roc_auc(scores, labels) == pytest.approx(brute)
    assert roc_auc([1, 2, 3], [0, 1, 1]) == 1.0 and roc_auc([3, 2, 1], [0, 1, 1]) == 0.0
    with pytest.raises(ValueError):
        roc_auc([1, 2], [1, 1])


def test_monthly_kpis_equal_period_kpis_month_by_month_on_cdnow(sample_transactions):
    # Two "stores" by customer id parity, so the per-store path is checked too.
    tx = sample_transactions.with_columns((pl.col("customer_id").cast(pl.Int64) % 2).alias("store"))
    start, end = D(1997, 1, 15), D(1997, 9, 30)
    monthly = monthly_kpis(tx, start=start, end=end, by="store")
    for row in monthly.iter_rows(named=True):
        one_store = tx.filter(pl.col("store") == row["store"])
        expected = period_kpis(one_store, start=row["start"], end=row["end"])
        assert (row["start"], row["end"]) == (expected.pop("start"), expected.pop("end"))
        assert {k: row[k] for k in expected} == pytest.approx(expected, rel=1e-9), (row["store"], row["month"])
    assert monthly.height == 2 * 9 and monthly["upgraded_customers"].sum() > 0 and monthly["lost_customers"].sum() > 0


def test_rfm_tables_at_several_days_equal_rfm_table_on_each(sample_transactions):
    from polars.testing import assert_frame_equal

    from guanxi.analytics.kpis import rfm_tables_at

    days = [D(1997, 1, 31), D(1997, 4, 30), D(1997, 9, 30)]
    prepared = prepare_transactions(sample_transactions, as_of=days[-1])
    for day, table in rfm_tables_at(prepared, days).items():
        # Money is summed in another order: equal up to rounding in the last bits.
        assert_frame_equal(table, rfm_table(sample_transactions, as_of=day), check_exact=False, rtol=1e-12)


def test_upgraded_customers_are_the_upgraded_movement_of_lifecycle_transitions(sample_transactions):
    from guanxi.analytics.kpis import _upgraded

    for before_day, after_day in ((D(1997, 2, 28), D(1997, 5, 31)), (D(1997, 5, 31), D(1997, 12, 31))):
        before = lifecycle_stages(rfm_table(sample_transactions, as_of=before_day), as_of=before_day)
        after = lifecycle_stages(rfm_table(sample_transactions, as_of=after_day), as_of=after_day)
        counts = transition_counts(lifecycle_transitions(before, after))
        assert counts["upgraded"] > 0 and _upgraded(before, after) == counts["upgraded"]


def test_retention_cohorts_are_the_same_for_integer_and_text_customer_ids(sample_transactions):
    from polars.testing import assert_frame_equal

    as_text = sample_transactions.with_columns(pl.col("customer_id").cast(pl.Utf8))
    as_int = sample_transactions.with_columns(pl.col("customer_id").cast(pl.Int64))
    by_int = retention_cohorts(as_int, as_of="1998-06-30", max_months=6)
    assert_frame_equal(by_int, retention_cohorts(as_text, as_of="1998-06-30", max_months=6))
    first = by_int.filter(pl.col("months_since") == 0)
    assert (first["active_customers"] == first["cohort_size"]).all() and by_int["months_since"].max() == 6
    # Every CDNOW customer's first purchase is in the first quarter of 1997: three cohorts of 2,357 in all.
    assert first["cohort"].dt.month().to_list() == [1, 2, 3] and first["cohort_size"].sum() == 2357


def test_monthly_kpis_are_the_same_for_sorted_or_shuffled_and_integer_or_text_ids(sample_transactions):
    from polars.testing import assert_frame_equal

    ints = sample_transactions.with_columns(pl.col("customer_id").cast(pl.Int64))
    expected = monthly_kpis(ints.sort("customer_id", "date"), start="1997-03-01", end="1997-08-31")
    shuffled = ints.sample(fraction=1.0, shuffle=True, seed=3)
    assert_frame_equal(monthly_kpis(shuffled, start="1997-03-01", end="1997-08-31"), expected, rtol=1e-12)
    text = shuffled.with_columns(pl.col("customer_id").cast(pl.Utf8))
    assert_frame_equal(monthly_kpis(text, start="1997-03-01", end="1997-08-31"), expected, rtol=1e-12)
    assert expected.height == 6 and expected["active_customers"].sum() > 0
