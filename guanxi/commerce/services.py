"""Writes for products and orders in the active workspace (bulk imports have their own path)."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from guanxi.commerce.models import Order, OrderLine, Product, Shipment
from guanxi.customers.models import Customer
from guanxi.workspaces.models import Store
from guanxi.workspaces.tenancy import current_workspace


def product_create(*, sku: str, title: str, category: str = "", price=Decimal("0"), cost=None,
                   currency: str = "") -> Product:
    product = Product(workspace=current_workspace(), sku=sku.strip(), title=title, category=category, price=price,
                      cost=cost, currency=currency or current_workspace().currency)
    product.full_clean(exclude=["workspace"])
    product.save()
    return product


@transaction.atomic
def order_create(
    *, store: Store, customer: Customer, number: str, status: str, placed_at: dt.datetime,
    lines: list[dict] = (), shipments: list[dict] = (), **fields,
) -> Order:
    """An order with its lines and shipments, all or nothing.

    `fields` are the order's amounts, timestamps and receiver details. A line dict has sku, title, quantity,
    unit_price (amount defaults to quantity × unit_price); a known SKU links the product and its cost.
    """
    if store.workspace_id != customer.workspace_id:
        raise ValidationError({"store": _("The store and the customer belong to different workspaces.")})
    order = Order(workspace=current_workspace(), store=store, customer=customer, number=number.strip(),
                  status=status, placed_at=placed_at, currency=fields.pop("currency", "") or store.currency, **fields)
    if Order.objects.filter(store=store, number=order.number).exists():
        raise ValidationError({"number": _("Order %(number)s already exists in this store.") % {"number": number}})
    order.full_clean(exclude=["workspace"], validate_unique=False)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        raise ValidationError({"number": _("Order %(number)s already exists in this store.")
                               % {"number": number}}) from None
    products = {p.sku: p for p in Product.objects.filter(sku__in=[ln.get("sku") for ln in lines if ln.get("sku")])}
    for index, data in enumerate(lines):
        data = dict(data)
        product = products.get(data.get("sku") or "")
        line = OrderLine(workspace=order.workspace, order=order, product=product,
                         unit_cost=product.cost if product else None, **data)
        if "amount" not in data:
            line.amount = Decimal(line.unit_price) * line.quantity
        try:
            line.full_clean(exclude=["workspace", "order", "product"])
        except ValidationError as error:
            raise ValidationError({f"lines[{index}].{k}": v for k, v in error.message_dict.items()}) from None
        line.save()
    for index, data in enumerate(shipments):
        shipment = Shipment(workspace=order.workspace, order=order, **data)
        try:
            shipment.full_clean(exclude=["workspace", "order"])
        except ValidationError as error:
            raise ValidationError({f"shipments[{index}].{k}": v for k, v in error.message_dict.items()}) from None
        shipment.save()
    return order


def order_update(*, order: Order, **changes) -> Order:
    """Change status, amounts or timestamps of an order (number, store and customer stay)."""
    if frozen := {"number", "store", "customer", "workspace"} & set(changes):
        raise ValidationError({field: _("Cannot be changed.") for field in frozen})
    for field, value in changes.items():
        if not hasattr(order, field):
            raise ValidationError({field: _("Unknown field.")})
        setattr(order, field, value)
    order.full_clean(exclude=["workspace"], validate_unique=False)
    order.save()
    return order
