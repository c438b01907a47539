"""A small shop for segment tests, made through the real services, and a plain-Python reading of segment rules.

`build_world` fills the active workspace with customers of every shape (empty and Chinese names, birthdays or
none, tags, owners, two stores, consents, typed custom fields, orders in every status — some on either side of
midnight in Shanghai, some after `AS_OF` — order lines with SKUs and categories, analytics scores or none, and
merged-away customers). `python_matches` evaluates a rule from raw rows with plain Python, sharing no code with
guanxi.segments, so tests can compare the SQL result with it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

from guanxi.activities.models import Task
from guanxi.commerce.models import Order, OrderLine, Product
from guanxi.commerce.services import order_create, product_create
from guanxi.customers.models import Consent, Customer, CustomerTag, CustomFieldValue, Identity
from guanxi.customers.services import consent_set, custom_field_create, customer_create, identity_add
from guanxi.insight.models import CustomerScore
from guanxi.workspaces.models import Platform
from guanxi.workspaces.services import exchange_rate_set, member_add, store_create, user_ensure

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2024, 6, 15, 10, 0, tzinfo=SHANGHAI)
# The Shopify store sells in dollars: 1 USD = 7 CNY, and 8 from 2024-01-01 on (whole rates keep every converted
# amount exact, so the oracle below needs no rounding rule). Money figures are these conversions' sums.
USD_RATE_CHANGES_ON = dt.date(2024, 1, 1)


def in_yuan(order, field: str) -> Decimal:
    """An order's money `field` in the workspace's reporting currency (CNY), at the rate of its day."""
    amount = getattr(order, field)
    if order.currency == "CNY":
        return amount
    return amount * (8 if _local(order.placed_at) >= USD_RATE_CHANGES_ON else 7)
PAID = {"paid", "shipped", "completed", "refunded", "partially_refunded"}
STATUSES = ["pending_payment", "paid", "shipped", "completed", "closed", "refunded", "partially_refunded"]
RFM = ["champions", "loyal", "potential_loyalist", "new", "promising", "need_attention", "about_to_sleep",
       "at_risk", "cant_lose_them", "hibernating", "lost"]
VALUE = ["important_value", "important_develop", "important_keep", "important_win_back", "general_value",
         "general_develop", "general_keep", "general_win_back"]
NAMES = ["王小明", "李娜", "张伟", "Ann Lee", "JOANNA Smith", "", "刘洋", "陈静", "Bob Stone", "赵小红"]
PROVINCES = [("浙江", "杭州"), ("浙江", "宁波"), ("江苏", "南京"), ("广东", "深圳"), ("", "")]


@dataclasses.dataclass
class World:
    stores: list
    users: list
    customer_ids: list[int]


def _random_instant(rng: random.Random, start: dt.date, end: dt.date) -> dt.datetime:
    day = start + dt.timedelta(days=rng.randrange((end - start).days + 1))
    # Times near midnight in Shanghai land on a different UTC day: day arithmetic must use the workspace zone.
    minute = rng.choice([5, 30, 12 * 60, 23 * 60 + 50, rng.randrange(24 * 60)])
    return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=SHANGHAI)


def build_world(workspace, *, customers: int = 90, seed: int = 7) -> World:
    rng = random.Random(seed)
    taobao = store_create(workspace=workspace, name="Acme Taobao", platform=Platform.TAOBAO)
    shopify = store_create(workspace=workspace, name="Acme Shopify", platform=Platform.SHOPIFY, currency="USD")
    exchange_rate_set(workspace=workspace, currency="USD", rate="7")
    exchange_rate_set(workspace=workspace, currency="USD", rate="8", on=USD_RATE_CHANGES_ON)
    users = []
    for username in ("alice", "bob"):
        user = user_ensure(username=username, password="test-pass-2718")
        member_add(workspace=workspace, user=user, role="sales")
        users.append(user)
    products = [("SKU-A", "shoes"), ("SKU-B", "shoes"), ("SKU-C", "bags"), ("SKU-D", "")]
    for sku, category in products:
        product_create(sku=sku, title=f"Product {sku}", category=category, price=Decimal("99"))
    custom_field_create(key="level", label="Level", field_type="choice", choices=["gold", "silver", "bronze"])
    custom_field_create(key="budget", label="Budget", field_type="number")
    custom_field_create(key="since", label="Member since", field_type="date")
    custom_field_create(key="note", label="Note", field_type="text")

    ids = []
    order_no = 0
    for index in range(customers):
        province, city = rng.choice(PROVINCES)
        birthday = None if rng.random() < 0.3 else dt.date(rng.randint(1960, 2005), rng.randint(1, 12),
                                                          rng.randint(1, 28))
        custom = {}
        if rng.random() < 0.6:
            custom["level"] = rng.choice(["gold", "silver", "bronze"])
        if rng.random() < 0.5:
            custom["budget"] = str(Decimal(rng.randint(0, 100000)) / 100)
        if rng.random() < 0.5:
            custom["since"] = (dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(560))).isoformat()
        if rng.random() < 0.4:
            custom["note"] = rng.choice(["likes Red shoes", "VIP buyer", "退货多", "prefers SF Express"])
        customer = customer_create(
            name=NAMES[index % len(NAMES)] + ("" if index < len(NAMES) else str(index) * (index % 2)),
            gender=rng.choice(["", "female", "male"]), birthday=birthday,
            country="US" if rng.random() < 0.1 else "CN", province=province, city=city,
            district=rng.choice(["", "西湖区", "滨江区"]), industry=rng.choice(["", "retail", "Retail", "服装"]),
            owner=rng.choice([None, *users]), lifecycle_stage=rng.choice(["potential", "developing", "mature"]),
            tags=rng.sample(["vip", "new", "老客户"], rng.randint(0, 2)), custom=custom,
        )
        ids.append(customer.pk)
        Customer.objects.filter(pk=customer.pk).update(
            created_at=_random_instant(rng, dt.date(2023, 1, 1), dt.date(2024, 6, 15)))
        for channel in ("email", "sms", "wechat"):
            if rng.random() < 0.5:
                consent_set(customer=customer, channel=channel, granted=rng.random() < 0.6, source="test")
        if rng.random() < 0.15:  # known to the Shopify store without ever ordering there
            identity_add(customer=customer, kind="buyer_id", value=f"shop-{index}", store=shopify)
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 5])):
            order_no += 1
            status = rng.choice(STATUSES)
            paid = Decimal(rng.randint(500, 90000)) / 100
            refunded = Decimal(0)
            if status == "refunded":
                refunded = paid
            elif status == "partially_refunded":
                refunded = (paid * Decimal("0.3")).quantize(Decimal("0.01"))
            end = dt.date(2024, 6, 20) if rng.random() < 0.1 else dt.date(2024, 6, 15)
            placed = _random_instant(rng, dt.date(2023, 1, 1), end)
            lines = [{"sku": sku, "title": sku, "quantity": 1, "unit_price": paid}
                     for sku, _category in rng.sample(products, rng.randint(1, 2))]
            order_create(
                store=rng.choice([taobao, taobao, shopify]), customer=customer, number=f"N{order_no}",
                status=status, placed_at=placed, lines=lines,
                paid_amount=paid if status in PAID else Decimal(0), refunded_amount=refunded,
                goods_amount=paid,
            )
        if rng.random() < 0.85:
            clv = None if rng.random() < 0.1 else Decimal(rng.randint(0, 500000)) / 100
            CustomerScore.objects.create(
                workspace=workspace, customer=customer, as_of=AS_OF,
                rfm_r=rng.choice([None, 1, 2, 3, 4, 5]), rfm_f=rng.randint(1, 5), rfm_m=rng.randint(1, 5),
                rfm_segment=rng.choice(["", *RFM]), value_class=rng.choice(["", *VALUE]),
                value_tier=rng.choice(["", "A", "B", "C"]),
                lifecycle_stage=rng.choice(["", "developing", "growing", "mature", "terminating"]),
                clv=clv, p_alive=None if rng.random() < 0.1 else rng.random(),
                buy_again=rng.random(), churn_risk=rng.choice(["", "low", "medium", "high"]),
                gross_profit=Decimal(rng.randint(-5000, 50000)) / 100,
            )
    # Merged-away customers never appear in a segment, whatever they match.
    for keep, absorbed in ((ids[0], ids[1]), (ids[2], ids[3])):
        Customer.objects.filter(pk=absorbed).update(merged_into_id=keep)
    return World(stores=[taobao, shopify], users=users, customer_ids=ids)


# Plain-Python reading of rules ---------------------------------------------------------------------------------


def _local(instant: dt.datetime | None) -> dt.date | None:
    return instant.astimezone(SHANGHAI).date() if instant else None


def snapshot() -> dict[int, dict]:
    """Every not-merged customer of the active workspace as a dict of raw facts, read with plain queries."""
    rows = {}
    for c in Customer.objects.filter(merged_into__isnull=True).select_related("owner"):
        rows[c.pk] = {
            "pk": c.pk, "name": c.name, "gender": c.gender, "birthday": c.birthday, "country": c.country,
            "province": c.province, "city": c.city, "district": c.district, "industry": c.industry,
            "owner": {c.owner_id, c.owner.username} if c.owner else set(), "created": _local(c.created_at),
            "lifecycle_profile": c.lifecycle_stage, "tags": set(), "stores": set(), "consent": {}, "custom": {},
            "orders": [], "lines": [], "score": None,
        }
    for ct in CustomerTag.objects.select_related("tag"):
        if ct.customer_id in rows:
            rows[ct.customer_id]["tags"].add(ct.tag.name)
    for consent in Consent.objects.all():
        if consent.customer_id in rows:
            rows[consent.customer_id]["consent"][consent.channel] = consent.granted
    for value in CustomFieldValue.objects.select_related("field"):
        if value.customer_id in rows:
            rows[value.customer_id]["custom"][value.field.key] = value.value
    for identity in Identity.objects.filter(store__isnull=False).select_related("store"):
        if identity.customer_id in rows:
            rows[identity.customer_id]["stores"].add(identity.store.name)
    categories = dict(Product.objects.values_list("sku", "category"))
    orders = {}
    for order in Order.objects.select_related("store"):
        if order.customer_id in rows:
            rows[order.customer_id]["orders"].append(order)
            rows[order.customer_id]["stores"].add(order.store.name)
            orders[order.pk] = order
    for line in OrderLine.objects.all():
        order = orders.get(line.order_id)
        if order is not None and order.status in PAID:
            rows[order.customer_id]["lines"].append((line.sku, categories.get(line.sku, ""), _local(order.placed_at)))
    for score in CustomerScore.objects.all():
        if score.customer_id in rows:
            rows[score.customer_id]["score"] = score
    return rows


def _behaviour(row: dict, key: str, today: dt.date):
    paid = [o for o in row["orders"] if o.status in PAID]
    total = sum((in_yuan(o, "paid_amount") for o in paid), Decimal(0))
    refunded = sum((in_yuan(o, "refunded_amount") for o in row["orders"]), Decimal(0))
    last = max((o.placed_at for o in paid), default=None)
    return {
        "orders_count": len(row["orders"]),
        "paid_orders_count": len(paid),
        "refunds_count": sum(1 for o in row["orders"] if o.refunded_amount > 0),
        "total_paid": total,
        "refunded": refunded,
        "net_paid": total - refunded,
        "average_order_value": (total / len(paid)).quantize(Decimal("0.01"), ROUND_HALF_UP) if paid else None,
        "first_order_at": _local(min((o.placed_at for o in paid), default=None)),
        "last_order_at": _local(last),
        "days_since_last_order": (today - _local(last)).days if last else None,
    }[key]


def field_value(row: dict, key: str, today: dt.date, rows: dict):
    """A customer's value for a rule field: a scalar, a set (tags, owner, stores), or None when unset."""
    if key in ("name", "gender", "country", "province", "city", "district", "industry"):
        return row[key]
    if key == "birthday":
        return row["birthday"]
    if key == "birthday_month":
        return row["birthday"].month if row["birthday"] else None
    if key in ("tags", "owner"):
        return row[key]
    if key == "store":
        return row["stores"]
    if key == "created":
        return row["created"]
    if key.startswith("consent."):
        return row["consent"].get(key.split(".", 1)[1])
    if key.startswith("custom."):
        return row["custom"].get(key.split(".", 1)[1])
    score = row["score"]
    if key == "lifecycle_stage":
        return (score.lifecycle_stage if score and score.lifecycle_stage else "") or row["lifecycle_profile"]
    if key in ("rfm_r", "rfm_f", "rfm_m", "rfm_segment", "value_class", "value_tier", "clv", "p_alive",
               "buy_again", "churn_risk", "gross_profit"):
        if score is None:
            return None
        value = getattr(score, key)
        return value
    return _behaviour(row, key, today)


