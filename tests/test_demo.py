"""The demo data: the real CDNOW file loaded exactly and idempotently; the generated Taobao-style shop consistent,
deterministic and streamed in constant memory; build_demo's logins and today's follow-ups."""

import datetime as dt
import json
import tracemalloc
import zoneinfo
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Sum

from guanxi.activities.models import Interaction, Opportunity, Task
from guanxi.activities.selectors import my_follow_ups_today
from guanxi.cli import main
from guanxi.commerce.models import Order, OrderLine, OrderStatus, Shipment
from guanxi.commerce.selectors import order_stats
from guanxi.customers.identity import normalize_phone
from guanxi.customers.models import Consent, Customer, CustomerTag, Identity
from guanxi.demo import DEMO_PASSWORD, DEMO_USERS, build_demo
from guanxi.demo import abroad as A
from guanxi.demo.cdnow import CDNOW_MASTER, load_cdnow
from guanxi.demo.stores import ABROAD_ORDER_SHARE, DEMO_STORES, SHOPIFY, TAOBAO, TMALL, USD_CNY, usd_price_cents
from guanxi.demo.taobao import generate_taobao_store
from guanxi.demo.vocabulary import MOBILE_PREFIXES, PRODUCTS
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import ExchangeRate, Membership, Role, Store
from guanxi.workspaces.services import exchange_rate_set, member_add, user_ensure, workspace_create

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2025, 6, 18, 6, 30, tzinfo=dt.timezone.utc)  # 14:30 in Shanghai
CARRIERS = {"顺丰速运", "中通快递", "圆通速递", "韵达快递"}


def cdnow_by_hand():
    """The master file's facts, computed here with nothing but the standard library."""
    customers, orders, cds, revenue = set(), 0, 0, Decimal("0")
    per_day = Counter()
    with open(CDNOW_MASTER) as handle:
        next(handle)
        for text in handle:
            parts = text.split()
            if parts:
                customers.add(parts[0])
                orders += 1
                cds += int(parts[2])
                revenue += Decimal(parts[3])
                per_day[parts[0], parts[1]] += 1
    return customers, orders, cds, revenue, per_day


# -- CDNOW ----------------------------------------------------------------------------------------------------------

