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
from typing import Iterator

import numpy as np
import polars as pl

from guanxi.analytics.frames import AMOUNT, COST, CUSTOMER, DATE, REFUNDED, prepare_transactions, to_date
from guanxi.analytics.lifecycle import STAGE_RANK, LifecycleRules, lifecycle_stages
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
    rules = lifecycle_rules or LifecycleRules(lapse_days=lapse_days)
    before, after = rfm_table(frame, as_of=day_before), rfm_table(frame, as_of=last_day)
    return _kpis(
        frame.filter(pl.col(DATE) >= first_day), first_day=first_day, last_day=last_day, before=before,
        after=after, stages_before=lifecycle_stages(before, as_of=day_before, rules=rules),
        stages_after=lifecycle_stages(after, as_of=last_day, rules=rules), lapse_days=lapse_days,
    )


def _upgraded(before: pl.DataFrame, after: pl.DataFrame) -> int:
    """Customers in a buying stage at both dates whose stage moved up (the "upgraded" movement of
    `lifecycle_transitions`, counted with an inner join: a million-row full join costs a second a month)."""
    rank = {stage: r for stage, r in STAGE_RANK.items() if r >= 1}
    ranked = [frame.select(CUSTOMER, pl.col("lifecycle_stage").replace_strict(rank, default=None,
                                                                              return_dtype=pl.Int8).alias(name))
              .drop_nulls(name) for frame, name in ((before, "from"), (after, "to"))]
    return ranked[0].join(ranked[1], on=CUSTOMER).filter(pl.col("to") > pl.col("from")).height


def _kpis(period: pl.DataFrame, *, first_day: dt.date, last_day: dt.date, before: pl.DataFrame,
          after: pl.DataFrame, stages_before: pl.DataFrame, stages_after: pl.DataFrame, lapse_days: int) -> dict:
    """The KPI dict from the period's orders, and the `rfm_table`s and lifecycle stages of the day before the
    period and of its last day.

    Everything about customers' history comes from those: first and last purchase up to the end (new, lost),
    the last purchase before the start (live at the start) and the stage movements (upgraded).
    """
    per_customer = period.group_by(CUSTOMER).agg(pl.len().alias("orders"))
    active = per_customer.height
    new = after.filter(pl.col("first_purchase") >= first_day).height
    lapse = dt.timedelta(days=lapse_days)
    # Lost: the last order up to `end` was between start − lapse and end − lapse.
    lost = after.filter((pl.col("last_purchase") >= first_day - lapse)
                        & (pl.col("last_purchase") <= last_day - lapse)).height
    live_at_start = before.filter(pl.col("last_purchase") >= first_day - lapse).height
    upgraded = _upgraded(stages_before, stages_after)
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


def _sorted_by_customer_and_day(customer: np.ndarray, day: np.ndarray) -> bool:
    """Whether rows are already in (customer, day) order (a frame sorted once for several calls: 3 s less each
    at ten million rows)."""
    if customer.dtype.kind not in "iu":  # text ids: let the caller sort
        return False
    step = np.diff(customer)
    return bool((step >= 0).all() and (np.diff(day)[step == 0] >= 0).all())


def rfm_tables_at(frame: pl.DataFrame, days: list[dt.date]) -> dict[dt.date, pl.DataFrame]:
    """`rfm_table` (frequency in orders) as of each of ``days``, from one sort of a prepared frame (see
    `rfm_tables_over`)."""
    return dict(rfm_tables_over(frame, days))


