r"""Customer lifetime value over a horizon and churn-risk bands.

**CLV method.** Discrete monthly discounting of model-expected purchases (the approach of `lifetimes`'
``customer_lifetime_value``, used by FHL's "RFM and CLV" for comparisons):

.. math:: \mathrm{CLV} = m \cdot E[\text{order value}] \sum_{k=1}^{K}
          \frac{E[X(T, T+k\,M)] - E[X(T, T+(k-1)\,M)]}{(1+d)^k}

with K months of M = 365.25/12 days (converted to the model's time unit), monthly discount rate d (e.g. 0.01 ≈
12.7% a year), the expected number of purchase days from the purchase model, the expected order value from
the Gamma-Gamma model, and a margin m (1.0 = revenue CLV; e.g. 0.3 for gross-profit CLV). Purchases in month k
are discounted as if they fell at the end of that month.

**Churn risk.** The churn probability is 1 − P(at least one purchase within the churn horizon, default 365 days),
from the buy-again model, so one-time buyers are ranked by how likely they really are to come back rather than
all being called "alive". Bands (default): high ≥ 0.8, medium ≥ 0.5, low below.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

from guanxi.analytics._data import SummaryLike
from guanxi.analytics.frames import DAYS_PER_MONTH, days_per_unit


class PurchaseModel(Protocol):
    time_unit: str

    def expected_purchases_many(self, data: SummaryLike, horizons) -> np.ndarray: ...


def lifetime_value(
    purchase_model: PurchaseModel,
    order_value: np.ndarray,
    data: SummaryLike,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    margin: float = 1.0,
) -> np.ndarray:
    """Discounted value (currency units) of each customer's purchases in the next ``months`` months.

    Args:
        purchase_model: any model with ``expected_purchases_many(data, horizons)`` and ``time_unit`` (BG/NBD, Pareto/NBD,
            `guanxi.analytics.buy_again.BuyAgainModel`).
        order_value: expected value per purchase day for each customer (e.g. `GammaGammaModel.expected_order_value`).
        data: the summary the models were fitted on (or a later one of the same customers).
        months: horizon in months of 365.25/12 days.
        monthly_discount_rate: d ≥ 0 per month.
        margin: share of the order value that is profit (1.0 for revenue).
    """
    if months < 0 or monthly_discount_rate < 0:
        raise ValueError("months and monthly_discount_rate must be ≥ 0")
    order_value = np.asarray(order_value, dtype=float)
    if months == 0:
        return np.zeros_like(order_value)
    cumulative = purchase_model.expected_purchases_many(data, month_horizons(purchase_model.time_unit, months))
    return discounted_value(cumulative, order_value, monthly_discount_rate=monthly_discount_rate, margin=margin)


def month_horizons(time_unit: str, months: int) -> list[float]:
    """The ends of months 1…``months`` (of 365.25/12 days) in ``time_unit``."""
    month = DAYS_PER_MONTH / days_per_unit(time_unit)
    return [k * month for k in range(1, months + 1)]


def discounted_value(
    cumulative: np.ndarray, order_value: np.ndarray, *, monthly_discount_rate: float = 0.01, margin: float = 1.0
) -> np.ndarray:
    """CLV from expected cumulative purchases at the end of each month (shape (customers, months)), as in
    `lifetime_value` — for callers that already have those expectations."""
    months = cumulative.shape[1]
    per_month = np.diff(cumulative, axis=1, prepend=0.0)
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, months + 1)
    return margin * np.asarray(order_value, dtype=float) * (per_month * discount).sum(axis=1)


@dataclasses.dataclass(frozen=True)
class ChurnBands:
    """Churn probability cut points: ``high`` if p ≥ high, ``medium`` if p ≥ medium, else ``low``."""

    high: float = 0.8
    medium: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.medium <= self.high <= 1.0:
            raise ValueError("churn bands need 0 ≤ medium ≤ high ≤ 1")


def churn_risk_band(churn_probability: np.ndarray, bands: ChurnBands = ChurnBands()) -> np.ndarray:
    """``"low"``, ``"medium"`` or ``"high"`` per customer (numpy array of str)."""
    p = np.asarray(churn_probability, dtype=float)
    return np.where(p >= bands.high, "high", np.where(p >= bands.medium, "medium", "low"))