def test_cdnow_loads_every_line_once_and_the_totals_match_the_file(db, capsys):
    customers, orders, cds, revenue, per_day = cdnow_by_hand()
    assert (len(customers), orders, revenue) == (23_570, 69_659, Decimal("2500315.63"))  # as MISSION.md quotes
    workspace = workspace_create(slug="cd", name="CDNOW test", time_zone="Asia/Shanghai")

    first = load_cdnow(workspace=workspace)
    assert (first.customers_created, first.orders_created) == (len(customers), orders)
    with tenancy.active(workspace):
        stats = order_stats(store=first.store)
        assert stats["customers"] == len(customers)
        assert stats["orders"] == stats["paid_orders"] == orders
        # SQLite sums decimals as floats; the cents are exact (the CLI prints them quantized, checked below).
        assert stats["paid_revenue"].quantize(Decimal("0.01")) == revenue
        assert OrderLine.objects.aggregate(n=Sum("quantity"))["n"] == cds
        store = Store.objects.get(name="CDNOW")
        assert (store.platform, store.currency) == ("own_site", "USD")

        one = Identity.objects.select_related("customer").get(kind="buyer_id", value="00001", store=store)
        assert one.customer.name == "CDNOW customer 00001" and one.customer.name_key == "cdnow customer 00001"
        assert one.tail == "0001"
        order = Order.objects.get(store=store, number="00001-19970101-1")
        assert order.customer_id == one.customer_id and order.status == OrderStatus.COMPLETED
        assert order.placed_at.astimezone(SHANGHAI).date() == dt.date(1997, 1, 1)
        assert order.paid_at == order.completed_at == order.placed_at
        line = order.lines.get()
        assert (line.title, line.quantity, line.amount) == ("CD", 1, Decimal("11.77"))
        # Two purchases by one customer on one day are two orders, numbered by their position in the file.
        (cid, day), count = next((key, n) for key, n in per_day.items() if n > 1)
        numbers = set(Order.objects.filter(number__startswith=f"{cid}-{day}-").values_list("number", flat=True))
        assert numbers == {f"{cid}-{day}-{i}" for i in range(1, count + 1)}

    assert main(["stats", "--json", "--store", "CDNOW", "--workspace", "cd"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "customers": len(customers), "orders": orders, "paid_orders": orders, "paid_revenue": str(revenue),
        "refunds": "0.00", "currency": "USD",  # the store's: CDNOW sold in dollars
        "by_currency": {"USD": {"orders": orders, "paid_orders": orders, "paid_revenue": str(revenue),
                                "refunds": "0.00"}},
        "missing_rates": [],
    }

    tables = (Customer, Identity, Order, OrderLine)
    before = [model.all_workspaces.count() for model in tables]
    again = load_cdnow(workspace=workspace)
    assert (again.store, again.customers_created, again.orders_created) == (first.store, 0, 0)
    assert [model.all_workspaces.count() for model in tables] == before


# -- the generated Taobao shop --------------------------------------------------------------------------------------

@pytest.fixture
def staff(db):
    def make(workspace):
        users = []
        for username, role in (("gen-owner", Role.OWNER), ("gen-sales", Role.SALES)):
            user = user_ensure(username=f"{username}-{workspace.slug}", password="generate-2718")
            member_add(workspace=workspace, user=user, role=role)
            users.append(user)
        return users

    return make


def test_generated_shop_has_every_status_with_consistent_money_times_and_shipments(db, staff):
    workspace = workspace_create(slug="gen", name="Generated", time_zone="Asia/Shanghai")
    users = staff(workspace)
    result = generate_taobao_store(workspace=workspace, customers=150, orders=900, seed=3, now=NOW,
                                   staff=[u.pk for u in users], chunk_customers=60)
    assert (result.customers, result.orders) == (150, 900)
    now = NOW
    with tenancy.active(workspace):
        store = Store.objects.get(pk=result.store.pk)
        assert (store.name, store.platform, store.currency) == ("淘宝旗舰店", "taobao", "CNY")
        assert Customer.objects.count() == 150 and Order.objects.count() == 900
        orders = list(Order.objects.all())
        assert {o.status for o in orders} == set(OrderStatus.values)
        shipments = {s.order_id: s for s in Shipment.objects.all()}
        assert len(shipments) == result.shipments > 0
        for o in orders:
            times = [t for t in (o.placed_at, o.paid_at, o.shipped_at, o.completed_at, o.closed_at) if t]
            assert all(o.placed_at <= t <= now for t in times), o.number
            assert o.paid_amount == o.goods_amount + o.shipping_amount - o.discount_amount or not o.paid_at
            assert len(o.number) == 19 and o.currency == "CNY"
            shipment = shipments.get(o.id)
            if o.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.CLOSED):
                assert o.paid_at is None and o.paid_amount == 0 and o.refunded_amount == 0 and shipment is None
            else:
                assert o.paid_at is not None and o.paid_amount > 0
            if o.status == OrderStatus.CLOSED:
                assert o.closed_at is not None
            if o.status == OrderStatus.PAID:
                assert o.shipped_at is None and shipment is None
            if o.status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED):
                assert shipment is not None and shipment.shipped_at == o.shipped_at >= o.paid_at
                assert shipment.carrier in CARRIERS and shipment.tracking_number
            if o.status == OrderStatus.SHIPPED:
                assert shipment.status == "in_transit" and shipment.delivered_at is None and not o.completed_at
            if o.status in (OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED):
                assert shipment.status == "delivered"
                assert o.shipped_at <= shipment.delivered_at <= o.completed_at <= now
            if o.status == OrderStatus.REFUNDED:
                assert o.refunded_amount == o.paid_amount and o.closed_at is not None
            elif o.status == OrderStatus.PARTIALLY_REFUNDED:
                assert 0 < o.refunded_amount < o.paid_amount
            else:
                assert o.refunded_amount == 0
        # The shop's figures agree with the rows.
        stats = order_stats(store=store)
        paid = [o for o in orders if o.status in {"paid", "shipped", "completed", "refunded", "partially_refunded"}]
        assert stats["paid_orders"] == len(paid)
        assert stats["paid_revenue"].quantize(Decimal("0.01")) == sum(o.paid_amount for o in paid)
        line_sums = defaultdict(Decimal)
        for line in OrderLine.objects.all():
            assert line.amount == line.unit_price * line.quantity and line.product_id and line.unit_cost
            line_sums[line.order_id] += line.amount
        assert all(line_sums[o.id] == o.goods_amount for o in orders)

        # Identities: valid E.164 mobiles with their last 4 digits as tail, nicks for everyone, some ouids/emails.
        kinds = Counter(Identity.objects.values_list("kind", flat=True))
        assert kinds["buyer_nick"] == 150 and kinds["phone"] > 100 and kinds["taobao_ouid"] and kinds["email"]
        for value, tail in Identity.objects.filter(kind="phone").values_list("value", "tail"):
            assert normalize_phone(value) == value and value.startswith("+861") and tail == value[-4:]
        assert not Identity.objects.filter(kind="taobao_ouid", store__isnull=True).exists()
        for c in Customer.objects.all():
            assert c.name and c.name_key == c.name.lower() and c.province and c.city and c.country == "CN"
        # Each order keeps its shipping address's parts (region segments and the importers' address rules).
        assert all(o.country == "CN" and o.province and o.city and o.district and
                   o.receiver_address.startswith(o.province + o.city + o.district) for o in orders)
        assert Consent.objects.filter(channel="sms").exists() and CustomerTag.objects.exists()

        # Staff work: chat notes, opportunities in several stages, and each member's follow-ups due today.
        assert Interaction.objects.filter(author__in=users).exists()
        assert len(set(Opportunity.objects.values_list("stage", flat=True))) >= 3
        today = NOW.astimezone(SHANGHAI).date()
        for user in users:
            assert Task.objects.filter(assignee=user, due_on=today, status="open").count() >= 3
            assert my_follow_ups_today(user, now=NOW).exists()
        assert not Task.objects.filter(status="done", completed_at__isnull=True).exists()

    if connection.vendor == "postgresql":  # the bulk settings ended with the loader's block
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"
    with connection.cursor() as cursor:  # the planner has statistics for the loaded tables
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'commerce_order'")
        else:
            cursor.execute("SELECT max(CAST(stat AS INTEGER)) FROM sqlite_stat1 WHERE tbl = 'commerce_order'")
        assert cursor.fetchone()[0] >= 900
    # Every row points at a row that exists (the bulk writer may skip PostgreSQL's per-row FK triggers).
    assert not Order.all_workspaces.exclude(customer__in=Customer.all_workspaces.all()).exists()
    assert not OrderLine.all_workspaces.exclude(order__in=Order.all_workspaces.all()).exists()
    assert not Shipment.all_workspaces.exclude(order__in=Order.all_workspaces.all()).exists()
    assert not Identity.all_workspaces.exclude(customer__in=Customer.all_workspaces.all()).exists()
    assert not Task.all_workspaces.exclude(customer__in=Customer.all_workspaces.all()).exists()


