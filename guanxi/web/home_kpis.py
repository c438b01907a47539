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

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from guanxi.commerce.models import PAID_STATUSES, Order
from guanxi.customers.models import Customer
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


Window = tuple[dt.datetime, dt.datetime]  # [start, end)


def _paid_orders(start: dt.datetime, end: dt.datetime):
    return Order.objects.filter(placed_at__gte=start, placed_at__lt=end, status__in=PAID_STATUSES)


def _in(window: Window, prefix: str = "") -> Q:
    return Q(**{f"{prefix}placed_at__gte": window[0], f"{prefix}placed_at__lt": window[1]})


def sales_by_currency(windows: dict[str, Window]) -> dict[str, dict[str, tuple[Decimal, int]]]:
    """Per window name, per currency code (the order's, i.e. its store's): (paid amount, paid orders) of the
    orders placed in the window. One query for all windows.

    The one place the home page sums money: when workspaces get a reporting currency and rates, converting here
    changes every sales figure on the page.
    """
    first, last = min(w[0] for w in windows.values()), max(w[1] for w in windows.values())
    aggregates = {}
    for name, window in windows.items():
        aggregates[f"{name}__sum"] = Sum("paid_amount", filter=_in(window))
        aggregates[f"{name}__n"] = Count("id", filter=_in(window))
    rows = _paid_orders(first, last).values("currency").annotate(**aggregates).order_by("currency")
    return {name: {row["currency"]: (row[f"{name}__sum"] or Decimal("0"), row[f"{name}__n"]) for row in rows
                   if row[f"{name}__n"]} for name in windows}


def customers_by_window(windows: dict[str, Window]) -> dict[str, tuple[int, int]]:
    """Per window name: (new, returning) buyers — returning ones had a paid order placed before the window's
    start. One query for all windows."""
    first, last = min(w[0] for w in windows.values()), max(w[1] for w in windows.values())
    buyers = _paid_orders(first, last).values("customer_id")
    paid = Order.objects.filter(customer=OuterRef("pk"), status__in=PAID_STATUSES)
    annotations, aggregates = {}, {}
    for name, window in windows.items():
        annotations[f"{name}__in"] = Exists(paid.filter(_in(window)))
        annotations[f"{name}__before"] = Exists(paid.filter(placed_at__lt=window[0]))
        aggregates[f"{name}__all"] = Count("pk", filter=Q(**{f"{name}__in": True}))
        aggregates[f"{name}__ret"] = Count("pk", filter=Q(**{f"{name}__in": True, f"{name}__before": True}))
    row = Customer.objects.filter(pk__in=buyers).annotate(**annotations).aggregate(**aggregates)
    return {name: (row[f"{name}__all"] - row[f"{name}__ret"], row[f"{name}__ret"]) for name in windows}


def _period(key: str, current: Window, previous: Window, sales, customers) -> PeriodKpis:
    zero = (Decimal("0"), 0)
    now_sales, before_sales = sales[f"{key}"], sales[f"{key}_before"]
    currencies = sorted(now_sales.keys() | before_sales.keys())
    new, returning = customers[key]
    p_new, p_returning = customers[f"{key}_before"]
    return PeriodKpis(
        key=key, start=current[0], end=current[1],
        sales={c: Figure(now_sales.get(c, zero)[0], before_sales.get(c, zero)[0]) for c in currencies},
        orders=Figure(sum(n for _, n in now_sales.values()), sum(n for _, n in before_sales.values())),
        new_customers=Figure(new, p_new), returning_customers=Figure(returning, p_returning),
    )


def _local_midnight(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


def home_kpis(*, now: dt.datetime | None = None) -> list[PeriodKpis]:
    """Today and this week so far in the active workspace, each with the period before for comparison."""
    tz = current_time_zone()
    now = (now or timezone.now()).astimezone(tz)
    today = now.date()
    monday = today - dt.timedelta(days=today.weekday())
    # Midnights from the calendar, not now − 24 h: a day with a DST change is 23 or 25 hours long. The period
    # before ends at the same wall-clock time as now (aware datetimes in one zone subtract as wall time).
    starts = {"today": (_local_midnight(today, tz), _local_midnight(today - dt.timedelta(days=1), tz)),
              "week": (_local_midnight(monday, tz), _local_midnight(monday - dt.timedelta(days=7), tz))}
    windows = {}
    for key, (start, before) in starts.items():
        windows[key] = (start, now)
        windows[f"{key}_before"] = (before, before + (now - start))
    sales, customers = sales_by_currency(windows), customers_by_window(windows)
    return [_period(key, windows[key], windows[f"{key}_before"], sales, customers) for key in starts]
