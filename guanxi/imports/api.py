"""Shopify's live feed: POST /api/v1/webhooks/shopify/{store_id}/orders for orders/create and orders/updated.

No bearer token: Shopify signs the raw body with the store's webhook secret (X-Shopify-Hmac-Sha256, base64 of
HMAC-SHA256). A missing signature is 401, a wrong one (or a store without a secret) 403, an id that is not a
Shopify store 404; every refusal is logged.
"""

import base64
import hashlib
import hmac
import json
import logging

from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema

from guanxi.api.errors import ErrorOut

from guanxi.imports.readers import RowError
from guanxi.imports.services import shopify_order_receive
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform, Store

logger = logging.getLogger("guanxi.webhooks")
router = Router(tags=["webhooks"], auth=None)
TOPICS = {"orders/create", "orders/updated"}


def signature_valid(secret: str, body: bytes, signature: str) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return bool(secret) and hmac.compare_digest(expected, signature or "")


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


class WebhookOut(Schema):
    orders_created: int
    orders_updated: int
    orders_unchanged: int


@router.post("/shopify/{store_id}/orders", summary="Shopify order webhook (orders/create, orders/updated)",
             response={200: WebhookOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                       422: ErrorOut})
def shopify_order_webhook(request: HttpRequest, store_id: int):
    signature = request.headers.get("X-Shopify-Hmac-Sha256", "")
    if not signature:
        logger.warning("Refused Shopify webhook for store %s: no signature", store_id)
        return _error(401, "unauthorized", "the X-Shopify-Hmac-Sha256 signature is missing")
    store = Store.all_workspaces.select_related("workspace").filter(pk=store_id, platform=Platform.SHOPIFY).first()
    if store is None:
        logger.warning("Refused Shopify webhook for store %s: no such Shopify store", store_id)
        return _error(404, "not_found", "no such Shopify store")
    if not signature_valid(store.webhook_secret, request.body, signature):
        logger.warning("Refused Shopify webhook for store %s: bad signature", store_id)
        return _error(403, "forbidden", "the webhook signature does not match")
    topic = request.headers.get("X-Shopify-Topic", "")
    if topic not in TOPICS:
        return JsonResponse({"ignored": topic}, status=200)
    try:
        payload = json.loads(request.body)
    except ValueError:
        return _error(400, "bad_request", "the body is not JSON")
    if not isinstance(payload, dict):
        return _error(400, "bad_request", "the body is not a Shopify order")
    with tenancy.active(store.workspace):
        try:
            result = shopify_order_receive(store=store, payload=payload)
        except RowError as exc:
            # 422, not 5xx: Shopify retries a failed delivery for days, and this body will never import.
            fields = {exc.column: [exc.message]} if exc.column else {}
            return JsonResponse({"error": {"code": "invalid", "message": f"{exc.column}: {exc.message}" if exc.column
                                           else exc.message, "fields": fields}}, status=422)
    return JsonResponse({k: result.as_json()[k] for k in ("orders_created", "orders_updated", "orders_unchanged")})
