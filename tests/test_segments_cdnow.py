"""Behaviour rules on the real CDNOW store, against figures computed straight from the CDNOW file with plain Python.

The file has 69,659 purchases of 23,570 customers (1997-01-01..1998-06-30); the loader makes each line a paid
order at noon in the workspace time zone. Rules are evaluated as of 1998-07-01.
"""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest

from guanxi.customers.models import Identity
from guanxi.demo.cdnow import load_cdnow, read_cdnow
from guanxi.segments.facts import facts_rebuild
from guanxi.segments.rules import compile_rules
from guanxi.segments.services import segment_create
from guanxi.workspaces.services import workspace_currency_set

pytestmark = pytest.mark.django_db

AS_OF = dt.date(1998, 7, 1)


@pytest.fixture
def cdnow(workspace):
    workspace_currency_set(workspace=workspace, currency="USD")  # CDNOW sold in dollars
    load_cdnow(workspace=workspace)
    facts_rebuild()
    per_customer = defaultdict(list)
    for line in read_cdnow():
        per_customer[line.customer_id].append(line)
    customers = {}
    for cid, lines in per_customer.items():
        total = sum((line.dollars for line in lines), Decimal(0))
        dates = [line.date for line in lines]
        customers[cid] = {
            "orders_count": len(lines), "paid_orders_count": len(lines), "total_paid": total,
            "average_order_value": (total / len(lines)).quantize(Decimal("0.01"), ROUND_HALF_UP),
            "first_order_at": min(dates), "last_order_at": max(dates),
            "days_since_last_order": (AS_OF - max(dates)).days,
        }
    by_pk = dict(Identity.objects.filter(kind="buyer_id").values_list("customer_id", "value"))
    return customers, by_pk


def _d(text):
    return dt.date.fromisoformat(text)


CASES = [
    ({"field": "orders_count", "op": ">=", "value": 5}, lambda c: c["orders_count"] >= 5),
    ({"field": "orders_count", "op": "=", "value": 1}, lambda c: c["orders_count"] == 1),
    ({"field": "orders_count", "op": "!=", "value": 1}, lambda c: c["orders_count"] != 1),
    ({"field": "orders_count", "op": "between", "value": [2, 4]}, lambda c: 2 <= c["orders_count"] <= 4),
    ({"field": "paid_orders_count", "op": "in", "value": [3, 7]}, lambda c: c["paid_orders_count"] in (3, 7)),
    ({"field": "total_paid", "op": ">", "value": 100}, lambda c: c["total_paid"] > 100),
    ({"field": "total_paid", "op": "<", "value": 10}, lambda c: c["total_paid"] < 10),
    ({"field": "total_paid", "op": "between", "value": [50, "75.5"]},
     lambda c: Decimal(50) <= c["total_paid"] <= Decimal("75.5")),
    ({"field": "total_paid", "op": "=", "value": 0}, lambda c: c["total_paid"] == 0),
    ({"field": "net_paid", "op": ">=", "value": "250.99"}, lambda c: c["total_paid"] >= Decimal("250.99")),
    ({"field": "average_order_value", "op": ">", "value": 40}, lambda c: c["average_order_value"] > 40),
    ({"field": "average_order_value", "op": "<=", "value": "12.5"},
     lambda c: c["average_order_value"] <= Decimal("12.5")),
    ({"field": "first_order_at", "op": "before", "value": "1997-02-01"},
     lambda c: c["first_order_at"] < _d("1997-02-01")),
    ({"field": "first_order_at", "op": "=", "value": "1997-01-01"}, lambda c: c["first_order_at"] == _d("1997-01-01")),
    ({"field": "first_order_at", "op": "between", "value": ["1997-03-01", "1997-03-31"]},
     lambda c: _d("1997-03-01") <= c["first_order_at"] <= _d("1997-03-31")),
    ({"field": "first_order_at", "op": "after", "value": "1997-03-15"},
     lambda c: c["first_order_at"] > _d("1997-03-15")),
    ({"field": "last_order_at", "op": "within_last_days", "value": 90},
     lambda c: AS_OF - dt.timedelta(days=90) < c["last_order_at"] <= AS_OF),
    ({"field": "last_order_at", "op": "before", "value": "1997-06-01"},
     lambda c: c["last_order_at"] < _d("1997-06-01")),
    ({"field": "last_order_at", "op": ">=", "value": "1998-01-01"},
     lambda c: c["last_order_at"] >= _d("1998-01-01")),
    ({"field": "days_since_last_order", "op": ">", "value": 365}, lambda c: c["days_since_last_order"] > 365),
    ({"field": "days_since_last_order", "op": "<=", "value": 30}, lambda c: c["days_since_last_order"] <= 30),
    ({"field": "days_since_last_order", "op": "=", "value": 100}, lambda c: c["days_since_last_order"] == 100),
    ({"field": "days_since_last_order", "op": "between", "value": [180, 365]},
     lambda c: 180 <= c["days_since_last_order"] <= 365),
    ({"field": "store", "op": "=", "value": "CDNOW"}, lambda c: True),
    ({"field": "refunds_count", "op": ">", "value": 0}, lambda c: False),
]


def test_behaviour_rules_on_cdnow_match_the_file(cdnow):
    customers, by_pk = cdnow
    assert len(customers) == 23570
    failures = []
    for condition, expected in CASES:
        got = {by_pk[pk] for pk in compile_rules({"all": [condition]}, as_of=AS_OF).values_list("pk", flat=True)}
        want = {cid for cid, c in customers.items() if expected(c)}
        if got != want:
            failures.append((condition, len(got), len(want), sorted(got ^ want)[:5]))
    assert not failures, failures


def test_a_saved_segment_on_cdnow_holds_exactly_the_customers_the_file_says(cdnow):
    customers, by_pk = cdnow
    rules = {"all": [{"field": "orders_count", "op": ">=", "value": 3},
                     {"any": [{"field": "total_paid", "op": ">", "value": 200},
                              {"field": "last_order_at", "op": "within_last_days", "value": 180}]}]}
    segment = segment_create(name="CDNOW repeat buyers", rules=rules, as_of=AS_OF)
    want = {cid for cid, c in customers.items() if c["orders_count"] >= 3 and (
        c["total_paid"] > 200 or AS_OF - dt.timedelta(days=180) < c["last_order_at"] <= AS_OF)}
    segment.refresh_from_db()
    assert segment.member_count == len(want) > 1000
    members = segment.memberships.filter(left_at__isnull=True).values_list("customer_id", flat=True)
    assert {by_pk[pk] for pk in members} == want
