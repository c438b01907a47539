"""The web UI: every page for every role, refusals, other workspaces' objects, search, masking, in-place edits."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, get_resolver, reverse

from guanxi.activities.models import Interaction, Opportunity, Task, TaskStatus
from guanxi.activities.services import interaction_log, task_create
from guanxi.commerce.models import ProductCost
from guanxi.commerce.services import order_create
from guanxi.customers.models import Customer, CustomField
from guanxi.customers.services import customer_create
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Membership, Role, Store, UserPreference
from guanxi.workspaces.selectors import SESSION_KEY
from guanxi.workspaces.services import exchange_rate_set, member_add, user_ensure
from guanxi.workspaces.tenancy import workspace_today
from web_helpers import NON_OWNERS, ROLES, SEE_CONTACT, WRITERS, build_shop, client_for

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def shop(workspace, owner):
    return build_shop(workspace, owner=owner)


@pytest.fixture
def rival(other_workspace, make_member):
    """Another business with its own data, which none of `workspace`'s members may reach."""
    rival_owner = make_member(other_workspace, Role.OWNER, username="rival-owner")
    return build_shop(other_workspace, owner=rival_owner, name="赵敏", phone_prefix="139", order_prefix="2840")


@pytest.fixture
def as_role(workspace, make_member):
    def make(role):
        return client_for(make_member(workspace, role))

    return make


def read_pages(shop):
    return {
        "home": reverse("web:home"),
        "customers": reverse("web:customer_list"),
        "customer search": reverse("web:customer_list") + "?q=5678",
        "customer 360": reverse("web:customer_detail", args=[shop.customer.id]),
        "orders": reverse("web:order_list"),
        "order": reverse("web:order_detail", args=[shop.order.id]),
        "tasks": reverse("web:task_list"),
        "all tasks": reverse("web:task_list") + "?scope=all&due=any",
    }


# --- signing in ---------------------------------------------------------------------------------------------

def test_pages_send_visitors_to_the_sign_in_page(client, shop):
    for url in read_pages(shop).values():
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login"))


def test_signing_in_with_the_password_opens_the_home_page(client, owner, member_password, shop):
    page = client.get(reverse("web:login"))
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post(reverse("web:login"), {"username": "owner", "password": member_password})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")
    home = client.get(reverse("web:home"))
    assert "回访：鞋子合脚吗" in home.content.decode()  # my follow-up due today