def test_every_mobile_prefix_the_generator_uses_is_a_valid_chinese_mobile():
    for prefix in MOBILE_PREFIXES:
        assert normalize_phone(f"{prefix}12345678") == f"+86{prefix}12345678"


def test_generating_into_a_store_that_has_orders_is_refused(db):
    workspace = workspace_create(slug="twice", name="Twice", time_zone="Asia/Shanghai")
    generate_taobao_store(workspace=workspace, customers=5, orders=10, now=NOW)
    with pytest.raises(ValueError, match="already has orders"):
        generate_taobao_store(workspace=workspace, customers=5, orders=10, now=NOW)


def test_the_shop_sells_in_taobao_tmall_and_shopify_with_buyers_shared_across_stores(db, staff):
    workspace = workspace_create(slug="multi", name="Multi-store", time_zone="Asia/Shanghai")
    users = staff(workspace)
    result = generate_taobao_store(workspace=workspace, customers=200, orders=1000, seed=4, now=NOW,
                                   staff=[u.pk for u in users], stores=DEMO_STORES)
    usd_prices = {sku: usd_price_cents(price) for sku, _, _, price, _, _ in PRODUCTS}
    with tenancy.active(workspace):
        stores = {s.name: s for s in Store.objects.all()}
        assert {(s.name, s.platform, s.currency) for s in stores.values()} == {
            (spec.name, spec.platform, spec.currency) for spec in DEMO_STORES}
        per_store = Counter(Order.objects.values_list("store__name", flat=True))
        assert result.orders == sum(per_store.values()) == 1000 and result.orders_by_store == per_store
        # One chunk: the orders abroad are exactly their share; the Chinese stores take the rest, Taobao most.
        assert per_store[SHOPIFY.name] == round(1000 * ABROAD_ORDER_SHARE)
        assert per_store[TAOBAO.name] > per_store[TMALL.name] > 0

        shopify = stores[SHOPIFY.name]
        usd = list(Order.objects.filter(store=shopify).prefetch_related("lines"))
        assert {o.status for o in usd} == set(OrderStatus.values)  # every status shows in the small store too
        for o in usd:
            assert o.currency == "USD" and o.number.startswith("#") and o.country != "CN" and o.city
            assert o.paid_amount == o.goods_amount + o.shipping_amount - o.discount_amount or not o.paid_at
            assert o.postcode and o.receiver_address.endswith(o.postcode) and o.city in o.receiver_address
            for line in o.lines.all():
                assert line.unit_price * 100 == usd_prices[line.sku] and line.title == A.PRODUCT_TITLES[line.sku]
                assert line.unit_cost < line.unit_price  # a dollar cost, not the yuan one
        assert len({o.number for o in usd}) == len(usd)
        assert {o.country for o in usd} - {"SG"} and all(o.province for o in usd if o.country != "SG")
        carriers = {name for name, _, _ in A.CARRIERS}
        assert set(Shipment.objects.filter(order__store=shopify).values_list("carrier", flat=True)) <= carriers
        assert not Order.objects.exclude(store=shopify).exclude(currency="CNY").exists()

        # Buyers abroad: they live where the Shopify orders go, with an email (Shopify's checkout needs one).
        abroad = Customer.objects.exclude(country="CN")
        assert abroad.exists() and all(c.city for c in abroad)
        assert not abroad.exclude(identities__kind="email").exists()
        for c in abroad.filter(orders__store=shopify).distinct():
            latest = Order.objects.filter(customer=c).order_by("-placed_at").first()
            assert (c.country, c.city, c.postcode) == (latest.country, latest.city, latest.postcode)

        # One customer across stores: the same person (one record, one phone / nick / email) bought in two.
        stores_of = defaultdict(set)
        for customer_id, name in Order.objects.values_list("customer_id", "store__name"):
            stores_of[customer_id].add(name)
        both_chinese = [c for c, names in stores_of.items() if {TAOBAO.name, TMALL.name} <= names]
        with_shopify = [c for c, names in stores_of.items() if {TAOBAO.name, SHOPIFY.name} <= names]
        assert both_chinese and with_shopify
        for customer_id in with_shopify:  # overseas Chinese: their Taobao orders came first, shipped in China
            kinds = set(Identity.objects.filter(customer_id=customer_id).values_list("kind", flat=True))
            assert {"buyer_nick", "email"} <= kinds
            orders = list(Order.objects.filter(customer_id=customer_id).order_by("placed_at", "id")
                          .values_list("store__name", "country"))
            assert {country for name, country in orders if name == TAOBAO.name} == {"CN"}
        assert len(set(Identity.objects.values_list("kind", "value"))) == Identity.objects.count()


