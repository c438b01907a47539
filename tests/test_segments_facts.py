"""What rules read besides the profile, kept by the facts rebuild: the purchase table behind "bought SKU /
category" rules, kept in step with the orders by re-reading only the changed ones — after an import, a status
change, a merge, a deletion — checked against the order lines themselves (the plain-Python reading in
segments_world) and against a full re-read, inside its workspace; and the scores copied beside the order figures,
for customers without orders too."""

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from guanxi.commerce.models import Order, OrderLine
from guanxi.commerce.services import order_create, order_update
from guanxi.customers.merge import customer_merge
from guanxi.customers.models import Customer
from guanxi.customers.services import customer_create
from guanxi.imports.services import orders_import
from guanxi.segments.facts import facts_rebuild
from guanxi.segments.models import CustomerFacts, CustomerPurchase, FactsRebuild
from guanxi.segments.purchases import STAMP_MARGIN, changes_visible_from
from guanxi.segments.rules import compile_rules
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform
from guanxi.workspaces.services import store_create
from segments_world import AS_OF, SHANGHAI, build_world, python_matches

pytestmark = pytest.mark.django_db

SHOPIFY_EXPORT = Path(__file__).parent / "data" / "imports" / "orders_export_sample.csv"
LATER = dt.datetime(2024, 9, 30, 12, 0, tzinfo=SHANGHAI)  # after every order of the Shopify sample
PURCHASE_RULES = [
    {"all": [{"field": "bought_sku", "op": "=", "value": "SKU-A"}]},
    {"all": [{"field": "bought_sku", "op": "in", "value": ["SKU-C", "WB-750", "YM-01"], "days": 200}]},
    {"all": [{"field": "bought_sku", "op": "not_in", "value": ["RS-3", "SKU-B"], "days": 90}]},
    {"all": [{"field": "bought_category", "op": "=", "value": "shoes", "days": 120}]},
    {"all": [{"field": "bought_category", "op": "!=", "value": "bags"}]},
    {"any": [{"field": "bought_sku", "op": "=", "value": "TR-42-BLK", "days": 30},
             {"field": "bought_category", "op": "in", "value": ["bags"], "days": 7}]},
]


def _rows():
    """The purchase table's content, as comparable tuples."""
    return sorted(CustomerPurchase.objects.values_list("line_id", "customer_id", "sku", "placed_at"))


def _assert_rules_match_the_order_lines():
    for as_of in (AS_OF, LATER):
        for rule in PURCHASE_RULES:
            got = set(compile_rules(rule, as_of=as_of).values_list("pk", flat=True))
            assert got == python_matches(rule, as_of), (rule, as_of)


def test_purchases_follow_an_import_a_status_change_a_merge_and_a_deletion(workspace):
    world = build_world(workspace)
    # Everything so far was written "yesterday", so the next sync has only today's changes to re-read.
    Order.objects.update(updated_at=AS_OF - dt.timedelta(days=1))
    first = facts_rebuild()
    assert first["purchases"]["orders_changed_since"] is None  # the first sync reads every order
    assert first["purchases"]["rows_written"] == OrderLine.objects.filter(
        order__status__in=["paid", "shipped", "completed", "refunded", "partially_refunded"]).count()
    _assert_rules_match_the_order_lines()

    shopify = next(s for s in world.stores if s.platform == Platform.SHOPIFY)
    result = orders_import(workspace=workspace, store=shopify, path=SHOPIFY_EXPORT)
    assert result.orders_created > 0
    paid = Order.objects.filter(status="paid", lines__sku="SKU-A").distinct()
    order_update(order=paid[0], status="closed")
    keep, absorb = (Customer.objects.get(pk=o.customer_id) for o in paid[1:3])
    customer_merge(keep=keep, absorb=absorb, by=None)
    gone = Order.objects.filter(status="completed", lines__sku="SKU-C").first()
    gone.delete()
    late = customer_create(name="晚到")
    order_create(store=world.stores[0], customer=late, number="LATE-1", status="paid", paid_amount=Decimal(99),
                 placed_at=AS_OF - dt.timedelta(days=2), lines=[{"sku": "SKU-C", "title": "bag", "unit_price": 99}])

    second = facts_rebuild()
    changed = Order.objects.filter(updated_at__gt=AS_OF).filter(
        status__in=["paid", "shipped", "completed", "refunded", "partially_refunded"])
    assert second["purchases"]["rows_written"] == OrderLine.objects.filter(order__in=changed).count()
    assert second["purchases"]["rows_written"] < first["purchases"]["rows_written"]
    _assert_rules_match_the_order_lines()

    # Imports write lines with their SKU but no product link: such a line still counts for its category.
    line = OrderLine.objects.filter(sku="SKU-B", order__status="paid",
                                    order__customer__merged_into__isnull=True).first()
    OrderLine.objects.filter(pk=line.pk).update(product=None)
    facts_rebuild()
    shoes = {"all": [{"field": "bought_category", "op": "=", "value": "shoes"}]}
    assert line.order.customer_id in set(compile_rules(shoes, as_of=LATER).values_list("pk", flat=True))

    incremental = _rows()
    facts_rebuild(all_purchases=True)
    assert _rows() == incremental


