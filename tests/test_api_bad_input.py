"""Bad requests answer 400/413/422 in the API's error format, naming the field, and change nothing — never 500.

Covers what guanxi.api.input_limits refuses (NUL, lone surrogates, integers beyond 64 bits, dates at year 1 or 9999,
too many items), bodies over the upload limit, signed Shopify webhooks with values beyond the columns, and unsafe
methods sent to paths the API does not have (JSON 404/405, not Django's HTML CSRF page). Run on SQLite and on
PostgreSQL: PostgreSQL is where NUL and out-of-range values used to raise inside the database driver.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

from guanxi.api.testing import ApiClient
from guanxi.commerce.models import Order, OrderLine
from guanxi.customers.models import Customer, Tag
from guanxi.customers.services import customer_create
from guanxi.workspaces.models import Platform, Role
from guanxi.workspaces.services import api_token_create, store_create
from test_imports_webhook import ORDER, sign

pytestmark = pytest.mark.django_db

BIG = 2**64  # one past what any 64-bit column holds


@pytest.fixture
def api(workspace, make_member):
    user = make_member(workspace, Role.OWNER)
    return ApiClient(api_token_create(workspace=workspace, user=user, name="test"), user=user)


@pytest.fixture
def customer(workspace):
    return customer_create(name="林伟", tags=["vip"])


def raw(api: ApiClient, method: str, path: str, body: str | bytes):
    """Send `body` exactly as given (json.dumps cannot write a lone surrogate the way a client's escape does)."""
    return api.client.generic(method, "/api/v1" + path, body, content_type="application/json",
                              headers={"Authorization": f"Bearer {api.token}"})


def assert_refused(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert field in error["fields"], error
    assert field in error["message"]
    return error


def snapshot() -> tuple:
    return Customer.objects.count(), Tag.objects.count(), Order.objects.count(), OrderLine.objects.count()


# --- NUL and lone surrogates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "林\x00伟"}, "name"),
    ({"name": "ok", "tags": ["vip", "a\x00b"]}, "tags[1]"),
    ({"name": "ok", "identities": [{"kind": "email", "value": "a\x00@example.com"}]}, "identities[0].value"),
    ({"name": "ok", "custom": {"size": "M\x00"}}, "custom.size"),
])
def test_nul_in_a_body_is_refused_naming_the_field(api, body, field):
    before = snapshot()
    assert_refused(api.post("/customers", body), 422, field)
    assert snapshot() == before


def test_the_refusal_speaks_the_clients_language(api):
    response = api.post("/customers", {"name": "林\x00伟"}, headers={"Accept-Language": "zh-hans"})
    assert_refused(response, 422, "name")
    assert "不能包含 NUL 字符" in response.json()["error"]["fields"]["name"][0]


def test_nul_in_a_patch_changes_nothing(api, customer):
    assert_refused(api.patch(f"/customers/{customer.pk}", {"name": "x\x00", "tags": ["new"]}), 422, "name")
    customer.refresh_from_db()
    assert customer.name == "林伟"
    assert list(customer.customer_tags.values_list("tag__name", flat=True)) == ["vip"]


@pytest.mark.parametrize("params", [{"q": "林\x00"}, {"tag": "v\x00ip"}])
def test_nul_in_a_search_is_refused_naming_the_parameter(api, customer, params):
    assert_refused(api.get("/customers", params), 422, next(iter(params)))


def test_the_web_search_box_ignores_nul(client, workspace, make_member, member_password, customer):
    user = make_member(workspace, Role.OWNER)
    client.login(username=user.username, password=member_password)
    response = client.get("/customers/", {"q": "林\x00伟"})
    assert response.status_code == 200
    assert "林伟" in response.content.decode()


@pytest.mark.parametrize("params", [{"q": "N-1\x00"}, {"store": str(BIG)}, {"store": "-1"}])
def test_the_web_order_search_ignores_what_no_order_has(client, workspace, make_member, member_password, params):
    user = make_member(workspace, Role.OWNER)
    client.login(username=user.username, password=member_password)
    assert client.get("/orders/", params).status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ('{"name": "\\ud800"}', "name"),
    ('{"name": "ok", "tags": ["\\udfff x"]}', "tags[0]"),
    ('{"name": "ok", "custom": {"\\ud800": "M"}}', "custom.\\ud800"),
])
def test_a_lone_surrogate_is_refused_naming_the_field(api, body, field):
    before = snapshot()
    assert_refused(raw(api, "POST", "/customers", body), 422, field)
    assert snapshot() == before


