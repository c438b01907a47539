"""Settings → API tokens (named, shown once, revoked; owners manage all, members their own) and a Shopify store's
webhook secret with the URL to paste."""

import base64
import hashlib
import hmac
import json

import pytest

from guanxi.workspaces import tenancy
from guanxi.workspaces.models import ApiToken, Role, Store
from guanxi.workspaces.services import api_token_create, store_create
from web_helpers import client_for

pytestmark = pytest.mark.django_db


def _api_status(client, token: str) -> int:
    return client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_member_creates_a_named_token_shown_once_that_works_until_revoked(workspace, make_member):
    sales = make_member(workspace, Role.SALES)
    client = client_for(sales)
    response = client.post("/api-tokens/new/", {"name": "own-site sync"})
    assert response.status_code == 201
    plaintext = response.context["plaintext"]
    assert plaintext.startswith("gx_") and plaintext in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get()
    assert (token.name, token.user_id) == ("own-site sync", sales.pk)
    assert _api_status(client, plaintext) == 200

    listing = client.get("/api-tokens/").content.decode()
    assert "own-site sync" in listing and token.prefix in listing and plaintext not in listing

    assert client.post(f"/api-tokens/{token.id}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert _api_status(client, plaintext) == 401


def test_a_token_needs_a_name(workspace, owner):
    response = client_for(owner).post("/api-tokens/new/", {"name": " "})
    assert response.status_code == 400 and not ApiToken.objects.exists()


def test_members_see_and_revoke_only_their_own_tokens_owners_all(workspace, owner, make_member):
    sales = make_member(workspace, Role.SALES)
    analyst = make_member(workspace, Role.ANALYST)
    api_token_create(workspace=workspace, user=sales, name="sales script")
    api_token_create(workspace=workspace, user=analyst, name="analyst notebook")
    sales_token = ApiToken.objects.get(name="sales script")

    analyst_page = client_for(analyst).get("/api-tokens/").content.decode()
    assert "analyst notebook" in analyst_page and "sales script" not in analyst_page
    assert client_for(analyst).post(f"/api-tokens/{sales_token.id}/revoke/").status_code == 403
    sales_token.refresh_from_db()
    assert sales_token.revoked_at is None

    owner_page = client_for(owner).get("/api-tokens/").content.decode()
    assert "analyst notebook" in owner_page and "sales script" in owner_page
    assert client_for(owner).post(f"/api-tokens/{sales_token.id}/revoke/").status_code == 302
    sales_token.refresh_from_db()
    assert sales_token.revoked_at is not None


def test_another_workspaces_token_is_not_found(workspace, other_workspace, owner, make_member):
    rival = make_member(other_workspace, Role.OWNER)
    api_token_create(workspace=other_workspace, user=rival, name="theirs")
    theirs = ApiToken.all_workspaces.get(name="theirs")
    assert client_for(owner).post(f"/api-tokens/{theirs.id}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert "theirs" not in client_for(owner).get("/api-tokens/").content.decode()


def _signed(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_a_shopify_stores_settings_give_the_webhook_url_and_take_its_secret(workspace, owner, make_member):
    store = store_create(workspace=workspace, name="US shop", platform="shopify", currency="USD")
    taobao = store_create(workspace=workspace, name="淘宝店", platform="taobao")
    client = client_for(owner)
    page = client.get("/settings/").content.decode()
    url = f"http://testserver/api/v1/webhooks/shopify/{store.id}/orders"
    assert url in page and f"/webhooks/shopify/{taobao.id}/" not in page

    assert client.post(f"/settings/stores/{store.id}/webhook/", {"webhook_secret": " shpss_abc123 "}).status_code == 302
    store.refresh_from_db()
    assert store.webhook_secret == "shpss_abc123"
    assert "shpss_abc123" not in client.get("/settings/").content.decode()  # only its last 4 characters show

    # The secret saved here is the one the webhook checks: a body signed with it is accepted past the signature.
    body = json.dumps({"id": 1}).encode()
    unsigned = client.post(url, body, content_type="application/json",
                           headers={"X-Shopify-Hmac-Sha256": _signed("wrong", body)})
    signed = client.post(url, body, content_type="application/json",
                         headers={"X-Shopify-Hmac-Sha256": _signed("shpss_abc123", body)})
    assert unsigned.status_code == 403 and signed.status_code != 403

    sales = make_member(workspace, Role.SALES)
    assert client_for(sales).post(f"/settings/stores/{store.id}/webhook/", {"webhook_secret": "x"}).status_code == 403
    with tenancy.active(workspace):
        assert Store.objects.get(pk=store.pk).webhook_secret == "shpss_abc123"