def test_an_order_changed_while_a_sync_ran_is_read_by_the_next_one(workspace, store):
    buyer = customer_create(name="甲")
    order = order_create(store=store, customer=buyer, number="P1", status="pending_payment",
                         paid_amount=Decimal(10), placed_at=AS_OF, lines=[{"sku": "SKU-Z", "title": "z"}])
    facts_rebuild()
    rule = {"all": [{"field": "bought_sku", "op": "=", "value": "SKU-Z"}]}
    assert not compile_rules(rule, as_of=AS_OF).exists()
    # Paid by a transaction that began before the sync and committed after it: its stamp is older than the sync.
    order_update(order=order, status="paid")
    since = FactsRebuild.objects.first().purchases_changed_since
    Order.objects.filter(pk=order.pk).update(updated_at=since)
    facts_rebuild()
    assert list(compile_rules(rule, as_of=AS_OF).values_list("pk", flat=True)) == [buyer.pk]


def test_purchases_stay_inside_their_workspace(workspace, other_workspace, store):
    mine = customer_create(name="mine")
    order_create(store=store, customer=mine, number="M1", status="paid", paid_amount=Decimal(5), placed_at=AS_OF,
                 lines=[{"sku": "SHARED", "title": "same SKU in both shops"}])
    facts_rebuild()
    with tenancy.active(other_workspace):
        their_store = store_create(workspace=other_workspace, name="theirs", platform="jd")
        theirs = customer_create(name="theirs")
        order_create(store=their_store, customer=theirs, number="T1", status="paid", paid_amount=Decimal(5),
                     placed_at=AS_OF, lines=[{"sku": "SHARED", "title": "same SKU in both shops"}])
        facts_rebuild(all_purchases=True)  # replaces that workspace's rows only
        assert set(CustomerPurchase.objects.values_list("customer_id", flat=True)) == {theirs.pk}
    rule = {"all": [{"field": "bought_sku", "op": "=", "value": "SHARED", "days": 1}]}
    assert set(compile_rules(rule, as_of=AS_OF).values_list("pk", flat=True)) == {mine.pk}
    assert set(CustomerPurchase.objects.values_list("customer_id", flat=True)) == {mine.pk}
    assert CustomerPurchase.all_workspaces.count() == 2


def test_score_rules_read_the_scores_of_the_last_analytics_refresh_customers_without_orders_too(workspace, store):
    from guanxi.insight.models import CustomerScore
    from guanxi.insight.services import insight_refresh

    for index in range(12):
        buyer = customer_create(name=f"买家{index}")
        for number in range(index % 4 + 1):
            placed = AS_OF - dt.timedelta(days=40 * number + index)
            order_create(store=store, customer=buyer, number=f"S{index}-{number}", status="completed",
                         paid_amount=Decimal(20 * (index + 1)), placed_at=placed)
    browser = customer_create(name="只看不买")
    insight_refresh(as_of=AS_OF)  # scores everyone, then rebuilds the facts and refreshes the segments

    scores = {s.customer_id: s for s in CustomerScore.objects.all()}
    assert browser.pk in scores  # scored (as a potential customer) without any order
    assert CustomerFacts.objects.get(customer=browser).orders_count == 0
    for field in ("rfm_segment", "value_class", "value_tier", "lifecycle_stage", "churn_risk"):
        for value in {getattr(s, field) for s in scores.values()} - {""}:
            got = set(compile_rules({"all": [{"field": field, "op": "=", "value": value}]}, as_of=AS_OF)
                      .values_list("pk", flat=True))
            assert got == {pk for pk, s in scores.items() if getattr(s, field) == value}, (field, value)
    # Changed scores are read once the facts are rebuilt (as the analytics refresh does right after scoring).
    CustomerScore.objects.filter(customer=browser).update(churn_risk="low", clv=Decimal("99999"))
    top = {"all": [{"field": "clv_top_percent", "op": "<=", "value": 10}]}
    assert browser.pk not in set(compile_rules(top, as_of=AS_OF).values_list("pk", flat=True))
    facts_rebuild()
    assert browser.pk in set(compile_rules(top, as_of=AS_OF).values_list("pk", flat=True))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has one writer: nothing commits late")
def test_the_next_sync_reaches_back_to_the_oldest_transaction_still_open(workspace):
    import psycopg

    settings = connection.settings_dict
    with psycopg.connect(dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"],
                         port=settings["PORT"] or 5432) as other:
        # An import that began a moment ago and has not committed yet (psycopg opens the transaction).
        started = other.execute("SELECT xact_start FROM pg_stat_activity WHERE pid = pg_backend_pid()").fetchone()[0]
        time.sleep(0.05)
        assert changes_visible_from() <= started - STAMP_MARGIN
        other.rollback()
    assert changes_visible_from() > started - STAMP_MARGIN
