"""Saved segments: membership refreshes with entered/left history and sizes, the refresh-all entry point other apps
call, built-in segments, bulk actions, and the nightly job."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from guanxi.activities.models import Task, TaskStatus
from guanxi.commerce.models import Order
from guanxi.commerce.services import order_create
from guanxi.customers.models import Customer, CustomerTag, CustomField
from guanxi.customers.services import custom_field_create, customer_create
from guanxi.insight.models import CustomerScore
from guanxi.segments.builtin import BUILTIN_SEGMENTS, HIGH_VALUE_AT_RISK
from guanxi.segments.facts import facts_rebuild
from guanxi.segments.models import CustomerFacts, Segment, SegmentMember, SegmentSize
from guanxi.segments.rules import compile_rules
from guanxi.segments.selectors import customer_segments, segment_changes, segment_members, segment_sizes
from guanxi.segments.services import (
    segment_assign_owner, segment_create, segment_create_tasks, segment_delete, segment_refresh,
    segment_tag_members, segment_update, segments_ensure_builtin, segments_refresh_all,
)
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Role
from segments_world import AS_OF, SHANGHAI, build_world, python_matches

pytestmark = pytest.mark.django_db

BIG_SPENDERS = {"all": [{"field": "total_paid", "op": ">=", "value": 100}]}


def _paid(store, customer, number, amount, day):
    return order_create(store=store, customer=customer, number=number, status="paid", paid_amount=Decimal(amount),
                        placed_at=dt.datetime.combine(day, dt.time(12), tzinfo=SHANGHAI))


def _members(segment):
    return set(SegmentMember.objects.filter(segment=segment, left_at__isnull=True).values_list("customer_id",
                                                                                            flat=True))


def test_membership_follows_the_data_and_keeps_who_entered_and_left_when(workspace, store):
    a, b, c = (customer_create(name=n) for n in ("甲", "乙", "丙"))
    _paid(store, a, "A1", 150, dt.date(2024, 6, 1))
    _paid(store, b, "B1", 50, dt.date(2024, 6, 1))
    segments_refresh_all(as_of=dt.date(2024, 6, 1))
    segment = segment_create(name="大客户", rules=BIG_SPENDERS, as_of=dt.date(2024, 6, 1))
    assert _members(segment) == {a.pk}

    # A week later b has spent enough, a's order was refunded in full: b enters, a leaves.
    _paid(store, b, "B2", 60, dt.date(2024, 6, 5))
    _paid(store, c, "C1", 500, dt.date(2024, 6, 6))
    from guanxi.commerce.models import Order

    Order.objects.filter(number="A1").update(status="closed")
    week_later = dt.date(2024, 6, 8)
    summary = segments_refresh_all(as_of=week_later)
    assert _members(segment) == {b.pk, c.pk}
    result = next(s for s in summary["segments"] if s["segment_id"] == segment.pk)
    assert (result["size"], result["entered"], result["left"]) == (2, 2, 1)

    # "Who joined this week" and "who left": stays stamped with the refresh's as_of.
    end_of_day = dt.datetime.combine(week_later, dt.time.max, tzinfo=SHANGHAI)
    since = dt.datetime(2024, 6, 2, tzinfo=SHANGHAI)  # the week before the refresh
    assert {s.customer_id for s in segment_changes(segment, kind="entered", since=since)} == {b.pk, c.pk}
    left = list(segment_changes(segment, kind="left", since=since))
    assert [s.customer_id for s in left] == [a.pk] and left[0].left_at == end_of_day
    # a comes back: a new stay opens, the old one stays closed in the history.
    Order.objects.filter(number="A1").update(status="paid")
    segments_refresh_all(as_of=dt.date(2024, 6, 9))
    assert _members(segment) == {a.pk, b.pk, c.pk}
    assert SegmentMember.objects.filter(segment=segment, customer=a).count() == 2

    sizes = segment_sizes(segment)
    assert [(s.size, s.entered, s.left) for s in sizes] == [(1, 1, 0), (2, 2, 1), (3, 1, 0)]
    assert Segment.objects.get(pk=segment.pk).member_count == 3
    assert segment in customer_segments(a) and segment not in customer_segments(customer_create(name="丁"))


def test_a_refresh_that_changes_nothing_writes_no_membership_rows(workspace, store):
    for i in range(5):
        _paid(store, customer_create(name=f"c{i}"), f"N{i}", 100 + i, dt.date(2024, 6, 1))
    segments_refresh_all(as_of=AS_OF)
    segment = segment_create(name="大客户", rules=BIG_SPENDERS, as_of=AS_OF)
    before = list(SegmentMember.objects.filter(segment=segment).values_list("id", "entered_at", "left_at"))
    result = segment_refresh(segment=segment, as_of=AS_OF + dt.timedelta(days=1))
    assert (result.size, result.entered, result.left) == (5, 0, 0)
    assert list(SegmentMember.objects.filter(segment=segment).values_list("id", "entered_at", "left_at")) == before


def test_a_refresh_is_a_fixed_number_of_statements_whatever_the_size(workspace, store):
    def add(n, start):
        for i in range(start, start + n):
            _paid(store, customer_create(name=f"c{i}"), f"N{i}", 100 + i, dt.date(2024, 6, 1))
        facts_rebuild()

    def refresh(segment):
        with CaptureQueriesContext(connection) as queries:
            result = segment_refresh(segment=segment, as_of=AS_OF)
        return result, len(queries)

    add(3, 0)
    segment = segment_create(name="all", rules=BIG_SPENDERS, refresh=False)
    few, few_queries = refresh(segment)
    add(40, 3)
    many, many_queries = refresh(segment)
    assert (few.entered, many.entered, many.size) == (3, 40, 43)
    assert few_queries == many_queries <= 16


def test_saved_segments_match_the_plain_python_computation(workspace):
    build_world(workspace)
    rules = {"all": [{"field": "province", "op": "=", "value": "浙江"},
                     {"any": [{"field": "total_paid", "op": ">", "value": 300},
                              {"field": "rfm_segment", "op": "in", "value": ["champions", "loyal"]}]}]}
    segments_refresh_all(as_of=AS_OF)
    segment = segment_create(name="浙江高价值", rules=rules, as_of=AS_OF)
    assert _members(segment) == python_matches(rules)
    assert Segment.objects.get(pk=segment.pk).member_count == len(python_matches(rules))


def test_changed_rules_refresh_the_membership(workspace, store):
    a, b = customer_create(name="a", province="浙江"), customer_create(name="b", province="江苏")
    segment = segment_create(name="浙江", rules={"all": [{"field": "province", "op": "=", "value": "浙江"}]})
    assert _members(segment) == {a.pk}
    segment_update(segment=segment, rules={"all": [{"field": "province", "op": "=", "value": "江苏"}]})
    assert _members(segment) == {b.pk}
    segment_update(segment=segment, name="江苏客户")
    assert Segment.objects.get(pk=segment.pk).name == "江苏客户"


def test_invalid_segments_are_refused_with_their_paths_and_nothing_is_saved(workspace):
    with pytest.raises(ValidationError) as error:
        segment_create(name="", rules={"all": [{"field": "total_paid", "op": "contains", "value": 1}]})
    assert set(error.value.message_dict) == {"name", "all[0].op"}
    segment_create(name="重复", rules={"all": []})
    with pytest.raises(ValidationError) as error:
        segment_create(name="重复", rules={"all": []})
    assert "name" in error.value.message_dict or "__all__" in error.value.message_dict
    assert Segment.objects.count() == 1


def test_refresh_all_keeps_going_past_a_segment_whose_rules_broke(workspace, store):
    custom_field_create(key="level", label="等级", field_type="text")
    customer_create(name="a", custom={"level": "gold"})
    broken = segment_create(name="gold", rules={"all": [{"field": "custom.level", "op": "=", "value": "gold"}]})
    fine = segment_create(name="everyone", rules={"all": []})
    assert Segment.objects.get(pk=broken.pk).member_count == 1
    CustomField.objects.filter(key="level").delete()
    summary = segments_refresh_all()
    assert [f["segment_id"] for f in summary["failed"]] == [broken.pk]
    assert "all[0].field" in summary["failed"][0]["error"]
    broken.refresh_from_db()
    assert broken.refresh_error and broken.member_count == 1 and _members(broken)  # last membership kept
    assert fine.pk in {s["segment_id"] for s in summary["segments"]}


def test_every_workspace_gets_the_built_in_segments_once(workspace, other_workspace):
    segments = segments_ensure_builtin()
    assert len(segments) == 11 + 8 + 5 + 1 == len(BUILTIN_SEGMENTS)
    assert len(segments_ensure_builtin()) == len(segments) and Segment.objects.count() == len(segments)
    keys = {s.builtin_key for s in segments}
    assert {"rfm.champions", "rfm.cant_lose_them", "value.important_value", "lifecycle.terminating",
            HIGH_VALUE_AT_RISK} <= keys
    with tenancy.active(other_workspace):
        assert Segment.objects.count() == 0
        segments_ensure_builtin()
        assert Segment.objects.count() == len(segments)
    champions = Segment.objects.get(builtin_key="rfm.champions")
    with translation.override("zh-hans"):
        chinese = str(champions.display_name)
    with translation.override("en"):
        assert str(champions.display_name) == "RFM: Champions"
    assert chinese != "RFM: Champions" and "冠军" in chinese
    with pytest.raises(ValidationError):
        segment_update(segment=champions, name="mine")
    with pytest.raises(ValidationError):
        segment_delete(segment=champions)


def test_high_value_at_risk_is_the_top_profit_fifth_with_high_churn_risk(workspace):
    customers = [customer_create(name=f"c{i}") for i in range(20)]
    for i, customer in enumerate(customers):
        # Profit ties in pairs (c0 = c1, …): the tie-break by customer id keeps the fifth at exactly 4.
        CustomerScore.objects.create(workspace=workspace, customer=customer, as_of=AS_OF,
                                     gross_profit=Decimal(100 * (i // 2)), clv=Decimal(5),
                                     churn_risk="high" if i % 2 else "low")
    segments_refresh_all(as_of=AS_OF)
    segment = Segment.objects.get(builtin_key=HIGH_VALUE_AT_RISK)
    # Top fifth of 20 by profit: c18, c19 (900), then c16 before c17 (800); of those c19 and c17 are high risk.
    assert _members(segment) == {customers[19].pk, customers[17].pk}


def test_built_in_segments_hold_the_scored_customers(workspace):
    world = build_world(workspace)
    segments_refresh_all(as_of=AS_OF)
    for key, rule in (("rfm.at_risk", {"field": "rfm_segment", "op": "=", "value": "at_risk"}),
                      ("value.general_value", {"field": "value_class", "op": "=", "value": "general_value"}),
                      ("lifecycle.mature", {"field": "lifecycle_stage", "op": "=", "value": "mature"})):
        assert _members(Segment.objects.get(builtin_key=key)) == python_matches({"all": [rule]}), key
    assert world


def test_bulk_actions_reach_every_current_member_once(workspace, store, make_member):
    alice = make_member(workspace, Role.SALES, username="alice")
    members = [customer_create(name=f"m{i}", province="浙江") for i in range(4)]
    outsider = customer_create(name="x", province="江苏")
    segment = segment_create(name="浙江", rules={"all": [{"field": "province", "op": "=", "value": "浙江"}]})

    assert segment_tag_members(segment=segment, tag="浙江活动") == 4
    assert segment_tag_members(segment=segment, tag="浙江活动") == 0
    assert set(CustomerTag.objects.filter(tag__name="浙江活动").values_list("customer_id", flat=True)) == {
        m.pk for m in members}

    assert segment_assign_owner(segment=segment, owner=alice) == 4
    assert set(Customer.objects.filter(owner=alice).values_list("pk", flat=True)) == {m.pk for m in members}
    assert Customer.objects.get(pk=outsider.pk).owner is None

    created = segment_create_tasks(segment=segment, title="回访：新品", due_on=dt.date(2024, 7, 1),
                                   assign_to_customer_owner=True)
    assert created == 4
    assert segment_create_tasks(segment=segment, title="回访：新品", due_on=dt.date(2024, 7, 1)) == 0
    tasks = Task.objects.filter(title="回访：新品")
    assert {t.customer_id for t in tasks} == {m.pk for m in members}
    assert {t.assignee_id for t in tasks} == {alice.pk} and {t.status for t in tasks} == {TaskStatus.OPEN}
    with pytest.raises(ValidationError):
        segment_create_tasks(segment=segment, title=" ", due_on=dt.date(2024, 7, 1))


def test_bulk_owner_must_be_a_member_of_the_workspace(workspace, other_workspace, make_member):
    stranger = make_member(other_workspace, Role.OWNER, username="stranger")
    segment = segment_create(name="all", rules={"all": []})
    with pytest.raises(ValidationError):
        segment_assign_owner(segment=segment, owner=stranger)


def test_members_sort_by_score_columns_with_customers_without_a_value_last(workspace, store):
    scored = []
    for i, clv in enumerate([Decimal(500), None, Decimal(1500), Decimal(50)]):
        customer = customer_create(name=f"c{i}")
        CustomerScore.objects.create(workspace=workspace, customer=customer, as_of=AS_OF, clv=clv, p_alive=i / 10)
        scored.append(customer)
    unscored = customer_create(name="new")
    segment = segment_create(name="all", rules={"all": []})
    order = [m.customer_id for m in segment_members(segment, sort="-clv")]
    assert order == [scored[2].pk, scored[0].pk, scored[3].pk] + sorted([scored[1].pk, unscored.pk])
    order = [m.customer_id for m in segment_members(segment, sort="clv")]
    assert order[:3] == [scored[3].pk, scored[0].pk, scored[2].pk]
    assert [m.customer_id for m in segment_members(segment, sort="-p_alive")][:1] == [scored[3].pk]
    # An unknown sort falls back to the default instead of failing.
    assert len(segment_members(segment, sort="password")) == 5


def test_facts_and_rules_stay_inside_the_workspace(workspace, other_workspace, store):
    from guanxi.workspaces.services import store_create

    mine = customer_create(name="mine")
    _paid(store, mine, "M1", 200, dt.date(2024, 6, 1))
    with tenancy.active(other_workspace):
        their_store = store_create(workspace=other_workspace, name="theirs", platform="jd")
        theirs = customer_create(name="theirs")
        _paid(their_store, theirs, "T1", 900, dt.date(2024, 6, 1))
        segments_refresh_all(as_of=AS_OF)
    segments_refresh_all(as_of=AS_OF)
    assert set(CustomerFacts.objects.values_list("customer_id", flat=True)) == {mine.pk}
    assert set(compile_rules({"all": []}).values_list("pk", flat=True)) == {mine.pk}
    assert set(compile_rules({"all": [{"field": "store", "op": "=", "value": "theirs"}]})
               .values_list("pk", flat=True)) == set()
    with tenancy.active(other_workspace):
        assert set(CustomerFacts.objects.values_list("customer_id", flat=True)) == {theirs.pk}


def test_the_nightly_job_refreshes_every_workspace(workspace, other_workspace, store):
    from guanxi.segments.tasks import nightly_segments_refresh, refresh_workspace_segments

    customer_create(name="a")
    nightly_segments_refresh.call_local()
    assert Segment.objects.filter(builtin_key="rfm.champions").exists()
    assert SegmentSize.objects.exists()
    with tenancy.active(other_workspace):
        assert Segment.objects.count() == len(BUILTIN_SEGMENTS)
    summary = refresh_workspace_segments.call_local(workspace.pk, "2024-06-15")
    assert summary["as_of"].startswith("2024-06-15T23:59:59")


def test_the_demo_has_the_built_in_segments_with_members(db, tmp_path):
    from guanxi.demo import build_demo
    from guanxi.demo.cdnow import CDNOW_MASTER

    cdnow = tmp_path / "cdnow_head.txt"
    with open(CDNOW_MASTER) as source:
        cdnow.write_text("".join(next(source) for _ in range(301)))
    now = dt.datetime(2025, 6, 18, 6, 30, tzinfo=dt.timezone.utc)
    login = build_demo(customers=60, orders=300, now=now, cdnow_path=cdnow)
    with tenancy.active(login.workspace):
        builtin = Segment.objects.exclude(builtin_key="")
        assert builtin.count() == len(BUILTIN_SEGMENTS)
        assert all(s.refreshed_at for s in builtin)
        potential_or_buying = builtin.filter(builtin_key__startswith="lifecycle.")
        assert sum(s.member_count for s in potential_or_buying) == Customer.objects.filter(
            merged_into__isnull=True).count()
        # Every customer with an order of the generated shop (CDNOW has a workspace of its own).
        assert CustomerFacts.objects.count() >= Order.objects.values("customer").distinct().count() > 40
