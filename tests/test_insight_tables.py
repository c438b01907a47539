"""The refresh's bulk reads and writes: what the analytics see of the orders, and what comes back as scores."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection, transaction

from guanxi.analytics import customer_insight
from guanxi.commerce.services import order_create, product_create
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.insight.models import AnalyticsRun, CustomerScore
from guanxi.insight.tables import customer_ids, paid_order_frame, paid_orders, scores_replace
from guanxi.workspaces import tenancy
from guanxi.workspaces.services import store_create, workspace_create

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc


def _order(store, customer, number, status, placed_at, paid="0", refunded="0", lines=()):
    return order_create(store=store, customer=customer, number=number, status=status, placed_at=placed_at,
                        paid_amount=Decimal(paid), refunded_amount=Decimal(refunded), lines=list(lines))


def test_paid_orders_arrive_as_local_days_with_their_cost_and_refunds(workspace, store, other_workspace):
    product_create(sku="TEA-1", title="龙井", price=Decimal("80"), cost=Decimal("30.50"))
    wang = customer_create(name="王芳")
    li = customer_create(name="李娜")
    # 16:30 UTC is 00:30 the next day in Shanghai: the day the shop saw it is what RFM must count.
    _order(store, wang, "A1", "completed", dt.datetime(2026, 3, 1, 16, 30, tzinfo=UTC), paid="160.00",
           lines=[{"sku": "TEA-1", "title": "龙井", "quantity": 2, "unit_price": "80"}])
    _order(store, wang, "A2", "partially_refunded", dt.datetime(2026, 3, 5, 2, 0, tzinfo=SHANGHAI),
           paid="99.90", refunded="20.00", lines=[{"sku": "X", "title": "no known cost", "unit_price": "99.9"}])
    _order(store, li, "B1", "closed", dt.datetime(2026, 3, 6, tzinfo=SHANGHAI),
           lines=[{"sku": "TEA-1", "title": "龙井", "quantity": 5, "unit_price": "80"}])
    _order(store, li, "B2", "pending_payment", dt.datetime(2026, 3, 7, tzinfo=SHANGHAI), paid="0")
    with tenancy.active(other_workspace):
        rival = store_create(workspace=other_workspace, name="Rival", platform="taobao", currency="CNY")
        _order(rival, customer_create(name="外人"), "R1", "paid", dt.datetime(2026, 3, 1, tzinfo=SHANGHAI),
               paid="500")

    paid = paid_orders()

    assert paid.transactions.sort("date").to_dicts() == [
        {"customer_id": wang.pk, "store_id": store.pk, "date": dt.date(2026, 3, 2), "amount": 160.0,
         "refunded": 0.0, "cost": 61.0},
        {"customer_id": wang.pk, "store_id": store.pk, "date": dt.date(2026, 3, 5), "amount": 99.9,
         "refunded": 20.0, "cost": 0.0},
    ]
    products = {row["product"]: row for row in paid.products.to_dicts()}
    assert set(products) == {"TEA-1", "X"}  # B1 closed and B2 unpaid: their lines are not counted
    assert (products["TEA-1"]["units"], products["TEA-1"]["revenue"], products["TEA-1"]["cost"]) == (2, 160.0, 61.0)
    # No line of X has a cost: its profit and margin are unknown, not the whole revenue (100 %).
    assert products["X"]["cost_known_share"] == 0.0 and products["X"]["gross_profit"] is None
    assert products["X"]["margin"] is None and products["X"]["revenue"] == 99.9


def test_customer_ids_leave_out_merged_away_customers_and_other_workspaces(workspace, other_workspace):
    kept, absorbed = customer_create(name="甲"), customer_create(name="乙")
    Customer.objects.filter(pk=absorbed.pk).update(merged_into=kept)
    with tenancy.active(other_workspace):
        customer_create(name="丙")
    assert customer_ids().to_list() == [kept.pk]


def test_an_empty_workspace_gives_empty_frames(workspace):
    assert paid_order_frame().is_empty() and customer_ids().is_empty()


def test_scores_written_are_the_analytics_figures_and_replace_the_previous_ones(workspace, store, monkeypatch):
    monkeypatch.setattr("guanxi.demo.bulk.COPY_SLICE_ROWS", 2)  # on PostgreSQL: three scores in two COPY pieces
    buyers = [customer_create(name=f"买家{i}") for i in range(3)]
    for i, buyer in enumerate(buyers):
        for k in range(i + 1):
            _order(store, buyer, f"N{i}-{k}", "completed",
                   dt.datetime(2026, 1, 10 + 5 * k, 12, tzinfo=SHANGHAI), paid=f"{100 + 10 * i}.25")
    as_of = dt.date(2026, 2, 1)
    result = customer_insight(paid_order_frame(), as_of=as_of, customers=customer_ids())
    run = AnalyticsRun.objects.create(workspace=workspace, as_of=dt.datetime(2026, 2, 1, 23, 59, tzinfo=SHANGHAI))
    scores_replace(result.customers, run=run)
    scores_replace(result.customers, run=run)  # again: replaced, not doubled

    expected = {row["customer_id"]: row for row in result.customers.to_dicts()}
    assert CustomerScore.objects.count() == 3
    for score in CustomerScore.objects.all():
        row = expected[score.customer_id]
        assert score.frequency == row["frequency"]
        assert score.recency_days == row["recency_days"]
        assert score.monetary == Decimal(str(round(row["monetary"], 2)))
        assert (score.rfm_r, score.rfm_f, score.rfm_m) == (row["r_score"], row["f_score"], row["m_score"])
        assert score.rfm_segment == row["rfm_segment"] and score.value_class == row["value_class"]
        assert score.lifecycle_stage == row["lifecycle_stage"]
        assert Customer.objects.get(pk=score.customer_id).lifecycle_stage == row["lifecycle_stage"]
        assert score.run_id == run.pk and score.as_of == run.as_of
    assert sorted(expected) == sorted(c.pk for c in buyers)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_two_reads_run_side_by_side_with_the_same_result():
    # Committed data (transaction=True): on PostgreSQL the lines are then read on a second connection.
    workspace = workspace_create(slug="side", name="Side by side", time_zone="Asia/Shanghai")
    with tenancy.active(workspace):
        store = store_create(workspace=workspace, name="Side", platform="taobao", currency="CNY")
        product_create(sku="TEA-1", title="龙井", price=Decimal("80"), cost=Decimal("30"))
        buyer = customer_create(name="王芳")
        _order(store, buyer, "S1", "paid", dt.datetime(2026, 3, 1, 12, tzinfo=SHANGHAI), paid="80",
               lines=[{"sku": "TEA-1", "title": "龙井", "unit_price": "80"}])
        assert not connection.in_atomic_block
        parallel = paid_orders()
        with transaction.atomic():
            serial = paid_orders()
    assert parallel.transactions.equals(serial.transactions) and parallel.products.equals(serial.products)
    assert parallel.transactions["cost"].to_list() == [30.0]
