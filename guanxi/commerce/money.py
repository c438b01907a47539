"""Money across currencies. Each order keeps its own currency (its store's unless the export said otherwise);
a figure that adds orders of several currencies is in the workspace's reporting currency, each order converted at
the rate of the day it was placed (workspace time zone): the latest dated `ExchangeRate` on or before that day,
else the currency's undated rate. An order with no rate is left out of converted sums — never added raw — and its
currency is named in `missing_rates`.

The same rule is written three ways, for the three places that sum orders: `Rates.rate_on` (Python),
`Rates.factor` (an ORM expression: SQL on SQLite and PostgreSQL) and `Rates.polars_factor` (the insight frames).
The rates are few (the owner types them in), so each is a CASE over the order's currency and placed time — no
join, no time-zone arithmetic in SQL: a dated rate starts at the first instant of its day in the workspace zone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from decimal import Decimal

import polars as pl
from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Round

from guanxi.commerce.models import PAID_STATUSES, Order
from guanxi.workspaces.models import ExchangeRate, Store
from guanxi.workspaces.tenancy import current_workspace

CENT = Decimal("0.01")
RATE_FIELD = DecimalField(max_digits=18, decimal_places=8)
# Orders whose money counts: paid ones (their paid amount) and refunded ones (their refund).
MONEY_ORDERS = Q(status__in=PAID_STATUSES) | Q(refunded_amount__gt=0)


@dataclasses.dataclass(frozen=True)
class Rates:
    """A workspace's reporting currency and exchange rates: 1 unit of a currency = rate reporting units.

    `by_currency` holds each currency's rates, dated ones latest first, then the undated one (valid_from None).
    """

    reporting: str
    time_zone: dt.tzinfo
    by_currency: dict[str, tuple[tuple[dt.date | None, Decimal], ...]]

    def rate_on(self, currency: str, day: dt.date) -> Decimal | None:
        """The rate of `currency` on `day` (1 for the reporting currency); None when no rate covers it."""
        if currency == self.reporting:
            return Decimal(1)
        for start, rate in self.by_currency.get(currency, ()):
            if start is None or start <= day:
                return rate
        return None

    def day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.time_zone)

    def factor(self, prefix: str = ""):
        """ORM expression on Order (or a model reaching it through `prefix`, e.g. "orders__"): the rate of the
        order's currency on its day; NULL where none covers it."""
        currency, placed = f"{prefix}currency", f"{prefix}placed_at"
        whens = [When(Q(**{currency: self.reporting}), then=Value(Decimal(1), output_field=RATE_FIELD))]
        for code, rates in self.by_currency.items():
            for start, rate in rates:
                condition = Q(**{currency: code})
                if start is not None:
                    condition &= Q(**{f"{placed}__gte": self.day_start(start)})
                whens.append(When(condition, then=Value(rate, output_field=RATE_FIELD)))
        return Case(*whens, default=Value(None, output_field=RATE_FIELD), output_field=RATE_FIELD)

    def covered(self, prefix: str = "") -> Q:
        """Q: the order's currency has a rate on its day (the reporting currency always has)."""
        currency, placed = f"{prefix}currency", f"{prefix}placed_at"
        condition = Q(**{currency: self.reporting})
        for code, rates in self.by_currency.items():
            start = rates[-1][0]  # the undated rate sorts last; else the earliest dated one is
            condition |= Q(**{currency: code}) if start is None else Q(
                **{currency: code, f"{placed}__gte": self.day_start(start)})
        return condition

    def converted(self, field: str, prefix: str = ""):
        """ORM expression: `field` (an Order money field) in the reporting currency; NULL without a rate."""
        return F(f"{prefix}{field}") * self.factor(prefix)

    def polars_factor(self, currency: str = "currency", date: str = "date") -> pl.Expr:
        """Polars expression over a frame with `currency` (String) and `date` (Date) columns: the rate as
        Float64, null where none covers it."""
        expr = pl.when(pl.col(currency) == self.reporting).then(pl.lit(1.0))
        for code, rates in self.by_currency.items():
            for start, rate in rates:
                condition = pl.col(currency) == code
                if start is not None:
                    condition = condition & (pl.col(date) >= pl.lit(start))
                expr = expr.when(condition).then(pl.lit(float(rate)))
        return expr.otherwise(pl.lit(None, dtype=pl.Float64))

    @property
    def single_currency(self) -> bool:
        """No rates at all: every converted figure is simply the reporting currency's orders."""
        return not self.by_currency


def workspace_rates() -> Rates:
    """The active workspace's reporting currency and rates."""
    workspace = current_workspace()
    by_currency: dict[str, list] = {}
    # The model's ordering: by currency, dated rates latest first, the undated one last.
    for code, start, rate in ExchangeRate.objects.values_list("currency", "valid_from", "rate"):
        if code != workspace.currency:
            by_currency.setdefault(code, []).append((start, rate))
    return Rates(reporting=workspace.currency, time_zone=zoneinfo.ZoneInfo(workspace.time_zone),
                 by_currency={code: tuple(rates) for code, rates in by_currency.items()})


def cents(value) -> Decimal:
    """A sum as Decimal cents (SQLite sums decimals as floating point: 2500315.63000038)."""
    return Decimal(value or 0).quantize(CENT)