TEXT_KEYS = {"name", "gender", "country", "province", "city", "district", "industry", "rfm_segment", "value_class",
             "value_tier", "churn_risk", "lifecycle_stage", "custom.level", "custom.note"}
SET_KEYS = {"tags", "owner", "store"}


def _positive(key: str, op: str, value, actual, today: dt.date) -> bool:
    if key in SET_KEYS:
        if op == "is_set":
            return bool(actual)
        wanted = value if op == "in" else [value]
        return bool(actual & set(wanted))
    if key in TEXT_KEYS:
        actual = actual or ""
        if op == "is_set":
            return actual != ""
        if op == "contains":
            return value.lower() in actual.lower()
        if op == "in":
            return actual in value
        return actual == value
    if op == "is_set":
        return actual is not None
    if actual is None:
        return False
    if isinstance(actual, dt.date):
        if op == "within_last_days":
            return today - dt.timedelta(days=value) < actual <= today
        value = [dt.date.fromisoformat(v) for v in value] if isinstance(value, list) else dt.date.fromisoformat(value)
        op = {"before": "<", "after": ">"}.get(op, op)
    elif isinstance(actual, bool):
        pass
    elif isinstance(actual, (Decimal, float, int)):
        convert = float if isinstance(actual, float) else Decimal
        value = [convert(str(v)) for v in value] if isinstance(value, list) else convert(str(value))
    if op == "=":
        return actual == value
    if op == "in":
        return actual in value
    if op == "between":
        return value[0] <= actual <= value[1]
    return {">": actual > value, ">=": actual >= value, "<": actual < value, "<=": actual <= value}[op]