def test_generating_several_stores_refuses_before_making_any_when_one_has_orders(db):
    workspace = workspace_create(slug="half", name="Half", time_zone="Asia/Shanghai")
    generate_taobao_store(workspace=workspace, store_name=TMALL.name, customers=5, orders=10, now=NOW)
    with pytest.raises(ValueError, match=TMALL.name):
        generate_taobao_store(workspace=workspace, customers=5, orders=10, now=NOW, stores=DEMO_STORES)
    assert list(Store.all_workspaces.filter(workspace=workspace).values_list("name", flat=True)) == [TMALL.name]


def snapshot(workspace) -> dict:
    """Everything generated in `workspace`, with customers named by their rank instead of their id."""
    rank = {pk: n for n, pk in enumerate(
        Customer.all_workspaces.filter(workspace=workspace).order_by("id").values_list("id", flat=True))}

    def rows(model, *fields, by_customer="customer_id"):
        values = model.all_workspaces.filter(workspace=workspace).values_list(by_customer, *fields)
        return sorted((rank[first], *rest) for first, *rest in values)

    return {
        "customers": list(Customer.all_workspaces.filter(workspace=workspace).order_by("id").values_list(
            "name", "gender", "birthday", "province", "city", "district", "address", "company", "display_phone",
            "lifecycle_stage", "owner_id", "created_at")),
        "identities": rows(Identity, "kind", "value", "tail"),
        "orders": rows(Order, "store__name", "currency", "country", "province", "city", "postcode", "number",
                       "status", "goods_amount", "shipping_amount", "discount_amount",
                       "paid_amount", "refunded_amount", "placed_at", "paid_at", "shipped_at", "completed_at",
                       "closed_at", "receiver_name", "receiver_phone", "receiver_address", "buyer_message"),
        "lines": rows(OrderLine, "order__number", "sku", "title", "quantity", "unit_price", "amount",
                      by_customer="order__customer_id"),
        "shipments": rows(Shipment, "order__number", "carrier", "tracking_number", "status", "shipped_at",
                          "delivered_at", by_customer="order__customer_id"),
        "interactions": rows(Interaction, "summary", "channel", "occurred_at", "author_id"),
        "tasks": rows(Task, "title", "due_on", "status", "assignee_id", "completed_at"),
        "opportunities": rows(Opportunity, "title", "stage", "value", "expected_close", "owner_id"),
        "tags": rows(CustomerTag, "tag__name"),
        "consents": rows(Consent, "channel", "granted"),
    }


