""""The demo looks like a real shop": CDNOW (1997–98, USD) lives in its own workspace `cdnow`, scored as of its
last day, and `demo` is the generated Chinese multi-store shop alone (Taobao and Tmall in yuan, Shopify abroad in
dollars, some buyers in two stores, an illustrative USD rate); the demo login works in both; `guanxi demo`
refuses a busy port before loading anything."""

import datetime as dt
import json
import socket
from collections import defaultdict
from decimal import Decimal

import pytest
from django.urls import reverse

from guanxi.cli import main
from guanxi.commerce.models import Order
from guanxi.demo import CDNOW_AS_OF, DEMO_PASSWORD, DEMO_USERS, build_demo
from guanxi.demo.cdnow import CDNOW_MASTER
from guanxi.demo.stores import DEMO_STORES, SHOPIFY, TAOBAO, USD_CNY
from guanxi.insight.models import AnalyticsRun, CustomerScore
from guanxi.insight.tasks import refresh_workspace_insight
from guanxi.workspaces import tenancy
from guanxi.web.templatetags.guanxi_ui import money_text
from guanxi.workspaces.models import Membership, Store, Workspace

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 18, 6, 30, tzinfo=dt.timezone.utc)


@pytest.fixture
def demo(tmp_path):
    cdnow = tmp_path / "cdnow_head.txt"
    with open(CDNOW_MASTER) as source:
        cdnow.write_text("".join(next(source) for _ in range(801)))
    return build_demo(customers=60, orders=300, now=NOW, cdnow_path=cdnow)


def test_cdnow_has_its_own_usd_workspace_and_demo_is_the_chinese_shop_alone(demo):
    cdnow = Workspace.objects.get(slug="cdnow")
    assert demo.workspace.slug == "demo" and demo.cdnow_workspace == cdnow
    assert (cdnow.currency, cdnow.time_zone) == ("USD", "America/New_York")
    assert (demo.workspace.currency, demo.workspace.time_zone) == ("CNY", "Asia/Shanghai")
    with tenancy.active(cdnow):
        assert list(Store.objects.values_list("name", "currency")) == [("CDNOW", "USD")]
        assert Order.objects.count() == 800
    with tenancy.active(demo.workspace):
        assert set(Store.objects.values_list("name", "platform", "currency")) == {
            (spec.name, spec.platform, spec.currency) for spec in DEMO_STORES}
        assert not Order.objects.filter(placed_at__year__lt=2020).exists()
        assert Order.objects.count() == 300  # --orders, split across the stores
        assert set(Order.objects.values_list("store__name", flat=True)) == {spec.name for spec in DEMO_STORES}


