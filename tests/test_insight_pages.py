"""The insight dashboard on real CDNOW orders: charts and the at-risk list for every role, follow-ups shared out
among sales and service staff in one click, analysts refused, another workspace's customers answer 404."""

import datetime as dt
from collections import Counter

import pytest
from django.urls import reverse

from guanxi.activities.models import Task, TaskKind
from guanxi.analytics import RFM_SEGMENTS
from guanxi.customers.models import Customer
from guanxi.demo.cdnow import CDNOW_MASTER, load_cdnow
from guanxi.insight.selectors import at_risk_list
from guanxi.insight.services import insight_refresh
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import Role
from guanxi.workspaces.services import workspace_currency_set
from web_helpers import ROLES, client_for

AS_OF = dt.date(1998, 6, 30)
URL = "/insight/"
FOLLOW_UPS = "/insight/at-risk/follow-ups/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scored(workspace, tmp_path):
    path = tmp_path / "cdnow_head.txt"
    with open(CDNOW_MASTER) as source:
        path.write_text("".join(next(source) for _ in range(3001)))
    workspace_currency_set(workspace=workspace, currency="USD")  # CDNOW sold in dollars
    load_cdnow(workspace=workspace, path=path)
    insight_refresh(as_of=AS_OF)
    return workspace


def test_the_urls_are_where_the_nav_points():
    assert reverse("insight:dashboard") == URL and reverse("insight:at_risk_follow_ups") == FOLLOW_UPS


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_charts_and_the_at_risk_list(scored, make_member, role):
    html = client_for(make_member(scored, role)).get(URL).content.decode()
    for chart in ("chart-kpis", "chart-lifecycle", "chart-rf", "chart-value", "chart-pareto", "insight-data"):
        assert f'id="{chart}"' in html
    first = at_risk_list().row(0, named=True)
    assert first["reason_en"] in html
    assert (FOLLOW_UPS in html) == (role != Role.ANALYST)


def test_the_dashboard_speaks_chinese(scored, owner):
    html = client_for(owner).get(URL, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert at_risk_list().row(0, named=True)["reason_zh"] in html
    assert "客户洞察" in html and ("高" in html or "中" in html) and ">medium<" not in html
    assert any(chinese in html for _english, chinese in RFM_SEGMENTS.values())


def test_before_the_first_refresh_the_page_says_so(workspace, owner):
    html = client_for(owner).get(URL).content.decode()
    assert "guanxi analytics refresh" in html and "chart-rf" not in html


def test_one_click_shares_the_at_risk_customers_out_among_sales_and_service(scored, make_member):
    sales, service = make_member(scored, Role.SALES), make_member(scored, Role.SERVICE)
    make_member(scored, Role.MARKETING)
    at_risk = at_risk_list(limit=None)["customer_id"].to_list()
    assert len(at_risk) >= 2
    response = client_for(sales).post(FOLLOW_UPS)
    assert response.status_code == 302
    tasks = Task.objects.filter(kind=TaskKind.VISIT)
    assert sorted(tasks.values_list("customer_id", flat=True)) == sorted(at_risk)
    per_person = Counter(tasks.values_list("assignee_id", flat=True))
    assert set(per_person) == {sales.pk, service.pk}
    assert abs(per_person[sales.pk] - per_person[service.pk]) <= 1
    assert all("silent for" in title for title in tasks.values_list("title", flat=True))
    client_for(sales).post(FOLLOW_UPS)
    assert Task.objects.filter(kind=TaskKind.VISIT).count() == len(at_risk)  # a second click adds nothing


def test_one_customer_can_be_followed_up_alone(scored, make_member):
    sales = make_member(scored, Role.SALES)
    chosen = at_risk_list()["customer_id"][0]
    client_for(sales).post(FOLLOW_UPS, {"customer": [chosen]})
    assert list(Task.objects.values_list("customer_id", "assignee_id")) == [(chosen, sales.pk)]


def test_analysts_may_not_create_follow_ups(scored, make_member):
    analyst = make_member(scored, Role.ANALYST)
    assert client_for(analyst).post(FOLLOW_UPS).status_code == 403
    assert not Task.objects.exists()


def test_another_workspaces_customer_answers_404(scored, other_workspace, make_member):
    sales = make_member(scored, Role.SALES)
    with tenancy.active(other_workspace):
        stranger = Customer.objects.create(workspace=other_workspace, name="stranger")
    assert client_for(sales).post(FOLLOW_UPS, {"customer": [stranger.pk]}).status_code == 404
    assert not Task.objects.exists()


def test_another_workspaces_scores_stay_out_of_the_dashboard(scored, other_workspace, make_member):
    outsider = make_member(other_workspace, Role.OWNER)
    html = client_for(outsider).get(URL).content.decode()
    assert "guanxi analytics refresh" in html and "chart-rf" not in html


def test_without_sales_or_service_staff_nothing_is_created_and_the_page_says_why(scored, owner):
    response = client_for(owner).post(FOLLOW_UPS, follow=True)
    assert "No sales or service member" in response.content.decode()
    assert not Task.objects.exists()