def missing_rates(orders: QuerySet[Order], rates: Rates | None = None) -> list[str]:
    """Currencies of `orders` with money (paid or refunded) on a day no rate covers, sorted."""
    rates = rates or workspace_rates()
    return sorted(set(
        orders.filter(MONEY_ORDERS).exclude(currency=rates.reporting).annotate(_rate=rates.factor())
        .filter(_rate__isnull=True).order_by().values_list("currency", flat=True).distinct()
    ))


def stores_missing_rates(rates: Rates | None = None) -> list[str]:
    """The currencies of the active workspace's stores that some of their orders have no rate for — cheap enough
    for every page: one query on the stores in a one-currency workspace, then the rates and one query per foreign
    store currency at most."""
    reporting = rates.reporting if rates else current_workspace().currency
    foreign = sorted(set(Store.objects.exclude(currency=reporting).values_list("currency", flat=True)))
    if not foreign:
        return []
    rates = rates or workspace_rates()
    missing = []
    for code in foreign:
        known = rates.by_currency.get(code, ())
        if known and known[-1][0] is None:
            continue  # an undated rate covers every day
        orders = Order.objects.filter(store__currency=code, currency=code).filter(MONEY_ORDERS)
        if known:
            orders = orders.filter(placed_at__lt=rates.day_start(known[-1][0]))
        if orders.exists():
            missing.append(code)
    return missing


def _figures(orders: QuerySet[Order], *, paid_revenue, refunds) -> dict:
    paid = Q(status__in=PAID_STATUSES)
    row = orders.aggregate(orders=Count("id"), paid_orders=Count("id", filter=paid),
                           paid_revenue=Sum(paid_revenue, filter=paid), refunds=Sum(refunds))
    return {"orders": row["orders"], "paid_orders": row["paid_orders"],
            "paid_revenue": cents(row["paid_revenue"]), "refunds": cents(row["refunds"])}


def order_stats(*, store: Store | None = None) -> dict:
    """Customers, orders, paid orders, paid revenue and refunds of the active workspace (or one store), with
    the same four order figures per currency in `by_currency`.

    `currency` is the store's with a store: the figures are those of its orders in that currency. Without one it
    is the reporting currency, and paid revenue and refunds are every order converted at its day's rate — or None
    while an order lacks a rate, whose currency `missing_rates` then names. Money is Decimal cents.
    """
    from guanxi.customers.models import Customer

    orders = Order.objects.all()
    customers = Customer.objects.filter(merged_into__isnull=True)
    if store is not None:
        orders = orders.filter(store=store)
        customers = customers.filter(orders__store=store).distinct()
    by_currency = {}
    for code in sorted(set(orders.order_by().values_list("currency", flat=True).distinct())):
        by_currency[code] = _figures(orders.filter(currency=code), paid_revenue="paid_amount",
                                     refunds="refunded_amount")
    totals = {"orders": sum(f["orders"] for f in by_currency.values()),
              "paid_orders": sum(f["paid_orders"] for f in by_currency.values())}
    if store is not None:
        own = by_currency.get(store.currency, {})
        currency, missing = store.currency, []
        revenue, refunded = own.get("paid_revenue", cents(0)), own.get("refunds", cents(0))
    else:
        rates = workspace_rates()
        currency = rates.reporting
        missing = missing_rates(orders, rates) if set(by_currency) - {currency} else []
        revenue = refunded = None
        if not missing:
            converted = _figures(orders, paid_revenue=Round(rates.converted("paid_amount"), 2),
                                 refunds=Round(rates.converted("refunded_amount"), 2))
            revenue, refunded = converted["paid_revenue"], converted["refunds"]
    return {"customers": customers.count(), **totals, "paid_revenue": revenue, "refunds": refunded,
            "currency": currency, "by_currency": by_currency, "missing_rates": missing}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def stats_json(stats: dict) -> dict:
    """`order_stats` as `guanxi stats --json` prints it: money as strings with two decimals (null when a rate is
    missing), the keys in a fixed order."""
    return {
        "customers": stats["customers"], "orders": stats["orders"], "paid_orders": stats["paid_orders"],
        "paid_revenue": _text(stats["paid_revenue"]), "refunds": _text(stats["refunds"]),
        "currency": stats["currency"],
        "by_currency": {code: {**figures, "paid_revenue": _text(figures["paid_revenue"]),
                               "refunds": _text(figures["refunds"])}
                        for code, figures in stats["by_currency"].items()},
        "missing_rates": stats["missing_rates"],
    }


# Currencies of new stores by platform when the export does not say: the Chinese marketplaces sell in yuan, a
# Shopify shop's currency is its own (the export's Currency column), an own site usually sells in dollars.
PLATFORM_CURRENCY = {"taobao": "CNY", "tmall": "CNY", "jd": "CNY", "pinduoduo": "CNY", "douyin": "CNY",
                     "wechat": "CNY", "shopify": "USD", "own_site": "USD"}


def export_currency(path, *, fmt: str | None, tz, column_map=None, platform: str = "") -> str | None:
    """The currency a new store for this export sells in: the first order's own (Shopify's and the generic
    format's Currency column), else the platform's usual one (PLATFORM_CURRENCY), else None (the workspace's)."""
    from guanxi.imports.readers import OrderRow, RowError, open_orders

    try:
        opened = open_orders(path, fmt=fmt, tz=tz, column_map=column_map)
        for row in opened.read(opened.lines):
            if isinstance(row, OrderRow) and row.currency:
                return row.currency.upper()
            break
    except RowError:
        pass
    return PLATFORM_CURRENCY.get(platform)