# --- numbers and dates beyond the columns --------------------------------------------------------------------


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/customers", {"owner": BIG}, "owner"),
    ("/customers", {"offset": BIG}, "offset"),
    ("/orders", {"customer": BIG}, "customer"),
    ("/orders", {"store": -BIG}, "store"),
    ("/tasks", {"assignee": BIG}, "assignee"),
    ("/opportunities", {"owner": BIG}, "owner"),
    ("/interactions", {"customer": BIG}, "customer"),
    ("/stores", {"offset": BIG}, "offset"),
])
def test_an_integer_beyond_64_bits_in_a_filter_is_a_422(api, path, params, field):
    assert_refused(api.get(path, params), 422, field)


@pytest.mark.parametrize(("method", "path", "field"), [
    ("GET", f"/customers/{BIG}", "customer_id"),
    ("PATCH", f"/orders/{BIG}", "order_id"),
    ("GET", f"/segments/{BIG}/members", "segment_id"),
    ("DELETE", f"/customers/1/identities/{BIG}", "identity_id"),
])
def test_an_id_beyond_64_bits_in_a_path_is_a_422(api, method, path, field):
    assert_refused(api.request(method, path, {} if method == "PATCH" else None), 422, field)


def test_an_id_beyond_64_bits_in_a_body_is_a_422(api, customer):
    before = snapshot()
    assert_refused(api.post("/customers", {"name": "x", "owner_id": BIG}), 422, "owner_id")
    assert_refused(api.post("/interactions", {"customer_id": BIG, "summary": "x"}), 422, "customer_id")
    assert_refused(api.post(f"/customers/{customer.pk}/merge", {"absorb_id": BIG}), 422, "absorb_id")
    assert snapshot() == before


@pytest.fixture
def order_body(workspace, customer):
    store = store_create(workspace=workspace, name="Shop", platform=Platform.TAOBAO)
    return {"store_id": store.pk, "customer_id": customer.pk, "number": "N-1", "status": "paid",
            "placed_at": "2024-05-01T10:00:00+08:00", "paid_amount": "10.00",
            "lines": [{"title": "T恤", "quantity": 1, "unit_price": "10.00"}]}


@pytest.mark.parametrize("placed_at", ["0001-01-01T00:00:00", "0001-01-01T00:00:00+08:00",
                                       "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59"])
def test_a_time_at_the_calendars_edge_is_a_422_in_any_time_zone(api, order_body, placed_at):
    before = snapshot()
    assert_refused(api.post("/orders", {**order_body, "placed_at": placed_at}), 422, "placed_at")
    assert snapshot() == before


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/orders", {"placed_to": "9999-12-31"}, "placed_to"),
    ("/orders", {"placed_from": "0001-01-01"}, "placed_from"),
])
def test_a_date_at_the_calendars_edge_in_a_filter_is_a_422(api, path, params, field):
    assert_refused(api.get(path, params), 422, field)


def test_dates_at_the_edge_in_other_bodies_are_422s(api, customer):
    assert_refused(api.post("/tasks", {"customer_id": customer.pk, "title": "x", "due_on": "9999-12-31"}),
                   422, "due_on")
    assert_refused(api.post("/segments/preview", {"rules": {"all": []}, "as_of": "0001-01-01"}), 422, "as_of")
    assert_refused(api.patch(f"/customers/{customer.pk}", {"birthday": "0001-01-01"}), 422, "birthday")


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_date_at_the_calendars_edge_in_a_segment_rule_is_refused_with_its_rule_path(api, day):
    rules = {"all": [{"field": "first_order_at", "op": "<=", "value": day}]}
    response = api.post("/segments/preview", {"rules": rules})
    assert response.status_code == 400, response.content
    assert "9998" in response.json()["error"]["fields"]["all[0].value"][0]


def test_a_quantity_beyond_the_column_is_a_400_and_nothing_is_saved(api, order_body):
    before = snapshot()
    body = {**order_body, "lines": [{"title": "T", "quantity": 2**31, "unit_price": "1.00"}]}
    assert_refused(api.post("/orders", body), 400, "lines[0].quantity")
    assert snapshot() == before


@pytest.mark.parametrize("number", [1e300, 2**62, "Infinity", "NaN", "-100000000000000"])
def test_a_custom_number_beyond_its_column_is_refused_naming_the_field(api, customer, number):
    from guanxi.customers.services import custom_field_create

    custom_field_create(key="spend", label="Spend", field_type="number")
    response = api.patch(f"/customers/{customer.pk}", {"custom": {"spend": number}})
    assert response.status_code == 400, response.content
    assert "custom.spend" in response.json()["error"]["fields"]
    assert not customer.custom_values.exists()


# --- bounded lists and bodies --------------------------------------------------------------------------------


