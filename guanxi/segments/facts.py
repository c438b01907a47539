"""Rebuilding CustomerFacts (order figures, a copy of the scores, the stores as bits) and CustomerStore, and bringing
CustomerPurchase up to date, in set-based SQL (no rows pass through Python).

The SELECTs are built by the ORM (so tenancy, the paid statuses and the money rules live in one place) and wrapped
in `INSERT INTO … SELECT` — a million customers take seconds, not the minutes a Python loop would.
"""

from __future__ import annotations

import logging
import time

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField, Case, Count, DateTimeField, DecimalField, Exists, Max, Min, OuterRef, Q, Sum, Value, When,
)
from django.db.models.functions import Cast, Coalesce, NullIf, Round
from django.utils import timezone

from guanxi.commerce.models import PAID_STATUSES, Order
from guanxi.commerce.money import workspace_rates
from guanxi.customers.models import Identity
from guanxi.insight.models import CustomerScore
from guanxi.segments.models import CustomerFacts, CustomerPurchase, CustomerStore, FactsRebuild
from guanxi.segments.purchases import purchases_sync
from guanxi.segments.sql import counting, insert_rows, insert_select
from guanxi.workspaces.models import Store
from guanxi.workspaces.tenancy import current_workspace

logger = logging.getLogger("guanxi.segments")

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)
ZERO = Value(0, output_field=MONEY_FIELD)
FACT_FIELDS = (
    "customer", "orders_count", "paid_orders_count", "refunds_count", "total_paid", "refunded", "net_paid",
    "average_order_value", "first_order_at", "last_order_at",
)
# Stores with a bit in CustomerFacts.store_bits (a signed 64-bit integer: bits 0-61 keep it positive); a workspace's
# later stores are tested through CustomerStore.
STORE_BITS = 62
# Copied from insight.CustomerScore (same names on both models).
SCORE_FIELDS = (
    "rfm_r", "rfm_f", "rfm_m", "rfm_segment", "value_class", "value_tier", "lifecycle_stage", "gross_profit",
    "p_alive", "buy_again", "clv", "churn_risk",
)


def _analyze(*models) -> None:
    """Fresh planner statistics: rules join these tables, and a planner without statistics picks bad plans
    (SQLite keeps none until ANALYZE runs, so it is run for the whole database there).

    On PostgreSQL, outside a transaction, a VACUUM comes with it: the rebuild leaves the previous million facts
    rows dead, which every count driven by the facts would read past — and the next rebuild would write beside —
    until autovacuum came by (off on some machines, late on a busy one); it also marks the pages all-visible,
    which index-only scans of the purchases and the facts need."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
            for model in models:
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        elif connection.vendor == "sqlite":
            cursor.execute("ANALYZE")


def _order_figures():
    """One row per customer with orders: FACT_FIELDS, aggregated from the orders (an ORM queryset).

    Money is in the reporting currency, each order converted at its day's rate (`guanxi.commerce.money`); an
    order without a rate adds nothing to the sums nor to the average's count (it still counts as an order)."""
    rates = workspace_rates()
    paid = Q(status__in=PAID_STATUSES)
    refunded = Q(refunded_amount__gt=0)
    paid_amount = Round(rates.converted("paid_amount"), 2, output_field=MONEY_FIELD)
    # Rounded to cents in SQL: SQLite sums decimals as floating point, and comparisons must see cents.
    total_paid = Round(Coalesce(Sum(paid_amount, filter=paid), ZERO, output_field=MONEY_FIELD), 2)
    refunds = Round(Coalesce(Sum(Round(rates.converted("refunded_amount"), 2, output_field=MONEY_FIELD)), ZERO,
                             output_field=MONEY_FIELD), 2)
    paid_count = Count("id", filter=paid)
    converted_count = Count("id", filter=paid & rates.covered())
    return (
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
                Sum(paid_amount, filter=paid) / NullIf(converted_count, 0), 2, output_field=MONEY_FIELD),
            first_order_at=Min("placed_at", filter=paid),
            last_order_at=Max("placed_at", filter=paid),
        )
        .values_list("customer_id", *FACT_FIELDS[1:])
    )


def store_bit_numbers() -> dict[int, int]:
    """Store id → its bit in CustomerFacts.store_bits, for the active workspace's first STORE_BITS stores by id."""
    ids = Store.objects.order_by("id").values_list("id", flat=True)[:STORE_BITS]
    return {store_id: bit for bit, store_id in enumerate(ids)}


def _store_bits(bits: dict[int, int]):
    """One row per customer with store links: customer id and the OR of its stores' bits (a sum: each store once,
    CustomerStore being unique by store and customer)."""
    bit = Case(*[When(store_id=store_id, then=Value(1 << n)) for store_id, n in bits.items()],
               default=Value(0), output_field=BigIntegerField()) if bits else Value(0, output_field=BigIntegerField())
    return (CustomerStore.objects.order_by().values("customer_id")
            .annotate(bits=Cast(Sum(bit), BigIntegerField())).values_list("customer_id", "bits"))


