"""Reads about customers: the one-box search staff use in chat, and everything the customer 360 page shows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet, Sum

from guanxi.activities.models import OPEN_STAGES, Interaction, Opportunity, Task, TaskStatus
from guanxi.commerce.models import PAID_STATUSES, Order, OrderLine, Shipment
from guanxi.commerce.selectors import numbered
from guanxi.customers.identity import normalize_email, normalize_phone
from guanxi.customers.models import Customer, CustomerTag, Identity, IdentityKind
from guanxi.workspaces.tenancy import current_time_zone, current_workspace, workspace_today

SEARCH_LIMIT = 50  # matches per search path; staff refine the query rather than page through hundreds


def search_customer_ids(q: str) -> list[int]:
    """Ids of customers matching `q`, best matches first.

    One box finds a customer by: full phone (any common spelling) or its last 4 digits, email, platform nick or
    id, order number, or name prefix (Chinese included). Each path is a single indexed query.
    """
    # NUL cannot be in any stored text (PostgreSQL refuses it in a query, too): a search for it finds what the
    # rest finds.
    q = (q or "").replace("\x00", "").strip()
    if not q:
        return []
    ids: list[int] = []

    def add(values) -> None:
        for value in values:
            if value not in ids:
                ids.append(value)

    identities = Identity.objects.values_list("customer_id", flat=True)
    digits = re.sub(r"\D", "", q)
    if re.fullmatch(r"\d{4}", q):
        add(identities.filter(kind=IdentityKind.PHONE, tail=q)[:SEARCH_LIMIT])
    if len(digits) >= 7:
        try:
            add(identities.filter(kind=IdentityKind.PHONE, value=normalize_phone(q))[:SEARCH_LIMIT])
        except ValidationError:
            pass
    if "@" in q:
        try:
            add(identities.filter(kind=IdentityKind.EMAIL, value=normalize_email(q))[:SEARCH_LIMIT])
        except ValidationError:
            pass
    add(numbered(Order.objects.all(), q.lstrip("=").strip('"')).values_list("customer_id", flat=True)[:SEARCH_LIMIT])
    add(identities.filter(value=q)[:SEARCH_LIMIT])  # nick, openid, buyer id exactly as written
    add(Customer.objects.filter(name_key__startswith=q.lower()).values_list("id", flat=True)[:SEARCH_LIMIT])
    add(identities.filter(kind=IdentityKind.BUYER_NICK, value__startswith=q)[:SEARCH_LIMIT])
    return ids


# Score columns the list sorts by (highest first; "-" prefix for lowest first). Sorting leaves out customers
# without that score (not yet refreshed, or the models could not be fitted) so that an index can serve the order
# at a million customers (insight's score_clv_rank and score_profit_rank).
SCORE_SORTS = {"clv": "score__clv", "profit": "score__gross_profit"}


def customer_list(*, q: str = "", tag: str = "", owner_id: int | None = None,
                  sort: str = "") -> QuerySet[Customer]:
    """Customers for the list page: search results when `q` is given, else the newest (or by a score in
    `SCORE_SORTS`); merged ones hidden. Each comes with its analytics score (None before the first refresh)."""
    customers = Customer.objects.filter(merged_into__isnull=True)
    field = SCORE_SORTS.get(sort.lstrip("-"))
    if field:
        # Filtered and ordered on the score's own columns (workspace, value, customer) so that the index walk
        # gives the order and the LIMIT stops it after one page.
        sign = "" if sort.startswith("-") else "-"
        scored = {f"{field}__isnull": False, "score__workspace": current_workspace()}
        customers = customers.filter(**scored).order_by(f"{sign}{field}", f"{sign}score__customer_id")
    if q:
        customers = customers.filter(id__in=search_customer_ids(q))
    tag = tag.replace("\x00", "")
    if tag:
        customers = customers.filter(customer_tags__tag__name=tag)
    if owner_id:
        customers = customers.filter(owner_id=owner_id)
    # Lists on each customer (to_attr), not filled related managers: those cost a queryset per customer.
    return customers.select_related("owner", "score").prefetch_related(
        Prefetch("customer_tags", queryset=CustomerTag.objects.select_related("tag"), to_attr="tag_links"),
        Prefetch("identities", queryset=Identity.objects.filter(kind__in=[IdentityKind.PHONE, IdentityKind.EMAIL,
                                                                          IdentityKind.BUYER_NICK]),
                 to_attr="contact_identities"),
    )


def order_summaries(customer_ids: list[int]) -> dict[int, dict]:
    """Order count, total paid and last order time per customer, in one grouped query (for list pages)."""
    rows = (
        Order.objects.filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(
            orders=Count("id"),
            paid=Sum("paid_amount", filter=Q(status__in=PAID_STATUSES)),
            last_order_at=Max("placed_at"),
        )
    )
    return {row["customer_id"]: row for row in rows}


@dataclasses.dataclass(frozen=True)
class CustomerKpis:
    orders: int
    paid_orders: int
    total_paid: Decimal
    refunds: Decimal
    average_order_value: Decimal | None
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    days_since_last_order: int | None


def customer_kpis(customer: Customer, *, now: dt.datetime | None = None) -> CustomerKpis:
    """A customer's order figures in one query. Days count calendar days in the workspace time zone."""
    paid = Q(status__in=PAID_STATUSES)
    row = Order.objects.filter(customer=customer).aggregate(
        orders=Count("id"),
        paid_orders=Count("id", filter=paid),
        total_paid=Sum("paid_amount", filter=paid),
        refunds=Sum("refunded_amount"),
        first=Min("placed_at", filter=paid),
        last=Max("placed_at", filter=paid),
    )
    total = row["total_paid"] or Decimal("0.00")
    days = None
    if row["last"] is not None:
        days = (workspace_today(now) - row["last"].astimezone(current_time_zone()).date()).days
    return CustomerKpis(
        orders=row["orders"],
        paid_orders=row["paid_orders"],
        total_paid=total,
        refunds=row["refunds"] or Decimal("0.00"),
        average_order_value=(total / row["paid_orders"]).quantize(Decimal("0.01")) if row["paid_orders"] else None,
        first_order_at=row["first"],
        last_order_at=row["last"],
        days_since_last_order=days,
    )


