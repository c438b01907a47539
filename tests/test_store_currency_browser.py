"""Settings in a real browser: picking a new store's platform fills in its currency (CNY for Taobao, Tmall and JD,
the reporting currency for Shopify) until the owner types one of their own."""

import pytest
from django.urls import reverse

from guanxi.workspaces.services import workspace_currency_set

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_picking_the_platform_fills_in_its_currency_until_the_owner_types_one(
        browser, live_server, workspace, owner, member_password):
    workspace_currency_set(workspace=workspace, currency="USD")
    page = browser.new_context(locale="en-US").new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", member_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}{reverse('web:settings')}")
    assert page.input_value("#id_currency") == "CNY"
    page.select_option("#id_platform", "shopify")
    assert page.input_value("#id_currency") == "USD"
    page.select_option("#id_platform", "tmall")
    assert page.input_value("#id_currency") == "CNY"
    page.fill("#id_currency", "HKD")
    page.select_option("#id_platform", "shopify")
    assert page.input_value("#id_currency") == "HKD" and errors == []
