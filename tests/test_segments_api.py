"""Segments over the API: preview and CRUD with rule errors at their path, members and history, bulk actions,
exports with masking and injection-safe cells; another workspace's segment is 404 and an analyst's write 403 on
every segment route."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from guanxi.activities.models import Task
from guanxi.api.testing import ApiClient, api_routes
from guanxi.commerce.services import order_create
from guanxi.customers.models import CustomerTag
from guanxi.customers.services import customer_create
from guanxi.insight.models import CustomerScore
from guanxi.segments.models import Segment
from guanxi.segments.services import segment_create, segments_refresh_all
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Role
from guanxi.workspaces.services import api_token_create, store_create
from segments_world import AS_OF, SHANGHAI

pytestmark = pytest.mark.django_db

SEGMENT_ROUTES = [r for r in api_routes() if r.path.startswith("/segments")]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def client_for(workspace, make_member):
    def make(role=Role.OWNER, *, ws=None):
        ws = ws or workspace
        user = make_member(ws, role)
        return ApiClient(api_token_create(workspace=ws, user=user), user=user)

    return make


def make_shop(workspace, *, prefix="", n=6):
    """Customers with phones, addresses, orders and scores; a name that a spreadsheet would run as a formula."""
    with tenancy.active(workspace):
        store = store_create(workspace=workspace, name=f"{prefix}店", platform="taobao")
        customers = []
        for i in range(n):
            customer = customer_create(
                name="=HYPERLINK(\"http://evil\",\"x\")" if i == 0 else f"{prefix}客户{i}",
                identities=[("phone", f"1381234{i:04d}"), ("email", f"c{i}@{prefix or 'x'}.example")],
                province="浙江省", city="杭州市", address="浙江省杭州市西湖区文三路90号", tags=["vip"] if i % 2 else [],
            )
            order_create(store=store, customer=customer, number=f"{prefix}N{i}", status="paid",
                         paid_amount=Decimal(100 * (i + 1)),
                         placed_at=dt.datetime(2024, 6, 1 + i, 12, tzinfo=SHANGHAI))
            CustomerScore.objects.create(workspace=workspace, customer=customer, as_of=AS_OF,
                                         clv=Decimal(1000 - 100 * i), rfm_segment="champions" if i < 3 else "lost",
                                         churn_risk="high" if i % 3 == 0 else "low", p_alive=0.5)
            customers.append(customer)
        segments_refresh_all(as_of=AS_OF)
        segment = segment_create(name=f"{prefix}大客户", rules={"all": [
            {"field": "total_paid", "op": ">=", "value": 200}]}, as_of=AS_OF)
    return customers, segment


def test_preview_counts_exactly_and_samples(workspace, client_for):
    customers, _segment = make_shop(workspace)
    client = client_for(Role.MARKETING)
    response = client.post("/segments/preview", {"rules": {"all": [
        {"field": "rfm_segment", "op": "=", "value": "champions"},
        {"any": [{"field": "tags", "op": "=", "value": "vip"}, {"field": "total_paid", "op": "<", "value": 150}]},
    ]}, "as_of": "2024-06-15", "sample": 5})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2  # 客户0 (100 paid) and 客户1 (vip)
    assert {c["id"] for c in body["sample"]} == {customers[0].pk, customers[1].pk}
    assert body["sample"][0]["rfm_segment"] == "champions" and body["as_of"].startswith("2024-06-15T")
    assert body["facts_rebuilt_at"]


@pytest.mark.parametrize("rules, path", [
    ({"all": [{"field": "name", "op": "=", "value": "x"}, {"any": [{"field": "name", "op": "like", "value": "x"}]}]},
     "all[1].any[0].op"),
    ({"all": [{"field": "no_such_field", "op": "=", "value": 1}]}, "all[0].field"),
    ({"any": [{"field": "total_paid", "op": ">", "value": "lots"}]}, "any[0].value"),
])
def test_bad_rules_answer_400_with_the_path_in_the_rule(workspace, client_for, rules, path):
    client = client_for(Role.OWNER)
    for response in (client.post("/segments/preview", {"rules": rules}),
                     client.post("/segments", {"name": "x", "rules": rules})):
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "invalid" and path in error["fields"], error
    assert not Segment.objects.exists()


def test_segments_are_created_read_updated_and_deleted(workspace, client_for):
    customers, _ = make_shop(workspace)
    client = client_for(Role.SALES)
    created = client.post("/segments", {"name": "高价值", "description": "CLV 高",
                                        "rules": {"all": [{"field": "clv", "op": ">=", "value": 800}]}})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["member_count"] == 3 and body["owner"]["id"] == client.user.pk and not body["builtin"]
    segment_id = body["id"]
    assert client.get(f"/segments/{segment_id}").json()["name"] == "高价值"

    changed = client.patch(f"/segments/{segment_id}", {"rules": {"all": [{"field": "clv", "op": ">=", "value": 900}]}})
    assert changed.status_code == 200 and changed.json()["member_count"] == 2
    bad = client.patch(f"/segments/{segment_id}", {"rules": {"all": [{"field": "clv", "op": "~", "value": 1}]}})
    assert bad.status_code == 400 and "all[0].op" in bad.json()["error"]["fields"]
    listed = client.get("/segments").json()
    assert segment_id in {s["id"] for s in listed["items"]} and listed["count"] == Segment.objects.count()
    assert client.delete(f"/segments/{segment_id}").status_code == 204
    assert client.get(f"/segments/{segment_id}").status_code == 404


def test_built_in_segments_cannot_be_changed_over_the_api(workspace, client_for):
    make_shop(workspace)
    client = client_for(Role.OWNER)
    champions = Segment.objects.get(builtin_key="rfm.champions")
    assert client.get(f"/segments/{champions.pk}").json()["member_count"] == 3
    response = client.patch(f"/segments/{champions.pk}", {"name": "mine"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert client.delete(f"/segments/{champions.pk}").status_code == 400


def test_members_sort_by_scores_and_history_and_sizes_answer(workspace, client_for):
    customers, segment = make_shop(workspace)
    client = client_for(Role.ANALYST)
    members = client.get(f"/segments/{segment.pk}/members", {"sort": "-clv"}).json()
    assert members["count"] == 5
    assert [m["customer"]["id"] for m in members["items"]] == [c.pk for c in customers[1:]]
    ascending = client.get(f"/segments/{segment.pk}/members", {"sort": "total_paid"}).json()
    assert [m["customer"]["total_paid"] for m in ascending["items"]] == ["200.00", "300.00", "400.00", "500.00",
                                                                        "600.00"]
    assert {m["customer"]["currency"] for m in ascending["items"]} == {"CNY"}  # the reporting currency
    history = client.get(f"/segments/{segment.pk}/history", {"kind": "entered"}).json()
    assert history["count"] == 5
    sizes = client.get(f"/segments/{segment.pk}/sizes").json()
    assert [(s["size"], s["entered"], s["left"]) for s in sizes] == [(5, 5, 0)]


def test_refresh_and_bulk_actions_over_the_api(workspace, client_for):
    customers, segment = make_shop(workspace)
    client = client_for(Role.MARKETING)
    assert client.post(f"/segments/{segment.pk}/refresh", {"as_of": "2024-06-16"}).json()["size"] == 5
    assert client.post(f"/segments/{segment.pk}/tag", {"tag": "618活动"}).json() == {"changed": 5}
    assert CustomerTag.objects.filter(tag__name="618活动").count() == 5
    assert client.post(f"/segments/{segment.pk}/assign-owner", {"owner_id": client.user.pk}).json() == {"changed": 5}
    response = client.post(f"/segments/{segment.pk}/tasks", {"title": "回访", "due_on": "2024-06-20",
                                                            "assign_to_customer_owner": True})
    assert response.status_code == 201 and response.json() == {"created": 5}
    assert set(Task.objects.values_list("assignee_id", flat=True)) == {client.user.pk}
    stranger = client.post(f"/segments/{segment.pk}/assign-owner", {"owner_id": 987654})
    assert stranger.status_code == 400 and "owner_id" in stranger.json()["error"]["fields"]


@pytest.mark.parametrize("role, masked", [(Role.SALES, False), (Role.MARKETING, True), (Role.ANALYST, True)])
def test_exports_mask_contacts_for_roles_that_may_not_see_them_and_never_hold_formulas(
        workspace, client_for, role, masked):
    customers, segment = make_shop(workspace)
    Segment.objects.filter(pk=segment.pk)  # noqa: B018
    everyone = segment_create(name="全部", rules={"all": []}, as_of=AS_OF)
    client = client_for(role)
    response = client.get(f"/segments/{everyone.pk}/export", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 1 + 6
    header, first = rows[0], next(r for r in rows[1:] if r[0] == str(customers[0].pk))
    phone, address, name = first[header.index("Phone")], first[header.index("Address")], first[header.index("Name")]
    assert name.startswith("'=")
    # Nothing a spreadsheet would run: only plain numbers such as "+8613812340000" may start with + or -.
    assert all(not cell.startswith(("=", "@", "\t", "\r")) and
               (not cell.startswith(("+", "-")) or re.fullmatch(r"[+-][0-9 .*]+", cell)) for row in rows for cell in row)
    if masked:
        assert phone == "+86 138****0000" and address == "浙江省杭州市****"
    else:
        assert phone == "+8613812340000" and address == "浙江省杭州市西湖区文三路90号"

    response = client.get(f"/segments/{everyone.pk}/export", {"format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 7 and values[0][0] == "Customer ID"
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not any(cell.data_type == "f" for cell in cells)
    row = next(r for r in values[1:] if r[0] == customers[0].pk)
    assert row[1].startswith("'=") and (row[3] == "+86 138****0000") == masked


# --- every segment route: another workspace's segment is 404, an analyst's write is 403 ----------------------

BODIES = {
    "POST /segments": {"name": "新", "rules": {"all": []}},
    "POST /segments/preview": {"rules": {"all": []}},
    "PATCH /segments/{segment_id}": {"description": "x"},
    "DELETE /segments/{segment_id}": None,
    "POST /segments/{segment_id}/refresh": {},
    "POST /segments/{segment_id}/tag": {"tag": "t"},
    "POST /segments/{segment_id}/assign-owner": {"owner_id": None},
    "POST /segments/{segment_id}/tasks": {"title": "回访", "due_on": "2024-06-20"},
}


def test_every_segment_route_is_covered():
    assert {str(r) for r in SEGMENT_ROUTES if r.writes} <= set(BODIES)
    assert len(SEGMENT_ROUTES) >= 14


@pytest.mark.parametrize("route", [r for r in SEGMENT_ROUTES if r.params], ids=str)
def test_another_workspaces_segment_answers_404(route, workspace, other_workspace, client_for):
    _, mine = make_shop(workspace, prefix="my")
    _, theirs = make_shop(other_workspace, prefix="their")
    client = client_for(Role.OWNER)
    response = client.request(route.method, route.url(segment_id=theirs.pk), BODIES.get(str(route)))
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    with tenancy.active(other_workspace):
        theirs = Segment.objects.get(pk=theirs.pk)
        assert theirs.description == "" and not CustomerTag.objects.filter(tag__name="t").exists()
        assert not Task.objects.exists()
    response = client.request(route.method, route.url(segment_id=mine.pk), BODIES.get(str(route)))
    assert response.status_code in (200, 201, 204), response.content


@pytest.mark.parametrize("route", [r for r in SEGMENT_ROUTES if r.writes], ids=str)
def test_an_analyst_may_not_write_through_any_segment_route(route, workspace, client_for):
    _, segment = make_shop(workspace)
    before = (Segment.objects.count(), CustomerTag.objects.count(), Task.objects.count())
    analyst = client_for(Role.ANALYST)
    response = analyst.request(route.method, route.url(segment_id=segment.pk) if route.params else route.url(),
                               BODIES[str(route)])
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "forbidden"
    assert (Segment.objects.count(), CustomerTag.objects.count(), Task.objects.count()) == before
    assert Segment.objects.get(pk=segment.pk).description == ""


@pytest.mark.parametrize("route", [r for r in SEGMENT_ROUTES if not r.writes], ids=str)
def test_an_analyst_may_read_every_segment_route(route, workspace, client_for):
    _, segment = make_shop(workspace)
    analyst = client_for(Role.ANALYST)
    response = analyst.request(route.method, route.url(segment_id=segment.pk) if route.params else route.url())
    assert response.status_code == 200, response.content
