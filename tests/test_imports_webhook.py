"""Shopify's live order feed: HMAC-SHA256 checked both ways, then the same upsert as file imports."""

import base64
import hashlib
import hmac
import json
import logging
from decimal import Decimal

import pytest

from guanxi.activities.models import Interaction
from guanxi.commerce.models import Order
from guanxi.customers.models import Customer
from guanxi.workspaces.models import Platform
from guanxi.workspaces.services import store_create

SECRET = "shpss_test_secret"

ORDER = {
    "id": 5000000009001, "name": "#9001", "email": "Lin.Wei@Example.com", "financial_status": "paid",
    "created_at": "2024-09-01T10:15:00-05:00", "processed_at": "2024-09-01T10:16:00-05:00", "cancelled_at": None,
    "currency": "USD", "total_price": "54.00", "subtotal_price": "50.00", "total_discounts": "0.00",
    "buyer_accepts_marketing": True, "note": "gift wrap",
    "billing_address": {"name": "Lin Wei", "phone": None},
    "line_items": [{"title": "Trail Runner", "sku": "TR-42", "quantity": 1, "price": "50.00"}],
    "refunds": [],
}


@pytest.fixture
def shop(workspace):
    return store_create(workspace=workspace, name="Live Shopify", platform=Platform.SHOPIFY, currency="USD",
                        webhook_secret=SECRET)


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post(client, store, payload, *, signature=None, topic="orders/create"):
    body = json.dumps(payload).encode()
    return client.post(f"/api/v1/webhooks/shopify/{store.pk}/orders", data=body, content_type="application/json",
                       HTTP_X_SHOPIFY_HMAC_SHA256=sign(body) if signature is None else signature,
                       HTTP_X_SHOPIFY_TOPIC=topic)


def test_a_signed_order_is_imported_once(client, shop):
    response = post(client, shop, ORDER)
    assert response.status_code == 200, response.content
    assert response.json() == {"orders_created": 1, "orders_updated": 0, "orders_unchanged": 0}
    order = Order.objects.get(store=shop, number="#9001")
    assert (order.status, order.paid_amount, order.lines.count()) == ("paid", Decimal("54.00"), 1)
    assert order.customer.identities.get(kind="email").value == "lin.wei@example.com"
    assert post(client, shop, ORDER).json()["orders_unchanged"] == 1
    assert Order.objects.count() == 1 and Customer.objects.count() == 1


def test_an_updated_order_changes_in_place_with_a_timeline_record(client, shop):
    post(client, shop, ORDER)
    refunded = {**ORDER, "financial_status": "partially_refunded",
                "refunds": [{"transactions": [{"kind": "refund", "amount": "20.00"}]}]}
    response = post(client, shop, refunded, topic="orders/updated")
    assert response.json()["orders_updated"] == 1
    order = Order.objects.get(number="#9001")
    assert (order.status, order.refunded_amount) == ("partially_refunded", Decimal("20.00"))
    assert "partially_refunded" in Interaction.objects.get(customer=order.customer).body


@pytest.mark.parametrize(("signature", "status"), [("", 401), ("not-base64", 403), (None, 403)])
def test_a_bad_signature_is_refused_and_logged(client, shop, caplog, signature, status):
    body = json.dumps(ORDER).encode()
    wrong = sign(body, "another-secret") if signature is None else signature
    with caplog.at_level(logging.WARNING, logger="guanxi.webhooks"):
        response = post(client, shop, ORDER, signature=wrong)
    assert response.status_code == status
    assert Order.objects.count() == 0
    assert any("Refused Shopify webhook" in record.getMessage() for record in caplog.records)


def test_a_body_changed_after_signing_is_refused(client, shop):
    body = json.dumps(ORDER).encode()
    tampered = {**ORDER, "total_price": "0.01"}
    assert post(client, shop, tampered, signature=sign(body)).status_code == 403
    assert Order.objects.count() == 0


def test_a_store_without_a_secret_refuses_every_webhook(client, workspace):
    bare = store_create(workspace=workspace, name="No secret", platform=Platform.SHOPIFY)
    body = json.dumps(ORDER).encode()
    assert post(client, bare, ORDER, signature=sign(body, "")).status_code == 403


def test_a_store_that_is_not_shopify_answers_404(client, store):
    assert post(client, store, ORDER).status_code == 404
    assert Order.objects.count() == 0


def test_a_signed_but_unreadable_order_is_a_422_and_writes_nothing(client, shop):
    response = post(client, shop, {**ORDER, "created_at": "someday"})
    assert response.status_code == 422 and "someday" in response.json()["error"]["message"]
    assert Order.objects.count() == 0 and Customer.objects.count() == 0
