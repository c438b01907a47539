"""Segment rules: every field family and operator against a plain-Python computation over the raw rows; one SQL
statement per rule; validation errors at their exact path."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.segments.facts import facts_rebuild
from guanxi.segments.fields import fields
from guanxi.segments.rules import RulesInvalid, compile_rules, validate_rules
from segments_world import AS_OF, build_world, python_matches

pytestmark = pytest.mark.django_db


def c(field, op, value=None, **extra):
    cond = {"field": field, "op": op}
    if value is not None:
        cond["value"] = value
    cond.update(extra)
    return cond


PROFILE = [
    c("name", "=", "李娜"), c("name", "!=", "李娜"), c("name", "contains", "小"), c("name", "contains", "ann"),
    c("name", "contains", "JOAN"), c("name", "in", ["张伟", "Ann Lee", "nobody"]), c("name", "not_in", ["张伟"]),
    c("name", "is_set"), c("name", "is_not_set"),
    c("gender", "=", "female"), c("gender", "!=", "female"), c("gender", "in", ["female", "male"]),
    c("gender", "not_in", ["male"]), c("gender", "is_set"), c("gender", "is_not_set"), c("gender", "=", ""),
    c("birthday_month", "=", 3), c("birthday_month", "!=", 3), c("birthday_month", "between", [3, 6]),
    c("birthday_month", "in", [1, 12]), c("birthday_month", "not_in", [1, 12]), c("birthday_month", ">", 6),
    c("birthday_month", "<=", 2), c("birthday_month", "is_set"), c("birthday_month", "is_not_set"),
    c("birthday", "before", "1980-01-01"), c("birthday", "after", "1999-12-31"),
    c("birthday", "between", ["1970-01-01", "1989-12-31"]), c("birthday", ">=", "1990-05-01"),
    c("birthday", "is_not_set"), c("birthday", "within_last_days", 20000), c("birthday", "=", "1985-03-14"),
    c("birthday", "!=", "1985-03-14"), c("birthday", ">", "1990-05-01"), c("birthday", "<", "1975-01-01"),
    c("birthday", "<=", "1975-01-01"), c("birthday", "is_set"),
    c("country", "=", "US"), c("country", "!=", "CN"), c("province", "=", "浙江"), c("province", "contains", "江"),
    c("province", "is_not_set"), c("city", "in", ["杭州", "深圳"]), c("city", "not_in", ["杭州", "深圳"]),
    c("district", "is_set"), c("industry", "contains", "retail"), c("industry", "=", "retail"),
    c("tags", "=", "vip"), c("tags", "!=", "vip"), c("tags", "in", ["vip", "老客户"]), c("tags", "not_in", ["new"]),
    c("tags", "is_set"), c("tags", "is_not_set"), c("tags", "=", "no such tag"), c("tags", "!=", "no such tag"),
    c("owner", "=", "alice"), c("owner", "!=", "alice"), c("owner", "in", ["alice", "bob"]),
    c("owner", "not_in", ["bob"]), c("owner", "is_set"), c("owner", "is_not_set"), c("owner", "=", "nobody"),
    c("store", "=", "Acme Shopify"), c("store", "!=", "Acme Shopify"), c("store", "in", ["Acme Taobao"]),
    c("store", "not_in", ["Acme Taobao"]), c("store", "is_set"), c("store", "is_not_set"),
    c("created", "within_last_days", 30), c("created", "within_last_days", 1), c("created", "before", "2023-06-01"),
    c("created", "after", "2024-01-31"), c("created", "=", "2023-03-15"), c("created", "!=", "2023-03-15"),
    c("created", "between", ["2023-05-01", "2023-08-31"]), c("created", "<", "2023-05-01"),
    c("created", "<=", "2023-05-01"), c("created", ">", "2024-05-01"), c("created", ">=", "2024-05-01"),
    c("consent.email", "=", True), c("consent.email", "=", False), c("consent.email", "!=", True),
    c("consent.sms", "is_set"), c("consent.wechat", "is_not_set"),
    c("custom.level", "=", "gold"), c("custom.level", "in", ["gold", "silver"]), c("custom.level", "!=", "gold"),
    c("custom.level", "is_set"), c("custom.level", "is_not_set"),
    c("custom.budget", ">", 500), c("custom.budget", "between", [100, 600.5]), c("custom.budget", "is_not_set"),
    c("custom.budget", "<=", "250.25"),
    c("custom.since", "before", "2023-09-01"), c("custom.since", "within_last_days", 90),
    c("custom.since", "=", "2024-01-05"), c("custom.note", "contains", "red"), c("custom.note", "=", "VIP buyer"),
]

BEHAVIOUR = [
    c("orders_count", "=", 0), c("orders_count", ">", 2), c("orders_count", "between", [1, 3]),
    c("orders_count", "in", [0, 5]), c("orders_count", "!=", 0), c("orders_count", "<=", 1),
    c("orders_count", "not_in", [0, 1]), c("orders_count", ">=", 0), c("orders_count", "<", 2),
    c("paid_orders_count", ">=", 2), c("paid_orders_count", "=", 0), c("refunds_count", ">", 0),
    c("refunds_count", "=", 0),
    c("total_paid", ">", 500), c("total_paid", "<", 100), c("total_paid", "=", 0),
    c("total_paid", "between", [100, 900.5]), c("total_paid", "!=", 0), c("total_paid", "is_set"),
    c("total_paid", ">=", "0"),
    c("net_paid", ">", 300), c("net_paid", "<=", 0), c("refunded", ">", 0),
    c("average_order_value", ">", 200), c("average_order_value", "<=", 100),
    c("average_order_value", "is_not_set"), c("average_order_value", "is_set"),
    c("first_order_at", "before", "2023-06-01"), c("first_order_at", "after", "2024-01-01"),
    c("first_order_at", "within_last_days", 90), c("first_order_at", "between", ["2023-03-01", "2023-12-31"]),
    c("first_order_at", "is_not_set"),
    c("last_order_at", "within_last_days", 60), c("last_order_at", "within_last_days", 1),
    c("last_order_at", "=", "2024-06-15"), c("last_order_at", "!=", "2024-06-15"),
    c("last_order_at", ">", "2024-06-15"), c("last_order_at", "<=", "2023-12-31"), c("last_order_at", "is_set"),
    c("days_since_last_order", ">", 30), c("days_since_last_order", ">=", 30), c("days_since_last_order", "<", 30),
    c("days_since_last_order", "<=", 30), c("days_since_last_order", "=", 0), c("days_since_last_order", "<", 0),
    c("days_since_last_order", "between", [10, 200]), c("days_since_last_order", "in", [0, 1, 2, 100]),
    c("days_since_last_order", "!=", 0), c("days_since_last_order", "not_in", [0]),
    c("days_since_last_order", "is_set"), c("days_since_last_order", "is_not_set"),
    c("bought_sku", "=", "SKU-A"), c("bought_sku", "in", ["SKU-C", "SKU-D"]), c("bought_sku", "!=", "SKU-A"),
    c("bought_sku", "not_in", ["SKU-A", "SKU-B"]), c("bought_sku", "=", "SKU-B", days=120),
    c("bought_sku", "!=", "SKU-B", days=120), c("bought_sku", "in", ["SKU-A", "SKU-C"], days=1),
    c("bought_category", "=", "shoes"), c("bought_category", "!=", "shoes"),
    c("bought_category", "in", ["bags"], days=200), c("bought_category", "not_in", ["bags"], days=30),
]

SCORES = [
    c("rfm_r", "=", 5), c("rfm_r", ">=", 4), c("rfm_r", "between", [2, 3]), c("rfm_r", "in", [1, 5]),
    c("rfm_r", "!=", 5), c("rfm_r", "is_not_set"), c("rfm_f", "<", 3), c("rfm_m", ">", 3),
    c("rfm_segment", "=", "champions"), c("rfm_segment", "in", ["at_risk", "cant_lose_them", "hibernating"]),
    c("rfm_segment", "!=", "champions"), c("rfm_segment", "not_in", ["lost"]), c("rfm_segment", "is_set"),
    c("rfm_segment", "is_not_set"),
    c("value_class", "=", "important_value"), c("value_class", "in", ["general_value", "important_keep"]),
    c("value_class", "is_not_set"), c("value_tier", "=", "A"), c("value_tier", "!=", "A"),
    c("lifecycle_stage", "=", "mature"), c("lifecycle_stage", "=", "potential"),
    c("lifecycle_stage", "in", ["developing", "growing"]), c("lifecycle_stage", "!=", "mature"),
    c("clv", ">", 2000), c("clv", "<=", 500), c("clv", "is_not_set"), c("clv", "between", [1000, 3000]),
    c("clv_top_percent", "<=", 10), c("clv_top_percent", "<=", 50), c("clv_top_percent", "<=", 100),
    c("clv_top_percent", "<=", 1), c("profit_top_percent", "<=", 20), c("profit_top_percent", "<=", 3),
    c("p_alive", "<", 0.3), c("p_alive", "between", [0.2, 0.7]), c("p_alive", "is_not_set"),
    c("p_alive", ">", 0.8), c("p_alive", "<=", 0.25), c("p_alive", "is_set"), c("p_alive", "!=", 0.5),
    c("p_alive", "=", 0.5), c("buy_again", "<", 0.1),
    c("buy_again", ">=", 0.5), c("churn_risk", "=", "high"), c("churn_risk", "in", ["medium", "high"]),
    c("churn_risk", "!=", "low"), c("churn_risk", "is_not_set"), c("gross_profit", "<", 0),
]

COMPOSITE = [
    {"all": [c("province", "=", "浙江"), {"any": [c("total_paid", ">", 300), c("tags", "=", "vip")]}]},
    {"any": [{"all": [c("churn_risk", "=", "high"), c("clv_top_percent", "<=", 50)]},
             {"all": [c("orders_count", "=", 0), c("consent.email", "=", True)]}]},
    {"all": [c("bought_category", "=", "shoes", days=365), c("days_since_last_order", ">", 14),
             c("rfm_segment", "!=", "lost"), c("gender", "!=", "male")]},
    {"all": [{"any": [{"all": [c("city", "=", "杭州"), c("owner", "=", "alice")]}, c("custom.level", "=", "gold")]},
             c("lifecycle_stage", "!=", "terminating")]},
    {"all": []},
    {"any": []},
    {"any": [c("tags", "not_in", ["vip"]), c("store", "!=", "Acme Taobao")]},
]


@pytest.fixture
def world(workspace):
    world = build_world(workspace)
    facts_rebuild()
    return world


LOOKUP_TABLES = ('"customers_tag"', '"workspaces_store"', '"segments_factsrebuild"', '"auth_user"',
                 '"customers_customfield"', '"commerce_product"')


def _check(rule):
    """The matching ids, and how many statements evaluated the rule (lookups of names and field types aside)."""
    with CaptureQueriesContext(connection) as queries:
        got = set(compile_rules(rule, as_of=AS_OF).values_list("pk", flat=True))
    lookups = [q for q in queries if q["sql"].split(" FROM ", 1)[1].split()[0] in LOOKUP_TABLES]
    return got, len(queries) - len(lookups)


@pytest.mark.parametrize("family, conditions", [("profile", PROFILE), ("behaviour", BEHAVIOUR), ("scores", SCORES)])
def test_each_operator_of_each_field_matches_a_plain_python_computation(world, family, conditions):
    failures = []
    non_trivial = 0
    for cond in conditions:
        rule = {"all": [cond]}
        got, queries = _check(rule)
        expected = python_matches(rule)
        if got != expected:
            failures.append((cond, sorted(got - expected)[:5], sorted(expected - got)[:5]))
        # One statement evaluates the rule (names and custom field types may be looked up first).
        if queries != 1 and got:
            failures.append((cond, f"{queries} statements"))
        non_trivial += 0 < len(expected) < 86
    assert not failures, failures
    # The data set must make the comparisons mean something: most conditions split the customers.
    assert non_trivial >= 0.75 * len(conditions)


def test_every_field_and_every_operator_of_each_kind_of_field_is_compared():
    conditions = PROFILE + BEHAVIOUR + SCORES
    registry = fields()
    assert set(registry) <= {cond["field"] for cond in conditions}, set(registry) - {cond["field"] for cond in conditions}
    tested = {(registry[cond["field"]].kind, cond["op"]) for cond in conditions if cond["field"] in registry}
    for key, field in registry.items():
        assert not [op for op in field.ops if (field.kind, op) not in tested], key
    assert {cond["op"] for cond in conditions} == {
        "=", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "between", "is_set", "is_not_set",
        "within_last_days", "before", "after"}


def test_nested_groups_match_the_plain_python_computation_in_one_query(world):
    for rule in COMPOSITE:
        got, queries = _check(rule)
        assert got == python_matches(rule), rule
        assert queries <= 1, rule  # none for {"any": []}, which matches nobody without asking


def test_merged_away_customers_are_never_members(world):
    everyone = set(compile_rules({"all": []}, as_of=AS_OF).values_list("pk", flat=True))
    assert world.customer_ids[1] not in everyone and world.customer_ids[3] not in everyone
    assert len(everyone) == len(world.customer_ids) - 2


def test_days_are_calendar_days_in_the_workspace_time_zone(workspace, store):
    from guanxi.commerce.services import order_create
    from guanxi.customers.services import customer_create

    late = customer_create(name="late")
    early = customer_create(name="early")
    # 23:50 on 14 June in Shanghai is still 14 June there, though 15:50 UTC; 00:10 on 15 June is 16:10 UTC on 14.
    tz = AS_OF.tzinfo
    order_create(store=store, customer=late, number="L1", status="paid", paid_amount=10,
                 placed_at=dt.datetime(2024, 6, 14, 23, 50, tzinfo=tz))
    order_create(store=store, customer=early, number="E1", status="paid", paid_amount=10,
                 placed_at=dt.datetime(2024, 6, 15, 0, 10, tzinfo=tz))
    facts_rebuild()

    def names(rule):
        return set(compile_rules({"all": [rule]}, as_of=AS_OF).values_list("name", flat=True))

    assert names(c("last_order_at", "=", "2024-06-14")) == {"late"}
    assert names(c("last_order_at", "=", "2024-06-15")) == {"early"}
    assert names(c("last_order_at", "before", "2024-06-15")) == {"late"}
    assert names(c("last_order_at", "within_last_days", 1)) == {"early"}
    assert names(c("days_since_last_order", "=", 1)) == {"late"}
    # as_of is explicit: a week later both are 7 and 8 days back.
    later = AS_OF + dt.timedelta(days=7)
    assert set(compile_rules({"all": [c("days_since_last_order", "=", 8)]}, as_of=later)
               .values_list("name", flat=True)) == {"late"}
    # A date as_of means that whole day.
    assert set(compile_rules({"all": [c("last_order_at", "within_last_days", 1)]}, as_of=dt.date(2024, 6, 14))
               .values_list("name", flat=True)) == {"late"}


def test_a_rule_compiles_to_a_single_select(world):
    rule = {"all": [c("province", "=", "浙江"), c("tags", "in", ["vip"]), c("total_paid", ">", 100),
                    c("rfm_segment", "!=", "lost"), c("bought_sku", "=", "SKU-A", days=30),
                    {"any": [c("clv_top_percent", "<=", 10), c("days_since_last_order", ">", 30)]}]}
    with CaptureQueriesContext(connection) as queries:
        compile_rules(rule, as_of=AS_OF).count()
    # The tag's id is looked up first (so the database estimates the tag well); the rule is one statement.
    assert [q["sql"].split(" FROM ", 1)[1].split()[0] for q in queries] == ['"customers_tag"', '"customers_customer"']
    assert queries[1]["sql"].lstrip().upper().startswith("SELECT")


BAD_RULES = [
    ({"all": [c("name", "=", "x"), {"any": [c("name", "like", "x")]}]}, "all[1].any[0].op"),
    ({"all": [c("nope", "=", 1)]}, "all[0].field"),
    ({"any": [c("orders_count", ">", "many")]}, "any[0].value"),
    ({"all": [c("orders_count", "contains", "1")]}, "all[0].op"),
    ({"all": [c("gender", "=", "robot")]}, "all[0].value"),
    ({"all": [c("created", "before", "15/06/2024")]}, "all[0].value"),
    ({"all": [c("created", "within_last_days", 0)]}, "all[0].value"),
    ({"all": [c("rfm_r", "between", [4, 2])]}, "all[0].value"),
    ({"all": [c("rfm_r", "=", 9)]}, "all[0].value"),
    ({"all": [c("tags", "in", [])]}, "all[0].value"),
    ({"all": [{"field": "name", "op": "="}]}, "all[0].value"),
    ({"all": [c("name", "=", "x", days=3)]}, "all[0].days"),
    ({"all": [c("bought_sku", "=", "A", days=-1)]}, "all[0].days"),
    ({"all": [c("custom.unknown", "=", "x")]}, "all[0].field"),
    ({"all": [{"any": [{"all": [c("custom.level", "=", "platinum")]}]}]}, "all[0].any[0].all[0].value"),
    ({"all": "name"}, "all"),
    ({"all": [42]}, "all[0]"),
    ({"all": [], "any": []}, "__all__"),
    ([], "__all__"),
    ({"all": [{"all": []}], "extra": 1}, "extra"),
    ({"all": [c("consent.email", "=", "yes")]}, "all[0].value"),
    ({"all": [c("clv_top_percent", ">", 10)]}, "all[0].op"),
]


@pytest.mark.parametrize("rules, path", BAD_RULES)
def test_invalid_rules_are_refused_at_the_exact_path(workspace, rules, path):
    from guanxi.customers.services import custom_field_create

    custom_field_create(key="level", label="Level", field_type="choice", choices=["gold"])
    with pytest.raises(RulesInvalid) as error:
        validate_rules(rules)
    assert path in error.value.message_dict, error.value.message_dict


def test_all_problems_are_reported_at_once(workspace):
    with pytest.raises(RulesInvalid) as error:
        validate_rules({"all": [c("nope", "=", 1), c("name", "?", "x"), {"any": [c("rfm_r", ">", "high")]}]})
    assert set(error.value.message_dict) == {"all[0].field", "all[1].op", "all[2].any[0].value"}


def test_rules_cannot_be_compiled_without_an_active_workspace(db):
    from guanxi.workspaces.tenancy import WorkspaceNotActive

    with pytest.raises(WorkspaceNotActive):
        compile_rules({"all": []})


def test_score_codes_are_the_ones_the_analytics_refresh_writes():
    from guanxi.analytics.lifecycle import STAGES
    from guanxi.analytics.rfm import RFM_SEGMENTS, VALUE_CLASSES
    from guanxi.customers.models import Lifecycle

    registry = fields()
    assert [code for code, _label in registry["rfm_segment"].choices] == list(RFM_SEGMENTS)
    assert [code for code, _label in registry["value_class"].choices] == list(VALUE_CLASSES)
    assert [code for code, _label in registry["lifecycle_stage"].choices] == list(STAGES) == Lifecycle.values
