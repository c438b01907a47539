"""Scores as sortable columns in the customer list: order by lifetime value or profit, both directions, only
customers that have the score, another workspace's scores never shown, the same queries for any page size."""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from guanxi.customers.services import customer_create
from guanxi.insight.models import AnalyticsRun, CustomerScore
from guanxi.workspaces import tenancy
from web_helpers import client_for

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _scored(workspace, name, *, clv, profit, segment="champions"):
    customer = customer_create(name=name)
    run = AnalyticsRun.objects.filter(workspace=workspace).first() or AnalyticsRun.objects.create(
        workspace=workspace, as_of=dt.datetime(2026, 12, 1, tzinfo=SHANGHAI), status="succeeded")
    CustomerScore.objects.create(workspace=workspace, customer=customer, run=run, as_of=run.as_of,
                                 clv=None if clv is None else Decimal(clv), gross_profit=Decimal(profit),
                                 rfm_segment=segment, churn_risk="high", value_tier="A")
    return customer


def _names(html, names):
    return sorted(names, key=html.index)


@pytest.fixture
def ranked(workspace):
    return {
        "甲": _scored(workspace, "甲", clv="300.00", profit="10.00"),
        "乙": _scored(workspace, "乙", clv="900.00", profit="5.00"),
        "丙": _scored(workspace, "丙", clv=None, profit="50.00"),
        "丁": customer_create(name="丁"),  # never scored
    }


def test_the_list_sorts_by_lifetime_value_both_ways_leaving_out_customers_without_one(ranked, owner):
    client = client_for(owner)
    html = client.get(reverse("web:customer_list"), {"sort": "clv"}).content.decode()
    assert _names(html, ["甲", "乙"]) == ["乙", "甲"] and ">丙<" not in html and ">丁<" not in html
    assert "¥900.00" in html and 'aria-sort="descending"' in html and "sort=-clv" in html
    rising = client.get(reverse("web:customer_list"), {"sort": "-clv"}).content.decode()
    assert _names(rising, ["甲", "乙"]) == ["甲", "乙"] and 'aria-sort="ascending"' in rising


def test_the_list_sorts_by_profit_and_ignores_an_unknown_sort(ranked, owner):
    client = client_for(owner)
    html = client.get(reverse("web:customer_list"), {"sort": "profit"}).content.decode()
    assert _names(html, ["甲", "乙", "丙"]) == ["丙", "甲", "乙"] and ">丁<" not in html
    newest = client.get(reverse("web:customer_list"), {"sort": "id; DROP TABLE"}).content.decode()
    assert all(f">{name}<" in newest for name in ranked) and "Newest first" in newest


def test_score_columns_speak_chinese_and_never_show_another_workspaces_scores(ranked, owner, other_workspace):
    with tenancy.active(other_workspace):
        _scored(other_workspace, "外人", clv="99999.00", profit="99999.00")
    html = client_for(owner).get(reverse("web:customer_list"), {"sort": "clv"},
                                 HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "外人" not in html and "99,999" not in html and "99999" not in html
    assert "冠军客户" in html and "生命周期价值" in html


def test_a_score_sorted_page_uses_the_same_queries_for_2_or_20_rows(workspace, owner):
    client = client_for(owner)
    for i in range(2):
        _scored(workspace, f"客户{i}", clv=f"{100 + i}.00", profit="1.00")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("web:customer_list"), {"sort": "clv"})
    for i in range(2, 20):
        _scored(workspace, f"客户{i}", clv=f"{100 + i}.00", profit="1.00")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("web:customer_list"), {"sort": "clv"})
    assert len(many) == len(few)
