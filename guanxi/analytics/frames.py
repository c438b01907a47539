"""The columnar input contract of `guanxi.analytics`: transaction frames, dates and time units.

A *transaction frame* is a Polars DataFrame with one row per paid order:

==============  ==========================  ====================================================================
column          type                        meaning
==============  ==========================  ====================================================================
``customer_id`` any hashable (int or str)   the customer (after identity resolution: one id per person)
``timestamp``   ``pl.Date`` or              when the order was paid, in the workspace's local time; analytics
(or ``date``)   ``pl.Datetime``             works in whole local calendar days, so a time of day is dropped
``amount``      numeric                     money received for the order (currency units, e.g. yuan)
``refunded``    numeric, optional           money refunded on the order (default 0)
``cost``        numeric, optional           product cost of the order (default 0 = unknown, so profit = net paid)
==============  ==========================  ====================================================================

Extra columns (``store_id``, ``quantity``…) are kept and ignored unless a function asks for them. All money in
one frame is in one currency — the Django side converts each order to the workspace's reporting currency at the
rate of its day before it builds the frame (`guanxi.commerce.money`), and leaves out orders without a rate, so
nothing here ever adds two currencies. Money is float64 here: analytics ranks and models money, it does not book it; the Django side stores results as Decimal.

``as_of`` is always explicit and is the last *included* day: an order on ``as_of`` counts, a later one does not.
A ``datetime.datetime`` is reduced to its date.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

from guanxi.analytics.errors import SchemaError

CUSTOMER = "customer_id"
TIMESTAMP = "timestamp"
DATE = "date"
AMOUNT = "amount"
REFUNDED = "refunded"
COST = "cost"

TimeUnit = Literal["day", "week"]
#: Length of one model time unit in days. FHL (2005) measure time in weeks of 7 days.
DAYS_PER_UNIT: dict[str, float] = {"day": 1.0, "week": 7.0}
#: Average month length in days (365.25 / 12), used for monthly discounting and 30/90/365-day horizons.
DAYS_PER_MONTH = 365.25 / 12


def to_date(value: dt.date | dt.datetime | str) -> dt.date:
    """A calendar date from a date, a datetime (its date part) or an ISO string ``YYYY-MM-DD``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError as exc:
            raise SchemaError(f"not a date: {value!r} (expected YYYY-MM-DD)") from exc
    raise SchemaError(f"not a date: {value!r}")


def days_per_unit(time_unit: str) -> float:
    """Days in one model time unit ("day" → 1, "week" → 7)."""
    try:
        return DAYS_PER_UNIT[time_unit]
    except KeyError:
        raise SchemaError(f"unknown time unit {time_unit!r}; use one of {sorted(DAYS_PER_UNIT)}") from None


def prepare_transactions(
    transactions: pl.DataFrame,
    *,
    as_of: dt.date | dt.datetime | str | None = None,
    start: dt.date | dt.datetime | str | None = None,
) -> pl.DataFrame:
    """Validate a transaction frame and return it with a ``date`` column (``pl.Date``) and float money columns.

    Rows after ``as_of`` (and before ``start``, when given) are dropped. ``refunded`` and ``cost`` are added as
    zeros when absent; null money counts as 0. Raises `SchemaError` when a required column is missing or a
    money value is negative.
    """
    if not isinstance(transactions, pl.DataFrame):
        raise SchemaError(f"transactions must be a polars DataFrame, not {type(transactions).__name__}")
    columns = set(transactions.columns)
    time_column = TIMESTAMP if TIMESTAMP in columns else DATE if DATE in columns else None
    missing = [c for c in (CUSTOMER, AMOUNT) if c not in columns]
    if time_column is None:
        missing.append(f"{TIMESTAMP} (or {DATE})")
    if missing:
        raise SchemaError(f"transaction frame lacks column(s): {', '.join(missing)}; has {sorted(columns)}")
    dtype = transactions.schema[time_column]
    if dtype == pl.Date:
        date_expr = pl.col(time_column)
    elif isinstance(dtype, pl.Datetime):
        date_expr = pl.col(time_column).dt.date()
    else:
        raise SchemaError(f"column {time_column!r} must be pl.Date or pl.Datetime, not {dtype}")
    money = [pl.col(AMOUNT).cast(pl.Float64).fill_null(0.0)]
    for name in (REFUNDED, COST):
        if name in columns:
            money.append(pl.col(name).cast(pl.Float64).fill_null(0.0))
        else:
            money.append(pl.lit(0.0, dtype=pl.Float64).alias(name))
    frame = transactions.with_columns(date_expr.alias(DATE), *money)
    if frame[CUSTOMER].null_count():
        raise SchemaError(f"{frame[CUSTOMER].null_count()} transaction(s) have no customer_id")
    if frame[DATE].null_count():
        raise SchemaError(f"{frame[DATE].null_count()} transaction(s) have no date")
    if as_of is not None:
        frame = frame.filter(pl.col(DATE) <= to_date(as_of))
    if start is not None:
        frame = frame.filter(pl.col(DATE) >= to_date(start))
    negative = frame.filter((pl.col(AMOUNT) < 0) | (pl.col(REFUNDED) < 0) | (pl.col(COST) < 0)).height
    if negative:
        raise SchemaError(f"{negative} transaction(s) have a negative amount, refund or cost")
    return frame
