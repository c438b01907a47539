"""The dashboard's figures that need every order, computed once per refresh and kept on the run.

Monthly KPIs (workspace and per store), retention cohorts, the product table, the CLV distribution and the
lifecycle flows since the previous refresh all read the full order history; at ten million orders that is seconds
of work the dashboard must not redo on every view. The refresh calls `dashboard_figures` with the frames it has
already loaded and stores the JSON-ready result in `AnalyticsRun.dashboard`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from guanxi.analytics import monthly_kpis, pareto_curve, retention_cohorts, top_share
from guanxi.analytics.lifecycle import lifecycle_transitions, transition_counts, transition_matrix

KPI_MONTHS = 12  # months of KPI trend, per workspace and per store
COHORT_MONTHS = 12  # first-purchase months shown, each followed for up to this many months
TOP_PRODUCTS = 20
# CLV bands on a 1-2-5 scale (0–1, 1–2, 2–5, 5–10, …): a shop's lifetime values span several orders of
# magnitude, and equal-width bands put nearly everyone in the first bar.
CLV_STEPS = (1.0, 2.0, 5.0)


def _month_window(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months - 1` months before `day`'s month."""
    index = day.year * 12 + day.month - 1 - (months - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


def _json_rows(frame: pl.DataFrame) -> list[dict]:
    """Rows with dates as ISO text and floats rounded for the page (4 decimals)."""
    rows = []
    for row in frame.to_dicts():
        rows.append({k: v.isoformat() if isinstance(v, dt.date) else round(v, 4) if isinstance(v, float) else v
                     for k, v in row.items()})
    return rows


def kpi_trend(transactions: pl.DataFrame, *, end: dt.date) -> dict:
    """`monthly_kpis` of the last `KPI_MONTHS` months up to `end`: ``{"all": rows, "stores": {id: rows}}``
    (`transactions` has a ``store_id`` column)."""
    if transactions.is_empty():
        return {"all": [], "stores": {}}
    start = _month_window(end, KPI_MONTHS)
    stores: dict[str, list[dict]] = {}
    for row in _json_rows(monthly_kpis(transactions, start=start, end=end, by="store_id")):
        stores.setdefault(str(row.pop("store_id")), []).append(row)
    return {"all": _json_rows(monthly_kpis(transactions, start=start, end=end)), "stores": stores}


def cohort_grid(transactions: pl.DataFrame, *, end: dt.date) -> list[dict]:
    """Retention of the latest `COHORT_MONTHS` first-purchase cohorts (the latest months that have one), one
    dict per (cohort, months since), each followed for up to `COHORT_MONTHS` months."""
    if transactions.is_empty():
        return []
    cohorts = retention_cohorts(transactions, as_of=end, max_months=COHORT_MONTHS)
    latest = cohorts["cohort"].unique().sort().tail(COHORT_MONTHS)
    return _json_rows(cohorts.filter(pl.col("cohort").is_in(latest.implode())))


def top_products(products: pl.DataFrame, titles: dict[str, str]) -> list[dict]:
    """The first `TOP_PRODUCTS` rows of a `product_table` (most gross profit first), named by their titles."""
    rows = _json_rows(products.head(TOP_PRODUCTS))
    for row in rows:
        row["title"] = titles.get(row["product"], row["product"])
    return rows


def clv_edges(top: float) -> list[float]:
    """0 and the 1-2-5 steps (1, 2, 5, 10, 20, 50, …) up to the first one at or above `top`."""
    edges, scale = [0.0], 1.0
    while edges[-1] < top:
        edges += [step * scale for step in CLV_STEPS]
        scale *= 10.0
    return edges[:next(i for i, e in enumerate(edges) if e >= top) + 1] if top > 0 else [0.0, 1.0]


def clv_histogram(clv: pl.Series) -> list[list[float]]:
    """Customers per CLV band: ``[low, high, customers]`` for the bands of `clv_edges` (a band holds
    low ≤ CLV < high; negative values count in the first), from the first band with customers to the last."""
    values = clv.drop_nulls().to_numpy().astype(float)
    if values.size == 0:
        return []
    edges = clv_edges(float(values.max()))
    # The last edge is ≥ the largest value: close the last band so the largest value is counted in it.
    counts, _ = np.histogram(np.clip(values, 0.0, None), bins=np.asarray(edges))
    used = np.flatnonzero(counts)
    first, last = int(used[0]), int(used[-1])
    return [[edges[i], edges[i + 1], int(counts[i])] for i in range(first, last + 1)]


def lifecycle_flows(previous: pl.DataFrame | None, current: pl.DataFrame) -> dict | None:
    """Movements since the previous refresh: counts per movement and customers per (from, to) stage pair.

    Both frames hold ``customer_id, lifecycle_stage``; None when there is no earlier refresh to compare with.
    """
    if previous is None or previous.is_empty():
        return None
    transitions = lifecycle_transitions(previous, current.select("customer_id", "lifecycle_stage"))
    return {
        "counts": transition_counts(transitions),
        "pairs": [list(row) for row in transition_matrix(transitions).iter_rows()],
    }


def profit_concentration(scores: pl.DataFrame) -> dict:
    """The Pareto curve of gross profit (percent of customers → percent of profit, 20 points) and the share of
    profit earned from the top 20 % of customers."""
    profits = scores.select("customer_id", "gross_profit") if "gross_profit" in scores.columns else pl.DataFrame()
    if profits.is_empty():
        return {"pareto": [], "top20_share": 0.0}
    curve = pareto_curve(profits, points=20)
    return {"pareto": [[round(x * 100, 1), round(y * 100, 1)] for x, y in curve.iter_rows()],
            "top20_share": top_share(profits, 0.2)}


def dashboard_figures(*, transactions: pl.DataFrame, products: pl.DataFrame, scores: pl.DataFrame,
                      previous_stages: pl.DataFrame | None, previous_day: dt.date | None, end: dt.date,
                      titles: dict[str, str]) -> dict:
    """Everything above in one JSON-ready dict, for `AnalyticsRun.dashboard`."""
    return {
        **profit_concentration(scores),
        "kpis": kpi_trend(transactions, end=end),
        "cohorts": cohort_grid(transactions, end=end),
        "products": top_products(products, titles),
        "clv_histogram": clv_histogram(scores["clv"]) if "clv" in scores.columns else [],
        "flows": lifecycle_flows(previous_stages, scores),
        "flows_since": previous_day.isoformat() if previous_day and previous_stages is not None else None,
    }
