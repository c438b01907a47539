"""Orders over the API: create with lines and shipments, money as decimal strings, filters, updates."""

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.api.testing import ApiClient
from guanxi.commerce.models import Order, OrderLine, Shipment
from guanxi.commerce.services import order_create, product_create
from guanxi.customers.services import customer_create
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform, Role
from guanxi.workspaces.services import api_token_create, store_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Real PBKDF2 costs ~0.25 s per member made; these tests make hundreds. (Login still checks the password.)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client(workspace, make_member):
    user = make_member(workspace, Role.SERVICE)
    return ApiClient(api_token_create(workspace=workspace, user=user), user=user)


@pytest.fixture
def buyer(workspace):
    return customer_create(name="王芳", identities=[("phone", "13812345678")])


def order_body(store, customer, **overrides):
    return {
        "store_id": store.pk, "customer_id": customer.pk, "number": "TB1001", "status": "shipped",
        "placed_at": "2024-05-01T21:30:00+08:00", "paid_at": "2024-05-01T21:31:00+08:00",
        "goods_amount": "258.00", "shipping_amount": "10.00", "discount_amount": "20.00", "paid_amount": "248.00",
        "receiver_name": "王芳", "receiver_phone": "13812345678", "receiver_address": "浙江省杭州市西湖区文三路90号",
        "lines": [
            {"sku": "TS-M", "title": "纯棉T恤 M", "quantity": 2, "unit_price": "99.00"},
            {"sku": "", "title": "赠品袜子", "quantity": 1, "unit_price": "60.00", "amount": "0.00"},
        ],
        "shipments": [{"carrier": "顺丰", "tracking_number": "SF123", "status": "in_transit",
                       "shipped_at": "2024-05-02T09:00:00+08:00"}],
        **overrides,
    }


def test_an_order_is_created_with_its_lines_and_shipments(client, store, buyer):
    product_create(sku="TS-M", title="纯棉T恤 M", price=Decimal("99.00"), cost=Decimal("31.50"))
    response = client.post("/orders", order_body(store, buyer))
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["number"] == "TB1001" and order["status"] == "shipped" and order["currency"] == "CNY"
    assert order["store"] == {"id": store.pk, "name": store.name, "platform": "taobao"}
    assert order["customer"] == {"id": buyer.pk, "name": "王芳"}
    assert (order["goods_amount"], order["shipping_amount"], order["discount_amount"], order["paid_amount"],
            order["refunded_amount"]) == ("258.00", "10.00", "20.00", "248.00", "0.00")
    assert order["placed_at"] == "2024-05-01T13:30:00Z"
    first, gift = order["lines"]
    assert (first["quantity"], first["unit_price"], first["amount"], first["unit_cost"]) == (2, "99.00", "198.00",
                                                                                              "31.50")
    assert first["product_id"] is not None
    assert (gift["amount"], gift["product_id"], gift["unit_cost"]) == ("0.00", None, None)
    assert order["shipments"][0]["carrier"] == "顺丰" and order["shipments"][0]["status"] == "in_transit"
    assert order["receiver_phone"] == "13812345678"
    assert client.get(f"/orders/{order['id']}").json() == order
    assert Order.objects.get().paid_amount == Decimal("248.00")


def test_a_time_without_an_offset_is_read_in_the_workspace_time_zone(client, store, buyer):
    order = client.post("/orders", order_body(store, buyer, placed_at="2024-05-01 21:30:00", lines=[],
                                              shipments=[])).json()
    assert order["placed_at"] == "2024-05-01T13:30:00Z"  # Asia/Shanghai is UTC+8


@pytest.mark.parametrize("overrides, path", [
    ({"number": "TB1001"}, "number"),  # already in this store
    ({"paid_amount": "1.005"}, "paid_amount"),
    ({"paid_amount": "-5.00"}, "paid_amount"),
    ({"paid_amount": "lots"}, "paid_amount"),
    ({"status": "lost_in_mail"}, "status"),
    ({"placed_at": "yesterday"}, "placed_at"),
    ({"store_id": 999999}, "store_id"),
    ({"customer_id": 999999}, "customer_id"),
    ({"lines": [{"title": "x" * 301}]}, "lines[0].title"),
    ({"lines": [{"sku": "A"}]}, "lines[0].title"),
    ({"lines": [{"title": "a", "quantity": -1}]}, "lines[0].quantity"),
    ({"shipments": [{"status": "teleported"}]}, "shipments[0].status"),
    ({"currency": "RMB_YUAN"}, "currency"),
])
def test_a_refused_order_names_the_field_and_saves_nothing(client, store, buyer, overrides, path):
    order_create(store=store, customer=buyer, number="TB1001", status="paid",
                 placed_at=dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc))
    response = client.post("/orders", order_body(store, buyer, **{"number": "TB2002", **overrides}))
    assert response.status_code == 400, response.content
    assert path in response.json()["error"]["fields"], response.json()
    assert Order.objects.count() == 1 and not OrderLine.objects.exists() and not Shipment.objects.exists()