def rfm_tables_over(frame: pl.DataFrame, days: list[dt.date]) -> Iterator[tuple[dt.date, pl.DataFrame]]:
    """``(day, rfm_table as of day)`` for each of ``days`` in ascending order, made one at a time (a table of
    a million customers is ~60 MB: a caller that needs two at a time keeps two).

    Each order falls in the bucket of the first of ``days`` on or after it (`np.searchsorted` against the few
    days). With orders sorted by customer and day, `np.bincount` over (customer, bucket) cells gives orders,
    purchase days and money per cell, and a running sum along each customer's buckets gives them as of each day;
    the last purchase is the last row of each cell, carried forward. One pass over the orders whatever the
    number of days: at ten million orders and two dozen days about a second, where a `np.searchsorted` per day
    took ten. Money is summed per cell then across a customer's buckets, so it equals `rfm_table`'s up to the
    last bits.
    """
    days = sorted(set(days))
    ordered = frame.select(CUSTOMER, pl.col(DATE).cast(pl.Int32).alias("day"),
                           (pl.col(AMOUNT) - pl.col(REFUNDED)).alias(MONETARY))
    if ordered.is_empty():
        yield from ((day, rfm_table(frame, as_of=day)) for day in days)
        return
    if not _sorted_by_customer_and_day(ordered[CUSTOMER].to_numpy(), ordered["day"].to_numpy()):
        ordered = ordered.sort(CUSTOMER, "day")
    customer, day, money = (ordered[c].to_numpy() for c in (CUSTOMER, "day", MONETARY))
    new_customer = np.r_[True, customer[1:] != customer[:-1]]
    new_day = new_customer | np.r_[True, day[1:] != day[:-1]]
    starts = np.flatnonzero(new_customer)
    customers, width = starts.size, len(days)
    epoch = dt.date(1970, 1, 1)
    cuts = np.array([(d - epoch).days for d in days], dtype=np.int64)
    bucket = np.searchsorted(cuts, day, side="left")  # == width: after the last day
    counted = bucket < width
    group = (new_customer.astype(np.int64).cumsum() - 1)[counted]
    bucket, kept_day = bucket[counted], day[counted]
    size = customers * width

    def per_day(cells: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Days × customers: the running total over each customer's buckets of the rows in `cells`."""
        counts = np.bincount(cells, weights=weights, minlength=size).reshape(width, customers)
        return counts.cumsum(axis=0, dtype=np.float64 if weights is not None else np.int32)

    cell = bucket * customers + group  # day-major, so the running totals add whole rows
    orders = per_day(cell)
    purchase_days = per_day(cell[new_day[counted]])
    monetary = per_day(cell, money[counted])
    # Rows are sorted by customer then day, so a (customer, bucket) cell's rows are contiguous: its last
    # purchase is its last row.
    ends = np.r_[(group[1:] != group[:-1]) | (bucket[1:] != bucket[:-1]), True] if cell.size else cell.astype(bool)
    last = np.full(size, np.iinfo(np.int32).min, dtype=np.int32)
    last[cell[ends]] = kept_day[ends]
    last = np.maximum.accumulate(last.reshape(width, customers), axis=0)
    ids, first = ordered[CUSTOMER].gather(starts), day[starts]
    for k, as_of in enumerate(days):
        keep = orders[k] > 0
        count = orders[k, keep].astype(np.int64)
        yield as_of, pl.DataFrame({
            CUSTOMER: ids.filter(keep),
            RECENCY_DAYS: cuts[k] - last[k, keep].astype(np.int64),
            FREQUENCY: count,
            MONETARY: monetary[k, keep],
            "orders": count,
            "purchase_days": purchase_days[k, keep].astype(np.int64),
            "first_purchase": pl.Series(first[keep]).cast(pl.Date),
            "last_purchase": pl.Series(last[k, keep]).cast(pl.Date),
        })


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
    computed in one pass (`rfm_tables_over`)."""
    first_day, last_day = to_date(start), to_date(end)
    rules = LifecycleRules(lapse_days=lapse_days)
    months = []
    for month in month_starts(first_day, last_day):
        next_month = month_starts(month + dt.timedelta(days=32), month + dt.timedelta(days=32))[0]
        months.append((month, max(month, first_day), min(next_month - dt.timedelta(days=1), last_day)))
    boundaries = [day for _, begin, finish in months for day in (begin - dt.timedelta(days=1), finish)]
    # Sorted once here (unless the caller has), so that each group reaches `rfm_tables_over` in its order
    # (partitions keep the order).
    ordered = transactions
    if not _sorted_by_customer_and_day(transactions[CUSTOMER].to_numpy(),
                                       transactions[DATE].cast(pl.Int32).to_numpy()):
        ordered = transactions.sort(CUSTOMER, DATE)
    groups = [(None, ordered)] if by is None else ordered.partition_by(by, as_dict=True).items()
    rows = []
    for key, group in groups:
        frame = prepare_transactions(group, as_of=last_day)
        # Month i runs from boundary i (the day before it) to boundary i + 1 (its last day): the tables come
        # in that order, and only the two of the current month are kept.
        tables = rfm_tables_over(frame, boundaries)
        start_day, before = next(tables)
        stages_before = lifecycle_stages(before, as_of=start_day, rules=rules)
        for (month, begin, finish), (end_day, after) in zip(months, tables, strict=True):
            stages_after = lifecycle_stages(after, as_of=finish, rules=rules)
            period = frame.filter(pl.col(DATE).is_between(begin, finish))
            row = {"month": month, **_kpis(period, first_day=begin, last_day=finish, before=before, after=after,
                                           stages_before=stages_before, stages_after=stages_after,
                                           lapse_days=lapse_days)}
            start_day, before, stages_before = end_day, after, stages_after
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
    # Months as integers (year × 12 + month − 1) and (customer, month) pairs as one int64 key: a unique over one
    # integer column instead of a customer and a date, at ten million orders a fraction of the time.
    month = (pl.col(DATE).dt.year().cast(pl.Int64) * 12 + pl.col(DATE).dt.month().cast(pl.Int64) - 1).alias("m")
    months = frame.select(CUSTOMER, month)
    if months.is_empty():
        return pl.DataFrame(schema={"cohort": pl.Date, "cohort_size": pl.UInt32, "months_since": pl.Int32,
                                    "active_customers": pl.UInt32, "retention": pl.Float64})
    first_month = int(months["m"].min())
    months = months.with_columns(pl.col("m") - first_month)
    if months.schema[CUSTOMER].is_integer():
        span = int(months["m"].max()) + 1
        pairs = (months.select(pl.col(CUSTOMER).cast(pl.Int64) * span + pl.col("m")).to_series().unique()
                 .to_frame("key").select((pl.col("key") // span).alias(CUSTOMER), (pl.col("key") % span).alias("m")))
    else:  # e.g. text ids read from a file
        pairs = months.unique()
    cohorts = pairs.group_by(CUSTOMER).agg(pl.col("m").min().alias("c"))
    sizes = cohorts.group_by("c").agg(pl.len().alias("cohort_size"))
    first = dt.date(first_month // 12, first_month % 12 + 1, 1)
    return (
        pairs.join(cohorts, on=CUSTOMER)
        .select("c", (pl.col("m") - pl.col("c")).cast(pl.Int32).alias("months_since"))
        .filter(pl.col("months_since") <= max_months)
        .group_by("c", "months_since")
        .agg(pl.len().alias("active_customers"))
        .join(sizes, on="c")
        .with_columns(
            pl.lit(first).dt.offset_by(pl.format("{}mo", pl.col("c"))).alias("cohort"),
            (pl.col("active_customers") / pl.col("cohort_size")).alias("retention"),
        )
        .select("cohort", "cohort_size", "months_since", "active_customers", "retention")
        .sort("cohort", "months_since")
    )


def product_table(
    lines: pl.DataFrame, *, product: str = "sku", quantity: str = "quantity", amount: str = "amount", cost: str = "cost"
) -> pl.DataFrame:
    """What sells and what earns: per product, ``units, revenue, cost, gross_profit, margin`` (profit / revenue),
    sorted by gross profit (highest first, then revenue). ``lines`` has one row per paid order line; a null cost
    counts as 0 and is reported in ``cost_known_share``; a product none of whose lines has a cost has a null cost,
    gross profit and margin (unknown, not 100 %)."""
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
        .with_columns(pl.when(pl.col("cost_known_share") > 0).then(pl.col("cost")).otherwise(None).alias("cost"))
        .with_columns((pl.col("revenue") - pl.col("cost")).alias("gross_profit"))
        .with_columns(
            pl.when(pl.col("revenue") > 0).then(pl.col("gross_profit") / pl.col("revenue")).otherwise(None).alias("margin")
        )
        .sort(["gross_profit", "revenue", product], descending=[True, True, False], nulls_last=True)
    )
