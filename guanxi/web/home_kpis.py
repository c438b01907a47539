"""The home page's figures: today and this week so far, each against the same stretch of the period before.

Periods are in the workspace's time zone: "today" runs from local midnight to now, "this week" from Monday 00:00
to now, and each is compared with the period before cut at the same elapsed time (yesterday up to this hour, last
week up to this weekday and hour), so a morning is never measured against a whole day. Only paid orders count
(statuses in PAID_STATUSES), by when they were placed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from guanxi.commerce.models import PAID_STATUSES, Order
from guanxi.workspaces.tenancy import current_time_zone


@dataclasses.dataclass(frozen=True)
class Figure:
    """One figure now and in the period before; `change` is the relative change (0.25 = +25%), None from 0."""

    current: int | Decimal
    previous: int | Decimal

    @property
    def change(self) -> float | None:
        if not self.previous:
            return None
        return float((self.current - self.previous) / self.previous)


@dataclasses.dataclass(frozen=True)
class PeriodKpis:
    """A period's figures. `sales` maps a currency code to a Figure (amounts never added across currencies)."""

    key: str  # "today" or "week"
    start: dt.datetime
    end: dt.datetime
    sales: dict[str, Figure]
    orders: Figure
    new_customers: Figure
    returning_customers: Figure


def _paid_orders(start: dt.datetime, end: dt.datetime):
    return Order.objects.filter(placed_at__gte=start, placed_at__lt=end, status__in=PAID_STATUSES)


def sales_by_currency(start: dt.datetime, end: dt.datetime) -> dict[str, Decimal]:
    """Paid amounts of the orders placed in [start, end), per currency code (the order's, i.e. its store's).

    The one place the home page sums money: when workspaces get a reporting currency and rates, converting here
    changes every sales figure on the page.
    """
    rows = _paid_orders(start, end).values("currency").annotate(total=Sum("paid_amount")).order_by("currency")
    return {row["currency"]: row["total"] or Decimal("0") for row in rows}


def _customers(start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    """(new, returning) buyers of [start, end): returning ones had a paid order placed before `start`."""
    buyers = _paid_orders(start, end).values("customer_id").distinct()
    total = buyers.count()
    returning = (Order.objects.filter(customer_id__in=buyers, placed_at__lt=start, status__in=PAID_STATUSES)
                 .values("customer_id").distinct().count())
    return total - returning, returning


def _figures(start: dt.datetime, end: dt.datetime) -> tuple[dict[str, Decimal], int, int, int]:
    orders = _paid_orders(start, end).aggregate(n=Count("id"))["n"]
    new, returning = _customers(start, end)
    return sales_by_currency(start, end), orders, new, returning


def _period(key: str, start: dt.datetime, now: dt.datetime, previous_start: dt.datetime) -> PeriodKpis:
    previous_end = previous_start + (now - start)
    sales, orders, new, returning = _figures(start, now)
    p_sales, p_orders, p_new, p_returning = _figures(previous_start, previous_end)
    zero = Decimal("0")
    return PeriodKpis(
        key=key, start=start, end=now,
        sales={cur: Figure(sales.get(cur, zero), p_sales.get(cur, zero)) for cur in sorted(sales.keys() | p_sales.keys())},
        orders=Figure(orders, p_orders), new_customers=Figure(new, p_new),
        returning_customers=Figure(returning, p_returning),
    )


def _local_midnight(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def home_kpis(*, now: dt.datetime | None = None) -> list[PeriodKpis]:
    """Today and this week so far in the active workspace, each with the period before for comparison."""
    tz = current_time_zone()
    now = (now or timezone.now()).astimezone(tz)
    today = now.date()
    monday = today - dt.timedelta(days=today.weekday())
    # Midnights from the calendar, not now − 24 h: a day with a DST change is 23 or 25 hours long.
    return [
        _period("today", _local_midnight(today, tz), now, _local_midnight(today - dt.timedelta(days=1), tz)),
        _period("week", _local_midnight(monday, tz), now, _local_midnight(monday - dt.timedelta(days=7), tz)),
    ]
