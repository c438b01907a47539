"""Customers over the API: create with identities, tags, custom fields and consents; the UI's search; updates."""

import datetime as dt

import pytest

from guanxi.api.testing import ApiClient
from guanxi.commerce.services import order_create
from guanxi.customers.models import Consent, Customer, CustomerTag, CustomFieldValue, Identity
from guanxi.customers.selectors import search_customer_ids
from guanxi.customers.services import custom_field_create, customer_create
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Platform, Role
from guanxi.workspaces.services import api_token_create, store_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Real PBKDF2 costs ~0.25 s per member made; these tests make hundreds. (Login still checks the password.)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_for(workspace, make_member):
    def make(role=Role.OWNER, *, ws=None, user=None):
        ws = ws or workspace
        user = user or make_member(ws, role)
        return ApiClient(api_token_create(workspace=ws, user=user), user=user)

    return make


@pytest.fixture
def client(client_for):
    return client_for(Role.SALES)


@pytest.fixture
def fields(workspace):
    custom_field_create(key="size", label="尺码", field_type="choice", choices=["S", "M", "L"])
    custom_field_create(key="height", label="身高", field_type="number")
    custom_field_create(key="since", label="首购", field_type="date")


def nothing_saved():
    return not (Customer.objects.exists() or Identity.objects.exists() or CustomerTag.objects.exists()
                or CustomFieldValue.objects.exists() or Consent.objects.exists())


def test_a_customer_is_created_with_identities_tags_custom_fields_and_consents(client, fields, store):
    response = client.post("/customers", {
        "name": "王芳", "gender": "female", "birthday": "1990-03-08", "province": "浙江省", "city": "杭州市",
        "lifecycle_stage": "growing", "company": "芳芳服饰", "industry": "零售",
        "owner_id": client.user.pk,
        "identities": [
            {"kind": "phone", "value": "138 1234 5678"},
            {"kind": "email", "value": " Wang.Fang@Example.COM "},
            {"kind": "buyer_nick", "value": "芳芳小铺"},
            {"kind": "taobao_ouid", "value": "AAF3kx9", "store_id": store.pk},
        ],
        "tags": ["VIP", "复购"],
        "custom": {"size": "M", "height": 165.5, "since": "2021-11-11"},
        "consents": [{"channel": "sms", "granted": True, "source": "shop_form",
                      "recorded_at": "2024-05-01T10:00:00+08:00"}],
    })
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["name"] == "王芳" and created["gender"] == "female" and created["birthday"] == "1990-03-08"
    assert created["owner"]["id"] == client.user.pk
    assert {(i["kind"], i["value"], i["store_id"]) for i in created["identities"]} == {
        ("phone", "+8613812345678", None), ("email", "wang.fang@example.com", None),
        ("buyer_nick", "芳芳小铺", None), ("taobao_ouid", "AAF3kx9", store.pk),
    }
    assert sorted(created["tags"]) == ["VIP", "复购"]
    assert created["custom"] == {"size": "M", "height": "165.5", "since": "2021-11-11"}
    assert created["consents"] == [{"channel": "sms", "granted": True, "recorded_at": "2024-05-01T02:00:00Z",
                                    "source": "shop_form"}]
    assert client.get(f"/customers/{created['id']}").json() == created


@pytest.mark.parametrize("identity, path", [
    ({"kind": "phone", "value": "12345"}, "identities[1]"),
    ({"kind": "phone", "value": "not a phone"}, "identities[1]"),
    ({"kind": "email", "value": "wang@"}, "identities[1]"),
    ({"kind": "email", "value": "w***@example.com"}, "identities[1]"),
    ({"kind": "email"}, "identities[1].value"),
    ({"kind": "qq", "value": "12345"}, "identities[1].kind"),
])
def test_an_invalid_phone_or_email_is_a_field_error_and_nothing_is_saved(client, fields, identity, path):
    response = client.post("/customers", {
        "name": "王芳", "identities": [{"kind": "buyer_nick", "value": "芳芳"}, identity],
        "tags": ["VIP"], "custom": {"size": "M"}, "consents": [{"channel": "sms", "granted": True}],
    })
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [path]
    assert nothing_saved()