NEGATIONS = {"!=": "=", "not_in": "in", "is_not_set": "is_set"}


def _bought(row, key, op, value, days, today) -> bool:
    wanted = set(value if op in ("in", "not_in") else [value])
    index = 0 if key == "bought_sku" else 1
    hit = any(line[index] in wanted and (not days or today - dt.timedelta(days=days) < line[2] <= today)
              for line in row["lines"])
    return not hit if op in ("!=", "not_in") else hit


TOP_PERCENT = {"clv_top_percent": "clv", "profit_top_percent": "gross_profit"}


def _top(rows: dict, column: str, percent: int) -> set[int]:
    """The ⌈n·p/100⌉ customers first by `column` descending, then by customer id (the documented tie-break)."""
    scored = [(getattr(r["score"], column), pk) for pk, r in rows.items()
              if r["score"] and getattr(r["score"], column) is not None]
    # Every customer with a score row counts, merged-away ones included (the ranking is the workspace's).
    everyone = [(getattr(s, column), s.customer_id) for s in CustomerScore.objects.exclude(**{column: None})]
    ranked = sorted(everyone or scored, key=lambda pair: (-pair[0], pair[1]))
    return {pk for _, pk in ranked[:math.ceil(len(ranked) * percent / 100)]}


def condition_matches(row: dict, cond: dict, today: dt.date, rows: dict) -> bool:
    key, op, value = cond["field"], cond["op"], cond.get("value")
    if key in ("bought_sku", "bought_category"):
        return _bought(row, key, op, value, cond.get("days"), today)
    if key in TOP_PERCENT:
        return row["pk"] in _top(rows, TOP_PERCENT[key], value)
    actual = field_value(row, key, today, rows)
    if op in NEGATIONS:
        return not _positive(key, NEGATIONS[op], value, actual, today)
    return _positive(key, op, value, actual, today)


def rule_matches(row: dict, rule: dict, today: dt.date, rows: dict) -> bool:
    if "all" in rule:
        return all(rule_matches(row, item, today, rows) for item in rule["all"])
    if "any" in rule:
        return any(rule_matches(row, item, today, rows) for item in rule["any"])
    return condition_matches(row, rule, today, rows)


def python_matches(rule: dict, as_of: dt.datetime = AS_OF) -> set[int]:
    rows = snapshot()
    today = as_of.astimezone(SHANGHAI).date()
    return {pk for pk, row in rows.items() if rule_matches(row, rule, today, rows)}


__all__ = ["AS_OF", "World", "build_world", "python_matches", "snapshot", "Task"]
