"""RFM: recency, frequency and monetary value per customer, 1–5 scores, the 11-segment map and the Chinese
8-class customer value model (客户价值八分类).

* **Recency** — whole days from the last paid order to ``as_of`` (0 = bought on ``as_of``).
* **Frequency** — paid orders (default) or distinct purchase days (``frequency="days"``, which does not reward
  splitting one basket into several orders).
* **Monetary** — net paid: Σ amount − refunded, currency units.

**Scores.** 1–5 per dimension. By default by rank: customers are ordered from worst to best on the dimension
and the i-th of n (0-based) scores 1 + ⌊5·i/n⌋, so each score holds a fifth of the customers. Ties — most
customers of a shop have one order, many the same amount — are broken by the other dimensions and then by
customer id (recency: fewer days is better, then more orders, then more money; frequency: then more money, then
fewer days; monetary: then more orders, then fewer days), never by chance and never by the order of the input.
Scoring equal values alike (the ⌈k·n/5⌉-th-value cut points, still reported by `rfm_thresholds`) left whole
scores empty: with 60% one-time buyers F jumped from 1 to 4, and the R×F heatmap showed empty columns.
A workspace may set its own cut points instead (e.g. recency 30/90/180/365 days): then F and M score
1 + #{k : v > c_k} and R scores 5 − #{k : recency > c_k} (recent is good), and equal values share a score.

**11 segments** from R and FM = ⌈(F + M) / 2⌉ (rounded half up) on this grid (rows R, columns FM 1…5):

====  ===============  ==================  ==================  ===============  ===============
R     FM 1             FM 2                FM 3                FM 4             FM 5
====  ===============  ==================  ==================  ===============  ===============
5     new              potential_loyalist  potential_loyalist  champions        champions
4     promising        potential_loyalist  potential_loyalist  loyal            champions
3     about_to_sleep   need_attention      need_attention      loyal            loyal
2     hibernating      hibernating         at_risk             at_risk          cant_lose_them
1     lost             lost                at_risk             cant_lose_them   cant_lose_them
====  ===============  ==================  ==================  ===============  ===============

**Value classes** (重要价值 … 一般挽留): each of R, F, M is "high" or "low" against a reference — by default the
mean over the scored customers, or thresholds the workspace sets. R is high when recency is *below* the
reference (bought more recently); F and M are high when above it. M decides 重要 (important) vs 一般 (general);
R and F decide 价值 (value, R↑F↑), 发展 (develop, R↑F↓), 保持 (keep, R↓F↑), 挽留 (win back, R↓F↓).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Literal

import numpy as np
import polars as pl

from guanxi.analytics.errors import SchemaError
from guanxi.analytics.frames import AMOUNT, CUSTOMER, DATE, REFUNDED, prepare_transactions, to_date

RECENCY_DAYS, FREQUENCY, MONETARY = "recency_days", "frequency", "monetary"

#: code → (English, Chinese)
RFM_SEGMENTS: dict[str, tuple[str, str]] = {
    "champions": ("Champions", "冠军客户"),
    "loyal": ("Loyal", "忠诚客户"),
    "potential_loyalist": ("Potential Loyalist", "潜在忠诚客户"),
    "new": ("New", "新客户"),
    "promising": ("Promising", "有潜力客户"),
    "need_attention": ("Need Attention", "需要关注客户"),
    "about_to_sleep": ("About to Sleep", "即将沉睡客户"),
    "at_risk": ("At Risk", "有流失风险客户"),
    "cant_lose_them": ("Can't Lose Them", "不能失去的客户"),
    "hibernating": ("Hibernating", "休眠客户"),
    "lost": ("Lost", "流失客户"),
}

#: RFM_GRID[R - 1][FM - 1] → segment code (see the module docstring's table).
RFM_GRID: tuple[tuple[str, ...], ...] = (
    ("lost", "lost", "at_risk", "cant_lose_them", "cant_lose_them"),
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"),
    ("about_to_sleep", "need_attention", "need_attention", "loyal", "loyal"),
    ("promising", "potential_loyalist", "potential_loyalist", "loyal", "champions"),
    ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
)

#: code → (English, Chinese); keyed by (R high, F high, M high) in `VALUE_CLASS_BY_RFM`.
VALUE_CLASSES: dict[str, tuple[str, str]] = {
    "important_value": ("Important value", "重要价值客户"),
    "important_develop": ("Important to develop", "重要发展客户"),
    "important_keep": ("Important to keep", "重要保持客户"),
    "important_win_back": ("Important to win back", "重要挽留客户"),
    "general_value": ("General value", "一般价值客户"),
    "general_develop": ("General to develop", "一般发展客户"),
    "general_keep": ("General to keep", "一般保持客户"),
    "general_win_back": ("General to win back", "一般挽留客户"),
}
VALUE_CLASS_BY_RFM: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_keep",
    (False, False, True): "important_win_back",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_keep",
    (False, False, False): "general_win_back",
}


def rfm_table(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | dt.datetime | str,
    frequency: Literal["orders", "days"] = "orders",
) -> pl.DataFrame:
    """Recency (days), frequency and monetary value per customer with a paid order on or before ``as_of``.

    Returns ``customer_id, recency_days (int), frequency (int), monetary (float), orders, purchase_days,
    first_purchase, last_purchase``, sorted by ``customer_id``. ``frequency`` is ``orders`` or
    ``purchase_days`` according to the option.
    """
    if frequency not in ("orders", "days"):
        raise SchemaError(f"frequency must be 'orders' or 'days', not {frequency!r}")
    end = to_date(as_of)
    frame = prepare_transactions(transactions, as_of=end)
    table = (
        frame.group_by(CUSTOMER)
        .agg(
            pl.len().cast(pl.Int64).alias("orders"),
            pl.col(DATE).n_unique().cast(pl.Int64).alias("purchase_days"),
            (pl.col(AMOUNT) - pl.col(REFUNDED)).sum().alias(MONETARY),
            pl.col(DATE).min().alias("first_purchase"),
            pl.col(DATE).max().alias("last_purchase"),
        )
        .with_columns(
            (pl.lit(end) - pl.col("last_purchase")).dt.total_days().cast(pl.Int64).alias(RECENCY_DAYS),
            pl.col("orders" if frequency == "orders" else "purchase_days").alias(FREQUENCY),
        )
        .select(CUSTOMER, RECENCY_DAYS, FREQUENCY, MONETARY, "orders", "purchase_days", "first_purchase", "last_purchase")
        .sort(CUSTOMER)
    )
    return table


@dataclasses.dataclass(frozen=True)
class RFMThresholds:
    """Four ascending cut points per dimension (recency in days, frequency in orders/days, monetary in money)."""

    recency_days: tuple[float, float, float, float]
    frequency: tuple[float, float, float, float]
    monetary: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        for name in ("recency_days", "frequency", "monetary"):
            cuts = tuple(float(v) for v in getattr(self, name))
            if len(cuts) != 4 or any(b < a for a, b in zip(cuts, cuts[1:])):
                raise SchemaError(f"{name} needs 4 ascending cut points, got {cuts}")
            object.__setattr__(self, name, cuts)

    def as_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in dataclasses.asdict(self).items()}


def quintile_cut_points(values: np.ndarray) -> tuple[float, float, float, float]:
    """c_k = the ⌈k·n/5⌉-th smallest value, k = 1…4: where the rank-based scores change, as values (reported
    with a refresh; the default scores themselves come from `rank_quintiles`)."""
    ordered = np.sort(np.asarray(values, dtype=float))
    n = len(ordered)
    if n == 0:
        raise SchemaError("no customers to compute quintiles from")
    return tuple(float(ordered[math.ceil(k * n / 5) - 1]) for k in range(1, 5))  # type: ignore[return-value]


def rfm_thresholds(rfm: pl.DataFrame) -> RFMThresholds:
    """Quintile cut points of an `rfm_table`."""
    return RFMThresholds(
        recency_days=quintile_cut_points(rfm[RECENCY_DAYS].to_numpy()),
        frequency=quintile_cut_points(rfm[FREQUENCY].to_numpy()),
        monetary=quintile_cut_points(rfm[MONETARY].to_numpy()),
    )


def rank_quintiles(*keys: np.ndarray) -> np.ndarray:
    """Scores 1–5 by rank: ``keys`` are sort keys from the most significant, each ascending = worse (the last
    one should be unique, e.g. the customer id); the i-th of n customers in that order scores 1 + ⌊5·i/n⌋."""
    n = len(keys[0])
    order = np.lexsort(tuple(np.asarray(k, dtype=float) for k in reversed(keys)))
    scores = np.empty(n, dtype=np.int64)
    scores[order] = 1 + (5 * np.arange(n)) // max(n, 1)
    return scores


def _above(values: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    return (np.asarray(values, dtype=float)[:, None] > np.asarray(cuts)[None, :]).sum(axis=1)


def rfm_scores(rfm: pl.DataFrame, thresholds: RFMThresholds | None = None) -> pl.DataFrame:
    """Add ``r_score, f_score, m_score`` (1–5), ``fm_score`` and ``rfm_segment`` (code) to an `rfm_table`.

    ``thresholds`` are the workspace's cut points; default: rank-based quintiles (`rank_quintiles`, ties
    broken as the module docstring says).
    """
    if rfm.height == 0:
        return rfm.with_columns(
            *(pl.lit(None, dtype=pl.Int8).alias(c) for c in ("r_score", "f_score", "m_score", "fm_score")),
            pl.lit(None, dtype=pl.String).alias("rfm_segment"),
        )
    recency = rfm[RECENCY_DAYS].to_numpy().astype(float)
    frequency = rfm[FREQUENCY].to_numpy().astype(float)
    monetary = rfm[MONETARY].to_numpy().astype(float)
    if thresholds is not None:
        r = 5 - _above(recency, thresholds.recency_days)
        f = 1 + _above(frequency, thresholds.frequency)
        m = 1 + _above(monetary, thresholds.monetary)
    else:
        # Ascending keys = worse first; the customer id (a last, unique key) makes the order total.
        ids = rfm[CUSTOMER].rank("dense").to_numpy()
        r = rank_quintiles(-recency, frequency, monetary, ids)
        f = rank_quintiles(frequency, monetary, -recency, ids)
        m = rank_quintiles(monetary, frequency, -recency, ids)
    fm = (f + m + 1) // 2
    grid = np.array(RFM_GRID)
    segment = grid[r - 1, fm - 1]
    return rfm.with_columns(
        pl.Series("r_score", r, dtype=pl.Int8),
        pl.Series("f_score", f, dtype=pl.Int8),
        pl.Series("m_score", m, dtype=pl.Int8),
        pl.Series("fm_score", fm, dtype=pl.Int8),
        pl.Series("rfm_segment", segment, dtype=pl.String),
    )


@dataclasses.dataclass(frozen=True)
class ValueReference:
    """What "high" means for the value classes: recency below ``recency_days``, frequency and monetary above."""

    recency_days: float
    frequency: float
    monetary: float

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def value_reference(rfm: pl.DataFrame) -> ValueReference:
    """The default reference: the means of recency, frequency and monetary over ``rfm``'s customers."""
    return ValueReference(
        recency_days=float(rfm[RECENCY_DAYS].mean()),
        frequency=float(rfm[FREQUENCY].mean()),
        monetary=float(rfm[MONETARY].mean()),
    )


