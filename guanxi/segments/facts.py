"""Rebuilding CustomerFacts and CustomerStore from the orders, in set-based SQL (no rows pass through Python).

The SELECTs are built by the ORM (so tenancy, the paid statuses and the money rules live in one place) and wrapped
in `INSERT INTO … SELECT` — a million customers take seconds, not the minutes a Python loop would.
"""

from __future__ import annotations

import logging
import time

from django.db import connection, transaction
from django.db.models import Count, DecimalField, Max, Min, Q, Sum, Value
from django.db.models.functions import Coalesce, NullIf, Round
from django.utils import timezone

from guanxi.commerce.models import PAID_STATUSES, Order
from guanxi.customers.models import Identity
from guanxi.segments.models import CustomerFacts, CustomerStore, FactsRebuild
from guanxi.segments.sql import counting, insert_select
from guanxi.workspaces.tenancy import current_workspace

logger = logging.getLogger("guanxi.segments")

ZERO = Value(0, output_field=DecimalField(max_digits=14, decimal_places=2))
FACT_FIELDS = (
    "customer", "orders_count", "paid_orders_count", "refunds_count", "total_paid", "refunded", "net_paid",
    "average_order_value", "first_order_at", "last_order_at",
)


def _analyze(*models) -> None:
    """Fresh planner statistics: rules join these tables, and a planner without statistics picks bad plans
    (SQLite keeps none until ANALYZE runs, so it is run for the whole database there)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in models:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")


def facts_rebuild() -> dict:
    """Recompute every customer's order figures and store links in the active workspace; returns counts/timing.

    Replaces the rows in one transaction, so readers see either the old figures or the new ones.
    """
    workspace = current_workspace()
    started = time.perf_counter()
    paid = Q(status__in=PAID_STATUSES)
    refunded = Q(refunded_amount__gt=0)
    money = DecimalField(max_digits=14, decimal_places=2)
    # Rounded to cents in SQL: SQLite sums decimals as floating point, and comparisons must see cents.
    total_paid = Round(Coalesce(Sum("paid_amount", filter=paid), ZERO, output_field=money), 2)
    refunds = Round(Coalesce(Sum("refunded_amount"), ZERO, output_field=money), 2)
    paid_count = Count("id", filter=paid)
    per_customer = (
        Order.objects.order_by().values("customer_id")
        .annotate(
            orders_count=Count("id"),
            paid_orders_count=paid_count,
            refunds_count=Count("id", filter=refunded),
            total_paid=total_paid,
            refunded=refunds,
            net_paid=Round(total_paid - refunds, 2),
            # Rounded to cents like the 360 page's KPI; NULL without paid orders.
            average_order_value=Round(
                Sum("paid_amount", filter=paid) / NullIf(paid_count, 0), 2, output_field=money),
            first_order_at=Min("placed_at", filter=paid),
            last_order_at=Max("placed_at", filter=paid),
        )
        .values_list("customer_id", *FACT_FIELDS[1:])
    )
    stores = (
        Order.objects.order_by().values_list("customer_id", "store_id")
        .union(Identity.objects.order_by().filter(store__isnull=False).values_list("customer_id", "store_id"))
    )
    now = timezone.now()
    constants = {"workspace": workspace.pk, "created_at": now, "updated_at": now}
    with transaction.atomic(), counting():
        CustomerFacts.objects.all().delete()
        customers = insert_select(CustomerFacts, FACT_FIELDS, per_customer, constants)
        CustomerStore.objects.all().delete()
        links = insert_select(CustomerStore, ("customer", "store"), stores, constants)
        seconds = time.perf_counter() - started
        FactsRebuild.objects.create(workspace=workspace, customers=customers, store_links=links, seconds=seconds)
    _analyze(CustomerFacts, CustomerStore)
    logger.info("segment facts rebuilt for %s: %s customers, %s store links in %.1fs", workspace.slug, customers,
                links, seconds)
    return {"customers": customers, "store_links": links, "seconds": round(seconds, 3)}


def facts_rebuilt_at():
    """When the order figures rules read were last rebuilt in the active workspace (None: never)."""
    return FactsRebuild.objects.values_list("created_at", flat=True).first()
