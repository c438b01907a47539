"""Counts and refreshes driven by CustomerFacts (`compile_matches`) hold exactly the customers of the general
query (`compile_rules`, itself compared with plain Python in test_segments_rules.py): for every operator of every
field, nested groups, the CDNOW store, and merged-away customers — also merged or split after the last rebuild."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.commerce.services import order_create
from guanxi.customers.merge import customer_merge, customer_merge_undo
from guanxi.customers.models import Customer, Identity
from guanxi.customers.services import customer_create
from guanxi.demo.cdnow import load_cdnow
from guanxi.segments.facts import facts_rebuild
from guanxi.segments.models import CustomerFacts
from guanxi.segments.rules import compile_matches, compile_rules, facts_only, parse_rules
from guanxi.segments.selectors import segment_preview
from guanxi.segments.services import segment_create, segment_refresh
from segments_world import AS_OF, build_world, python_matches
from test_segments_cdnow import AS_OF as CDNOW_AS_OF
from test_segments_cdnow import CASES as CDNOW_CASES
from test_segments_rules import BEHAVIOUR, COMPOSITE, PROFILE, SCORES, c

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(workspace):
    world = build_world(workspace)
    facts_rebuild()
    return world


def _ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def _on_facts(rule) -> bool:
    return compile_matches(rule, as_of=AS_OF).model is CustomerFacts


def test_every_condition_and_group_matches_the_same_customers_either_way(world):
    failures, on_facts = [], 0
    for rule in [{"all": [cond]} for cond in PROFILE + BEHAVIOUR + SCORES] + COMPOSITE:
        fast = _ids(compile_matches(rule, as_of=AS_OF))
        if fast != _ids(compile_rules(rule, as_of=AS_OF)) or fast != python_matches(rule):
            failures.append(rule)
        on_facts += _on_facts(rule)
    assert not failures, failures
    assert on_facts >= 40  # most behaviour and score conditions are counted on the facts alone


@pytest.mark.parametrize("rule, on_facts", [
    ({"all": [c("rfm_segment", "=", "champions")]}, True),
    ({"all": [c("total_paid", ">", 100), c("tags", "in", ["vip"])]}, True),  # tags: rows keyed by the customer
    ({"all": [c("bought_sku", "=", "SKU-A", days=30)]}, True),  # a purchase means a paid order: a facts row
    ({"all": [c("owner", "is_not_set"), c("value_tier", "=", "A")]}, True),  # one customer column: an EXISTS
    ({"all": [c("province", "=", "浙江"), c("city", "=", "杭州"), c("total_paid", ">", 0)]}, False),  # two
    ({"all": [c("orders_count", "=", 0)]}, False),  # holds for customers without a facts row
    ({"all": [c("rfm_segment", "!=", "lost")]}, False),  # so does a negation of a score
    ({"any": [c("rfm_segment", "=", "lost"), c("tags", "in", ["vip"])]}, False),  # a tag without orders
    ({"all": [c("lifecycle_stage", "=", "mature")]}, False),  # the profile's stage without a score
    ({"all": [c("average_order_value", ">", 10), c("lifecycle_stage", "=", "mature")]}, True),
    ({"all": []}, False),
    ({"any": []}, True),
])
def test_the_facts_drive_a_rule_only_when_no_customer_without_facts_can_match(world, rule, on_facts):
    assert facts_only(parse_rules(rule)) is on_facts
    assert _on_facts(rule) is on_facts
    assert _ids(compile_matches(rule, as_of=AS_OF)) == python_matches(rule)


def test_a_fast_count_is_one_statement_on_the_facts(world):
    rule = {"all": [c("total_paid", ">", 100), c("rfm_segment", "!=", "lost"), c("owner", "is_not_set"),
                    {"any": [c("clv_top_percent", "<=", 10), c("days_since_last_order", ">", 30)]}]}
    with CaptureQueriesContext(connection) as queries:
        count = compile_matches(rule, as_of=AS_OF).count()
    assert count == len(python_matches(rule)) > 0
    assert len(queries) == 1
    assert queries[0]["sql"].split(" FROM ", 1)[1].split()[0] == '"segments_customerfacts"'


def test_a_merge_and_its_undo_after_the_rebuild_move_the_customer_out_of_and_back_into_fast_counts(workspace):
    from guanxi.workspaces.models import Platform
    from guanxi.workspaces.services import store_create

    store = store_create(workspace=workspace, name="Shop", platform=Platform.TAOBAO)
    keep, absorb = customer_create(name="keep"), customer_create(name="absorb")
    for number, customer in (("K1", keep), ("A1", absorb), ("A2", absorb)):
        order_create(store=store, customer=customer, number=number, status="paid", paid_amount=100,
                     placed_at=dt.datetime(2024, 6, 1, 12, tzinfo=AS_OF.tzinfo))
    facts_rebuild()
    rule = {"all": [c("paid_orders_count", ">=", 1)]}
    assert _on_facts(rule)

    def members():
        fast = _ids(compile_matches(rule, as_of=AS_OF))
        assert fast == _ids(compile_rules(rule, as_of=AS_OF))
        return fast

    assert members() == {keep.pk, absorb.pk}
    merge = customer_merge(keep=keep, absorb=absorb, by=None)
    # No rebuild in between: the absorbed customer's facts row is still there, and must not count.
    assert CustomerFacts.objects.filter(pk=absorb.pk).exists()
    assert members() == {keep.pk}
    assert segment_preview(rules=rule, as_of=AS_OF).count == 1
    customer_merge_undo(merge=merge, by=None)
    assert members() == {keep.pk, absorb.pk}
    customer_merge(keep=keep, absorb=absorb, by=None)
    facts_rebuild()
    assert members() == {keep.pk}
    assert not CustomerFacts.objects.filter(pk=absorb.pk).exists()  # its orders moved: no facts of its own


def test_a_refresh_counted_on_the_facts_holds_the_same_members_as_the_general_query(world):
    rule = {"all": [c("total_paid", ">", 50), c("tags", "not_in", ["vip"])]}
    assert _on_facts(rule)
    segment = segment_create(name="fast", rules=rule, as_of=AS_OF)
    members = set(segment.memberships.filter(left_at__isnull=True).values_list("customer_id", flat=True))
    assert members == _ids(compile_rules(rule, as_of=AS_OF)) == python_matches(rule) != set()
    # Merged after the rebuild: leaves at the next refresh.
    absorbed = sorted(members)[0]
    keep = Customer.objects.filter(merged_into__isnull=True).exclude(pk=absorbed).first()
    customer_merge(keep=keep, absorb=Customer.objects.get(pk=absorbed), by=None)
    result = segment_refresh(segment=segment, as_of=AS_OF)
    assert result.left >= 1
    assert absorbed not in set(segment.memberships.filter(left_at__isnull=True).values_list("customer_id", flat=True))


def test_the_preview_sample_comes_from_the_matches(world):
    rule = {"all": [c("rfm_segment", "in", ["champions", "loyal"])]}
    preview = segment_preview(rules=rule, as_of=AS_OF, sample=5)
    assert preview.count == len(python_matches(rule))
    assert {customer.pk for customer in preview.sample} <= python_matches(rule)
    assert len(preview.sample) == min(5, preview.count)


def test_behaviour_counts_on_cdnow_are_the_same_on_the_facts_as_in_the_general_query(workspace):
    load_cdnow(workspace=workspace)
    facts_rebuild()
    by_pk = dict(Identity.objects.filter(kind="buyer_id").values_list("customer_id", "value"))
    failures, on_facts = [], 0
    for condition, _expected in CDNOW_CASES:
        rule = {"all": [condition]}
        matches = compile_matches(rule, as_of=CDNOW_AS_OF)
        on_facts += matches.model is CustomerFacts
        fast = {by_pk[pk] for pk in matches.values_list("pk", flat=True)}
        general = {by_pk[pk] for pk in compile_rules(rule, as_of=CDNOW_AS_OF).values_list("pk", flat=True)}
        if fast != general or matches.count() != len(general):
            failures.append((condition, len(fast), len(general)))
    assert not failures, failures
    assert on_facts >= len(CDNOW_CASES) - 6  # all but "= 0", "!=", "<" on counts and money, and the store


def test_every_customer_with_a_store_link_or_a_purchase_has_a_facts_row_with_its_stores(world):
    from guanxi.segments.facts import store_bit_numbers
    from guanxi.segments.models import CustomerPurchase, CustomerStore

    facts = dict(CustomerFacts.objects.values_list("pk", "store_bits"))
    links: dict[int, int] = {}
    numbers = store_bit_numbers()
    for customer_id, store_id in CustomerStore.objects.values_list("customer_id", "store_id"):
        links[customer_id] = links.get(customer_id, 0) | 1 << numbers[store_id]
    assert set(links) <= set(facts)
    assert set(CustomerPurchase.objects.values_list("customer_id", flat=True)) <= set(facts)
    assert {pk: bits for pk, bits in facts.items() if bits} == links
    # Known to a store by an identity only (no orders, no score): a row with zero orders and that store.
    only_known = set(links) - set(CustomerFacts.objects.filter(orders_count__gt=0).values_list("pk", flat=True))
    assert only_known and all(facts[pk] for pk in only_known)


def test_a_store_opened_after_the_rebuild_has_no_customers_yet_either_way(world):
    from guanxi.workspaces.models import Platform
    from guanxi.workspaces.services import store_create

    store_create(workspace=world.stores[0].workspace, name="New Shop", platform=Platform.TAOBAO)
    for rule in ({"all": [c("store", "=", "New Shop")]}, {"all": [c("store", "!=", "New Shop")]},
                 {"all": [c("store", "in", ["New Shop", "Acme Shopify"])]}):
        assert _ids(compile_matches(rule, as_of=AS_OF)) == _ids(compile_rules(rule, as_of=AS_OF)) \
            == python_matches(rule), rule


def test_stores_beyond_the_bits_are_read_from_the_store_links(world, monkeypatch):
    import guanxi.segments.facts as facts

    monkeypatch.setattr(facts, "STORE_BITS", 1)  # only the first store gets a bit
    facts_rebuild()
    for rule in ({"all": [c("store", "=", "Acme Shopify")]}, {"all": [c("store", "not_in", ["Acme Shopify"])]},
                 {"all": [c("store", "is_set")]}, {"all": [c("store", "=", "Acme Taobao")]}):
        assert _ids(compile_matches(rule, as_of=AS_OF)) == _ids(compile_rules(rule, as_of=AS_OF)) \
            == python_matches(rule), rule
