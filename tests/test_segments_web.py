"""Segment pages: list, builder with live preview, detail with members/history/chart, bulk actions, exports;
every role sees what it may, writes need a writing role, and another workspace's segment answers 404."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, get_resolver, reverse

from guanxi.activities.models import Task
from guanxi.customers.models import Customer, CustomerTag
from guanxi.insight.models import CustomerScore
from guanxi.segments.models import Segment
from guanxi.segments.services import segment_create, segments_refresh_all
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Role
from segments_world import AS_OF
from web_helpers import ROLES, WRITERS, build_shop, client_for

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
ZJ = {"all": [{"field": "province", "op": "=", "value": "浙江省"}]}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def shop(workspace, owner):
    shop = build_shop(workspace, owner=owner, customers=4)
    for i, customer in enumerate(shop.customers):
        CustomerScore.objects.create(workspace=workspace, customer=customer, as_of=AS_OF, clv=100 * i,
                                     rfm_segment="champions", churn_risk="high", p_alive=0.4)
    segments_refresh_all()
    shop.segment = segment_create(name="浙江客户", rules=ZJ)
    return shop


@pytest.fixture
def as_role(workspace, make_member):
    return lambda role: client_for(make_member(workspace, role))


def _segment_patterns():
    for pattern in get_resolver().url_patterns:
        if getattr(pattern, "namespace", None) == "segments":
            return [p for p in pattern.url_patterns if isinstance(p, URLPattern)]
    raise AssertionError("segments URLs are not installed")


@pytest.mark.parametrize("role", ROLES)
def test_every_read_page_renders_for_every_role(shop, as_role, role):
    client = as_role(role)
    champions = Segment.objects.get(builtin_key="rfm.champions")
    pages = [reverse("segments:index"), reverse("segments:detail", args=[shop.segment.pk]),
             reverse("segments:detail", args=[champions.pk]) + "?sort=-p_alive",
             reverse("segments:detail", args=[shop.segment.pk]) + "?tab=entered&days=30",
             reverse("segments:detail", args=[shop.segment.pk]) + "?tab=left&days=7"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    html = client.get(reverse("segments:detail", args=[champions.pk])).content.decode()
    assert "王芳" in html and "size-chart" in html
    preview = client.post(reverse("segments:preview"), {"rules": json.dumps(ZJ)}, **HX)
    assert preview.status_code == 200 and 'data-count="4"' in preview.content.decode()
    assert client.get(reverse("segments:export", args=[shop.segment.pk, "xlsx"])).status_code == 200
    builder = client.get(reverse("segments:new"))
    assert builder.status_code == (200 if role in WRITERS else 403)


def test_the_preview_reports_errors_at_their_path(shop, owner):
    client = client_for(owner)
    rules = {"all": [{"field": "province", "op": "=", "value": "浙江省"},
                     {"any": [{"field": "total_paid", "op": "like", "value": 1}]}]}
    response = client.post(reverse("segments:preview"), {"rules": json.dumps(rules)}, **HX)
    html = response.content.decode()
    errors = json.loads(html.split('id="rule-errors" type="application/json">')[1].split("</script>")[0])
    assert list(errors) == ["all[1].any[0].op"]


def test_a_segment_is_built_saved_and_edited_through_the_pages(shop, owner):
    client = client_for(owner)
    rules = {"all": [{"field": "tags", "op": "=", "value": "VIP"}, {"field": "clv", "op": ">=", "value": 200}]}
    response = client.post(reverse("segments:new"), {"name": "VIP 高价值", "rules": json.dumps(rules)})
    segment = Segment.objects.get(name="VIP 高价值")
    assert response.status_code == 302 and response["Location"] == reverse("segments:detail", args=[segment.pk])
    assert segment.member_count == 2 and segment.owner == owner
    bad = client.post(reverse("segments:edit", args=[segment.pk]),
                      {"name": "", "rules": json.dumps({"all": [{"field": "clv", "op": "?", "value": 1}]})})
    assert bad.status_code == 400
    assert json.loads(bad.context["builder_data"]["rules"] and json.dumps(bad.context["errors"])).keys() >= {
        "name", "all[0].op"}
    client.post(reverse("segments:edit", args=[segment.pk]), {"name": "VIP", "rules": json.dumps(ZJ)})
    segment.refresh_from_db()
    assert (segment.name, segment.member_count) == ("VIP", 4)
    champions = Segment.objects.get(builtin_key="rfm.champions")
    response = client.get(reverse("segments:edit", args=[champions.pk]))
    assert response.status_code == 302 and f"from={champions.pk}" in response["Location"]
    assert client.post(reverse("segments:delete", args=[segment.pk])).status_code == 302
    assert not Segment.objects.filter(pk=segment.pk).exists()


def test_bulk_actions_from_the_segment_page(shop, owner):
    client = client_for(owner)
    url = reverse("segments:action", args=[shop.segment.pk])
    client.post(url, {"action": "tag", "tag": "双11"})
    assert CustomerTag.objects.filter(tag__name="双11").count() == 4
    client.post(url, {"action": "owner", "owner": str(owner.pk)})
    assert Customer.objects.filter(owner=owner).count() == 4
    client.post(url, {"action": "tasks", "title": "回访：双11", "due_on": "2026-03-10", "kind": "visit",
                      "assignee": "customer_owner"})
    assert Task.objects.filter(title="回访：双11", assignee=owner, kind="visit").count() == 4


@pytest.mark.parametrize("role", [Role.ANALYST])
def test_a_read_only_role_cannot_change_anything(shop, as_role, role):
    client = as_role(role)
    segment = shop.segment
    writes = [
        (reverse("segments:new"), {"name": "x", "rules": json.dumps(ZJ)}),
        (reverse("segments:edit", args=[segment.pk]), {"name": "x", "rules": json.dumps(ZJ)}),
        (reverse("segments:refresh", args=[segment.pk]), {}),
        (reverse("segments:refresh_all"), {}),
        (reverse("segments:delete", args=[segment.pk]), {}),
        (reverse("segments:action", args=[segment.pk]), {"action": "tag", "tag": "x"}),
        (reverse("segments:action", args=[segment.pk]), {"action": "tasks", "title": "x", "due_on": "2026-01-01"}),
    ]
    before = (Segment.objects.count(), CustomerTag.objects.count(), Task.objects.count())
    for url, data in writes:
        assert client.post(url, data).status_code == 403, url
    assert (Segment.objects.count(), CustomerTag.objects.count(), Task.objects.count()) == before
    assert Segment.objects.get(pk=segment.pk).name == "浙江客户"


ID_PAGES = {
    "detail": ("get", {}), "edit": ("post", {"name": "leak", "rules": json.dumps(ZJ)}), "refresh": ("post", {}),
    "delete": ("post", {}), "action": ("post", {"action": "tag", "tag": "leak"}), "export": ("get", {}),
}


def test_the_cross_workspace_test_covers_every_segment_url_with_an_id():
    assert {p.name for p in _segment_patterns() if "segment_id" in p.pattern.converters} == set(ID_PAGES)


@pytest.mark.parametrize("name", sorted(ID_PAGES))
def test_another_workspaces_segment_answers_404(shop, other_workspace, make_member, owner, name):
    rival_owner = make_member(other_workspace, Role.OWNER, username="rival")
    build_shop(other_workspace, owner=rival_owner, phone_prefix="139", order_prefix="2930")
    with tenancy.active(other_workspace):
        theirs = segment_create(name="theirs", rules={"all": []})
    method, data = ID_PAGES[name]
    kwargs = {"segment_id": theirs.pk}
    if name == "export":
        kwargs["fmt"] = "csv"
    url = reverse(f"segments:{name}", kwargs=kwargs)
    client = client_for(owner)
    response = client.get(url) if method == "get" else client.post(url, data)
    assert response.status_code == 404, url
    with tenancy.active(other_workspace):
        assert Segment.objects.get(pk=theirs.pk).name == "theirs"
        assert not CustomerTag.objects.filter(tag__name="leak").exists()


def test_the_member_list_costs_the_same_queries_for_many_members_as_for_few(workspace, owner):
    shop = build_shop(workspace, owner=owner, customers=3)
    segment = segment_create(name="all", rules={"all": []})
    client = client_for(owner)
    url = reverse("segments:detail", args=[segment.pk])
    client.get(url)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = count()
    from guanxi.commerce.services import order_create
    from guanxi.customers.services import customer_create
    from guanxi.segments.services import segment_refresh

    for i in range(12):
        customer = customer_create(name=f"李娜{i}", identities=[("phone", f"1371234{i:04d}")], tags=["VIP"],
                                   owner=owner)
        order_create(store=shop.store, customer=customer, number=f"M{i}", status="paid", paid_amount=50,
                     placed_at=AS_OF)
        CustomerScore.objects.create(workspace=workspace, customer=customer, as_of=AS_OF, clv=i)
    segments_refresh_all()

    segment_refresh(segment=segment)
    assert Segment.objects.get(pk=segment.pk).member_count == 15
    many = count()
    assert many == few and many <= 15, (few, many)


def test_the_segments_link_is_in_the_menu(shop, owner):
    html = client_for(owner).get(reverse("web:home")).content.decode()
    assert reverse("segments:index") in html
