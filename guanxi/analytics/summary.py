"""Per-customer purchase summaries for the probability models: frequency, recency, T and monetary value.

The conventions are those of Fader, Hardie & Lee (2005) and the `lifetimes` package, so published parameters
can be reproduced:

* purchases on the same calendar day are merged into one purchase (their net amounts added);
* ``frequency`` = number of *repeat* purchase days (distinct purchase days − 1);
* ``recency`` (``t_x``) = time from the first to the last purchase day;
* ``T`` = time from the first purchase day to ``as_of`` (the end of the calibration period, inclusive day);
* ``monetary_value`` = mean net amount (paid − refunded) of the repeat purchase days, the first day excluded
  (0 for one-time buyers) — the input of the Gamma-Gamma spend model;
* ``first_purchase_value`` = net amount of the first purchase day, known for every customer from the day they
  are acquired (a covariate of the buy-again model, `guanxi.analytics.buy_again`).

Times are in the chosen unit: ``"week"`` (days / 7, as FHL) or ``"day"``. With ``as_of`` = 1997-09-30, a CDNOW
customer whose first purchase was on 1997-01-01 has T = 272 / 7 = 38.857 weeks, the value in FHL's data.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from guanxi.analytics.frames import (
    AMOUNT,
    CUSTOMER,
    DATE,
    REFUNDED,
    days_per_unit,
    prepare_transactions,
    to_date,
)

#: Column names of a summary frame.
FREQUENCY, RECENCY, AGE, MONETARY = "frequency", "recency", "T", "monetary_value"
FIRST_VALUE = "first_purchase_value"
FREQUENCY_HOLDOUT, MONETARY_HOLDOUT, DURATION_HOLDOUT = "frequency_holdout", "monetary_holdout", "duration_holdout"


def purchase_days(transactions: pl.DataFrame) -> pl.DataFrame:
    """Merge a prepared transaction frame into one row per customer and purchase day.

    Returns ``customer_id, date, net`` (net = Σ amount − refunded that day, currency units) and ``orders``.
    """
    return (
        transactions.group_by(CUSTOMER, DATE)
        .agg((pl.col(AMOUNT) - pl.col(REFUNDED)).sum().alias("net"), pl.len().alias("orders"))
        .sort(CUSTOMER, DATE)
    )


def customer_summary(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | dt.datetime | str,
    time_unit: str = "week",
    start: dt.date | dt.datetime | str | None = None,
) -> pl.DataFrame:
    """Summarise purchases up to and including ``as_of`` per customer (see the module docstring).

    Args:
        transactions: a transaction frame (see `guanxi.analytics.frames`).
        as_of: last day of the calibration period; later purchases are ignored.
        time_unit: ``"week"`` (days / 7) or ``"day"``; ``recency`` and ``T`` are in this unit.
        start: first day considered (earlier purchases ignored); default: all history.

    Returns:
        One row per customer with a purchase in the period, sorted by ``customer_id``: ``customer_id``,
        ``frequency`` (repeat purchase days), ``recency`` and ``T`` (``time_unit``), ``monetary_value``
        (currency units per repeat purchase day), ``first_purchase_value`` (currency units),
        ``first_purchase`` and ``last_purchase`` (dates).
    """
    end = to_date(as_of)
    unit = days_per_unit(time_unit)
    frame = prepare_transactions(transactions, as_of=end, start=start)
    # Same-day purchases merged, then one row per customer, as one lazy query (no intermediate sort).
    summary = (
        frame.lazy()
        .group_by(CUSTOMER, DATE)
        .agg((pl.col(AMOUNT) - pl.col(REFUNDED)).sum().alias("net"))
        .group_by(CUSTOMER)
        .agg(
            pl.len().alias("_days"),
            pl.col(DATE).min().alias("first_purchase"),
            pl.col(DATE).max().alias("last_purchase"),
            pl.col("net").sum().alias("_net_total"),
            pl.col("net").sort_by(DATE).first().alias("_net_first"),
        )
        .with_columns(
            (pl.col("_days") - 1).cast(pl.Int64).alias(FREQUENCY),
            ((pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days() / unit).alias(RECENCY),
            ((pl.lit(end) - pl.col("first_purchase")).dt.total_days() / unit).alias(AGE),
        )
        .with_columns(
            pl.when(pl.col(FREQUENCY) > 0)
            .then((pl.col("_net_total") - pl.col("_net_first")) / pl.col(FREQUENCY))
            .otherwise(0.0)
            .alias(MONETARY),
            pl.col("_net_first").alias(FIRST_VALUE),
        )
        .select(CUSTOMER, FREQUENCY, RECENCY, AGE, MONETARY, FIRST_VALUE, "first_purchase", "last_purchase")
        .sort(CUSTOMER)
        .collect()
    )
    return summary


def calibration_holdout_summary(
    transactions: pl.DataFrame,
    *,
    calibration_end: dt.date | dt.datetime | str,
    observation_end: dt.date | dt.datetime | str,
    time_unit: str = "week",
    start: dt.date | dt.datetime | str | None = None,
) -> pl.DataFrame:
    """`customer_summary` at ``calibration_end`` plus what each of those customers did in the holdout.

    The holdout is the days after ``calibration_end`` up to and including ``observation_end``. Added columns:
    ``frequency_holdout`` (purchase days in the holdout, same-day purchases merged), ``monetary_holdout`` (mean
    net per holdout purchase day, 0 if none) and ``duration_holdout`` (holdout length in ``time_unit``).
    Customers whose first purchase is in the holdout are not included (the models predict existing customers).
    """
    cal_end, obs_end = to_date(calibration_end), to_date(observation_end)
    if obs_end <= cal_end:
        raise ValueError(f"observation_end {obs_end} must be after calibration_end {cal_end}")
    prepared = prepare_transactions(transactions, as_of=obs_end, start=start)
    calibration = customer_summary(prepared, as_of=cal_end, time_unit=time_unit)
    holdout = (
        purchase_days(prepared.filter(pl.col(DATE) > cal_end))
        .group_by(CUSTOMER)
        .agg(pl.len().cast(pl.Int64).alias(FREQUENCY_HOLDOUT), pl.col("net").mean().alias(MONETARY_HOLDOUT))
    )
    duration = (obs_end - cal_end).days / days_per_unit(time_unit)
    return (
        calibration.join(holdout, on=CUSTOMER, how="left")
        .with_columns(
            pl.col(FREQUENCY_HOLDOUT).fill_null(0),
            pl.col(MONETARY_HOLDOUT).fill_null(0.0),
            pl.lit(duration).alias(DURATION_HOLDOUT),
        )
        .sort(CUSTOMER)
    )