def test_every_refused_identity_is_reported_at_once(client):
    response = client.post("/customers", {"identities": [{"kind": "phone", "value": "12345"},
                                                         {"kind": "email", "value": "wang@"}]})
    assert set(response.json()["error"]["fields"]) == {"identities[0]", "identities[1]"}
    assert nothing_saved()


def test_an_identity_that_belongs_to_another_customer_is_refused(client):
    first = client.post("/customers", {"name": "王芳", "identities": [{"kind": "phone", "value": "13812345678"}]})
    assert first.status_code == 201
    response = client.post("/customers", {"name": "王芳2", "identities": [{"kind": "phone", "value": "+86 138-1234-5678"}]})
    assert response.status_code == 400
    assert f"#{first.json()['id']}" in response.json()["error"]["fields"]["identities[0]"][0]
    assert Customer.objects.count() == 1


def test_a_masked_phone_is_kept_for_display_but_is_not_an_identity(client):
    created = client.post("/customers", {"name": "王芳", "identities": [{"kind": "phone", "value": "138****5678"}]})
    assert created.status_code == 201
    assert created.json()["display_phone"] == "138****5678"
    assert created.json()["identities"] == []


@pytest.mark.parametrize("body, path", [
    ({"owner_id": 999999}, "owner_id"),
    ({"custom": {"size": "XXL"}}, "custom.size"),
    ({"custom": {"unknown": "1"}}, "custom.unknown"),
    ({"custom": {"size": ["M"]}}, "custom.size"),
    ({"custom": {"size": True}}, "custom.size"),
    ({"consents": [{"channel": "fax", "granted": True}]}, "consents[0].channel"),
    ({"identities": [{"kind": "taobao_ouid", "value": "AAF3kx9"}]}, "identities[0]"),
    ({"identities": [{"kind": "taobao_ouid", "value": "AAF3kx9", "store_id": 999999}]}, "identities[0].store_id"),
    ({"tags": ["x" * 51]}, "tags"),
    ({"name": "x" * 201}, "name"),
    ({"birthday": "1990-02-30"}, "birthday"),
    ({"lifecycle_stage": "eternal"}, "lifecycle_stage"),
])
def test_create_refusals_name_the_field(client, fields, body, path):
    response = client.post("/customers", {"name": "王芳", **body})
    assert response.status_code == 400, response.content
    assert path in response.json()["error"]["fields"]
    assert nothing_saved()


def test_an_owner_from_another_workspace_is_refused(client, other_workspace, make_member):
    stranger = make_member(other_workspace, Role.OWNER)
    response = client.post("/customers", {"name": "王芳", "owner_id": stranger.pk})
    assert list(response.json()["error"]["fields"]) == ["owner_id"]


@pytest.fixture
def shop(workspace, store, owner):
    """Customers the search and filters should tell apart."""
    wang = customer_create(name="王芳", identities=[("phone", "13812345678"), ("email", "wang@example.com")],
                           tags=["VIP"], owner=owner, lifecycle_stage="growing")
    li = customer_create(name="李雷", identities=[("buyer_nick", "lilei_88"), ("phone", "13900005678")], tags=["新客"])
    han = customer_create(name="韩梅梅", identities=[("email", "han@example.com")], owner=owner)
    order_create(store=store, customer=han, number="TB20240501001", status="paid",
                 placed_at=dt.datetime.fromisoformat("2024-05-01T10:00:00+08:00"))
    return {"wang": wang.pk, "li": li.pk, "han": han.pk}


@pytest.mark.parametrize("q, names", [
    ("5678", {"wang", "li"}),
    ("138 1234 5678", {"wang"}),
    ("+86 13812345678", {"wang"}),
    ("WANG@example.com", {"wang"}),
    ("王", {"wang"}),
    ("韩梅", {"han"}),
    ("lilei_88", {"li"}),
    ("lilei", {"li"}),
    ("TB20240501001", {"han"}),
    ("nobody", set()),
])
def test_q_finds_what_the_ui_search_box_finds(client, shop, q, names):
    body = client.get("/customers", {"q": q}).json()
    found = {item["id"] for item in body["items"]}
    assert found == {shop[n] for n in names}
    assert found == set(search_customer_ids(q))
    assert body["count"] == len(names)


