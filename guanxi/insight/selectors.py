"""Reads for the insight pages: the latest run, chart data from the stored scores, and the at-risk list.

Everything reads `CustomerScore` (one row per customer, written by the refresh) through the fail-closed tenant
managers; the analytics functions get columnar frames, never model instances.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from django.db.models import Count

from guanxi.analytics import at_risk_customers, period_kpis
from guanxi.insight.models import AnalyticsAsOf, AnalyticsRun, CustomerScore
from guanxi.insight.tables import paid_orders
from guanxi.workspaces.tenancy import current_workspace

# The stages the refresh assigns, in the lifecycle's order (a profile may also say "lost": shown when used).
LIFECYCLE_STAGES = ("potential", "developing", "growing", "mature", "terminating")
AT_RISK_LIMIT = 50


def analytics_as_of() -> dt.date | None:
    """The active workspace's fixed analytics day (`AnalyticsAsOf`), or None: scored as of today."""
    return AnalyticsAsOf.objects.values_list("as_of", flat=True).first()


def latest_run() -> AnalyticsRun | None:
    """The newest successful refresh of the active workspace, or None before the first one."""
    return AnalyticsRun.objects.filter(status=AnalyticsRun.Status.SUCCEEDED).order_by("-created_at").first()


def _counts(field: str) -> dict[str, int]:
    rows = CustomerScore.objects.exclude(**{field: ""}).order_by().values(field).annotate(n=Count("pk"))
    return {row[field]: row["n"] for row in rows}


def rf_heatmap() -> list[list[int]]:
    """Customers per (R score, F score) as ``[r-1, f-1, count]`` triples for the 5×5 heatmap."""
    rows = (CustomerScore.objects.filter(rfm_r__isnull=False, rfm_f__isnull=False).order_by()
            .values_list("rfm_r", "rfm_f").annotate(n=Count("pk")))
    return [[r - 1, f - 1, n] for r, f, n in rows]


def range_kpis(*, start: dt.date, end: dt.date, store_id: int | None = None) -> dict | None:
    """`guanxi.analytics.period_kpis` over [start, end] (days in the workspace time zone), for one store or all.

    This reads every paid order (the KPIs need each customer's history before the range), so it runs when
    someone asks for a range, not on every dashboard view. None when there are no paid orders.
    """
    orders = paid_orders()
    frame = orders.transactions
    if store_id is not None:
        frame = frame.filter(pl.col("store_id") == store_id)
    if frame.is_empty():
        return None
    # Money in the reporting currency; orders without a rate are left out, their currencies named.
    return {**period_kpis(frame, start=start, end=end), "currency": current_workspace().currency,
            "missing_rates": list(orders.missing_rates)}


def insight_dashboard() -> dict:
    """What the dashboard draws: the run, counts per class and stage, the R×F grid, the Pareto curve, KPIs."""
    run = latest_run()
    if run is None:
        return {"run": None}
    stages = _counts("lifecycle_stage")
    return {
        "run": run,
        "customers": run.summary.get("customers", 0),
        "rf_heatmap": rf_heatmap(),
        "value_classes": _counts("value_class"),
        "rfm_segments": _counts("rfm_segment"),
        # Every stage in the lifecycle's order, empty ones too (a bar of 0 says "nobody here" better than a gap).
        "lifecycle": [[stage, stages.get(stage, 0)] for stage in LIFECYCLE_STAGES]
        + [[stage, n] for stage, n in stages.items() if stage not in LIFECYCLE_STAGES],
        "pareto": run.dashboard.get("pareto", []),
        "top20_share": run.dashboard.get("top20_share", 0.0),
        "kpis": run.dashboard.get("kpis", {}).get("all", []),
        "reports": run.dashboard,
        # Runs before currencies were tracked summed every order as it was: they were in the workspace's currency.
        "currency": run.summary.get("currency") or current_workspace().currency,
        "missing_rates": run.summary.get("missing_rates", []),
    }


def at_risk_list(*, limit: int | None = AT_RISK_LIMIT) -> pl.DataFrame:
    """Valuable customers drifting away (`guanxi.analytics.at_risk_customers`) from the stored scores.

    The stored score keeps P(buy again), not the churn probability over the churn horizon, so
    1 − P(buy again) stands in for it when ranking by value at stake; the usual interval between purchases
    comes from the customers' paid orders (first to last paid day over purchases − 1).
    """
    rows = list(
        CustomerScore.objects.filter(churn_risk__in=("high", "medium"), value_tier__in=("A", "B"))
        .order_by().values("customer_id", "clv", "gross_profit", "buy_again", "p_alive", "churn_risk",
                           "value_tier", "recency_days", "frequency", "customer__created_at")
    )
    if not rows:
        return pl.DataFrame()
    intervals = _mean_intervals([row["customer_id"] for row in rows])
    frame = pl.DataFrame(
        {
            "customer_id": [r["customer_id"] for r in rows],
            "clv": [None if r["clv"] is None else float(r["clv"]) for r in rows],
            "gross_profit": [float(r["gross_profit"]) for r in rows],
            "churn_probability": [1.0 - (r["buy_again"] if r["buy_again"] is not None else (r["p_alive"] or 0.0))
                                  for r in rows],
            "churn_risk": [r["churn_risk"] for r in rows],
            "value_tier": [r["value_tier"] for r in rows],
            "recency_days": [r["recency_days"] for r in rows],
            "mean_interval_days": [intervals.get(r["customer_id"]) for r in rows],
        },
        schema_overrides={"clv": pl.Float64, "recency_days": pl.Int64, "mean_interval_days": pl.Float64},
    )
    return at_risk_customers(frame, limit=limit)


def _mean_intervals(customer_ids: list[int]) -> dict[int, float]:
    """Days between the first and last paid purchase day over (purchase days − 1), for repeat buyers."""
    from django.db.models import Max, Min

    from guanxi.commerce.models import PAID_STATUSES, Order

    out: dict[int, float] = {}
    for start in range(0, len(customer_ids), 5_000):
        rows = (Order.objects.filter(status__in=PAID_STATUSES, customer_id__in=customer_ids[start:start + 5_000])
                .order_by().values("customer_id")
                .annotate(first=Min("placed_at"), last=Max("placed_at"), n=Count("id")))
        for row in rows:
            if row["n"] > 1:
                out[row["customer_id"]] = (row["last"] - row["first"]).days / (row["n"] - 1)
    return out