@pytest.mark.django_db(transaction=True)
def test_one_seed_makes_the_same_shop_whether_written_in_one_thread_or_two():
    # Two runs, one seed: on PostgreSQL the second writes from a separate thread and connection.
    workspaces = [workspace_create(slug=f"same-{n}", name="Same", time_zone="Asia/Shanghai") for n in range(3)]
    user = user_ensure(username="seed-sales", password="generate-2718")
    for workspace in workspaces:
        member_add(workspace=workspace, user=user, role=Role.SALES)
    common = dict(customers=120, orders=700, now=NOW, staff=[user.pk], chunk_customers=50, stores=DEMO_STORES)
    generate_taobao_store(workspace=workspaces[0], seed=11, parallel=False, **common)
    generate_taobao_store(workspace=workspaces[1], seed=11, parallel=connection.vendor == "postgresql", **common)
    generate_taobao_store(workspace=workspaces[2], seed=12, parallel=False, **common)
    first, second, other = (snapshot(w) for w in workspaces)
    assert first == second
    assert len(first["orders"]) == 700 and first["shipments"] and first["tasks"]
    assert {row[1] for row in first["orders"]} == {spec.name for spec in DEMO_STORES}
    assert first["customers"] != other["customers"] and first["orders"] != other["orders"]


def test_twice_the_orders_do_not_take_more_memory(db):
    workspace = workspace_create(slug="mem", name="Memory", time_zone="Asia/Shanghai")

    def peak(orders: int, name: str) -> int:
        tracemalloc.start()
        try:
            generate_taobao_store(workspace=workspace, store_name=name, customers=100, orders=orders, seed=5,
                                  now=NOW, chunk_orders=250, parallel=False)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    generate_taobao_store(workspace=workspace, store_name="warm-up", customers=20, orders=100, now=NOW)
    single = peak(1000, "single")
    double = peak(2000, "double")
    assert double < single * 1.2, (single, double)