def test_a_wrong_password_is_refused(client, owner):
    response = client.post(reverse("web:login"), {"username": "owner", "password": "wrong-password"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_sign_out_needs_a_post(client, owner):
    client.force_login(owner)
    assert client.get(reverse("web:logout")).status_code == 200  # a confirmation page, still signed in
    assert "_auth_user_id" in client.session
    assert client.post(reverse("web:logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_user_without_a_workspace_gets_a_friendly_refusal(client, db, make_member):
    client.force_login(user_ensure(username="drifter", password="long-enough-1"))
    response = client.get(reverse("web:customer_list"))
    assert response.status_code == 403
    assert "not a member of any workspace" in response.content.decode()


# --- every page, every role ---------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_every_read_page_renders_for_every_role(shop, as_role, role):
    client = as_role(role)
    for name, url in read_pages(shop).items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert b"</html>" in response.content


@pytest.mark.parametrize("role", ROLES)
def test_the_360_page_shows_the_whole_customer(shop, as_role, role):
    html = as_role(role).get(reverse("web:customer_detail", args=[shop.customer.id])).content.decode()
    for text in ["王芳", "VIP", "鞋码", "38", "杭州某某贸易", "服装",  # profile, tags, custom fields
                 shop.order.number, "情侣鞋", "袜子", "顺丰速运", "SF00",  # orders with lines and shipments
                 "问了尺码换货", "回访：鞋子合脚吗", "公司团购 50 双",  # interactions, open tasks, opportunities
                 "¥199.00"]:  # KPIs
        assert text in html, text
    assert ("note-summary" in html) == (role != Role.ANALYST)  # the note form only for roles that write


@pytest.mark.parametrize("role", WRITERS)
def test_write_pages_render_for_roles_that_write(shop, as_role, role):
    client = as_role(role)
    assert client.get(reverse("web:customer_new")).status_code == 200
    assert client.get(reverse("web:customer_edit", args=[shop.customer.id])).status_code == 200


def test_settings_render_for_the_owner(shop, owner):
    response = client_for(owner).get(reverse("web:settings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert shop.store.name in html and "owner" in html and "shoe_size" in html


def write_actions(shop):
    """Every write a page can send, as (method, url, data)."""
    c, t, o = shop.customer.id, shop.task.id, shop.opportunity.id
    return [
        ("get", reverse("web:customer_new"), None),
        ("post", reverse("web:customer_new"), {"name": "新客户", "lifecycle_stage": "potential"}),
        ("get", reverse("web:customer_edit", args=[c]), None),
        ("post", reverse("web:customer_edit", args=[c]), {"name": "改名", "lifecycle_stage": "growing"}),
        ("post", reverse("web:customer_note_add", args=[c]), {"note-summary": "x", "note-kind": "note"}),
        ("post", reverse("web:customer_task_add", args=[c]), {"task-title": "x", "task-kind": "follow_up",
                                                              "task-due_on": "2030-01-01"}),
        ("post", reverse("web:customer_opportunity_add", args=[c]), {"opp-title": "x", "opp-stage": "lead",
                                                                     "opp-value": "1"}),
        ("post", reverse("web:customer_identity_add", args=[c]), {"kind": "email", "value": "n@example.com"}),
        ("post", reverse("web:customer_identity_remove", args=[c, shop.identity.id]), {}),
        ("post", reverse("web:customer_consent", args=[c]), {"channel": "email", "granted": "yes", "source": "x"}),
        ("post", reverse("web:opportunity_stage", args=[o]), {"stage": "won"}),
        ("post", reverse("web:task_complete", args=[t]), {"outcome": "ok"}),
    ]


def settings_actions(shop):
    s, m, f = shop.store.id, shop.membership.id, shop.field.id
    return [
        ("get", reverse("web:settings"), None),
        ("post", reverse("web:store_add"), {"name": "JD", "platform": "jd", "currency": "CNY"}),
        ("post", reverse("web:store_edit", args=[s]), {"name": "x", "platform": "jd", "currency": "CNY"}),
        ("post", reverse("web:store_delete", args=[s]), {}),
        ("post", reverse("web:member_add"), {"username": "newbie", "password": "long-enough-1", "role": "sales"}),
        ("post", reverse("web:member_role", args=[m]), {"role": "analyst"}),
        ("post", reverse("web:member_remove", args=[m]), {}),
        ("post", reverse("web:custom_field_add"), {"label": "肤质", "key": "skin", "field_type": "text"}),
        ("post", reverse("web:custom_field_delete", args=[f]), {}),
    ]


def test_the_analyst_can_write_nothing(shop, as_role):
    client = as_role(Role.ANALYST)
    for method, url, data in write_actions(shop):
        response = getattr(client, method)(url, data) if data is not None else getattr(client, method)(url)
        assert response.status_code == 403, url
        response = client.post(url, data or {}, **HX)
        assert response.status_code == 403, url
    assert Customer.objects.count() == 1
    assert Interaction.objects.count() == 1 and Task.objects.get().status == TaskStatus.OPEN
    assert Opportunity.objects.get().stage == "lead"
    assert Customer.objects.get().identities.count() == 3


@pytest.mark.parametrize("role", NON_OWNERS)
def test_settings_refuse_everyone_but_the_owner(shop, as_role, role):
    client = as_role(role)
    for method, url, data in settings_actions(shop):
        response = client.get(url) if method == "get" else client.post(url, data)
        assert response.status_code == 403, url
    assert Store.objects.count() == 1
    assert CustomField.objects.count() == 1


def test_the_settings_link_shows_only_for_the_owner(shop, as_role):
    assert reverse("web:settings") in as_role(Role.OWNER).get(reverse("web:home")).content.decode()
    assert reverse("web:settings") not in as_role(Role.SALES).get(reverse("web:home")).content.decode()


# --- another workspace's objects ------------------------------------------------------------------------------

def _web_patterns_with_ids():
    resolver = get_resolver()
    names = []
    for pattern in resolver.url_patterns:
        if getattr(pattern, "namespace", None) != "web":
            continue
        for sub in pattern.url_patterns:
            if isinstance(sub, URLPattern) and sub.pattern.converters:
                names.append(sub.name)
    return names


def _rival_kwargs(rival):
    from guanxi.commerce.costs import product_cost_set
    from guanxi.workspaces.models import ApiToken
    from guanxi.workspaces.services import api_token_create

    with tenancy.active(rival.workspace):
        cost = ProductCost.objects.first() or product_cost_set(sku="SHOE-1", cost=1)[0]
        if not ApiToken.objects.exists():
            api_token_create(workspace=rival.workspace, user=rival.membership.user, name="rival")
        token = ApiToken.objects.get()
    return {"cost_id": cost.id, "token_id": token.id, **{
        "customer_id": rival.customer.id, "identity_id": rival.identity.id, "order_id": rival.order.id,
        "task_id": rival.task.id, "opportunity_id": rival.opportunity.id, "store_id": rival.store.id,
        "membership_id": rival.membership.id, "field_id": rival.field.id,
        "rate_id": exchange_rate_set(workspace=rival.workspace, currency="USD", rate="7").id,
    }}


def test_the_cross_workspace_test_covers_every_url_with_an_id():
    assert set(_web_patterns_with_ids()) == set(ID_PATTERNS)


ID_PATTERNS = {
    "customer_detail": ("get", {}),
    "customer_edit": ("get", {}),
    "customer_note_add": ("post", {"note-summary": "leak?", "note-kind": "note"}),
    "customer_task_add": ("post", {"task-title": "leak?", "task-kind": "follow_up", "task-due_on": "2030-01-01"}),
    "customer_opportunity_add": ("post", {"opp-title": "leak?", "opp-stage": "lead", "opp-value": "1"}),
    "customer_identity_add": ("post", {"kind": "email", "value": "leak@example.com"}),
    "customer_identity_remove": ("post", {}),
    "customer_consent": ("post", {"channel": "email", "granted": "yes", "source": "x"}),
    "opportunity_stage": ("post", {"stage": "won"}),
    "order_detail": ("get", {}),
    "task_complete": ("post", {"outcome": "leak?"}),
    "store_edit": ("post", {"name": "x", "platform": "jd", "currency": "CNY"}),
    "store_delete": ("post", {}),
    "member_role": ("post", {"role": "analyst"}),
    "member_remove": ("post", {}),
    "custom_field_delete": ("post", {}),
    "rate_delete": ("post", {}),
    "store_webhook": ("post", {"webhook_secret": "leak?"}),
    "cost_delete": ("post", {}),
    "token_revoke": ("post", {}),
}


@pytest.mark.parametrize("name", sorted(ID_PATTERNS))
def test_another_workspaces_object_answers_404(shop, rival, owner, name):
    method, data = ID_PATTERNS[name]
    pattern = next(p for p in get_resolver().namespace_dict["web"][1].url_patterns if getattr(p, "name", "") == name)
    kwargs = {key: _rival_kwargs(rival)[key] for key in pattern.pattern.converters}
    url = reverse(f"web:{name}", kwargs=kwargs)
    client = client_for(owner)
    response = client.get(url) if method == "get" else client.post(url, data)
    assert response.status_code == 404, url
    if method == "post":
        assert client.post(url, data, **HX).status_code == 404
    # nothing changed over there
    with tenancy.active(rival.workspace):
        assert Interaction.objects.count() == 1 and Task.objects.count() == 1
        assert Task.objects.get().status == TaskStatus.OPEN and Opportunity.objects.get().stage == "lead"
        assert rival.customer.identities.count() == 3 and Store.objects.count() == 1
        assert CustomField.objects.count() == 1
        assert Membership.objects.get().role == Role.OWNER


def test_an_identity_of_another_customer_answers_404(shop, owner, workspace):
    other = customer_create(name="李娜", identities=[("phone", "13912345678")])
    url = reverse("web:customer_identity_remove", args=[shop.customer.id, other.identities.get().id])
    assert client_for(owner).post(url).status_code == 404
    assert other.identities.count() == 1


def test_orders_of_another_workspace_are_not_listed_or_found(shop, rival, owner):
    client = client_for(owner)
    html = client.get(reverse("web:order_list")).content.decode()
    assert shop.order.number in html and rival.order.number not in html
    html = client.get(reverse("web:order_list"), {"q": rival.order.number}).content.decode()
    assert reverse("web:order_detail", args=[rival.order.id]) not in html and "No orders match" in html
    assert client.get(reverse("web:order_list"), {"customer": rival.customer.id}).status_code == 404
    for query in ["赵敏", "13912345678", "5678", rival.order.number, "rival_nick_0"]:
        html = client.get(reverse("web:customer_list"), {"q": query}).content.decode()
        assert reverse("web:customer_detail", args=[rival.customer.id]) not in html, query


def test_switching_to_a_workspace_you_are_not_a_member_of_answers_404(shop, rival, owner):
    client = client_for(owner)
    response = client.post(reverse("web:workspace_switch"), {"workspace": rival.workspace.id})
    assert response.status_code == 404
    assert client.session.get(SESSION_KEY) != rival.workspace.id


def test_a_member_of_two_workspaces_switches_between_them(shop, rival, owner):
    member_add(workspace=rival.workspace, user=owner, role=Role.ANALYST)
    client = client_for(owner)
    assert "王芳" in client.get(reverse("web:customer_list")).content.decode()
    response = client.post(reverse("web:workspace_switch"), {"workspace": rival.workspace.id})
    assert response.status_code == 302
    html = client.get(reverse("web:customer_list")).content.decode()
    assert "赵敏" in html and "王芳" not in html
    assert client.get(reverse("web:customer_detail", args=[shop.customer.id])).status_code == 404
    assert client.get(reverse("web:customer_new")).status_code == 403  # an analyst over there
    assert UserPreference.objects.get(user=owner).last_workspace_id == rival.workspace.id


# --- search ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["王芳", "王", "13812345678", "138 1234 5678", "+86 138-1234-5678", "5678",
                                   "buyer0@acme.example", "BUYER0@ACME.EXAMPLE", "acme_nick_0", "{order}",
                                   '="{order}"'])
def test_the_customer_list_finds_a_customer_by_every_path(shop, owner, query):
    query = query.format(order=shop.order.number)  # a Taobao export writes numbers as ="…"
    response = client_for(owner).get(reverse("web:customer_list"), {"q": query})
    html = response.content.decode()
    assert reverse("web:customer_detail", args=[shop.customer.id]) in html, query


def test_a_search_without_matches_says_so_and_offers_to_add(shop, owner):
    html = client_for(owner).get(reverse("web:customer_list"), {"q": "陌生人"}).content.decode()
    assert "No customer matches" in html and reverse("web:customer_new") in html


def test_the_customer_list_filters_by_tag(workspace, owner):
    build_shop(workspace, owner=owner, customers=4)
    html = client_for(owner).get(reverse("web:customer_list"), {"tag": "批次1"}).content.decode()
    assert "王芳1" in html and "王芳2" not in html


def test_the_order_list_filters_by_status_store_and_number(shop, owner):
    client = client_for(owner)
    assert shop.order.number in client.get(reverse("web:order_list"), {"status": "completed"}).content.decode()
    assert shop.order.number not in client.get(reverse("web:order_list"), {"status": "refunded"}).content.decode()
    assert shop.order.number in client.get(reverse("web:order_list"), {"store": shop.store.id}).content.decode()
    assert shop.order.number in client.get(reverse("web:order_list"), {"q": shop.order.number}).content.decode()
    assert "No orders match" in client.get(reverse("web:order_list"), {"q": "nope"}).content.decode()


def test_lists_page_through_results(workspace, owner):
    build_shop(workspace, owner=owner, customers=55)
    client = client_for(owner)
    first = client.get(reverse("web:customer_list")).content.decode()
    second = client.get(reverse("web:customer_list"), {"page": 2}).content.decode()
    assert 'rel="next"' in first and 'rel="next"' not in second
    assert first.count('class="cell-customer"') == 50 and second.count('class="cell-customer"') == 5


# --- queries stay constant ------------------------------------------------------------------------------------

def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("page", ["customer_list", "customer_search", "order_list", "task_list", "home"])
def test_list_pages_use_the_same_number_of_queries_for_3_or_30_rows(workspace, owner, page):
    urls = {
        "customer_list": reverse("web:customer_list"),
        "customer_search": reverse("web:customer_list") + "?q=5678",
        "order_list": reverse("web:order_list"),
        "task_list": reverse("web:task_list") + "?scope=all&due=any",
        "home": reverse("web:home"),
    }
    client = client_for(owner)
    build_shop(workspace, owner=owner, customers=3, orders_per_customer=1)
    _more_customers(workspace, owner, 0)
    few = _count_queries(client, urls[page])
    _more_customers(workspace, owner, 27)
    many = _count_queries(client, urls[page])
    assert many == few, f"{page}: {few} queries with few rows, {many} with many"
    # 14, and 2 for money across currencies: the stores' currencies (the missing-rate notice) and the rates.
    assert many <= 16


def _more_customers(workspace, owner, n):
    """n more customers, each with tags, a phone ending in 5678, an order with a line and a follow-up due today."""
    with tenancy.active(workspace):
        store = Store.objects.first()
        for i in range(n):
            customer = customer_create(name=f"新客{i}", identities=[("phone", f"137{i:04d}5678")],
                                       tags=["VIP", f"t{i}"])
            order_create(store=store, customer=customer, number=f"NEW{i}", status="paid",
                         placed_at=dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc), paid_amount=Decimal("9.90"),
                         lines=[{"title": "袜子", "quantity": 1, "unit_price": Decimal("9.90")}])
            task_create(customer=customer, title="回访", due_on=workspace_today(), assignee=owner)


def test_the_360_page_uses_the_same_number_of_queries_for_a_short_or_long_history(workspace, owner):
    small = build_shop(workspace, owner=owner, customers=1, orders_per_customer=1)
    client = client_for(owner)
    client.get(reverse("web:customer_detail", args=[small.customer.id]))  # the first visit also notes it as recent
    few = _count_queries(client, reverse("web:customer_detail", args=[small.customer.id]))
    with tenancy.active(workspace):
        for k in range(12):
            order_create(store=small.store, customer=small.customer, number=f"MORE{k}", status="shipped",
                         placed_at=dt.datetime(2025, 1, 1 + k, tzinfo=dt.timezone.utc), paid_amount=Decimal("50"),
                         lines=[{"title": f"商品{j}", "quantity": 1, "unit_price": Decimal("25")} for j in range(2)],
                         shipments=[{"carrier": "中通", "tracking_number": f"ZT{k}"}])
            interaction_log(customer=small.customer, summary=f"第{k}次沟通", author=owner)
    many = _count_queries(client, reverse("web:customer_detail", args=[small.customer.id]))
    assert many == few, f"{few} queries for a short history, {many} for a long one"
    assert many <= 22


# --- masking --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_phones_and_addresses_are_masked_for_roles_without_contact_rights(shop, as_role, role):
    client = as_role(role)
    pages = [reverse("web:customer_detail", args=[shop.customer.id]), reverse("web:customer_list"),
             reverse("web:order_detail", args=[shop.order.id])]
    for url in pages:
        html = client.get(url).content.decode()
        if role in SEE_CONTACT:
            assert "+86 138 1234 5678" in html or "13812345678" in html, url
        else:
            assert "13812345678" not in html and "138 1234 5678" not in html, url
            assert "138****5678" in html, url
    detail = client.get(pages[0]).content.decode() + client.get(pages[2]).content.decode()
    assert ("文三路90号" in detail) == (role in SEE_CONTACT)
    if role not in SEE_CONTACT:
        assert "浙江省杭州市****" in detail


def test_the_edit_form_does_not_reveal_the_address_to_marketing(shop, as_role):
    html = as_role(Role.MARKETING).get(reverse("web:customer_edit", args=[shop.customer.id])).content.decode()
    assert "文三路90号" not in html and "13812345678" not in html


# --- writing in place -----------------------------------------------------------------------------------------

def test_a_note_is_added_in_place_and_appears_in_the_timeline(shop, as_role):
    client = as_role(Role.SALES)
    url = reverse("web:customer_note_add", args=[shop.customer.id])
    response = client.post(url, {"note-summary": "想要 42 码", "note-kind": "conversation",
                                 "note-channel": "wechat", "note-body": "周五前发货"}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-swap-oob="afterbegin:#timeline"' in html and "想要 42 码" in html
    assert 'name="note-summary"' in html and 'value="想要 42 码"' not in html  # a fresh, empty form
    note = Interaction.objects.get(summary="想要 42 码")
    assert note.channel == "wechat" and note.body == "周五前发货" and note.author is not None
    detail = client.get(reverse("web:customer_detail", args=[shop.customer.id])).content.decode()
    assert detail.index("想要 42 码") < detail.index(shop.order.number)  # newest first


def test_an_empty_note_shows_the_error_in_the_form_and_saves_nothing(shop, as_role):
    client = as_role(Role.SALES)
    response = client.post(reverse("web:customer_note_add", args=[shop.customer.id]), {"note-summary": "  "}, **HX)
    assert response.status_code == 200
    assert "hx-swap-oob" not in response.content.decode() and 'class="error"' in response.content.decode()
    assert Interaction.objects.count() == 1


def test_without_htmx_a_note_redirects_back_to_the_customer(shop, as_role):
    client = as_role(Role.SERVICE)
    response = client.post(reverse("web:customer_note_add", args=[shop.customer.id]),
                           {"note-summary": "电话回访", "note-kind": "call"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:customer_detail", args=[shop.customer.id]))


def test_a_follow_up_is_added_in_place(shop, as_role, owner):
    client = as_role(Role.SERVICE)
    response = client.post(reverse("web:customer_task_add", args=[shop.customer.id]), {
        "task-title": "确认收货", "task-kind": "shipping", "task-due_on": "2030-05-01", "task-assignee": owner.id,
    }, **HX)
    assert response.status_code == 200
    assert 'hx-swap-oob="beforeend:#open-tasks"' in response.content.decode()
    task = Task.objects.get(title="确认收货")
    assert task.assignee == owner and task.due_on == dt.date(2030, 5, 1) and task.kind == "shipping"


def test_a_follow_up_cannot_go_to_someone_outside_the_workspace(shop, as_role, rival):
    client = as_role(Role.SALES)
    rival_owner = rival.membership.user
    client.post(reverse("web:customer_task_add", args=[shop.customer.id]), {
        "task-title": "x", "task-kind": "follow_up", "task-due_on": "2030-05-01", "task-assignee": rival_owner.id,
    }, **HX)
    assert not Task.objects.filter(assignee=rival_owner).exists()


def test_a_follow_up_is_completed_with_its_outcome(shop, as_role):
    client = as_role(Role.SALES)
    response = client.post(reverse("web:task_complete", args=[shop.task.id]),
                           {"outcome": "客户满意", "layout": "card"}, **HX)
    assert response.status_code == 200 and "客户满意" in response.content.decode()
    task = Task.objects.get(pk=shop.task.id)
    assert task.status == TaskStatus.DONE and task.outcome == "客户满意" and task.completed_at is not None
    html = client.get(reverse("web:task_list") + "?scope=all&status=done&due=any").content.decode()
    assert "客户满意" in html


def test_an_opportunity_is_added_and_moved_along_the_pipeline(shop, as_role):
    client = as_role(Role.SALES)
    client.post(reverse("web:customer_opportunity_add", args=[shop.customer.id]),
                {"opp-title": "春季复购", "opp-stage": "qualified", "opp-value": "800"}, **HX)
    opportunity = Opportunity.objects.get(title="春季复购")
    response = client.post(reverse("web:opportunity_stage", args=[opportunity.id]), {"stage": "won"}, **HX)
    assert response.status_code == 200
    opportunity.refresh_from_db()
    assert opportunity.stage == "won"


def test_a_customer_is_created_with_identities_tags_and_custom_fields(shop, as_role, owner):
    client = as_role(Role.SALES)
    response = client.post(reverse("web:customer_new"), {
        "name": "陈静", "lifecycle_stage": "developing", "phone": "139 8765 4321", "email": "Chen@Example.com",
        "buyer_nick": "静静", "tags": "新客，情侣鞋", "custom_shoe_size": "37", "owner": owner.id,
        "company": "", "birthday": "1990-02-14",
    })
    assert response.status_code == 302
    customer = Customer.objects.get(name="陈静")
    assert {i.value for i in customer.identities.all()} == {"+8613987654321", "chen@example.com", "静静"}
    assert {ct.tag.name for ct in customer.customer_tags.all()} == {"新客", "情侣鞋"}
    assert customer.custom_values.get().value_number == 37 and customer.owner == owner


def test_an_invalid_phone_is_a_field_error_and_nothing_is_saved(shop, as_role):
    client = as_role(Role.SALES)
    response = client.post(reverse("web:customer_new"), {"name": "错号", "lifecycle_stage": "potential",
                                                         "phone": "12345"})
    assert response.status_code == 200
    assert "is not a valid phone number" in response.content.decode() or "not a phone" in response.content.decode()
    assert not Customer.objects.filter(name="错号").exists()


def test_an_identity_that_belongs_to_someone_else_is_refused(shop, as_role):
    client = as_role(Role.SALES)
    response = client.post(reverse("web:customer_new"), {"name": "重复", "lifecycle_stage": "potential",
                                                         "phone": "13812345678"})
    assert "already belongs to customer" in response.content.decode()
    assert not Customer.objects.filter(name="重复").exists()


def test_the_profile_is_edited(shop, as_role):
    client = as_role(Role.SALES)
    response = client.post(reverse("web:customer_edit", args=[shop.customer.id]), {
        "name": "王芳芳", "lifecycle_stage": "mature", "company": "杭州新公司", "industry": "零售",
        "tags": "VIP, 老客", "custom_shoe_size": "", "address": "新地址",
    })
    assert response.status_code == 302
    customer = Customer.objects.get(pk=shop.customer.id)
    assert customer.name == "王芳芳" and customer.lifecycle_stage == "mature" and customer.company == "杭州新公司"
    assert {ct.tag.name for ct in customer.customer_tags.all()} == {"VIP", "老客"}
    assert not customer.custom_values.exists()


def test_marketing_editing_a_profile_keeps_the_address_it_cannot_see(shop, as_role):
    client = as_role(Role.MARKETING)
    client.post(reverse("web:customer_edit", args=[shop.customer.id]), {"name": "王芳", "lifecycle_stage": "mature"})
    customer = Customer.objects.get(pk=shop.customer.id)
    assert customer.lifecycle_stage == "mature" and customer.address == "浙江省杭州市西湖区文三路90号"


def test_identities_and_consent_are_managed_on_the_edit_page(shop, as_role):
    client = as_role(Role.SERVICE)
    url = reverse("web:customer_identity_add", args=[shop.customer.id])
    client.post(url, {"kind": "wechat_openid", "value": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"})
    client.post(url, {"kind": "phone", "value": "139****0000"})  # masked: kept for display only
    customer = Customer.objects.get(pk=shop.customer.id)
    assert customer.identities.filter(kind="wechat_openid").exists()
    assert not customer.identities.filter(value__contains="*").exists()
    response = client.post(url, {"kind": "taobao_ouid", "value": "AAE1"}, follow=True)
    assert "needs its store" in response.content.decode()
    client.post(reverse("web:customer_identity_remove", args=[shop.customer.id, shop.identity.id]))
    assert not customer.identities.filter(pk=shop.identity.id).exists()
    client.post(reverse("web:customer_consent", args=[shop.customer.id]),
                {"channel": "sms", "granted": "no", "source": "电话拒绝"})
    consent = customer.consents.get(channel="sms")
    assert consent.granted is False and consent.source == "电话拒绝"


# --- settings -------------------------------------------------------------------------------------------------

def test_the_owner_manages_stores(shop, owner):
    client = client_for(owner)
    client.post(reverse("web:store_add"), {"name": "京东自营", "platform": "jd", "currency": "cny"})
    store = Store.objects.get(name="京东自营")
    assert store.currency == "CNY"
    client.post(reverse("web:store_edit", args=[store.id]), {"name": "京东旗舰", "platform": "jd", "currency": "CNY"})
    store.refresh_from_db()
    assert store.name == "京东旗舰"
    client.post(reverse("web:store_delete", args=[store.id]))
    assert not Store.objects.filter(pk=store.id).exists()
    response = client.post(reverse("web:store_delete", args=[shop.store.id]), follow=True)
    assert "has orders and cannot be deleted" in response.content.decode()
    assert Store.objects.filter(pk=shop.store.id).exists()


def test_a_duplicate_store_name_is_a_field_error(shop, owner):
    response = client_for(owner).post(reverse("web:store_add"), {"name": shop.store.name, "platform": "jd",
                                                                 "currency": "CNY"})
    assert response.status_code == 400


def test_the_owner_manages_members_and_roles(shop, owner, client):
    admin = client_for(owner)
    admin.post(reverse("web:member_add"), {"username": "xiaoli", "password": "xiaoli-pass-1", "role": "service"})
    membership = Membership.objects.get(user__username="xiaoli")
    assert membership.role == "service"
    assert client.login(username="xiaoli", password="xiaoli-pass-1")
    admin.post(reverse("web:member_role", args=[membership.id]), {"role": "analyst"})
    membership.refresh_from_db()
    assert membership.role == "analyst"
    admin.post(reverse("web:member_remove", args=[membership.id]))
    assert not Membership.objects.filter(user__username="xiaoli").exists()
    response = admin.post(reverse("web:member_add"), {"username": "nopass", "role": "sales"})
    assert response.status_code == 400 and "needs a password" in response.content.decode()


def test_the_last_owner_cannot_step_down_or_leave(shop, owner):
    client = client_for(owner)
    response = client.post(reverse("web:member_role", args=[shop.membership.id]), {"role": "sales"}, follow=True)
    assert "at least one owner" in response.content.decode()
    client.post(reverse("web:member_remove", args=[shop.membership.id]))
    assert Membership.objects.get(pk=shop.membership.id).role == Role.OWNER


def test_the_owner_manages_custom_fields(shop, owner):
    client = client_for(owner)
    client.post(reverse("web:custom_field_add"), {"label": "肤质", "key": "skin", "field_type": "choice",
                                                  "choices": "干性，油性, 混合"})
    field = CustomField.objects.get(key="skin")
    assert field.choices == ["干性", "油性", "混合"]
    response = client.post(reverse("web:custom_field_add"), {"label": "空", "key": "empty", "field_type": "choice"})
    assert response.status_code == 400
    client.post(reverse("web:custom_field_delete", args=[field.id]))
    assert not CustomField.objects.filter(key="skin").exists()


# --- language and time zone -----------------------------------------------------------------------------------

def test_the_language_follows_the_browser(shop, owner):
    client = client_for(owner)
    assert "Customers" in client.get(reverse("web:customer_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    html = client.get(reverse("web:customer_list"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "客户" in html and 'lang="zh-Hans"' in html


def test_the_language_setting_is_saved_and_wins_over_the_browser(shop, owner):
    client = client_for(owner)
    response = client.post(reverse("web:set_language"), {"language": "zh-hans", "next": reverse("web:task_list")})
    assert response.status_code == 302 and response["Location"] == reverse("web:task_list")
    assert response.cookies["guanxi_lang"].value == "zh-hans"
    assert UserPreference.objects.get(user=owner).language == "zh-hans"
    html = client.get(reverse("web:task_list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "回访" in html and 'lang="zh-Hans"' in html
    # A fresh sign-in on another browser gets the saved language back.
    other = Client()
    response = other.post(reverse("web:login"), {"username": "owner", "password": "test-pass-2718"})
    assert response.cookies["guanxi_lang"].value == "zh-hans"
    client.post(reverse("web:set_language"), {"language": ""})
    assert UserPreference.objects.get(user=owner).language == ""


def test_the_language_switch_refuses_to_redirect_elsewhere(owner):
    response = client_for(owner).post(reverse("web:set_language"), {"language": "en", "next": "https://evil.test/"})
    assert response["Location"] == reverse("web:home")


def test_dates_are_shown_in_the_workspace_time_zone(workspace, owner):
    shop = build_shop(workspace, owner=owner)  # the order was placed 2026-03-01 10:00 UTC
    client = client_for(owner)
    url = reverse("web:order_detail", args=[shop.order.id])
    assert "2026-03-01 18:00" in client.get(url).content.decode()  # Asia/Shanghai
    workspace.time_zone = "America/New_York"
    workspace.save()
    assert "2026-03-01 05:00" in client.get(url).content.decode()


def test_the_app_serves_its_own_css_and_js(client):
    for path in ["guanxi/app.css", "guanxi/app.js", "django_htmx/htmx-2.min.js"]:
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path
        b"".join(response.streaming_content)


def test_no_page_loads_anything_from_another_host(shop, owner):
    client = client_for(owner)
    for url in read_pages(shop).values():
        html = client.get(url).content.decode()
        assert not re.search(r'(src|href)="(https?:)?//', html), url


# --- friendly pages -------------------------------------------------------------------------------------------

def test_customers_opened_recently_are_on_the_home_page(workspace, owner):
    shop = build_shop(workspace, owner=owner, customers=12)
    client = client_for(owner)
    oldest = shop.customers[0]  # not among the 8 newest
    assert "Recently opened" not in client.get(reverse("web:home")).content.decode()
    client.get(reverse("web:customer_detail", args=[oldest.id]))
    html = client.get(reverse("web:home")).content.decode()
    recent = html.split("Recently opened")[1].split("Newest customers")[0]
    assert reverse("web:customer_detail", args=[oldest.id]) in recent


def test_refusals_and_missing_pages_explain_themselves(shop, as_role):
    analyst = as_role(Role.ANALYST)
    response = analyst.get(reverse("web:customer_new"))
    assert response.status_code == 403 and "Your role cannot do this" in response.content.decode()
    response = analyst.get(reverse("web:customer_detail", args=[999999]))
    assert response.status_code == 404 and "belongs to another workspace" in response.content.decode()
    zh = analyst.get(reverse("web:customer_new"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "你的角色无权执行此操作" in zh


def test_the_icon_tag_draws_each_named_icon_and_a_circle_for_an_unknown_one():
    from django.template import Context, Template

    def draw(name):
        return Template('{% load guanxi_ui %}{% icon "' + name + '" %}').render(Context())

    assert draw("box").startswith('<svg class="icon"') and 'd="m3.5 7.5 8.5-4' in draw("box")
    assert draw("truck") != draw("box")
    assert draw("no-such-icon").endswith('<circle cx="12" cy="12" r="8"/></svg>')


def test_timeline_times_are_shown_in_the_active_time_zone():
    import datetime as dt
    import zoneinfo

    from django.template import Context, Template
    from django.utils import timezone

    moment = dt.datetime(2026, 3, 1, 16, 30, 5, tzinfo=dt.timezone.utc)  # 00:30 the next day in Shanghai
    with timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        shown = Template("{% load guanxi_ui %}{{ t|minute }} {{ t|iso }} [{{ none|minute }}]").render(
            Context({"t": moment, "none": None}))
    assert shown == "2026-03-02 00:30 2026-03-02T00:30:05+08:00 []"


def test_recently_opened_customers_cost_no_session_write_and_stay_with_their_user_and_workspace(
        workspace, owner, other_workspace):
    from django.conf import settings

    from guanxi.workspaces.services import member_add

    shop = build_shop(workspace, owner=owner, customers=12)
    client = client_for(owner)
    client.get(reverse("web:home"))
    for customer in shop.customers[:3]:
        # The session (a signed cookie) is not re-sent: opening a customer changes nothing in it.
        response = client.get(reverse("web:customer_detail", args=[customer.id]))
        assert settings.SESSION_COOKIE_NAME not in response.cookies
    home = client.get(reverse("web:home")).content.decode()
    recent = home.split("Recently opened")[1].split("Newest customers")[0]
    positions = [recent.index(reverse("web:customer_detail", args=[c.id])) for c in reversed(shop.customers[:3])]
    assert positions == sorted(positions)  # newest first

    # The same cookie does not verify for the other workspace: nothing recent there.
    member_add(workspace=other_workspace, user=owner, role=Role.OWNER)
    client.post(reverse("web:workspace_switch"), {"workspace": other_workspace.pk})
    assert "Recently opened" not in client.get(reverse("web:home")).content.decode()