def _facts_with_scores(bits: dict[int, int]) -> tuple[str, list]:
    """SQL and params selecting FACT_FIELDS + SCORE_FIELDS + store_bits for every customer with orders, a score
    or a store link (CustomerStore, written first).

    The scores are joined to the order figures after the aggregation (joining them to ten million orders first
    took five times as long), then the scored customers without orders follow with zero orders, then the
    customers only known to a store (by a store-scoped identity) with zero orders and no scores.
    """
    quote = connection.ops.quote_name
    figures_sql, figures_params = _order_figures().query.sql_with_params()
    scores = ", ".join(f"s.{quote(CustomerScore._meta.get_field(name).column)}" for name in SCORE_FIELDS)
    no_orders = (Value(0), Value(0), Value(0), ZERO, ZERO, ZERO, Value(None, output_field=MONEY_FIELD),
                 Value(None, output_field=DateTimeField()), Value(None, output_field=DateTimeField()))
    orderless_sql, orderless_params = (
        CustomerScore.objects.order_by()
        .filter(~Exists(Order.all_workspaces.filter(customer=OuterRef("customer_id"))))
        .values_list("customer_id", *no_orders, *SCORE_FIELDS)
        .query.sql_with_params()
    )
    # Typed: under DISTINCT, PostgreSQL would take a bare NULL for text before the UNION matches it to numbers.
    nothing = [Cast(Value(None), output_field=CustomerFacts._meta.get_field(name))
               for name in (*FACT_FIELDS[1:], *SCORE_FIELDS)]
    store_only_sql, store_only_params = (
        CustomerStore.objects.order_by()
        .filter(~Exists(Order.all_workspaces.filter(customer=OuterRef("customer_id"))),
                ~Exists(CustomerScore.all_workspaces.filter(customer=OuterRef("customer_id"))))
        .values_list("customer_id", *no_orders[:6], *nothing[6:]).distinct()
        .query.sql_with_params()
    )
    bits_sql, bits_params = _store_bits(bits).query.sql_with_params()
    sql = (f"SELECT q.*, COALESCE(b.bits, 0) FROM ("
           f"SELECT f.*, {scores} FROM ({figures_sql}) f "
           f"LEFT JOIN {quote(CustomerScore._meta.db_table)} s ON s.customer_id = f.customer_id "
           f"UNION ALL {orderless_sql} UNION ALL {store_only_sql}"
           f") q LEFT JOIN ({bits_sql}) b ON b.customer_id = q.customer_id")
    return sql, [*figures_params, *orderless_params, *store_only_params, *bits_params]


def facts_rebuild(*, all_purchases: bool = False) -> dict:
    """Recompute every customer's order figures, copy the scores and the store links in the active workspace,
    and re-read the purchases of orders changed since the last rebuild (of every order with `all_purchases`, or
    the first time); returns counts and timings (seconds).

    Replaces the rows in one transaction, so readers see either the old figures or the new ones.
    """
    workspace = current_workspace()
    started = time.perf_counter()
    stores = (
        Order.objects.order_by().values_list("customer_id", "store_id")
        .union(Identity.objects.order_by().filter(store__isnull=False).values_list("customer_id", "store_id"))
    )
    now = timezone.now()
    constants = {"workspace": workspace.pk, "created_at": now, "updated_at": now}
    with transaction.atomic(), counting():
        previous = FactsRebuild.objects.first()
        changed_since = None if all_purchases or previous is None else previous.purchases_changed_since
        purchases_started = time.perf_counter()
        purchases = purchases_sync(changed_since=changed_since)
        purchase_seconds = time.perf_counter() - purchases_started
        CustomerStore.objects.all().delete()
        links = insert_select(CustomerStore, ("customer", "store"), stores, constants)
        bits = store_bit_numbers()
        CustomerFacts.objects.all().delete()
        customers = insert_rows(CustomerFacts, (*FACT_FIELDS, *SCORE_FIELDS, "store_bits"),
                                *_facts_with_scores(bits), constants)
        seconds = time.perf_counter() - started
        FactsRebuild.objects.create(workspace=workspace, customers=customers, store_links=links, seconds=seconds,
                                    purchases_changed_since=purchases["next_changed_since"],
                                    store_bits={str(store_id): bit for store_id, bit in bits.items()})
    tidy_started = time.perf_counter()
    _analyze(CustomerFacts, CustomerStore, CustomerPurchase)
    tidy_seconds = time.perf_counter() - tidy_started
    logger.info("segment facts rebuilt for %s: %s customers, %s store links, purchase rows -%s +%s in %.1fs",
                workspace.slug, customers, links, purchases["removed"], purchases["written"], seconds)
    return {"customers": customers, "store_links": links, "seconds": round(seconds, 3),
            "vacuum_analyze_seconds": round(tidy_seconds, 3),
            "purchases": {"orders_changed_since": changed_since.isoformat() if changed_since else None,
                          "rows_removed": purchases["removed"], "rows_written": purchases["written"],
                          "seconds": round(purchase_seconds, 3)}}


def facts_rebuilt_at():
    """When the order figures rules read were last rebuilt in the active workspace (None: never)."""
    return FactsRebuild.objects.values_list("created_at", flat=True).first()
