"""The at-risk list: valuable customers who are drifting away, ranked by how much value is at stake.

Input is `guanxi.analytics.insight.InsightResult.customers` (or stored score rows with the same columns).
A customer is at risk when their churn risk is in ``risks`` (default high or medium) and they are worth keeping:
value tier A or B, or a CLV above ``min_clv``. They are ranked by value at risk = CLV × churn probability
(gross profit to date × churn probability where no CLV could be computed). Each row carries the "why" the
seeds ask staff to see — usual interval between purchases and days of silence — as numbers and as a sentence
in English and Chinese ("bought every 40 days, silent for 95").
"""

from __future__ import annotations

import polars as pl

from guanxi.analytics.frames import CUSTOMER


def at_risk_customers(
    scores: pl.DataFrame,
    *,
    risks: tuple[str, ...] = ("high", "medium"),
    tiers: tuple[str, ...] = ("A", "B"),
    min_clv: float | None = None,
    limit: int | None = 100,
) -> pl.DataFrame:
    """Valuable customers at risk, most value at stake first.

    Returns ``customer_id, value_at_risk, clv, churn_probability, churn_risk, value_tier, usual_interval_days,
    days_silent, overdue_ratio`` (days silent / usual interval; null for one-time buyers), ``reason_en`` and
    ``reason_zh``; at most ``limit`` rows (all when None).
    """
    valuable = pl.col("value_tier").is_in(list(tiers))
    if min_clv is not None:
        valuable = valuable | (pl.col("clv") >= min_clv)
    interval = pl.col("mean_interval_days").round(0).cast(pl.Int64)
    silent = pl.col("recency_days")
    frame = (
        scores.filter(pl.col("churn_risk").is_in(list(risks)) & valuable)
        .with_columns(
            (pl.coalesce("clv", "gross_profit") * pl.col("churn_probability")).alias("value_at_risk"),
            interval.alias("usual_interval_days"),
            silent.alias("days_silent"),
            (silent / pl.col("mean_interval_days")).alias("overdue_ratio"),
        )
        .with_columns(
            pl.when(pl.col("usual_interval_days").is_not_null())
            .then(pl.format("bought every {} days, silent for {}", "usual_interval_days", "days_silent"))
            .otherwise(pl.format("bought once, silent for {} days", "days_silent"))
            .alias("reason_en"),
            pl.when(pl.col("usual_interval_days").is_not_null())
            .then(pl.format("平均每{}天购买一次，已{}天未购买", "usual_interval_days", "days_silent"))
            .otherwise(pl.format("只购买过一次，已{}天未购买", "days_silent"))
            .alias("reason_zh"),
        )
        .sort(["value_at_risk", CUSTOMER], descending=[True, False], nulls_last=True)
        .select(
            CUSTOMER, "value_at_risk", "clv", "churn_probability", "churn_risk", "value_tier",
            "usual_interval_days", "days_silent", "overdue_ratio", "reason_en", "reason_zh",
        )  # fmt: skip
    )
    return frame if limit is None else frame.head(limit)
