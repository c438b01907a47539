"""Reads about orders: totals for a workspace or store, lists with filters."""

from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from guanxi.commerce.models import PAID_STATUSES, Order
from guanxi.customers.models import Customer
from guanxi.workspaces.models import Store

CENT = Decimal("0.01")


def numbered(orders: QuerySet, number: str) -> QuerySet:
    """`orders` of the active workspace with this number. An order number is unique per store and a workspace has
    a few stores, so this goes through the (store, number) unique index, store by store. A second index on
    (workspace, number) served this alone, and it cost every imported order one more index entry."""
    return orders.filter(store__in=Store.objects.values("pk"), number=number)


def order_stats(*, store: Store | None = None) -> dict:
    """Customers, orders, paid orders, paid revenue and refunds of the active workspace (or one store).

    With a store, customers are those with at least one order in that store. Money is Decimal; paid revenue is
    the paid amount of orders whose money was received (see PAID_STATUSES).
    """
    orders = Order.objects.all()
    customers = Customer.objects.filter(merged_into__isnull=True)
    if store is not None:
        orders = orders.filter(store=store)
        customers = customers.filter(orders__store=store).distinct()
    paid = Q(status__in=PAID_STATUSES)
    totals = orders.aggregate(
        orders=Count("id"),
        paid_orders=Count("id", filter=paid),
        paid_revenue=Sum("paid_amount", filter=paid),
        refunds=Sum("refunded_amount"),
    )
    return {
        "customers": customers.count(),
        "orders": totals["orders"],
        "paid_orders": totals["paid_orders"],
        # SQLite sums decimals as floats (2500315.63000038): round to cents here, for every caller.
        "paid_revenue": Decimal(totals["paid_revenue"] or 0).quantize(CENT),
        "refunds": Decimal(totals["refunds"] or 0).quantize(CENT),
    }
