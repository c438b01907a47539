""""Customer since = the first order": imported customers are created the day of the import, but they have been
customers since their earliest order. The API's customer carries `first_order_at` and the 360 page's header
shows that day (the record's creation day only when there are no orders)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.api.testing import ApiClient
from guanxi.commerce.services import order_create
from guanxi.customers.services import customer_create
from guanxi.workspaces.models import Role
from guanxi.workspaces.services import api_token_create

pytestmark = pytest.mark.django_db
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
EARLIEST = dt.datetime(2024, 3, 5, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture
def buyer(store):
    """A buyer whose first order (closed unpaid) was placed before the paid ones."""
    customer = customer_create(name="王芳")
    order_create(store=store, customer=customer, number="T-1", status="closed", placed_at=EARLIEST,
                 paid_amount=Decimal("0.00"))
    for n, day in enumerate((dt.datetime(2024, 6, 1, tzinfo=SHANGHAI), dt.datetime(2025, 1, 2, tzinfo=SHANGHAI))):
        order_create(store=store, customer=customer, number=f"T-{n + 2}", status="completed", placed_at=day,
                     paid_amount=Decimal("50.00"))
    return customer


@pytest.fixture
def api(workspace, make_member):
    user = make_member(workspace, Role.SALES)
    return ApiClient(api_token_create(workspace=workspace, user=user), user=user)


def test_the_api_customer_has_the_earliest_orders_placed_time_and_null_without_orders(api, buyer):
    browser = customer_create(name="只看不买")
    got = api.get(f"/customers/{buyer.pk}").json()
    assert dt.datetime.fromisoformat(got["first_order_at"]) == EARLIEST
    assert api.get(f"/customers/{browser.pk}").json()["first_order_at"] is None
    listed = {c["id"]: c["first_order_at"] for c in api.get("/customers").json()["items"]}
    assert dt.datetime.fromisoformat(listed[buyer.pk]) == EARLIEST and listed[browser.pk] is None


def test_listing_customers_costs_the_same_queries_with_first_order_at_for_any_page_size(api, store, buyer):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/customers").status_code == 200
        return len(ctx.captured_queries)

    queries()  # the first request also records the token's use
    few = queries()
    for n in range(5):
        customer = customer_create(name=f"买家{n}")
        order_create(store=store, customer=customer, number=f"M-{n}", status="paid", paid_amount=Decimal("9.00"),
                     placed_at=dt.datetime(2025, 5, 1, tzinfo=SHANGHAI))
    assert queries() == few


def _header(client, customer) -> str:
    html = client.get(reverse("web:customer_detail", args=[customer.pk])).content.decode()
    return html[html.index('class="c360-title"'):html.index('class="tags"')]


def test_the_360_page_says_customer_since_the_first_order_else_the_records_creation(
        client, workspace, make_member, member_password, buyer):
    user = make_member(workspace, Role.SALES)
    client.login(username=user.username, password=member_password)
    header = _header(client, buyer)
    assert "Customer since 2024-03-05" in " ".join(header.split())
    assert buyer.created_at.date().isoformat() not in header
    browser = customer_create(name="只看不买")
    created = browser.created_at.astimezone(SHANGHAI).date().isoformat()
    assert f"Customer since {created}" in " ".join(_header(client, browser).split())