def test_a_store_or_customer_of_another_workspace_is_refused(client, store, buyer, other_workspace):
    with tenancy.active(other_workspace):
        their_store = store_create(workspace=other_workspace, name="Rival", platform=Platform.JD)
        their_buyer = customer_create(name="李雷")
    response = client.post("/orders", order_body(store, buyer, store_id=their_store.pk, customer_id=their_buyer.pk))
    assert set(response.json()["error"]["fields"]) == {"store_id"}  # the first missing one stops the request
    response = client.post("/orders", order_body(store, buyer, customer_id=their_buyer.pk))
    assert set(response.json()["error"]["fields"]) == {"customer_id"}
    assert not Order.objects.exists()


@pytest.fixture
def orders(workspace, store, buyer):
    """Orders around a day boundary of Asia/Shanghai, in two stores and for two customers."""
    shanghai = dt.timezone(dt.timedelta(hours=8))
    jd = store_create(workspace=workspace, name="Acme JD", platform=Platform.JD)
    other = customer_create(name="李雷")
    made = {
        "late_may_1": order_create(store=store, customer=buyer, number="A1", status="paid",
                                   placed_at=dt.datetime(2024, 5, 1, 23, 30, tzinfo=shanghai)),
        "early_may_2": order_create(store=store, customer=buyer, number="A2", status="completed",
                                    placed_at=dt.datetime(2024, 5, 2, 0, 10, tzinfo=shanghai)),
        "jd_may_3": order_create(store=jd, customer=other, number="J3", status="refunded",
                                 placed_at=dt.datetime(2024, 5, 3, 12, 0, tzinfo=shanghai)),
    }
    return {"store": store.pk, "jd": jd.pk, "buyer": buyer.pk, "other": other.pk,
            **{k: v.pk for k, v in made.items()}}


def test_orders_filter_by_customer_store_status_number_and_placed_day(client, orders):
    def numbers(**params):
        body = client.get("/orders", params).json()
        assert body["count"] == len(body["items"])
        return [o["number"] for o in body["items"]]

    assert numbers() == ["J3", "A2", "A1"]  # newest first
    assert numbers(customer=orders["buyer"]) == ["A2", "A1"]
    assert numbers(store=orders["jd"]) == ["J3"]
    assert numbers(status="completed") == ["A2"]
    assert numbers(number="A1") == ["A1"]
    assert numbers(placed_from="2024-05-01", placed_to="2024-05-01") == ["A1"]
    assert numbers(placed_from="2024-05-02") == ["J3", "A2"]
    assert numbers(placed_to="2024-05-02") == ["A2", "A1"]
    assert numbers(customer=orders["other"], status="paid") == []
    assert client.get("/orders", {"placed_from": "May 1st"}).status_code == 400


def test_an_order_update_changes_status_amounts_and_times(client, orders):
    url = f"/orders/{orders['late_may_1']}"
    response = client.patch(url, {"status": "partially_refunded", "refunded_amount": "30.50",
                                  "completed_at": "2024-05-09T10:00:00+08:00"})
    assert response.status_code == 200, response.content
    order = response.json()
    assert (order["status"], order["refunded_amount"], order["completed_at"]) == (
        "partially_refunded", "30.50", "2024-05-09T02:00:00Z")
    assert order["number"] == "A1"


@pytest.mark.parametrize("body, path", [
    ({"number": "B1"}, "number"),
    ({"customer_id": 1}, "customer_id"),
    ({"status": None}, "status"),
    ({"refunded_amount": "-1"}, "refunded_amount"),
])
def test_an_order_update_refuses_what_may_not_change(client, orders, body, path):
    url = f"/orders/{orders['late_may_1']}"
    before = client.get(url).json()
    response = client.patch(url, body)
    assert response.status_code == 400
    assert path in response.json()["error"]["fields"]
    assert client.get(url).json() == before


def test_receiver_contact_is_masked_for_roles_that_may_not_see_it(workspace, make_member, store, buyer, client):
    order = client.post("/orders", order_body(store, buyer)).json()
    analyst = make_member(workspace, Role.ANALYST)
    seen = ApiClient(api_token_create(workspace=workspace, user=analyst)).get(f"/orders/{order['id']}").json()
    assert seen["receiver_phone"] == "138****5678"
    assert seen["receiver_address"] == "浙江省杭州市****"
    assert seen["paid_amount"] == "248.00"
