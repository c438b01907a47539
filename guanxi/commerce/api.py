"""Orders over the API: list with filters, get, create with lines and shipments, update status and amounts."""

import datetime as dt

from django.db import transaction
from django.db.models import QuerySet
from ninja import Query, Router, Status

from guanxi.api.errors import ErrorOut
from guanxi.api.schemas import object_or_error, paginate, renamed_fields
from guanxi.commerce.models import Order
from guanxi.commerce.selectors import numbered
from guanxi.commerce.schemas import OrderIn, OrderOut, OrderPage, OrderPatch, OrderQuery
from guanxi.commerce.services import order_create, order_update
from guanxi.customers.models import Customer
from guanxi.workspaces.models import Store
from guanxi.workspaces.tenancy import current_time_zone

router = Router(tags=["orders"])

READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("store", "customer").prefetch_related("lines", "shipments")


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=current_time_zone())


@router.get("", response={200: OrderPage, **READ_ERRORS}, summary="List orders")
def list_orders(request, query: Query[OrderQuery]):
    """Newest first, with their lines and shipments."""
    orders = _orders()
    if query.customer is not None:
        orders = orders.filter(customer_id=query.customer)
    if query.store is not None:
        orders = orders.filter(store_id=query.store)
    if query.status:
        orders = orders.filter(status=query.status)
    if query.number:
        orders = numbered(orders, query.number)
    if query.placed_from:
        orders = orders.filter(placed_at__gte=_start_of(query.placed_from))
    if query.placed_to:
        orders = orders.filter(placed_at__lt=_start_of(query.placed_to + dt.timedelta(days=1)))
    return paginate(orders, query)


@router.get("/{int:order_id}", response={200: OrderOut, **READ_ERRORS}, summary="Get an order")
def get_order(request, order_id: int):
    return _orders().get(pk=order_id)


@router.post("", response={201: OrderOut, **WRITE_ERRORS}, summary="Create an order")
@transaction.atomic
def create_order(request, payload: OrderIn):
    """With its lines (a known SKU links the product and its cost) and shipments; all saved or nothing."""
    store = object_or_error(Store, payload.store_id, "store_id")
    customer = object_or_error(Customer, payload.customer_id, "customer_id")
    fields = payload.model_dump(exclude={"store_id", "customer_id", "lines", "shipments"})
    lines = [line.model_dump(exclude_none=True) for line in payload.lines]
    shipments = [shipment.model_dump() for shipment in payload.shipments]
    with renamed_fields({"store": "store_id", "customer": "customer_id"}):
        order = order_create(store=store, customer=customer, lines=lines, shipments=shipments, **fields)
    return Status(201, _orders().get(pk=order.pk))


@router.patch("/{int:order_id}", response={200: OrderOut, **WRITE_ERRORS}, summary="Update an order")
@transaction.atomic
def update_order(request, order_id: int, payload: OrderPatch):
    order = Order.objects.select_for_update().get(pk=order_id)
    changes = payload.model_dump(exclude_unset=True)
    if changes:
        order_update(order=order, **changes)
    return _orders().get(pk=order.pk)