def test_more_than_100_tags_in_one_request_is_a_422(api, customer):
    before = snapshot()
    assert_refused(api.post("/customers", {"name": "x", "tags": [f"t{i}" for i in range(101)]}), 422, "tags")
    assert_refused(api.patch(f"/customers/{customer.pk}", {"tags": [f"t{i}" for i in range(10_000)]}), 422, "tags")
    assert snapshot() == before
    assert api.patch(f"/customers/{customer.pk}", {"tags": [f"t{i}" for i in range(100)]}).status_code == 200


def test_a_body_over_the_upload_limit_is_a_413(api):
    before = snapshot()
    note = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = api.post("/customers", {"name": "big", "note": note})
    assert response.status_code == 413, response.content
    error = response.json()["error"]
    assert error["code"] == "too_large" and str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]
    assert snapshot() == before


def test_a_query_with_too_many_fields_is_a_400(api):
    query = "&".join(f"tag={i}" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = api.client.get(f"/api/v1/customers?{query}", headers={"Authorization": f"Bearer {api.token}"})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "bad_request"


def test_a_body_that_is_not_json_is_a_400(api):
    response = raw(api, "POST", "/customers", b'{"name": ')
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


def test_form_values_are_checked_and_uploaded_files_left_unread():
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils.datastructures import MultiValueDict

    from guanxi.api.input_limits import GuanxiParser, Unprocessable

    upload = SimpleUploadedFile("orders.csv", b"number,amount\n\x00,1\n")
    parsed = GuanxiParser().parse_querydict(MultiValueDict({"file": [upload]}), [], None)
    assert parsed["file"] is upload and upload.tell() == 0
    with pytest.raises(Unprocessable) as refused:
        GuanxiParser().parse_querydict(MultiValueDict({"store": ["1\x00"]}), [], None)
    assert list(refused.value.fields) == ["store"]


# --- the Shopify webhook -------------------------------------------------------------------------------------


@pytest.fixture
def shop(workspace):
    from test_imports_webhook import SECRET

    return store_create(workspace=workspace, name="Live Shopify", platform=Platform.SHOPIFY, currency="USD",
                        webhook_secret=SECRET)


def post_webhook(shop, payload):
    body = json.dumps(payload).encode()
    return Client().post(f"/api/v1/webhooks/shopify/{shop.pk}/orders", data=body, content_type="application/json",
                         HTTP_X_SHOPIFY_HMAC_SHA256=sign(body), HTTP_X_SHOPIFY_TOPIC="orders/create")


@pytest.mark.parametrize(("change", "field"), [
    ({"line_items": [{"title": "T", "sku": "T", "quantity": 2**40, "price": "1.00"}]}, "line_items[0].quantity"),
    ({"line_items": [{"title": "T", "sku": "T", "quantity": 1, "price": "1e15"}]}, "line_items[0].price"),
    ({"total_price": "99999999999999999999.00"}, "total_price"),
    ({"subtotal_price": "1000000000000"}, "subtotal_price"),
    ({"refunds": [{"transactions": [{"kind": "refund", "amount": "1e13"}]}]}, "refunds[0].transactions[0].amount"),
    ({"note": "gift\x00wrap"}, "note"),
    ({"billing_address": {"name": "Lin\ud800"}}, "billing_address.name"),
])
def test_a_signed_webhook_with_a_value_beyond_the_columns_is_a_422(shop, change, field):
    before = snapshot()
    assert_refused(post_webhook(shop, {**ORDER, **change}), 422, field)
    assert snapshot() == before


def test_a_signed_webhook_with_many_lines_still_imports(shop):
    lines = [{"title": f"T{i}", "sku": f"S{i}", "quantity": 1, "price": "1.00"} for i in range(150)]
    response = post_webhook(shop, {**ORDER, "line_items": lines})
    assert response.status_code == 200, response.content
    assert OrderLine.objects.count() == 150


# --- paths the API does not have -----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "status"), [
    ("POST", "/api/v1/customers/", 404),
    ("PATCH", "/api/v1/customers/1/", 404),
    ("DELETE", "/api/v1/no-such-thing", 404),
    ("PUT", "/api/v1/orders/1/x/", 404),
    ("POST", "/api/v1/orders/%0A", 404),
    ("POST", "/api/v1/me", 405),
    ("POST", "/api/v1/", 404),
    ("POST", "/api/v1", 404),
    ("DELETE", "/api/v2/customers/1", 404),
    ("PUT", "/api/v1/customers", 405),
])
def test_unsafe_methods_on_paths_the_api_lacks_answer_json_not_the_csrf_page(db, method, path, status):
    from django.urls import reverse

    reverse("web:home")  # the catch-all patterns must stay reversible (Django refuses some regex syntax there)
    client = Client(enforce_csrf_checks=True)  # as a real client: Django's test client skips CSRF by default
    response = client.generic(method, path, "{}", content_type="application/json")
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] in ("not_found", "method_not_allowed")