def test_customers_filter_by_tag_owner_and_lifecycle_stage(client, shop, owner):
    def ids(**params):
        return {item["id"] for item in client.get("/customers", params).json()["items"]}

    assert ids() == set(shop.values())
    assert ids(tag="VIP") == {shop["wang"]}
    assert ids(owner=owner.pk) == {shop["wang"], shop["han"]}
    assert ids(lifecycle_stage="growing") == {shop["wang"]}
    assert ids(lifecycle_stage="potential", owner=owner.pk) == {shop["han"]}
    assert ids(q="5678", tag="新客") == {shop["li"]}


def test_customers_are_paged_with_limit_and_offset(client, workspace):
    for i in range(7):
        customer_create(name=f"客户{i}")
    first = client.get("/customers", {"limit": 3}).json()
    assert first["count"] == 7 and [c["name"] for c in first["items"]] == ["客户6", "客户5", "客户4"]
    last = client.get("/customers", {"limit": 3, "offset": 6}).json()
    assert last["count"] == 7 and [c["name"] for c in last["items"]] == ["客户0"]
    assert client.get("/customers", {"limit": 201}).status_code == 400


def test_a_patch_changes_only_what_it_names(client, fields, shop, owner):
    url = f"/customers/{shop['wang']}"
    before = client.get(url).json()
    response = client.patch(url, {"city": "宁波市", "owner_id": None, "tags": ["老客", "VIP"],
                                  "custom": {"size": "L"}, "consents": [{"channel": "email", "granted": False}]})
    assert response.status_code == 200, response.content
    after = response.json()
    assert after["city"] == "宁波市" and after["owner"] is None
    assert sorted(after["tags"]) == ["VIP", "老客"]
    assert after["custom"] == {"size": "L"}
    assert [(c["channel"], c["granted"]) for c in after["consents"]] == [("email", False)]
    unchanged = {k for k in before if k not in {"city", "owner", "tags", "custom", "consents", "updated_at"}}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}

    cleared = client.patch(url, {"custom": {"size": None}, "tags": []}).json()
    assert cleared["custom"] == {} and cleared["tags"] == []


@pytest.mark.parametrize("body, path", [
    ({"name": None}, "name"),
    ({"nmae": "typo"}, "nmae"),
    ({"owner_id": 999999}, "owner_id"),
    ({"custom": {"height": "tall"}}, "custom.height"),
    ({"gender": "robot"}, "gender"),
])
def test_a_refused_patch_names_the_field_and_changes_nothing(client, fields, shop, body, path):
    url = f"/customers/{shop['wang']}"
    before = client.get(url).json()
    response = client.patch(url, {"city": "宁波市", **body})
    assert response.status_code == 400
    assert path in response.json()["error"]["fields"]
    assert client.get(url).json() == before


def test_identities_are_added_and_removed(client, shop, store):
    url = f"/customers/{shop['li']}/identities"
    added = client.post(url, {"kind": "taobao_ouid", "value": "AAF3kx9", "store_id": store.pk})
    assert added.status_code == 201
    identity = next(i for i in added.json()["identities"] if i["kind"] == "taobao_ouid")
    assert identity["store_id"] == store.pk

    taken = client.post(url, {"kind": "email", "value": "wang@example.com"})
    assert taken.status_code == 400 and list(taken.json()["error"]["fields"]) == ["value"]
    assert client.post(url, {"kind": "phone", "value": "123"}).status_code == 400

    assert client.delete(f"{url}/{identity['id']}").status_code == 204
    kinds = {i["kind"] for i in client.get(f"/customers/{shop['li']}").json()["identities"]}
    assert kinds == {"buyer_nick", "phone"}


def test_an_identity_is_removed_only_through_its_own_customer(client, shop):
    wang_phone = Identity.objects.get(customer_id=shop["wang"], kind="phone")
    response = client.delete(f"/customers/{shop['li']}/identities/{wang_phone.pk}")
    assert response.status_code == 404
    assert Identity.objects.filter(pk=wang_phone.pk).exists()


def test_an_identity_store_from_another_workspace_is_refused(client, shop, other_workspace):
    with tenancy.active(other_workspace):
        theirs = store_create(workspace=other_workspace, name="Rival", platform=Platform.TAOBAO)
    response = client.post(f"/customers/{shop['li']}/identities",
                           {"kind": "taobao_ouid", "value": "x1", "store_id": theirs.pk})
    assert list(response.json()["error"]["fields"]) == ["store_id"]
