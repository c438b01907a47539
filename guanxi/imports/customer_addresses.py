"""A customer's address is their latest order's: the rule imports and `guanxi customers backfill-addresses` share.

The latest order is the one with any address part (country, province, city, district, postcode, street), by
placed_at, then id. A customer whose address staff set by hand (`address_set_by_staff`) is left alone.

Backfill: orders imported before orders kept their address parts have only `receiver_address`, the street text
without its postcode. For Taobao and Tmall stores that text still begins with the province, city and district,
so they are read from it (the postcode is gone, and stays empty); Shopify's was `street, city, zip` without the
country or province, so those orders are left to a re-import of their export, which fills the parts of
existing orders that have none (without counting them as updated).
"""

from __future__ import annotations

import datetime as dt

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from guanxi.commerce.models import Order
from guanxi.customers.models import Customer
from guanxi.imports import addresses

ORDER_ADDRESS = ("country", "province", "city", "district", "postcode")  # on Order and Customer alike
IDS_PER_STATEMENT = 5000  # SQLite binds at most 32,766 values
BACKFILL_BATCH = 2000
CHINESE_PLATFORMS = ("taobao", "tmall")


def take_latest_order_address(customer_ids, *, connection=None, now=None) -> int:
    """Give these customers their latest order's address where it differs from theirs; the number changed.
    `now` is the updated_at stamp as the connection stores it (default: the current time)."""
    connection = connection or connections[DEFAULT_DB_ALIAS]
    if now is None:
        now = timezone.now()
        if connection.vendor == "sqlite":  # naive UTC text, as Django stores it there
            now = now.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(" ")
    ids = sorted(customer_ids)
    quote = connection.ops.quote_name
    customer, order = quote(Customer._meta.db_table), quote(Order._meta.db_table)
    has_address = " OR ".join(f"o.{name} <> ''" for name in (*ORDER_ADDRESS, "receiver_address"))
    # One index seek per customer on (customer, placed_at): the latest order with an address, as a row.
    latest = (f"(SELECT {', '.join(f'o.{name}' for name in (*ORDER_ADDRESS, 'receiver_address'))} FROM {order} AS o "
              f"WHERE o.customer_id = c.id AND ({has_address}) ORDER BY o.placed_at DESC, o.id DESC LIMIT 1)")
    columns = f"({', '.join(f'c.{name}' for name in ORDER_ADDRESS)}, c.address)"
    changed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(ids), IDS_PER_STATEMENT):
            part = ids[start:start + IDS_PER_STATEMENT]
            # A customer without such an order compares with NULL: left alone, as one whose address is the same.
            cursor.execute(
                f"UPDATE {customer} AS c SET ({', '.join((*ORDER_ADDRESS, 'address'))}) = {latest}, updated_at = %s "
                f"WHERE c.id IN ({', '.join(['%s'] * len(part))}) AND NOT c.address_set_by_staff "
                f"AND {columns} <> {latest}",
                [now, *part])
            changed += max(cursor.rowcount, 0)
    return changed


@transaction.atomic
def addresses_backfill(*, workspace) -> dict:
    """Read the parts of Taobao/Tmall orders' stored addresses where the order has none, then give every
    customer of the workspace their latest order's address (see the module's docstring). Returns
    {"orders_filled", "customers_changed"}; running it again changes nothing."""
    orders = (Order.all_workspaces.filter(workspace=workspace, store__platform__in=CHINESE_PLATFORMS, country="",
                                          province="", city="", district="", postcode="")
              .exclude(receiver_address="").only("id", "receiver_address").order_by("id"))
    filled = 0
    last = 0
    while True:
        batch = list(orders.filter(id__gt=last)[:BACKFILL_BATCH])
        if not batch:
            break
        last = batch[-1].id
        for order in batch:
            province, order.city, order.district = addresses.china_parts(order.receiver_address)
            order.province, order.country = province, addresses.china_country(province)
        Order.all_workspaces.bulk_update(batch, ["country", "province", "city", "district"])
        filled += len(batch)
    ids = Customer.all_workspaces.filter(workspace=workspace).values_list("id", flat=True)
    return {"orders_filled": filled, "customers_changed": take_latest_order_address(list(ids))}
