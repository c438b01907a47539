"""The analytics refresh: load a workspace's paid orders, score every customer with `guanxi.analytics`, store it.

The maths lives in `guanxi.analytics` (pure, no Django); this module only moves data between the database and
its columnar frames. A refresh writes all of its results in one transaction, so a failure (say, a database error
half-way) leaves the previous scores in place and marks the run failed with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import polars as pl
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from guanxi.analytics import InsightSettings, customer_insight
from guanxi.commerce.models import PAID_STATUSES, Order, OrderLine
from guanxi.customers.models import Customer
from guanxi.insight.models import AnalyticsRun, CustomerScore, ScoreSnapshot
from guanxi.workspaces.tenancy import current_time_zone, current_workspace

log = logging.getLogger(__name__)
CHUNK = 20_000  # rows per bulk write and per fetch: bounded memory on the Django side


def _as_of_date(as_of: dt.date | dt.datetime | None) -> dt.date:
    """The refresh's last included day, in the workspace time zone (default: today there)."""
    if as_of is None:
        as_of = timezone.now()
    if isinstance(as_of, dt.datetime):
        return as_of.astimezone(current_time_zone()).date()
    return as_of


def paid_order_frame() -> pl.DataFrame:
    """The active workspace's paid orders as a transaction frame (see `guanxi.analytics.frames`).

    Columns: customer_id, date (calendar day in the workspace time zone), amount (paid), refunded, cost (sum of
    the order lines' known unit cost × quantity; 0 when unknown). Merged-away customers' orders are counted
    under the customer they now belong to (orders move on merge), so they need no special case.
    """
    orders = Order.objects.filter(status__in=PAID_STATUSES).order_by()
    rows = orders.values_list("id", "customer_id", "placed_at", "paid_amount", "refunded_amount")
    ids, customers, placed, paid, refunded = [], [], [], [], []
    for order_id, customer_id, placed_at, paid_amount, refunded_amount in rows.iterator(chunk_size=CHUNK):
        ids.append(order_id)
        customers.append(customer_id)
        placed.append(placed_at)
        paid.append(float(paid_amount))
        refunded.append(float(refunded_amount))
    frame = pl.DataFrame(
        {"order_id": ids, "customer_id": customers, "placed_at": placed, "amount": paid, "refunded": refunded},
        schema={"order_id": pl.Int64, "customer_id": pl.Int64, "placed_at": pl.Datetime("us", "UTC"),
                "amount": pl.Float64, "refunded": pl.Float64},
    )
    costs = (
        OrderLine.objects.filter(order__status__in=PAID_STATUSES, unit_cost__isnull=False)
        .order_by()
        .values("order_id")
        .annotate(cost=Sum(F("unit_cost") * F("quantity")))
        .values_list("order_id", "cost")
    )
    cost_rows = list(costs.iterator(chunk_size=CHUNK))
    cost_frame = pl.DataFrame(
        {"order_id": [r[0] for r in cost_rows], "cost": [float(r[1] or 0) for r in cost_rows]},
        schema={"order_id": pl.Int64, "cost": pl.Float64},
    )
    tz = str(current_time_zone())
    return (
        frame.join(cost_frame, on="order_id", how="left")
        .with_columns(
            pl.col("placed_at").dt.convert_time_zone(tz).dt.date().alias("date"),
            pl.col("cost").fill_null(0.0),
        )
        .select("customer_id", "date", "amount", "refunded", "cost")
    )


def _money(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(round(float(value), 2)))


