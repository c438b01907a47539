"""The customer lifecycle of the seeds (客户生命周期): potential 潜在 → developing 开发 → growing 成长 →
mature 成熟 → terminating 终止, and the transitions between two dated snapshots.

**Default rules** (`LifecycleRules`; every number is configurable per workspace), applied in this order to a
customer's paid orders up to ``as_of``:

1. **potential** — known to the shop (in ``customers``) but no paid order yet.
2. **terminating** — silent too long: days since the last order > ``lapse_days`` (180), or, for repeat
   buyers, > ``lapse_multiple`` (3) × their own mean interval between purchase days, whichever is *longer* (a
   customer who buys every 100 days is not lost after 181). If a model P(alive) is given and
   ``p_alive_below`` is set, P(alive) below it also counts.
3. **developing** — one purchase day so far (a first purchase that has not lapsed).
4. **mature** — at least ``mature_min_orders`` (5) paid orders, customer for at least ``mature_min_days``
   (180) days, and net paid ≥ ``mature_min_monetary`` (default: the median net paid of all repeat buyers in
   the data), i.e. high frequency and value, stable over time.
5. **growing** — every other repeat buyer.

**Transitions** between an earlier and a later snapshot, per customer: ``new`` (none/potential → a buying
stage), ``upgraded`` (developing → growing → mature, upwards), ``downgraded`` (downwards among those),
``lost`` (a buying stage → terminating), ``reactivated`` (terminating → a buying stage), ``unchanged``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterable

import numpy as np
import polars as pl

from guanxi.analytics.errors import SchemaError
from guanxi.analytics.frames import CUSTOMER, to_date
from guanxi.analytics.rfm import MONETARY, RECENCY_DAYS

STAGES: dict[str, tuple[str, str]] = {
    "potential": ("Potential", "潜在期"),
    "developing": ("Developing", "开发期"),
    "growing": ("Growing", "成长期"),
    "mature": ("Mature", "成熟期"),
    "terminating": ("Terminating", "终止期"),
}
#: Order of the buying stages for upgrades/downgrades.
STAGE_RANK = {"potential": 0, "developing": 1, "growing": 2, "mature": 3}
MOVEMENTS = ("new", "upgraded", "downgraded", "reactivated", "lost", "unchanged")


@dataclasses.dataclass(frozen=True)
class LifecycleRules:
    """Thresholds of the lifecycle rules (see the module docstring); days are calendar days."""

    lapse_days: int = 180
    lapse_multiple: float = 3.0
    mature_min_orders: int = 5
    mature_min_days: int = 180
    mature_min_monetary: float | None = None
    p_alive_below: float | None = None

    def __post_init__(self) -> None:
        if self.lapse_days < 1 or self.lapse_multiple < 0 or self.mature_min_orders < 2 or self.mature_min_days < 0:
            raise SchemaError("lifecycle rules: lapse_days ≥ 1, lapse_multiple ≥ 0, mature_min_orders ≥ 2")
        if self.p_alive_below is not None and not 0.0 <= self.p_alive_below <= 1.0:
            raise SchemaError("lifecycle rules: p_alive_below must be within 0..1")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def lifecycle_stages(
    rfm: pl.DataFrame,
    *,
    as_of: dt.date | dt.datetime | str,
    rules: LifecycleRules = LifecycleRules(),
    customers: Iterable | pl.Series | None = None,
    p_alive: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Stage per customer as of ``as_of``.

    Args:
        rfm: an `guanxi.analytics.rfm.rfm_table` computed at the same ``as_of``.
        rules: the workspace's `LifecycleRules`.
        customers: every known customer id (those without orders become ``potential``); default: only buyers.
        p_alive: optional frame ``customer_id, p_alive`` (used only when ``rules.p_alive_below`` is set).

    Returns ``customer_id, lifecycle_stage, days_silent, lapse_after_days`` (nulls for potential customers),
    sorted by ``customer_id``.
    """
    end = to_date(as_of)
    orders = rfm["orders"].to_numpy()
    days = rfm["purchase_days"].to_numpy()
    silent = rfm[RECENCY_DAYS].to_numpy()
    span = (rfm["last_purchase"] - rfm["first_purchase"]).dt.total_days().to_numpy()
    tenure = rfm.select((pl.lit(end) - pl.col("first_purchase")).dt.total_days().alias("t"))["t"].to_numpy()
    monetary = rfm[MONETARY].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        interval = np.where(days > 1, span / np.maximum(days - 1, 1), 0.0)
    lapse_after = np.maximum(rules.lapse_days, rules.lapse_multiple * interval)
    terminating = silent > lapse_after
    if rules.p_alive_below is not None and p_alive is not None:
        joined = rfm.select(CUSTOMER).join(p_alive.select(CUSTOMER, "p_alive"), on=CUSTOMER, how="left")
        alive = joined["p_alive"].fill_null(1.0).to_numpy()
        terminating |= alive < rules.p_alive_below
    repeat = days > 1
    threshold = rules.mature_min_monetary
    if threshold is None:
        threshold = float(np.median(monetary[repeat])) if repeat.any() else float("inf")
    mature = (orders >= rules.mature_min_orders) & (tenure >= rules.mature_min_days) & (monetary >= threshold)
    # Codes into _BUYING_STAGES, not an array of strings: building a million Python str objects per call was
    # most of the time of a monthly KPI series at scale.
    code = np.where(terminating, 0, np.where(~repeat, 1, np.where(mature, 2, 3)))
    frame = pl.DataFrame(
        {
            CUSTOMER: rfm[CUSTOMER],
            "lifecycle_stage": _BUYING_STAGES.gather(code),
            "days_silent": rfm[RECENCY_DAYS],
            "lapse_after_days": pl.Series(np.round(lapse_after).astype(np.int64)),
        }
    )
    if customers is not None:
        known = pl.DataFrame({CUSTOMER: pl.Series(list(customers) if not isinstance(customers, pl.Series) else customers)})
        known = known.unique().cast({CUSTOMER: frame.schema[CUSTOMER]})
        frame = known.join(frame, on=CUSTOMER, how="left").with_columns(
            pl.col("lifecycle_stage").fill_null("potential")
        )
    return frame.sort(CUSTOMER)


