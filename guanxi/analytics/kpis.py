"""The seeds' KPIs over any date range, monthly series, retention cohorts and the product table.

Definitions for a period [start, end] (whole days, inclusive), computed from a transaction frame (one row per
paid order; see `guanxi.analytics.frames`) and, for per-store figures, grouped by a column such as ``store_id``:

* **active_customers** — customers with a paid order in the period.
* **new_customers** — customers whose first paid order ever (in the data) falls in the period;
  **new_customer_rate** = new / active.
* **lost_customers** — customers whose silence crossed ``lapse_days`` in the period: last order (up to the
  period end) on a day d with d + lapse_days in the period. **lost_customer_rate** = lost / customers who
  were still live at the start (an order within ``lapse_days`` before ``start``).
* **upgraded_customers** — customers whose lifecycle stage moved up between the day before ``start`` and
  ``end`` (`guanxi.analytics.lifecycle`, default rules unless given); **upgraded_customer_rate** = upgraded /
  customers in a buying stage at the start.
* **revenue** (net paid), **gross_profit**, **orders**, **average_order_value** = revenue / orders,
  **average_customer_profit** = gross profit / active customers,
  **repeat_purchase_rate** = share of active customers with two or more orders in the period.

Rates are None when their denominator is 0.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from guanxi.analytics.frames import AMOUNT, COST, CUSTOMER, DATE, REFUNDED, prepare_transactions, to_date
from guanxi.analytics.lifecycle import STAGE_RANK, LifecycleRules, lifecycle_stages, lifecycle_transitions
from guanxi.analytics.rfm import FREQUENCY, MONETARY, RECENCY_DAYS, rfm_table


def _rate(numerator: int | float, denominator: int | float) -> float | None:
    return float(numerator) / float(denominator) if denominator else None


def period_kpis(
    transactions: pl.DataFrame,
    *,
    start: dt.date | dt.datetime | str,
    end: dt.date | dt.datetime | str,
    lapse_days: int = 180,
    lifecycle_rules: LifecycleRules | None = None,
) -> dict:
    """The KPIs of the module docstring for one period, as a dict of plain numbers (money as float)."""
    first_day, last_day = to_date(start), to_date(end)
    if last_day < first_day:
        raise ValueError(f"end {last_day} is before start {first_day}")
    frame = prepare_transactions(transactions, as_of=last_day)
    day_before = first_day - dt.timedelta(days=1)
    return _kpis(
        frame.filter(pl.col(DATE) >= first_day), first_day=first_day, last_day=last_day,
        before=rfm_table(frame, as_of=day_before), after=rfm_table(frame, as_of=last_day),
        lapse_days=lapse_days, rules=lifecycle_rules or LifecycleRules(lapse_days=lapse_days),
    )


def _kpis(period: pl.DataFrame, *, first_day: dt.date, last_day: dt.date, before: pl.DataFrame,
          after: pl.DataFrame, lapse_days: int, rules: LifecycleRules) -> dict:
    """The KPI dict from the period's orders and the `rfm_table`s of the day before the period and its last day.

    Everything about customers' history comes from those two tables: first and last purchase up to the end (new,
    lost), the last purchase before the start (live at the start) and both lifecycle stages (upgraded).
    """
    per_customer = period.group_by(CUSTOMER).agg(pl.len().alias("orders"))
    active = per_customer.height
    new = after.filter(pl.col("first_purchase") >= first_day).height
    lapse = dt.timedelta(days=lapse_days)
    # Lost: the last order up to `end` was between start − lapse and end − lapse.
    lost = after.filter((pl.col("last_purchase") >= first_day - lapse)
                        & (pl.col("last_purchase") <= last_day - lapse)).height
    live_at_start = before.filter(pl.col("last_purchase") >= first_day - lapse).height
    day_before = first_day - dt.timedelta(days=1)
    stages_before = lifecycle_stages(before, as_of=day_before, rules=rules)
    stages_after = lifecycle_stages(after, as_of=last_day, rules=rules)
    transitions = lifecycle_transitions(stages_before, stages_after)
    upgraded = transitions.filter(pl.col("movement") == "upgraded").height
    buying = [s for s, r in STAGE_RANK.items() if r >= 1]
    buying_at_start = stages_before.filter(pl.col("lifecycle_stage").is_in(buying)).height
    money = period.select(
        (pl.col(AMOUNT) - pl.col(REFUNDED)).sum().alias("revenue"),
        (pl.col(AMOUNT) - pl.col(REFUNDED) - pl.col(COST)).sum().alias("gross_profit"),
        pl.len().alias("orders"),
    ).row(0, named=True)
    repeaters = per_customer.filter(pl.col("orders") >= 2).height
    return {
        "start": first_day.isoformat(),
        "end": last_day.isoformat(),
        "active_customers": active,
        "new_customers": new,
        "new_customer_rate": _rate(new, active),
        "lost_customers": lost,
        "lost_customer_rate": _rate(lost, live_at_start),
        "upgraded_customers": upgraded,
        "upgraded_customer_rate": _rate(upgraded, buying_at_start),
        "orders": int(money["orders"]),
        "revenue": float(money["revenue"] or 0.0),
        "gross_profit": float(money["gross_profit"] or 0.0),
        "average_order_value": _rate(money["revenue"] or 0.0, money["orders"]),
        "average_customer_profit": _rate(money["gross_profit"] or 0.0, active),
        "repeat_purchase_rate": _rate(repeaters, active),
    }


def rfm_tables_at(frame: pl.DataFrame, days: list[dt.date]) -> dict[dt.date, pl.DataFrame]:
    """`rfm_table` (frequency in orders) as of each of ``days``, from one pass over a prepared frame.

    Orders are first summed per customer and day, then per customer and *bucket* (the orders after one of
    ``days`` up to the next); the table at a day adds up the buckets up to it. At ten million orders and a dozen
    days this takes seconds, where a dozen `rfm_table` calls over every order take a minute.
    """
    days = sorted(set(days))
    daily = frame.group_by(CUSTOMER, DATE).agg(
        pl.len().alias("orders"), (pl.col(AMOUNT) - pl.col(REFUNDED)).sum().alias(MONETARY)
    )
    cuts = pl.Series(days, dtype=pl.Date)
    buckets = (
        daily.with_columns(cuts.search_sorted(daily[DATE], side="left").alias("bucket"))
        .group_by(CUSTOMER, "bucket")
        .agg(pl.col("orders").sum(), pl.len().alias("purchase_days"), pl.col(MONETARY).sum(),
             pl.col(DATE).min().alias("first_purchase"), pl.col(DATE).max().alias("last_purchase"))
    )
    tables = {}
    for index, day in enumerate(days):
        tables[day] = (
            buckets.filter(pl.col("bucket") <= index)
            .group_by(CUSTOMER)
            .agg(pl.col("orders").sum().cast(pl.Int64), pl.col("purchase_days").sum().cast(pl.Int64),
                 pl.col(MONETARY).sum(), pl.col("first_purchase").min(), pl.col("last_purchase").max())
            .with_columns(
                (pl.lit(day) - pl.col("last_purchase")).dt.total_days().cast(pl.Int64).alias(RECENCY_DAYS),
                pl.col("orders").alias(FREQUENCY),
            )
            .select(CUSTOMER, RECENCY_DAYS, FREQUENCY, MONETARY, "orders", "purchase_days", "first_purchase",
                    "last_purchase")
            .sort(CUSTOMER)
        )
    return tables


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """First days of the months from ``start``'s month to ``end``'s month."""
    out, current = [], dt.date(start.year, start.month, 1)
    while current <= end:
        out.append(current)
        current = dt.date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return out


def monthly_kpis(
    transactions: pl.DataFrame,
    *,
    start: dt.date | dt.datetime | str,
    end: dt.date | dt.datetime | str,
    lapse_days: int = 180,
    by: str | None = None,
) -> pl.DataFrame:
    """`period_kpis` for each calendar month overlapping [start, end] (clipped to it), one row per month — and
    per value of column ``by`` (e.g. ``"store_id"``) when given, with a ``by`` column first.

    The same figures as calling `period_kpis` month by month, with the RFM tables of every month boundary
    computed in one pass (`rfm_tables_at`)."""
    first_day, last_day = to_date(start), to_date(end)
    rules = LifecycleRules(lapse_days=lapse_days)
    months = []
    for month in month_starts(first_day, last_day):
        next_month = month_starts(month + dt.timedelta(days=32), month + dt.timedelta(days=32))[0]
        months.append((month, max(month, first_day), min(next_month - dt.timedelta(days=1), last_day)))
    boundaries = [day for _, begin, finish in months for day in (begin - dt.timedelta(days=1), finish)]
    groups = [(None, transactions)] if by is None else transactions.partition_by(by, as_dict=True).items()
    rows = []
    for key, group in groups:
        frame = prepare_transactions(group, as_of=last_day)
        tables = rfm_tables_at(frame, boundaries)
        for month, begin, finish in months:
            period = frame.filter(pl.col(DATE).is_between(begin, finish))
            row = {"month": month, **_kpis(period, first_day=begin, last_day=finish,
                                           before=tables[begin - dt.timedelta(days=1)], after=tables[finish],
                                           lapse_days=lapse_days, rules=rules)}
            if by is not None:
                row = {by: key[0] if isinstance(key, tuple) else key, **row}
            rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def retention_cohorts(
    transactions: pl.DataFrame, *, as_of: dt.date | dt.datetime | str, max_months: int = 24
) -> pl.DataFrame:
    """Retention by first-purchase month: ``cohort`` (month start), ``cohort_size``, ``months_since`` (0 = the
    first month), ``active_customers`` (cohort members with an order in that month) and ``retention``
    (active / size). Months after ``as_of`` are left out."""
    frame = prepare_transactions(transactions, as_of=as_of)
    monthly = frame.select(CUSTOMER, pl.col(DATE).dt.truncate("1mo").alias("month")).unique()
    cohorts = monthly.group_by(CUSTOMER).agg(pl.col("month").min().alias("cohort"))
    sizes = cohorts.group_by("cohort").agg(pl.len().alias("cohort_size"))
    return (
        monthly.join(cohorts, on=CUSTOMER)
        .with_columns(
            (
                (pl.col("month").dt.year() - pl.col("cohort").dt.year()) * 12
                + pl.col("month").dt.month().cast(pl.Int32)
                - pl.col("cohort").dt.month().cast(pl.Int32)
            ).alias("months_since")
        )
        .filter(pl.col("months_since") <= max_months)
        .group_by("cohort", "months_since")
        .agg(pl.len().alias("active_customers"))
        .join(sizes, on="cohort")
        .with_columns((pl.col("active_customers") / pl.col("cohort_size")).alias("retention"))
        .select("cohort", "cohort_size", "months_since", "active_customers", "retention")
        .sort("cohort", "months_since")
    )


def product_table(
    lines: pl.DataFrame, *, product: str = "sku", quantity: str = "quantity", amount: str = "amount", cost: str = "cost"
) -> pl.DataFrame:
    """What sells and what earns: per product, ``units, revenue, cost, gross_profit, margin`` (profit / revenue),
    sorted by gross profit (highest first). ``lines`` has one row per paid order line; a null cost counts as 0
    and is reported in ``cost_known_share``."""
    frame = lines.with_columns(
        pl.col(quantity).cast(pl.Float64).fill_null(0.0).alias("_q"),
        pl.col(amount).cast(pl.Float64).fill_null(0.0).alias("_a"),
        (pl.col(cost).cast(pl.Float64) if cost in lines.columns else pl.lit(None, dtype=pl.Float64)).alias("_c"),
    )
    return (
        frame.group_by(product)
        .agg(
            pl.col("_q").sum().alias("units"),
            pl.col("_a").sum().alias("revenue"),
            pl.col("_c").fill_null(0.0).sum().alias("cost"),
            pl.col("_c").is_not_null().mean().alias("cost_known_share"),
        )
        .with_columns((pl.col("revenue") - pl.col("cost")).alias("gross_profit"))
        .with_columns(
            pl.when(pl.col("revenue") > 0).then(pl.col("gross_profit") / pl.col("revenue")).otherwise(None).alias("margin")
        )
        .sort(["gross_profit", product], descending=[True, False])
    )