def test_the_demo_figures_have_yuan_and_dollars_and_convert_with_no_rate_missing(demo, capsys):
    assert main(["stats", "--json", "--workspace", "demo"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["currency"] == "CNY" and stats["missing_rates"] == []
    assert set(stats["by_currency"]) == {"CNY", "USD"} and stats["orders"] == 300
    cny, usd = (stats["by_currency"][code] for code in ("CNY", "USD"))
    assert cny["orders"] + usd["orders"] == 300 and usd["orders"] > 0 and Decimal(usd["paid_revenue"]) > 0
    # Each dollar order counted at the demo's rate (rounded per order: a cent at most each).
    expected = Decimal(cny["paid_revenue"]) + Decimal(usd["paid_revenue"]) * USD_CNY
    assert abs(Decimal(stats["paid_revenue"]) - expected) <= Decimal("0.01") * usd["paid_orders"]

    assert main(["stats", "--json", "--workspace", "demo", "--store", SHOPIFY.name]) == 0
    shopify = json.loads(capsys.readouterr().out)
    assert shopify["currency"] == "USD" and shopify["paid_revenue"] == usd["paid_revenue"]
    assert set(shopify["by_currency"]) == {"USD"}
    # What `guanxi demo` prints under the login.
    assert demo.stores_summary.startswith(", ".join(f"{s.name} ({s.currency})" for s in DEMO_STORES))
    assert f"1 USD = {USD_CNY} CNY" in demo.stores_summary and "illustrative" in demo.stores_summary


def test_a_buyer_of_two_stores_is_one_customer_whose_page_shows_both_and_each_in_its_currency(demo, client):
    with tenancy.active(demo.workspace):
        stores_of = defaultdict(set)
        for customer_id, name in Order.objects.values_list("customer_id", "store__name"):
            stores_of[customer_id].add(name)
        paid = Order.objects.filter(paid_amount__gt=0).order_by("placed_at")
        customer_id, usd_order, cny_order = next(
            (c, paid.filter(customer_id=c, store__name=SHOPIFY.name).first(),
             paid.filter(customer_id=c, store__name=TAOBAO.name).first())
            for c, names in sorted(stores_of.items()) if {TAOBAO.name, SHOPIFY.name} <= names
            and paid.filter(customer_id=c, store__name=SHOPIFY.name).exists()
            and paid.filter(customer_id=c, store__name=TAOBAO.name).exists())
    assert client.login(username=demo.username, password=DEMO_PASSWORD)
    client.post(reverse("web:workspace_switch"), {"workspace": demo.workspace.pk})
    page = client.get(reverse("web:customer_detail", args=[customer_id]), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200 and TAOBAO.name in text and SHOPIFY.name in text
    assert money_text(usd_order.paid_amount, "USD") in text and money_text(cny_order.paid_amount, "CNY") in text
    assert "data-missing-rates" not in text  # the 360 totals convert the dollars: no rate is missing
    listing = client.get(reverse("web:order_list") + f"?customer={customer_id}").content.decode()
    assert usd_order.number in listing and money_text(usd_order.paid_amount, "USD") in listing


def test_cdnow_is_scored_as_of_its_last_day_and_stays_so_when_refreshed_without_a_day(demo):
    cdnow = demo.cdnow_workspace
    with tenancy.active(cdnow):
        run = AnalyticsRun.objects.get()
        assert run.as_of.astimezone(tenancy.current_time_zone()).date() == CDNOW_AS_OF
        # Recency from 1998-06-30: at most the file's 18 months, not 28 years.
        assert CustomerScore.objects.order_by("-recency_days").first().recency_days <= 546
    refresh_workspace_insight.call_local(cdnow.pk)  # what the nightly job and imports queue: no day given
    with tenancy.active(cdnow):
        latest = AnalyticsRun.objects.order_by("-created_at").first()
        assert latest.as_of.astimezone(tenancy.current_time_zone()).date() == CDNOW_AS_OF
    with tenancy.active(demo.workspace):
        run = AnalyticsRun.objects.get()
        assert run.as_of.astimezone(tenancy.current_time_zone()).date() == NOW.astimezone(
            tenancy.current_time_zone()).date()


def test_every_demo_login_has_the_same_role_in_both_workspaces_and_can_switch(demo, client):
    roles = {username: role.value for username, role in DEMO_USERS}
    for workspace in (demo.workspace, demo.cdnow_workspace):
        assert dict(Membership.all_workspaces.filter(workspace=workspace)
                    .values_list("user__username", "role")) == roles
    assert client.login(username=demo.username, password=DEMO_PASSWORD)
    response = client.post(reverse("web:workspace_switch"), {"workspace": demo.cdnow_workspace.pk})
    assert response.status_code == 302
    page = client.get(reverse("insight:dashboard"))
    assert page.status_code == 200 and "CDNOW" in page.content.decode()
    client.post(reverse("web:workspace_switch"), {"workspace": demo.workspace.pk})
    assert "淘宝旗舰店" in client.get(reverse("web:order_list")).content.decode()


def test_the_demo_command_refuses_a_busy_port_before_loading_anything(db, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["demo", "--port", str(port), "--customers", "10", "--orders", "20"])
    out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and str(port) in err and "--port" in err
    assert not Workspace.objects.exists()


def test_a_demo_built_before_cdnow_moved_out_says_how_to_start_afresh(db, tmp_path, caplog):
    from guanxi.demo import DEMO_NAME, DEMO_SLUG
    from guanxi.demo.cdnow import load_cdnow
    from guanxi.workspaces.services import workspace_create

    cdnow = tmp_path / "cdnow_head.txt"
    with open(CDNOW_MASTER) as source:
        cdnow.write_text("".join(next(source) for _ in range(201)))
    old = workspace_create(slug=DEMO_SLUG, name=DEMO_NAME, time_zone="Asia/Shanghai")
    load_cdnow(workspace=old, path=cdnow)
    with caplog.at_level("WARNING", logger="guanxi.demo"):
        build_demo(customers=30, orders=120, now=NOW, cdnow_path=cdnow)
    assert any("earlier demo" in r.getMessage() and "'cdnow'" in r.getMessage() for r in caplog.records)


def test_region_segments_find_the_buyers_abroad_and_in_china_by_their_addresses(demo):
    from guanxi.customers.models import Customer
    from guanxi.segments.services import segment_create

    with tenancy.active(demo.workspace):
        us = segment_create(name="US buyers", rules={"all": [{"field": "country", "op": "=", "value": "US"}]},
                            as_of=NOW)
        americans = Customer.objects.filter(country="US", merged_into__isnull=True)
        us.refresh_from_db()
        assert us.member_count == americans.count() > 0
        # Where their orders went: each buyer among them has a Shopify order shipped to the US (leads: none).
        buyers = americans.filter(orders__isnull=False).distinct()
        assert buyers.exists() and not buyers.exclude(orders__store__name=SHOPIFY.name, orders__country="US").exists()
        province = Customer.objects.filter(country="CN").values_list("province", flat=True).first()
        region = segment_create(name="One province", as_of=NOW,
                                rules={"all": [{"field": "province", "op": "=", "value": province}]})
        region.refresh_from_db()
        assert region.member_count == Customer.objects.filter(province=province).count() > 0