def _score_rows(frame: pl.DataFrame, *, workspace, run: AnalyticsRun, at: dt.datetime):
    """CustomerScore objects from the analytics result frame, one per customer."""
    for row in frame.iter_rows(named=True):
        yield CustomerScore(
            workspace=workspace, run=run, as_of=at, customer_id=row["customer_id"],
            recency_days=row.get("recency_days"),
            frequency=int(row.get("frequency") or 0),
            monetary=_money(row.get("monetary")) or Decimal("0"),
            rfm_r=row.get("r_score"), rfm_f=row.get("f_score"), rfm_m=row.get("m_score"),
            rfm_segment=row.get("rfm_segment") or "",
            value_class=row.get("value_class") or "",
            value_tier=row.get("value_tier") or "",
            gross_profit=_money(row.get("gross_profit")) or Decimal("0"),
            lifecycle_stage=row.get("lifecycle_stage") or "",
            p_alive=row.get("p_alive"),
            buy_again=row.get("buy_again"),
            expected_purchases_90d=row.get("expected_purchases_90d"),
            expected_order_value=_money(row.get("expected_order_value")),
            clv=_money(row.get("clv")),
            churn_risk=row.get("churn_risk") or "",
        )


def _write_results(frame: pl.DataFrame, *, workspace, run: AnalyticsRun, day: dt.date) -> None:
    """Replace the workspace's scores and today's snapshot, and sync Customer.lifecycle_stage, in chunks."""
    CustomerScore.objects.all().delete()
    ScoreSnapshot.objects.filter(as_of=day).delete()
    batch: list[CustomerScore] = []
    for score in _score_rows(frame, workspace=workspace, run=run, at=run.as_of):
        batch.append(score)
        if len(batch) >= CHUNK:
            CustomerScore.objects.bulk_create(batch)
            batch = []
    CustomerScore.objects.bulk_create(batch)
    snapshots = (
        ScoreSnapshot(workspace=workspace, run=run, as_of=day, customer_id=row["customer_id"],
                      lifecycle_stage=row.get("lifecycle_stage") or "", rfm_segment=row.get("rfm_segment") or "",
                      value_class=row.get("value_class") or "", clv=_money(row.get("clv")))
        for row in frame.iter_rows(named=True)
    )
    batch_snapshots: list[ScoreSnapshot] = []
    for snapshot in snapshots:
        batch_snapshots.append(snapshot)
        if len(batch_snapshots) >= CHUNK:
            ScoreSnapshot.objects.bulk_create(batch_snapshots)
            batch_snapshots = []
    ScoreSnapshot.objects.bulk_create(batch_snapshots)
    by_stage = frame.filter(pl.col("lifecycle_stage").is_not_null()).group_by("lifecycle_stage").agg("customer_id")
    for stage, ids in by_stage.iter_rows():
        for start in range(0, len(ids), CHUNK):
            Customer.objects.filter(id__in=ids[start:start + CHUNK]).exclude(lifecycle_stage=stage).update(
                lifecycle_stage=stage
            )


def insight_refresh(*, as_of: dt.date | dt.datetime | None = None,
                    settings: InsightSettings | None = None) -> AnalyticsRun:
    """Score every customer of the active workspace as of `as_of` (a day in the workspace time zone).

    Returns the run (status succeeded, with the JSON summary: fitted parameters, counts per segment/stage).
    On failure the run is marked failed with the reason, previous scores stay, and the error is re-raised.
    Afterwards saved segments are refreshed, since many of their rules read these scores.
    """
    workspace = current_workspace()
    day = _as_of_date(as_of)
    end_of_day = dt.datetime.combine(day, dt.time.max, tzinfo=current_time_zone())
    run = AnalyticsRun.objects.create(workspace=workspace, as_of=end_of_day)
    try:
        customers = pl.Series("customer_id", list(
            Customer.objects.filter(merged_into__isnull=True).order_by().values_list("id", flat=True)
        ), dtype=pl.Int64)
        result = customer_insight(paid_order_frame(), as_of=day, customers=customers,
                                  settings=settings or InsightSettings())
        with transaction.atomic():
            _write_results(result.customers, workspace=workspace, run=run, day=day)
            run.status = AnalyticsRun.Status.SUCCEEDED
            run.summary = result.summary()
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "summary", "finished_at", "updated_at"])
    except Exception as error:
        log.exception("analytics refresh of %s failed", workspace.slug)
        AnalyticsRun.objects.filter(pk=run.pk).update(
            status=AnalyticsRun.Status.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )
        raise
    from guanxi.segments.services import segments_refresh_all

    segments_refresh_all(as_of=end_of_day)
    return run
