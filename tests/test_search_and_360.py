"""The one-box search and the customer 360 read model."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.activities.services import interaction_log, task_create
from guanxi.commerce.services import order_create
from guanxi.customers.selectors import customer_360, customer_kpis, search_customer_ids
from guanxi.customers.services import customer_create
from guanxi.workspaces import tenancy
from guanxi.workspaces.services import store_create

pytestmark = pytest.mark.django_db
UTC = dt.timezone.utc


@pytest.fixture
def store(workspace):
    return store_create(workspace=workspace, name="淘宝旗舰店", platform="taobao")


@pytest.fixture
def wang(workspace, store):
    customer = customer_create(
        name="王芳",
        identities=[("phone", "13812345678"), ("email", "WangFang@Example.com"), ("buyer_nick", "芳芳爱购物")],
    )
    order_create(store=store, customer=customer, number="1930000000001", status="completed",
                 placed_at=dt.datetime(2026, 3, 1, 10, tzinfo=UTC), paid_amount=Decimal("100.00"),
                 lines=[{"sku": "A1", "title": "情侣鞋", "quantity": 2, "unit_price": Decimal("50.00")}],
                 shipments=[{"carrier": "顺丰速运", "tracking_number": "SF123"}])
    return customer


@pytest.fixture
def li(workspace):
    return customer_create(name="李娜", identities=[("phone", "13912345678")])


@pytest.mark.parametrize("query", ["王芳", "王", "13812345678", "138 1234 5678", "+8613812345678",
                                   "wangfang@example.com", "芳芳爱购物", "芳芳", "1930000000001"])
def test_search_finds_a_customer_by_every_path(wang, li, query):
    assert search_customer_ids(query) == [wang.pk]


def test_an_order_number_finds_its_buyer_in_every_store_of_the_workspace(wang, li, other_workspace):
    jd = store_create(workspace=wang.workspace, name="京东店", platform="jd")
    order_create(store=jd, customer=li, number="1930000000001", status="completed",
                 placed_at=dt.datetime(2026, 3, 2, 10, tzinfo=UTC), paid_amount=Decimal("10.00"))
    assert set(search_customer_ids("1930000000001")) == {wang.pk, li.pk}
    with tenancy.active(other_workspace):
        elsewhere = store_create(workspace=other_workspace, name="别家", platform="taobao")
        order_create(store=elsewhere, customer=customer_create(name="别人"), number="1930000000001",
                     status="completed", placed_at=dt.datetime(2026, 3, 3, tzinfo=UTC), paid_amount=Decimal("1"))
    assert set(search_customer_ids("1930000000001")) == {wang.pk, li.pk}


def test_search_by_the_last_four_digits_finds_everyone_with_that_tail(wang, li):
    assert set(search_customer_ids("5678")) == {wang.pk, li.pk}


def test_search_never_finds_another_workspaces_customer(wang, other_workspace):
    with tenancy.active(other_workspace):
        assert search_customer_ids("13812345678") == []
        assert search_customer_ids("王芳") == []
        assert search_customer_ids("1930000000001") == []


def test_kpis_count_paid_orders_refunds_and_days_since_last_order(workspace, store, wang):
    order_create(store=store, customer=wang, number="2", status="partially_refunded",
                 placed_at=dt.datetime(2026, 3, 11, 15, 30, tzinfo=UTC),  # 23:30 in Shanghai
                 paid_amount=Decimal("60.00"), refunded_amount=Decimal("20.00"))
    order_create(store=store, customer=wang, number="3", status="closed",
                 placed_at=dt.datetime(2026, 3, 12, tzinfo=UTC), paid_amount=Decimal("0"))
    kpis = customer_kpis(wang, now=dt.datetime(2026, 3, 12, 16, 30, tzinfo=UTC))  # 00:30 on the 13th in Shanghai
    assert (kpis.orders, kpis.paid_orders) == (3, 2)
    assert kpis.total_paid == Decimal("160.00")
    assert kpis.refunds == Decimal("20.00")
    assert kpis.average_order_value == Decimal("80.00")
    assert kpis.first_order_at == dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
    # Shanghai calendar days: 11th (23:30) → 13th (00:30) is 2; counting UTC days would give 1.
    assert kpis.days_since_last_order == 2


def test_the_360_merges_orders_and_interactions_newest_first(workspace, wang):
    interaction_log(customer=wang, summary="问尺码，推荐37码", channel="wangwang",
                    occurred_at=dt.datetime(2026, 3, 5, tzinfo=UTC))
    task_create(customer=wang, title="回访：鞋子合脚吗", due_on=dt.date(2026, 3, 8))
    view = customer_360(wang.pk)
    assert [entry.kind for entry in view.timeline] == ["interaction", "order"]
    assert [t.title for t in view.open_tasks] == ["回访：鞋子合脚吗"]
    assert view.orders[0].timeline_lines[0].title == "情侣鞋"


def test_the_360_runs_a_fixed_number_of_queries_however_long_the_history(workspace, store, wang):
    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            view = customer_360(wang.pk)
            for order in view.orders:
                assert isinstance(order.timeline_lines, list) and isinstance(order.timeline_shipments, list)
        return len(ctx.captured_queries)

    few = count_queries()
    for n in range(10):
        order_create(store=store, customer=wang, number=f"extra-{n}", status="paid",
                     placed_at=dt.datetime(2026, 4, 1, tzinfo=UTC), paid_amount=Decimal("1.00"),
                     lines=[{"title": "袜子", "quantity": 1, "unit_price": Decimal("1.00")}])
        interaction_log(customer=wang, summary=f"note {n}")
    assert count_queries() == few
