"""Order pages: the list with filters by status and store and search by number, and one order in full."""

from django.shortcuts import get_object_or_404, render

from guanxi.commerce.models import Order, OrderStatus
from guanxi.commerce.selectors import numbered
from guanxi.customers.models import Customer
from guanxi.web.decorators import member_required
from guanxi.web.paging import paginate
from guanxi.workspaces.models import Store

PER_PAGE = 50


def _int_or_none(value: str | None) -> int | None:
    """An id from the query string; None when it is not one (not a number, or beyond 64 bits: no id is)."""
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number is not None and 0 < number < 2**63 else None


@member_required()
def order_list(request):
    # NUL is in no order number, and PostgreSQL refuses it even in a query.
    q = request.GET.get("q", "").replace("\x00", "").strip().lstrip("=").strip('"')
    status = request.GET.get("status", "")
    store_id = _int_or_none(request.GET.get("store"))
    customer_id = _int_or_none(request.GET.get("customer"))
    orders = Order.objects.select_related("store", "customer")
    if q:
        orders = numbered(orders, q)
    if status in OrderStatus.values:
        orders = orders.filter(status=status)
    else:
        status = ""
    if store_id:
        orders = orders.filter(store_id=store_id)
    customer = None
    if customer_id:
        customer = get_object_or_404(Customer, pk=customer_id)
        orders = orders.filter(customer=customer)
    return render(request, "commerce/order_list.html", {
        "page": paginate(orders, request, per_page=PER_PAGE),
        "q": q,
        "status": status,
        "statuses": OrderStatus.choices,
        "store_id": store_id,
        "stores": list(Store.objects.all()),
        "filter_customer": customer,
        "filtered": bool(q or status or store_id or customer_id),
    })


@member_required()
def order_detail(request, order_id: int):
    order = get_object_or_404(
        Order.objects.select_related("store", "customer").prefetch_related("lines", "shipments"), pk=order_id
    )
    return render(request, "commerce/order_detail.html", {"order": order})
