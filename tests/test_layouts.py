"""Layouts that hold: every main page at 390, 1280 and 1440 px wide, in English and Chinese, in real headless
Chromium. Screenshots go to test-artifacts/layouts/ (to be looked at); the test asserts what a screenshot shows
when a layout breaks: nothing wider than the window, the 360 header's name on at most two lines, KPI labels not
cut off with an ellipsis, and table columns not clipped."""

import datetime as dt
import pathlib

import pytest

from guanxi.customers.services import customer_update
from guanxi.demo.cdnow import CDNOW_MASTER, load_cdnow
from guanxi.insight.services import insight_refresh
from guanxi.workspaces import tenancy
from web_helpers import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "test-artifacts" / "layouts"
WIDTHS = (390, 1280, 1440)
LOCALES = {"en": "en-US", "zh": "zh-CN"}
LONG_NAME = "欧阳娜娜 Nana Ouyang-Montgomery"

# Facts about the page, measured in the browser. Elements hidden with display:none have no box and are skipped.
MEASURE = """() => {
  const visible = (el) => el.getClientRects().length > 0;
  const truncated = [...document.querySelectorAll('.kpi span, .kpi strong, th, .nav a span, .btn')]
    .filter((el) => visible(el) && el.scrollWidth > el.clientWidth + 1
            && getComputedStyle(el).overflow !== 'visible')
    .map((el) => el.textContent.trim());
  const wide = [...document.querySelectorAll('body *')]
    .filter((el) => visible(el) && el.getBoundingClientRect().right > window.innerWidth + 1
            && !el.closest('.card-flush, .table-wrap, pre, .doc table, .card > .table'))
    .slice(0, 5).map((el) => el.tagName + '.' + el.className);
  const h1 = document.querySelector('.c360-title h1, .page-head h1');
  let nameLines = null;
  if (h1) {
    const line = parseFloat(getComputedStyle(h1).lineHeight) || 24;
    nameLines = h1.getBoundingClientRect().height / line;
  }
  // A table that scrolls sideways inside its card hides columns until scrolled: "clipped" at desktop widths.
  const clipped = [...document.querySelectorAll('.card-flush')]
    .filter((el) => visible(el) && el.scrollWidth > el.clientWidth + 1).length;
  // An inline name has one client rect per line it takes: a name broken word by word has many.
  const listNameLines = Math.max(0, ...[...document.querySelectorAll('.cell-customer strong, .mini-main strong')]
    .filter(visible).map((el) => el.getClientRects().length));
  return {clipped, listNameLines, scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, truncated, wide,
          nameLines};
}"""


@pytest.fixture
def shop(workspace, owner):
    shop = build_shop(workspace, owner=owner, customers=12, orders_per_customer=3)
    with tenancy.active(workspace):
        customer_update(customer=shop.customer, name=LONG_NAME)
    return shop


@pytest.fixture
def insight(workspace, shop, tmp_path):
    head = tmp_path / "cdnow_head.txt"
    with open(CDNOW_MASTER) as source:
        head.write_text("".join(next(source) for _ in range(1501)))
    load_cdnow(workspace=workspace, path=head)
    with tenancy.active(workspace):
        insight_refresh(as_of=dt.date(1998, 6, 30))


def _pages(shop):
    return {
        "home": "/", "customers": "/customers/", "c360": f"/customers/{shop.customer.id}/", "orders": "/orders/",
        "order": f"/orders/{shop.order.id}/", "imports": "/imports/", "segments": "/segments/",
        "insight": "/insight/", "tasks": "/tasks/?scope=all&due=any", "settings": "/settings/",
        "costs": "/settings/costs/", "tokens": "/api-tokens/", "help": "/help/imports/",
    }


def _check(page, name: str, lang: str, width: int, failures: list) -> dict:
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(150)  # charts redraw on resize
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}-{width}.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{lang}-{width}-top.png"))  # the first screen, full size
    if name == "insight":  # each chart on its own, full size, to see its axis labels
        for chart in page.locator(".insight-chart").all():
            chart.screenshot(path=str(ARTIFACTS / f"chart-{chart.get_attribute('id')}-{lang}-{width}.png"))
    facts = page.evaluate(MEASURE)
    where = f"{name} {lang} {width}px"
    if facts["scrollWidth"] > facts["innerWidth"]:
        failures.append(f"{where}: page {facts['scrollWidth']} px wide in a {width} px window ({facts['wide']})")
    if width >= 1280 and facts["clipped"]:
        failures.append(f"{where}: {facts['clipped']} table(s) wider than their card")
    if width >= 1280 and facts["listNameLines"] > 2:
        failures.append(f"{where}: a customer's name takes {facts['listNameLines']} lines")
    if facts["truncated"]:
        failures.append(f"{where}: cut off: {facts['truncated'][:5]}")
    return facts


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_main_pages_hold_at_phone_laptop_and_desktop_widths(browser, live_server, shop, insight, member_password,
                                                            lang):
    context = browser.new_context(locale=LOCALES[lang], viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    failures = []
    try:
        page.goto(f"{live_server.url}/login/")
        for width in WIDTHS:
            _check(page, "login", lang, width, failures)
        page.fill("#id_username", "owner")
        page.fill("#id_password", member_password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        for name, path in _pages(shop).items():
            page.set_viewport_size({"width": 1440, "height": 900})
            page.goto(f"{live_server.url}{path}")
            if name == "insight":
                page.wait_for_selector("#chart-kpis canvas")
            for width in WIDTHS:
                facts = _check(page, name, lang, width, failures)
                if name == "c360" and facts["nameLines"] is not None and facts["nameLines"] >= 3:
                    failures.append(f"c360 {lang} {width}px: the name takes {facts['nameLines']:.1f} lines")
    finally:
        context.close()
    assert not failures, "\n".join(failures)