_BUYING_STAGES = pl.Series(["terminating", "developing", "mature", "growing"], dtype=pl.String)


def _movement() -> pl.Expr:
    rb = pl.col("from_stage").replace_strict(STAGE_RANK, default=-1, return_dtype=pl.Int8)
    ra = pl.col("to_stage").replace_strict(STAGE_RANK, default=-1, return_dtype=pl.Int8)
    was_none, was_buying, was_term = rb == 0, rb >= 1, pl.col("from_stage") == "terminating"
    is_buying, is_term = ra >= 1, pl.col("to_stage") == "terminating"
    return (
        pl.when(was_none & is_buying).then(pl.lit("new"))
        .when((was_none | was_buying) & is_term).then(pl.lit("lost"))
        .when(was_term & is_buying).then(pl.lit("reactivated"))
        .when(was_buying & is_buying & (ra > rb)).then(pl.lit("upgraded"))
        .when(was_buying & ((is_buying & (ra < rb)) | (ra == 0))).then(pl.lit("downgraded"))
        .otherwise(pl.lit("unchanged"))
        .alias("movement")
    )


def lifecycle_transitions(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """Per customer in either snapshot: ``customer_id, from_stage, to_stage, movement`` (one of `MOVEMENTS`).

    Both frames hold ``customer_id, lifecycle_stage`` (e.g. two outputs of `lifecycle_stages`, or stored
    snapshots). A customer missing from ``before`` counts as potential; missing from ``after`` keeps their
    earlier stage (unchanged).
    """
    joined = (
        before.select(CUSTOMER, pl.col("lifecycle_stage").alias("from_stage"))
        .join(after.select(CUSTOMER, pl.col("lifecycle_stage").alias("to_stage")), on=CUSTOMER, how="full", coalesce=True)
        .with_columns(pl.col("from_stage").fill_null("potential"))
        .with_columns(pl.col("to_stage").fill_null(pl.col("from_stage")))
        .sort(CUSTOMER)
    )
    return joined.with_columns(_movement())


def transition_counts(transitions: pl.DataFrame) -> dict[str, int]:
    """Customers per movement (every key of `MOVEMENTS` present, 0 if none)."""
    counts = {m: 0 for m in MOVEMENTS}
    for row in transitions.group_by("movement").len().iter_rows():
        counts[row[0]] = int(row[1])
    return counts


def transition_matrix(transitions: pl.DataFrame) -> pl.DataFrame:
    """Customers per (from_stage, to_stage) pair: ``from_stage, to_stage, customers`` (for flow charts)."""
    return transitions.group_by("from_stage", "to_stage").agg(pl.len().alias("customers")).sort("from_stage", "to_stage")