@dataclasses.dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "order" or "interaction"
    item: object


@dataclasses.dataclass(frozen=True)
class Customer360:
    customer: Customer
    identities: list
    tags: list
    custom_values: list
    consents: list
    kpis: CustomerKpis
    orders: list
    interactions: list
    opportunities: list
    open_tasks: list
    timeline: list[TimelineEntry]
    more_orders: bool


TIMELINE_ORDERS = 50  # most recent orders shown in full; older ones are on the order list


def customer_360(customer_id: int, *, now: dt.datetime | None = None) -> Customer360:
    """Everything the 360 page shows, in a fixed number of queries whatever the customer's history.

    Raises Customer.DoesNotExist for an id outside the active workspace (the view answers 404).
    """
    # The analytics scores come along in the same query (a reverse one-to-one; None before the first refresh).
    customer = Customer.objects.select_related("owner", "merged_into", "score").get(pk=customer_id)
    identities = list(Identity.objects.filter(customer=customer).select_related("store"))
    tags = [ct.tag for ct in CustomerTag.objects.filter(customer=customer).select_related("tag")]
    custom_values = list(customer.custom_values.select_related("field"))
    consents = list(customer.consents.all())
    orders = list(
        Order.objects.filter(customer=customer)
        .select_related("store")
        # to_attr: plain lists on each order. Filling each order's related manager instead built a filtered
        # queryset per order and relation (a third of the page's time for a customer with 50 orders).
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.all(), to_attr="timeline_lines"),
                          Prefetch("shipments", queryset=Shipment.objects.all(), to_attr="timeline_shipments"))
        [: TIMELINE_ORDERS + 1]
    )
    more_orders = len(orders) > TIMELINE_ORDERS
    orders = orders[:TIMELINE_ORDERS]
    interactions = list(Interaction.objects.filter(customer=customer).select_related("author")[:100])
    opportunities = list(Opportunity.objects.filter(customer=customer).select_related("owner"))
    open_tasks = list(Task.objects.filter(customer=customer, status=TaskStatus.OPEN).select_related("assignee"))
    timeline = sorted(
        [TimelineEntry(o.placed_at, "order", o) for o in orders]
        + [TimelineEntry(i.occurred_at, "interaction", i) for i in interactions],
        key=lambda entry: entry.at,
        reverse=True,
    )
    return Customer360(
        customer=customer, identities=identities, tags=tags, custom_values=custom_values, consents=consents,
        kpis=customer_kpis(customer, now=now), orders=orders, interactions=interactions,
        opportunities=opportunities, open_tasks=open_tasks, timeline=timeline, more_orders=more_orders,
    )


def open_opportunities() -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(stage__in=OPEN_STAGES).select_related("customer", "owner")

