"""Customer value by profit: gross profit per customer, ranking, ABC tiers (the seeds' 80/20) and the Pareto curve.

Gross profit = Σ amount − Σ refunded − Σ cost over the customer's paid orders (currency units). Where the shop
has not recorded product costs, ``cost`` is 0 and gross profit equals net paid; `customer_profit` reports the
share of orders with a known cost so the dashboard can say so.

**ABC tiers.** Customers are ranked by gross profit, highest first (ties by ``customer_id``). Walking down the
ranking, a customer is tier A while the profit of the customers *before* them is under ``a_share`` (default
80%) of the total positive profit — so the customer who crosses 80% is still A — then B until ``b_share``
(95%), then C. Customers with zero or negative profit are always C.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from guanxi.analytics.frames import AMOUNT, COST, CUSTOMER, REFUNDED, prepare_transactions

GROSS_PROFIT = "gross_profit"


def customer_profit(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    start: dt.date | dt.datetime | str | None = None,
) -> pl.DataFrame:
    """Per customer: ``orders, paid, refunded, cost, net_paid, gross_profit, cost_known_share``, sorted by id.

    Orders after ``as_of`` (or before ``start``) are left out. ``cost_known_share`` is the share of the
    customer's orders with a positive cost (1.0 when every order's cost is known).
    """
    frame = prepare_transactions(transactions, as_of=as_of, start=start)
    return (
        frame.group_by(CUSTOMER)
        .agg(
            pl.len().cast(pl.Int64).alias("orders"),
            pl.col(AMOUNT).sum().alias("paid"),
            pl.col(REFUNDED).sum().alias("refunded"),
            pl.col(COST).sum().alias("cost"),
            (pl.col(COST) > 0).mean().alias("cost_known_share"),
        )
        .with_columns((pl.col("paid") - pl.col("refunded")).alias("net_paid"))
        .with_columns((pl.col("net_paid") - pl.col("cost")).alias(GROSS_PROFIT))
        .select(CUSTOMER, "orders", "paid", "refunded", "cost", "net_paid", GROSS_PROFIT, "cost_known_share")
        .sort(CUSTOMER)
    )


def value_ranking(
    profit: pl.DataFrame,
    *,
    column: str = GROSS_PROFIT,
    a_share: float = 0.8,
    b_share: float = 0.95,
) -> pl.DataFrame:
    """Add ``value_rank`` (1 = most profitable), ``cumulative_share`` (share of positive profit up to and
    including this customer) and ``value_tier`` (A/B/C) to a frame with ``customer_id`` and ``column``.

    Returned sorted by rank.
    """
    if not 0.0 < a_share <= b_share <= 1.0:
        raise ValueError("need 0 < a_share ≤ b_share ≤ 1")
    ranked = profit.sort([column, CUSTOMER], descending=[True, False], nulls_last=True)
    values = ranked[column].fill_null(0.0).to_numpy().astype(float)
    positive = np.maximum(values, 0.0)
    total = positive.sum()
    cumulative = np.cumsum(positive)
    if total > 0:
        share = cumulative / total
        before = (cumulative - positive) / total
    else:
        share = np.zeros_like(values)
        before = np.ones_like(values)
    tier = np.where(values <= 0, "C", np.where(before < a_share, "A", np.where(before < b_share, "B", "C")))
    return ranked.with_columns(
        pl.Series("value_rank", np.arange(1, len(values) + 1), dtype=pl.Int64),
        pl.Series("cumulative_share", share),
        pl.Series("value_tier", tier, dtype=pl.String),
    )


def _shares(profit: pl.DataFrame, column: str) -> np.ndarray | None:
    """Cumulative profit shares after the top 0, 1, …, n customers (None when there is no positive profit)."""
    values = np.sort(np.maximum(profit[column].fill_null(0.0).to_numpy().astype(float), 0.0))[::-1]
    if len(values) == 0 or values.sum() <= 0:
        return None
    return np.r_[0.0, np.cumsum(values)] / values.sum()


def _share_at(cumulative: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Profit share of the top ``xs`` share of customers, linear between whole customers."""
    n = len(cumulative) - 1
    positions = np.asarray(xs, dtype=float) * n
    lower = np.floor(positions).astype(int).clip(0, n)
    upper = np.minimum(lower + 1, n)
    return cumulative[lower] + (positions - lower) * (cumulative[upper] - cumulative[lower])


def pareto_curve(profit: pl.DataFrame, *, column: str = GROSS_PROFIT, points: int = 100) -> pl.DataFrame:
    """The Pareto curve: for the top x% of customers by profit, the share y of total positive profit.

    Returns ``points + 1`` rows ``customer_share`` (0, 1/points, …, 1) and ``profit_share`` (0…1); negative
    profits count as 0 so the curve rises monotonically to 1.
    """
    xs = np.linspace(0.0, 1.0, points + 1)
    cumulative = _shares(profit, column)
    ys = np.zeros_like(xs) if cumulative is None else _share_at(cumulative, xs)
    return pl.DataFrame({"customer_share": xs, "profit_share": ys})


def top_share(profit: pl.DataFrame, customer_share: float = 0.2, *, column: str = GROSS_PROFIT) -> float:
    """Share of total positive profit that comes from the top ``customer_share`` of customers (e.g. 0.2 → the
    seeds' 80/20 check); 0.0 when no customer has a positive profit."""
    if not 0.0 <= customer_share <= 1.0:
        raise ValueError("customer_share must be within 0..1")
    cumulative = _shares(profit, column)
    return 0.0 if cumulative is None else float(_share_at(cumulative, np.array([customer_share]))[0])