# -- build_demo -----------------------------------------------------------------------------------------------------

def test_build_demo_makes_logins_for_every_role_and_loading_again_adds_nothing(db, tmp_path):
    cdnow = tmp_path / "cdnow_head.txt"  # the whole file is loaded by the CDNOW test above; a slice is enough here
    with open(CDNOW_MASTER) as source:
        cdnow.write_text("".join(next(source) for _ in range(501)))
    login = build_demo(customers=80, orders=400, now=NOW, cdnow_path=cdnow)
    assert (login.username, login.password, login.workspace.slug) == ("demo", DEMO_PASSWORD, "demo")
    assert login.workspace.time_zone == "Asia/Shanghai" and login.workspace.name == "演示店铺 Demo shop"
    assert (login.cdnow_orders_created, login.taobao_orders_created) == (500, 400)
    User = get_user_model()
    roles = dict(Membership.all_workspaces.filter(workspace=login.workspace).values_list("user__username", "role"))
    assert roles == {username: role.value for username, role in DEMO_USERS}
    assert User.objects.get(username="demo").check_password(DEMO_PASSWORD)
    xiaoli = User.objects.get(username="xiaoli")
    with tenancy.active(login.workspace):
        # CDNOW: its own workspace; the generated shop's three stores here.
        assert set(Store.objects.values_list("name", flat=True)) == {spec.name for spec in DEMO_STORES}
        today = my_follow_ups_today(xiaoli, now=NOW).filter(due_on=NOW.astimezone(SHANGHAI).date())
        assert today.count() >= 3
        orders = Order.objects.count()

        # The illustrative USD rate, so the Shopify store's dollars count in the yuan figures.
        assert list(ExchangeRate.objects.values_list("currency", "rate", "valid_from")) == [("USD", USD_CNY, None)]
    exchange_rate_set(workspace=login.workspace, currency="USD", rate="6.9")  # the owner's own

    again = build_demo(customers=80, orders=400, now=NOW, cdnow_path=cdnow)
    assert (again.workspace, again.cdnow_orders_created, again.taobao_orders_created) == (login.workspace, 0, 0)
    with tenancy.active(login.workspace):
        assert list(ExchangeRate.objects.values_list("rate", flat=True)) == [Decimal("6.9")]

    # Opened the next day: everyone who works customers again has follow-ups due that day.
    tomorrow = NOW + dt.timedelta(days=1)
    build_demo(now=tomorrow, cdnow_path=cdnow)
    with tenancy.active(login.workspace):
        assert Order.objects.count() == orders
        for username in ("demo", "xiaoli", "xiaowang"):
            user = User.objects.get(username=username)
            assert Task.objects.filter(assignee=user, status="open",
                                       due_on=tomorrow.astimezone(SHANGHAI).date()).count() >= 3
