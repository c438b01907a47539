"""Home: today's and this week's sales (per currency), paid orders, new and returning customers, each against the
period before cut at the same time of day, in the workspace's time zone."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.commerce.services import order_create
from guanxi.customers.services import customer_create
from guanxi.web.home_kpis import Figure, home_kpis
from guanxi.workspaces.services import store_create
from web_helpers import client_for

pytestmark = pytest.mark.django_db
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(month, day, hour, minute=0):
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def shop(workspace):
    cny = store_create(workspace=workspace, name="淘宝店", platform="taobao", currency="CNY")
    usd = store_create(workspace=workspace, name="US", platform="shopify", currency="USD")
    numbers = iter(range(1000, 2000))

    def order(store, customer, placed_at, amount, status="completed"):
        order_create(store=store, customer=customer, number=str(next(numbers)), status=status, placed_at=placed_at,
                     paid_amount=Decimal(amount) if status != "pending_payment" else Decimal(0))

    a, b, c, d = (customer_create(name=n) for n in ("老客户", "新客户", "昨天的", "上周的"))
    order(cny, a, at(11, 1, 12), "30")          # A bought before: returning today
    order(cny, a, at(12, 9, 10), "100")
    order(usd, b, at(12, 9, 0, 10), "50")       # 16:10 UTC on 12-08, but today in Shanghai
    order(cny, b, at(12, 9, 11), "20", status="pending_payment")  # not paid: not a sale
    order(cny, c, at(12, 8, 9), "80")           # yesterday before 15:00: in yesterday's comparison
    order(cny, c, at(12, 8, 16), "999")         # yesterday after 15:00: not (but this week)
    order(cny, d, at(12, 1, 10), "70")          # last week before Wednesday 15:00
    return a, b, c, d


def test_today_and_this_week_against_the_same_stretch_before(shop):
    today, week = home_kpis(now=at(12, 9, 15))  # a Wednesday, 15:00 in Shanghai
    assert (today.start, today.end) == (at(12, 9, 0), at(12, 9, 15))
    assert today.sales == {"CNY": Figure(Decimal("100.00"), Decimal("80.00")), "USD": Figure(Decimal("50.00"), 0)}
    assert today.orders == Figure(2, 1)
    assert today.new_customers == Figure(1, 1)  # B today, C yesterday
    assert today.returning_customers == Figure(1, 0)  # A

    assert week.start == at(12, 7, 0)
    assert week.sales == {"CNY": Figure(Decimal("1179.00"), Decimal("70.00")), "USD": Figure(Decimal("50.00"), 0)}
    assert week.orders == Figure(4, 1)
    assert week.new_customers == Figure(2, 1)  # B and C this week; D last week
    assert week.returning_customers == Figure(1, 0)
    assert today.orders.change == 1.0 and today.returning_customers.change is None


def test_the_home_page_shows_the_figures_per_currency(workspace, owner):
    store = store_create(workspace=workspace, name="US", platform="shopify", currency="USD")
    order_create(store=store, customer=customer_create(name="Amy"), number="X1", status="paid",
                 placed_at=timezone.now(), paid_amount=Decimal("1234.50"))
    response = client_for(owner).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    today = html.split('data-period="today"')[1].split('data-period="week"')[0]
    assert "$1,234.50" in today and "¥" not in today
    assert 'data-kpi="returning"' in today and "Returning customers" in today
