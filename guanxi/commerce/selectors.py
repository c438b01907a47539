"""Reads about orders: totals for a workspace or store, lists with filters."""

from django.db.models import QuerySet

from guanxi.commerce import money
from guanxi.workspaces.models import Store


def numbered(orders: QuerySet, number: str) -> QuerySet:
    """`orders` of the active workspace with this number. An order number is unique per store and a workspace has
    a few stores, so this goes through the (store, number) unique index, store by store. A second index on
    (workspace, number) served this alone, and it cost every imported order one more index entry."""
    return orders.filter(store__in=Store.objects.values("pk"), number=number)


def order_stats(*, store: Store | None = None) -> dict:
    """Customers, orders, paid orders, paid revenue and refunds of the active workspace (or one store): the five
    headline figures of `guanxi.commerce.money.order_stats` (which has them per currency too). Money is Decimal
    in the store's currency, or in the reporting currency — None while some order has no rate."""
    stats = money.order_stats(store=store)
    return {key: stats[key] for key in ("customers", "orders", "paid_orders", "paid_revenue", "refunds")}
