"""Pages with money across currencies: each order in its store's currency (US$ / $ and ¥), totals in the
reporting currency with the missing rate named, and the owner's Settings → Currency page."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.commerce.models import PAID_STATUSES, Order
from guanxi.segments.facts import facts_rebuild
from guanxi.workspaces import tenancy
from guanxi.workspaces.models import ExchangeRate, Role
from guanxi.workspaces.services import exchange_rate_set
from test_currency import in_yuan, set_rates, stores  # noqa: F401  (the two-store fixture)
from web_helpers import NON_OWNERS, client_for

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _usd_order() -> Order:
    return Order.objects.filter(currency="USD", status__in=PAID_STATUSES).order_by("id").first()


def test_orders_show_the_currency_of_their_store(stores, owner):  # noqa: F811
    client = client_for(owner)
    usd, cny = _usd_order(), Order.objects.filter(currency="CNY", status__in=PAID_STATUSES).first()
    english = client.get(reverse("web:order_list"), **EN).content.decode()
    assert f"${usd.paid_amount:,.2f}" in english and f"¥{cny.paid_amount:,.2f}" in english
    chinese = client.get(reverse("web:order_detail", args=[usd.pk]), **ZH).content.decode()
    assert f"US${usd.paid_amount:,.2f}" in chinese and f"¥{usd.paid_amount:,.2f}" not in chinese


def test_the_360_page_names_the_missing_rate_then_converts(stores, owner):  # noqa: F811
    client = client_for(owner)
    usd = _usd_order()
    url = reverse("web:customer_detail", args=[usd.customer_id])
    page = client.get(url, **EN).content.decode()
    assert 'data-missing-rates="USD"' in page and "No exchange rate to CNY for USD" in page
    assert "¥0.00" in page  # the dollars are left out, not added as yuan
    chinese = client.get(url, **ZH).content.decode()
    assert 'data-missing-rates="USD"' in chinese and "USD" in chinese
    set_rates(stores[0].workspace)
    page = client.get(url, **EN).content.decode()
    total = sum((in_yuan(o, "paid_amount") for o in Order.objects.filter(customer_id=usd.customer_id,
                                                                      status__in=PAID_STATUSES)), Decimal(0))
    assert "data-missing-rates" not in page and f"¥{total:,.2f}" in page


def test_the_segment_preview_and_customer_list_name_the_missing_rate(stores, owner):  # noqa: F811
    facts_rebuild()
    client = client_for(owner)
    rules = {"all": [{"field": "total_paid", "op": ">", "value": 0}]}
    preview = client.post(reverse("segments:preview"), {"rules": json.dumps(rules)}, HTTP_HX_REQUEST="true")
    assert 'data-missing-rates="USD"' in preview.content.decode()
    assert 'data-missing-rates="USD"' in client.get(reverse("web:customer_list")).content.decode()
    exchange_rate_set(workspace=stores[0].workspace, currency="USD", rate="7")
    assert "data-missing-rates" not in client.get(reverse("web:customer_list")).content.decode()


def test_a_rate_only_from_a_later_day_still_names_the_currency(stores, owner):  # noqa: F811
    import datetime as dt

    exchange_rate_set(workspace=stores[0].workspace, currency="USD", rate="8", on=dt.date(2024, 6, 1))
    assert 'data-missing-rates="USD"' in client_for(owner).get(reverse("web:customer_list")).content.decode()


# Settings → Currency ---------------------------------------------------------------------------------------------


def test_the_owner_sets_rates_and_the_reporting_currency_in_settings(stores, owner):  # noqa: F811
    client = client_for(owner)
    settings_page = client.get(reverse("web:settings"), **ZH).content.decode()
    assert reverse("web:settings_currency") in settings_page
    page = client.get(reverse("web:settings_currency"), **ZH).content.decode()
    assert "汇率" in page and 'data-missing-rates="USD"' in page
    response = client.post(reverse("web:rate_set"), {"currency": "usd", "rate": "7.1", "on": ""})
    assert response.status_code == 302
    response = client.post(reverse("web:rate_set"), {"currency": "USD", "rate": "7.3", "on": "2024-06-01"})
    assert response.status_code == 302
    assert sorted((c, str(r.normalize()), d and d.isoformat()) for c, r, d in
                  ExchangeRate.objects.values_list("currency", "rate", "valid_from")) == [
        ("USD", "7.1", None), ("USD", "7.3", "2024-06-01")]
    page = client.get(reverse("web:settings_currency"), **EN).content.decode()
    assert "data-missing-rates" not in page and 'data-rate="USD"' in page and "7.3 CNY" in page
    refused = client.post(reverse("web:rate_set"), {"currency": "USD", "rate": "0"}, **EN)
    assert refused.status_code == 400 and ExchangeRate.objects.count() == 2
    rate = ExchangeRate.objects.get(valid_from__isnull=True)
    assert client.post(reverse("web:rate_delete", args=[rate.pk])).status_code == 302
    assert ExchangeRate.objects.count() == 1
    assert client.post(reverse("web:reporting_currency_set"), {"currency": "usd"}).status_code == 302
    stores[0].workspace.refresh_from_db()
    assert stores[0].workspace.currency == "USD"


@pytest.mark.parametrize("role", NON_OWNERS)
def test_only_owners_reach_the_currency_settings(workspace, make_member, role):
    client = client_for(make_member(workspace, role))
    assert client.get(reverse("web:settings_currency")).status_code == 403
    assert client.post(reverse("web:rate_set"), {"currency": "USD", "rate": "7"}).status_code == 403
    assert not ExchangeRate.objects.exists()


def test_another_workspaces_rate_answers_404(workspace, other_workspace, make_member):
    exchange_rate_set(workspace=other_workspace, currency="USD", rate="7")
    with tenancy.active(other_workspace):
        rate = ExchangeRate.objects.get()
    client = client_for(make_member(workspace, Role.OWNER))
    assert client.post(reverse("web:rate_delete", args=[rate.pk])).status_code == 404
    assert ExchangeRate.all_workspaces.filter(pk=rate.pk).exists()
