"""Settings → a new store's currency follows its platform: the yuan marketplaces (Taobao, Tmall, JD) sell in CNY,
Shopify and an own site in the workspace's reporting currency; the owner can still type another (the page filling it
in as the platform is picked: tests/test_store_currency_browser.py)."""

import pytest
from django.urls import reverse

from guanxi.workspaces.models import Store
from guanxi.workspaces.services import workspace_currency_set
from web_helpers import client_for


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def dollars(workspace):
    return workspace_currency_set(workspace=workspace, currency="USD")


@pytest.mark.parametrize(("platform", "expected"), [
    ("taobao", "CNY"), ("tmall", "CNY"), ("jd", "CNY"), ("shopify", "USD"), ("own_site", "USD")])
def test_a_store_added_without_a_currency_gets_its_platforms(dollars, owner, platform, expected):
    response = client_for(owner).post(reverse("web:store_add"), {"name": "店", "platform": platform, "currency": ""})
    assert response.status_code == 302
    assert Store.objects.get(name="店").currency == expected


def test_the_owner_may_choose_another_currency(dollars, owner):
    client_for(owner).post(reverse("web:store_add"), {"name": "HK shop", "platform": "shopify", "currency": "hkd"})
    assert Store.objects.get(name="HK shop").currency == "HKD"
    response = client_for(owner).post(reverse("web:store_add"), {"name": "x", "platform": "jd", "currency": "US"})
    assert response.status_code == 400 and not Store.objects.filter(name="x").exists()


def test_the_form_starts_with_the_first_platforms_currency(dollars, owner):
    html = client_for(owner).get(reverse("web:settings")).content.decode()
    assert 'name="currency" value="CNY"' in html  # Taobao comes first
    assert "&quot;shopify&quot;: &quot;USD&quot;" in html and "&quot;tmall&quot;: &quot;CNY&quot;" in html
    zh = client_for(owner).get(reverse("web:settings"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert "淘宝、天猫和京东为 CNY" in zh