def value_classes(rfm: pl.DataFrame, reference: ValueReference | None = None) -> pl.DataFrame:
    """Add ``r_high, f_high, m_high`` (bool) and ``value_class`` (code of `VALUE_CLASSES`) to an `rfm_table`.

    ``reference`` defaults to `value_reference` (the means); pass workspace thresholds to fix them.
    """
    if rfm.height == 0:
        return rfm.with_columns(
            *(pl.lit(None, dtype=pl.Boolean).alias(c) for c in ("r_high", "f_high", "m_high")),
            pl.lit(None, dtype=pl.String).alias("value_class"),
        )
    ref = reference or value_reference(rfm)
    r_high = rfm[RECENCY_DAYS].to_numpy() < ref.recency_days
    f_high = rfm[FREQUENCY].to_numpy() > ref.frequency
    m_high = rfm[MONETARY].to_numpy() > ref.monetary
    lookup = np.array([VALUE_CLASS_BY_RFM[(bool(i & 4), bool(i & 2), bool(i & 1))] for i in range(8)])
    codes = lookup[r_high * 4 + f_high * 2 + m_high * 1]
    return rfm.with_columns(
        pl.Series("r_high", r_high),
        pl.Series("f_high", f_high),
        pl.Series("m_high", m_high),
        pl.Series("value_class", codes, dtype=pl.String),
    )


def label(code: str, language: Literal["en", "zh"] = "en") -> str:
    """The English or Chinese label of an RFM segment or value class code."""
    names = RFM_SEGMENTS.get(code) or VALUE_CLASSES.get(code)
    if names is None:
        raise KeyError(code)
    return names[0] if language == "en" else names[1]
