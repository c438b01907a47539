"""Why a model was not fitted, on the insight page's "How this is computed": in the reader's language (the
analytics' English message stays for the CLI's JSON), from the failure's code and figures."""

import datetime as dt
from decimal import Decimal

import pytest

from guanxi.analytics.errors import ConvergenceError, HomogeneousDropoutError, InsufficientDataError
from guanxi.commerce.services import order_create
from guanxi.customers.services import customer_create
from guanxi.insight.models import AnalyticsRun
from guanxi.insight.services import insight_refresh
from segments_world import SHANGHAI
from web_helpers import client_for

URL = "/insight/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def small_shop(workspace, store):
    """Four buyers, one of whom came back: too few repeat customers for any purchase or spend model."""
    for i in range(4):
        customer = customer_create(name=f"客户{i}")
        for n in range(2 if i == 0 else 1):
            order_create(store=store, customer=customer, number=f"N{i}-{n}", status="paid",
                         paid_amount=Decimal("50"), placed_at=dt.datetime(2026, 3, 1 + 10 * n, 12, tzinfo=SHANGHAI))
    return insight_refresh(as_of=dt.date(2026, 6, 30))


def test_the_failures_carry_their_code_and_figures(small_shop):
    details = small_shop.summary["model_error_details"]
    assert set(details) == set(small_shop.summary["model_errors"]) and details
    for detail in details.values():
        assert detail["code"] == "insufficient_data" and detail["found"] == 1 and detail["required"] > 1


@pytest.mark.parametrize(("language", "expected", "english"), [
    ("zh-CN", "店铺目前有 1 位", "needs at least"), ("en", "the shop has 1 so far", "Use RFM insight")])
def test_the_page_gives_the_reason_in_the_readers_language(small_shop, owner, language, expected, english):
    html = client_for(owner).get(URL, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    reasons = html.split("data-model-errors", 1)[1].split("</ul>", 1)[0]
    assert expected in reasons and english not in reasons
    assert reasons.count("<li>") == len(small_shop.summary["model_errors"])


def test_a_reason_stored_without_a_code_reads_as_the_general_sentence(small_shop, owner):
    AnalyticsRun.objects.filter(pk=small_shop.pk).update(
        summary={**small_shop.summary, "model_errors": {"bgnbd": "BG/NBD fit did not converge"},
                 "model_error_details": {}})
    html = client_for(owner).get(URL, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "这个模型无法拟合这些客户。" in html and "did not converge" not in html


def test_every_failure_kind_has_its_own_code():
    report = object()
    assert ConvergenceError("x", report=report).details() == {"code": "no_convergence"}
    assert HomogeneousDropoutError("x", report=report).details() == {"code": "homogeneous_dropout"}
    assert InsufficientDataError("x", found=3, required=10).details() == {
        "code": "insufficient_data", "found": 3, "required": 10}


@pytest.mark.parametrize(("error", "chinese"), [
    (HomogeneousDropoutError("x", report=None), "客户停止购买的速度看起来完全相同"),
    (ConvergenceError("x", report=None), "模型没有找到稳定的拟合结果"),
    (InsufficientDataError("x", found=3, required=10), "至少需要 10 位复购客户"),
])
def test_each_code_has_a_chinese_sentence(error, chinese):
    from django.utils import translation

    from guanxi.insight.model_errors import model_error_text

    with translation.override("zh-hans"):
        assert chinese in model_error_text(error.details())
